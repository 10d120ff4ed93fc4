"""dmproto over blocking sockets (threads): DM client and server, Package 0 push.

Client::

    ended = run_client_session(session, handler, timeout=30)

Server::

    with DMServer(handler, config=ServerConfig(...), port=8080) as server:
        ...  # serving in a background thread; server.url

Device-side Package 0::

    with PushListener(lookup, on_push, udp_port=2948): ...
"""

from __future__ import annotations

from dmproto_adapter_base.tls import ClientCertificates, server_ssl_context

from ._dm import ClientHandler, DMServer, ServerHandler, run_client_session
from ._http import HttpClient, HttpServer
from ._push import PushListener, send_push_http, send_push_udp

__all__ = [
    "ClientCertificates",
    "ClientHandler",
    "DMServer",
    "HttpClient",
    "HttpServer",
    "PushListener",
    "ServerHandler",
    "run_client_session",
    "send_push_http",
    "send_push_udp",
    "server_ssl_context",
]
