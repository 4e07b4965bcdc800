"""mmbot.bot: the market-making bot — its supervision tree, quoters, session, metrics and CLI.

``Bot(config)`` and ``handle = await nursery.start(bot.run)`` (``docs/embedding.md``);
``mmbot run`` is :mod:`mmbot.bot.run`. The modules: ``bot.py`` (the tree and the handle),
``session.py``, ``account.py``, ``symbols.py``, ``quoter.py``, ``actions.py``, ``state.py``
(the trio shell); ``status.py``, ``figures.py``, ``summary.py`` (sans-IO values and views);
``metrics.py``, ``dashboard.py``, ``logs.py`` (observability); ``run.py`` (the command).
"""

from mmbot.bot.bot import Bot as Bot
from mmbot.bot.bot import BotHandle as BotHandle
from mmbot.bot.metrics import BotMetrics as BotMetrics
from mmbot.bot.status import BotStatus as BotStatus
from mmbot.bot.status import SymbolState as SymbolState
from mmbot.bot.status import SymbolStatus as SymbolStatus

__all__ = ["Bot", "BotHandle", "BotMetrics", "BotStatus", "SymbolState", "SymbolStatus"]
