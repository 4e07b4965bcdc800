"""mmbot: a market-making bot framework on trio.

The public API is what ``__all__`` lists; everything else is internal and may change.
``tests/test_public_api.py`` guards this surface.
"""

from mmbot.bot.bot import (
    Bot as Bot,
)
from mmbot.bot.bot import (
    BotHandle as BotHandle,
)
from mmbot.bot.status import (
    BotStatus as BotStatus,
)
from mmbot.bot.status import (
    SymbolState as SymbolState,
)
from mmbot.bot.status import (
    SymbolStatus as SymbolStatus,
)
from mmbot.config import (
    BotConfig as BotConfig,
)
from mmbot.config import (
    default_config as default_config,
)
from mmbot.config import (
    load_config as load_config,
)
from mmbot.errors import (
    ChildStartError as ChildStartError,
)
from mmbot.errors import (
    CircuitOpen as CircuitOpen,
)
from mmbot.errors import (
    ConfigError as ConfigError,
)
from mmbot.errors import (
    MmbotError as MmbotError,
)
from mmbot.errors import (
    RateLimited as RateLimited,
)
from mmbot.errors import (
    SupervisorEscalation as SupervisorEscalation,
)
from mmbot.errors import (
    VenueError as VenueError,
)
from mmbot.errors import (
    VenueRejected as VenueRejected,
)
from mmbot.errors import (
    VenueUnavailable as VenueUnavailable,
)
from mmbot.errors import (
    VenueUnknown as VenueUnknown,
)
from mmbot.model import (
    BookLevel as BookLevel,
)
from mmbot.model import (
    Fill as Fill,
)
from mmbot.model import (
    Instrument as Instrument,
)
from mmbot.model import (
    Order as Order,
)
from mmbot.model import (
    OrderStatus as OrderStatus,
)
from mmbot.model import (
    OrderType as OrderType,
)
from mmbot.model import (
    Outcome as Outcome,
)
from mmbot.model import (
    Quote as Quote,
)
from mmbot.model import (
    QuoteSet as QuoteSet,
)
from mmbot.model import (
    Side as Side,
)
from mmbot.model import (
    TimeInForce as TimeInForce,
)
from mmbot.supervision import (
    ChildSpec as ChildSpec,
)
from mmbot.supervision import (
    ChildState as ChildState,
)
from mmbot.supervision import (
    ChildStatus as ChildStatus,
)
from mmbot.supervision import (
    Supervisor as Supervisor,
)
from mmbot.supervision import (
    SupervisorState as SupervisorState,
)
from mmbot.supervision import (
    SupervisorStatus as SupervisorStatus,
)

__version__ = "0.1.0"

__all__ = [
    "BookLevel",
    "Bot",
    "BotConfig",
    "BotHandle",
    "BotStatus",
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
    "SymbolState",
    "SymbolStatus",
    "TimeInForce",
    "VenueError",
    "VenueRejected",
    "VenueUnavailable",
    "VenueUnknown",
    "__version__",
    "default_config",
    "load_config",
]
