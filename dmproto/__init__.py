"""dmproto: a sans-IO implementation of OMA Device Management (SyncML DM 1.2/1.3).

Only names documented in the README and docs are public. See ``dmproto.codec`` for
messages, ``dmproto.security`` and ``dmproto.notification`` for authentication and
Package 0, ``dmproto.session`` for the client and server state machines, and
``dmproto.tree`` for the device management tree.
"""

from __future__ import annotations

from .codes import AlertCode, StatusCode
from .errors import (
    DMError,
    EncodeError,
    InvalidValueError,
    LocalProtocolError,
    MalformedMessageError,
    RemoteProtocolError,
)
from .limits import DEFAULT_LIMITS, Limits

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_LIMITS",
    "AlertCode",
    "DMError",
    "EncodeError",
    "InvalidValueError",
    "Limits",
    "LocalProtocolError",
    "MalformedMessageError",
    "RemoteProtocolError",
    "StatusCode",
    "__version__",
]
