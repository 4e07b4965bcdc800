"""mmbot.venue."""
