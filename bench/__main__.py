"""``python -m bench``: run the benchmark suite and write bench/RESULTS.md (see bench/run.py)."""

from __future__ import annotations

import sys

from .run import main

sys.exit(main())
