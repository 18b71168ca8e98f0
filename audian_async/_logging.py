"""The package logger. Nothing is configured here: no handlers, no levels, no output at import."""

from __future__ import annotations

import logging

logger = logging.getLogger("audian_async")

__all__ = ["logger"]
