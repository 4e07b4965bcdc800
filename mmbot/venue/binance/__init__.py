"""mmbot.venue.binance."""
