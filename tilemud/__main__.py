"""``python -m tilemud`` is the ``tilemud`` command."""

import sys

from tilemud.cli import main

sys.exit(main())
