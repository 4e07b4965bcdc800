"""The curated public API (``mmbot.__all__``) is exactly what we mean to export."""

from __future__ import annotations

import mmbot

EXPECTED = {
    "Bot",
    "BotConfig",
    "BotHandle",
    "BotStatus",
    "SymbolState",
    "SymbolStatus",
    "default_config",
    "load_config",
    "BookLevel",
    "ChildSpec",
    "ChildStartError",
    "ChildState",
    "ChildStatus",
    "CircuitOpen",
    "ConfigError",
    "Fill",
    "Instrument",
    "MmbotError",
    "Order",
    "OrderStatus",
    "OrderType",
    "Outcome",
    "Quote",
    "QuoteSet",
    "RateLimited",
    "Side",
    "Supervisor",
    "SupervisorEscalation",
    "SupervisorState",
    "SupervisorStatus",
    "TimeInForce",
    "VenueError",
    "VenueRejected",
    "VenueUnavailable",
    "VenueUnknown",
    "__version__",
}


def test_all_is_the_curated_surface() -> None:
    assert set(mmbot.__all__) == EXPECTED


def test_every_exported_name_exists() -> None:
    for name in mmbot.__all__:
        assert hasattr(mmbot, name), name
