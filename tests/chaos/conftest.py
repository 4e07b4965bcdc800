"""The chaos harness's tests.

``history_kit.py`` beside this file builds truth logs by hand for the checkers (no tests
there); pytest puts this folder on ``sys.path``, so the tests import it by name.
"""
