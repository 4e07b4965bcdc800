"""``python -m mmbot``: the same as the ``mmbot`` command."""

import sys

from mmbot.cli import main

sys.exit(main())
