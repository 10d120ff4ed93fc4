"""dmproto: a sans-IO implementation of OMA Device Management (SyncML DM 1.2/1.3).

The everyday names are importable from here::

    from dmproto import ClientSession, ServerSession, Get, Item, Location, events

— the two session roles and their configuration (``ClientConfig``,
``ServerConfig``, ``Account``, ``Credentials``, ``AuthScheme``) and state
(``SessionState``, ``Phase``, ``WaitingFor``), the commands a
server queues (``Get``, ``Add``, ``Replace``, ``Delete``, ``Copy``, ``Exec``,
``Alert``, ``Atomic``, ``Sequence``, with ``Item`` and ``Location``), the events
module, outcomes and errors. The device management tree and its builders
(``build_device_tree``, ``DeviceInfo``, ``devinfo_items``) are in
``dmproto.tree``. Everything else lives in its layer: ``dmproto.codec`` for
messages, ``dmproto.security`` and ``dmproto.notification`` for authentication and
Package 0, ``dmproto.session`` for the state machines, ``dmproto.bindings`` for
HTTP. Only what the API reference (``docs/api``) lists is public.
"""

from __future__ import annotations

# No module of the package imports from here (each imports its own layer's
# modules), so importing any one of them, e.g. ``dmproto.codec``, creates no cycle.
from .codec.model import (
    Add,
    Alert,
    Atomic,
    Copy,
    Delete,
    Exec,
    Get,
    Item,
    Location,
    Replace,
    Sequence,
)
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
from .outcome import CommandOutcome
from .security import AuthScheme, Credentials
from .session import (
    Account,
    ClientConfig,
    ClientSession,
    Phase,
    ServerConfig,
    ServerSession,
    SessionState,
    WaitingFor,
    events,
)

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_LIMITS",
    "Account",
    "Add",
    "Alert",
    "AlertCode",
    "Atomic",
    "AuthScheme",
    "ClientConfig",
    "ClientSession",
    "CommandOutcome",
    "Copy",
    "Credentials",
    "DMError",
    "Delete",
    "EncodeError",
    "Exec",
    "Get",
    "InvalidValueError",
    "Item",
    "Limits",
    "LocalProtocolError",
    "Location",
    "MalformedMessageError",
    "Phase",
    "RemoteProtocolError",
    "Replace",
    "Sequence",
    "ServerConfig",
    "ServerSession",
    "SessionState",
    "StatusCode",
    "WaitingFor",
    "__version__",
    "events",
]
