"""Sans-IO DM session state machines: :class:`ClientSession` and :class:`ServerSession`.

See ``docs/session-api.md`` for the API and complete examples.

Error reasons raised by this package:

* :class:`~dmproto.errors.RemoteProtocolError` from ``receive_message``: every
  decoder reason (``xml.*``, ``wbxml.*``, ``message.*``, ``limit.*``, ``chal.*``,
  ``auth.*``) plus ``message.media-type`` (the body is not in the encoding its
  media type names, or the type is not a DM one), ``session.out-of-turn`` (a
  message while our answer is pending), ``session.msg-id`` (MsgID not a number,
  repeated or older), ``session.session-id``,
  ``session.device`` (another device in the session), ``session.missing-status``
  (the device closed its package without a Status we need).
* :class:`~dmproto.errors.LocalProtocolError`: ``session.handle``,
  ``session.answered``, ``session.outcome-shape`` (``respond``), ``session.state``
  (server call in the wrong phase), ``session.command``/``session.alert`` (not a
  command this role sends: ``queue``), ``session.finished`` (``abort`` after the end).
* :class:`~dmproto.errors.InvalidValueError`: ``session.snapshot`` (``restore``),
  ``session.config``.
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
