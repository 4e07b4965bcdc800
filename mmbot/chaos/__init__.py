"""mmbot.chaos."""
