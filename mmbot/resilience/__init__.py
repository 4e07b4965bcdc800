"""mmbot.resilience."""
