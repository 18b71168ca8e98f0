"""The Astradial API's models: ``from audian_async.astradial import User, Call, SipCredentials``.

The client is :class:`audian_async.AsyncAstradial`. Each model is imported on first access.
"""

from __future__ import annotations

from typing import Any

from ._generated.astradial import models as _models
from ._generated.astradial.models import *  # noqa: F403  (names for type checkers and dir())

__all__ = list(_models.__all__)


def __getattr__(name: str) -> Any:
    return getattr(_models, name)
