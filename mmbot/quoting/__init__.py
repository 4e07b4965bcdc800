"""mmbot.quoting."""
