"""``python -m benchmarks``: list the load scenarios, or run one (see benchmarks/runner.py)."""

import sys

from benchmarks.runner import main

sys.exit(main())
