"""dmproto over trio: DM client and server, Package 0 push.

Client::

    ended = await run_client_session(session, handler, timeout=30)

Server (handlers may be async functions)::

    async with trio.open_nursery() as nursery:
        server = DMServer(handler, config=ServerConfig(...), port=8080)
        await nursery.start(server.serve)          # server.url is now valid

Device-side Package 0::

    await nursery.start(PushListener(lookup, on_push, udp_port=2948).serve)
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
