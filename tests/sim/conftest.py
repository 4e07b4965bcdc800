"""The fake exchange's tests.

The kits beside this file (``dialect_kit.py``: an engine, a dialect and signed requests)
hold no tests; pytest puts this folder on ``sys.path`` for this conftest, so every test
below imports them by name. The running-exchange rig and its mock-clock guard are
``mmbot.testing.running_exchange`` and ``require_mock_clock``.
"""
