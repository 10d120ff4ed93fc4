"""A DM server endpoint inside a plain ASGI application — no dmproto adapter.

Only the core and the pure HTTP binding are used: :class:`ServerEndpoint` routes each
POST to its session, and the ASGI glue below just moves bytes. Run it with any ASGI
server, for example::

    uvicorn --app-dir examples asgi_server:app --port 8080      # DM URL: http://127.0.0.1:8080/dm

Other paths answer 404, so the same app can sit next to the rest of a web site.
"""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

from inventory_app import handle  # the application next to this file

from dmproto.bindings.http import BodyLimiter, HttpRequest, check_content_length, error_response
from dmproto.bindings.server import ServerEndpoint
from dmproto.errors import MalformedMessageError
from dmproto.session import ServerConfig

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

endpoint = ServerEndpoint(
    ServerConfig(random_bytes=os.urandom, server_uri="asgi-example"), path="/dm"
)


async def _read_body(receive: Receive, headers: list[tuple[str, str]]) -> bytes:
    # OMA-TS-SyncML_HTTPBinding-V1_2: bodies are capped by the message size before they are read.
    check_content_length(headers, endpoint.max_body)
    body = BodyLimiter(endpoint.max_body)
    while True:
        message = await receive()
        body.feed(message.get("body", b""))
        if not message.get("more_body", False):
            return body.body()


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """The ASGI application."""
    if scope["type"] != "http":
        return
    headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
    try:
        body = await _read_body(receive, headers)
    except MalformedMessageError as exc:
        response = error_response(exc.status_hint or 400, str(exc))
    else:
        query = scope.get("query_string", b"").decode("latin-1")
        target = scope["path"] + (f"?{query}" if query else "")
        request = HttpRequest(method=scope["method"], target=target, headers=headers, body=body)
        response = endpoint.handle(request, handle, time.monotonic)
    await send(
        {
            "type": "http.response.start",
            "status": response.status,
            "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers],
        }
    )
    await send({"type": "http.response.body", "body": response.body})
