"""mmbot.sim."""
