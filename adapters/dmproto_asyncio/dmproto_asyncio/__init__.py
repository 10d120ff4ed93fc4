"""dmproto over asyncio: DM client and server, Package 0 push.

Client::

    ended = await run_client_session(session, handler, timeout=30)

Server (handlers may be coroutine functions)::

    async with DMServer(handler, config=ServerConfig(...), port=8080) as server:
        ...  # serving in background tasks; server.url

Device-side Package 0::

    async with PushListener(lookup, on_push, udp_port=2948): ...
"""

from __future__ import annotations

from dmproto_adapter_base.tls import ClientCertificates, server_ssl_context

from ._dm import DMServer, run_client_session
from ._http import HttpClient, HttpServer
from ._push import PushListener, send_push_http, send_push_udp

__all__ = [
    "ClientCertificates",
    "DMServer",
    "HttpClient",
    "HttpServer",
    "PushListener",
    "run_client_session",
    "send_push_http",
    "send_push_udp",
    "server_ssl_context",
]
