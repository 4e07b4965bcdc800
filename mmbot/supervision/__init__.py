"""mmbot.supervision."""
