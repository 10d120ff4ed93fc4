"""Shared by the dmproto adapters: HTTP/1.1 framing with h11, and the adapter loops.

Pure of any event loop: each adapter feeds bytes in, writes the bytes it is given
and passes its own waiting primitives to the shared loops (:mod:`.drive`,
:class:`.pool.KeepAlive`, :mod:`.servers`); the DM side (routing, sessions, push)
is in :mod:`dmproto.bindings`.
"""

from __future__ import annotations

from .drive import (
    answer_request,
    awaitable,
    drive_client,
    expire_due,
    roundtrip,
    run_blocking,
    serve_connection,
)
from .framing import ClientFraming, NeedData, ReadBudget, Reject, ServerFraming, StaleConnection
from .handlers import Handler, call_handler, call_logged
from .pool import KeepAlive
from .servers import DMServerBase, HttpServerSettings, Listen, PushListenerBase
from .tls import ClientCertificates, peer_certificate, server_ssl_context

__all__ = [
    "ClientCertificates",
    "ClientFraming",
    "DMServerBase",
    "Handler",
    "HttpServerSettings",
    "KeepAlive",
    "Listen",
    "NeedData",
    "PushListenerBase",
    "ReadBudget",
    "Reject",
    "ServerFraming",
    "StaleConnection",
    "answer_request",
    "awaitable",
    "call_handler",
    "call_logged",
    "drive_client",
    "expire_due",
    "peer_certificate",
    "roundtrip",
    "run_blocking",
    "serve_connection",
    "server_ssl_context",
]
