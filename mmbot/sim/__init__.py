"""The fake exchange: a Binance-Spot-dialect venue with a seeded market, for tests and sims.

What it is for: the trio shell at this level (``exchange.py`` owns everything and drives the
market; ``connections.py``, ``rest_app.py``, ``ws_app.py``; ``serve.py`` and ``serve_cli.py``
for loopback mode, ``inprocess.py`` for simulated mode) around five sans-IO packages:
``engine/`` (the matching engine and its contract), ``market/`` (the seeded background
market), ``dialect/`` (REST, the WebSocket API and the admin API), ``streams/`` (market
streams and user data) and ``history/`` (the truth log and its digest), plus the sans-IO
fault plan the shell consults (``faults.py``). See ``docs/exchange.md``.

What it must never do: be imported by the venue adapter (``venue/connect.py`` is the one
place that reaches it, for in-process mode); import its shell from this ``__init__`` (so
importing a core package never pulls in trio or the network).
"""
