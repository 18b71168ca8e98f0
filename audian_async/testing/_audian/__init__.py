"""The simulated Audian API (Kazoo crossbar v2), mounted at ``/v2``.

``_router`` is the request pipeline and the core routes (auth, accounts, generic document
CRUD, phone numbers); ``_handlers`` what handlers see and return; ``_kinds`` and
``_resources`` the document kinds and their storage rules; ``_families`` gathers the
resource families with routes of their own (voicemail, conferences, temporal rules,
webhooks, CDRs, live state, faxes, billing, user credentials).
"""

from __future__ import annotations

from ._handlers import announce
from ._router import build_app

__all__ = ["announce", "build_app"]
