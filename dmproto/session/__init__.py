"""Sans-IO DM session state machines: :class:`ClientSession` and :class:`ServerSession`.

See ``docs/session-api.md`` for the API and complete examples.
"""

from __future__ import annotations

from . import events
from ._types import OutgoingMessage, SessionState
from .client import ClientSession
from .config import Account, ClientConfig, ServerConfig
from .server import ServerSession

__all__ = [
    "Account",
    "ClientConfig",
    "ClientSession",
    "OutgoingMessage",
    "ServerConfig",
    "ServerSession",
    "SessionState",
    "events",
]
