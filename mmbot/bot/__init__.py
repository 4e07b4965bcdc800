"""mmbot.bot."""
