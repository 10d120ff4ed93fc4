"""A DM server endpoint inside a plain WSGI application — no dmproto adapter.

Only the core and the pure HTTP binding are used. Run it with any WSGI server, for
example the standard library's::

    python examples/wsgi_server.py 8080            # DM URL: http://127.0.0.1:8080/dm
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from inventory_app import handle  # the application next to this file

from dmproto.bindings.http import HttpRequest, HttpResponse, check_content_length, error_response
from dmproto.bindings.server import ServerEndpoint
from dmproto.errors import MalformedMessageError
from dmproto.session import ServerConfig

StartResponse = Callable[[str, list[tuple[str, str]]], Any]

endpoint = ServerEndpoint(
    ServerConfig(random_bytes=os.urandom, server_uri="wsgi-example"), path="/dm"
)
# The endpoint and its sessions are not thread-safe; threaded WSGI servers serialise.
_lock = threading.Lock()


def _headers(environ: dict[str, Any]) -> list[tuple[str, str]]:
    headers = [
        (k[5:].replace("_", "-").lower(), str(v))
        for k, v in environ.items()
        if k.startswith("HTTP_")
    ]
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers.append((key.replace("_", "-").lower(), str(environ[key])))
    return headers


def _answer(environ: dict[str, Any]) -> HttpResponse:
    headers = _headers(environ)
    try:
        # OMA-TS-SyncML_HTTPBinding-V1_2: bodies are capped by the message size before they are
        # read.
        length = check_content_length(headers, endpoint.max_body)
    except MalformedMessageError as exc:
        return error_response(exc.status_hint or 400, str(exc))
    if length is None:
        return error_response(411, "Content-Length required")
    body = environ["wsgi.input"].read(length)
    query = environ.get("QUERY_STRING", "")
    target = environ.get("PATH_INFO", "/") + (f"?{query}" if query else "")
    request = HttpRequest(
        method=environ["REQUEST_METHOD"], target=target, headers=headers, body=body
    )
    with _lock:
        return endpoint.handle(request, handle, time.monotonic)


def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    """The WSGI application."""
    response = _answer(environ)
    reason = {
        200: "OK",
        400: "Bad Request",
        404: "Not Found",
        405: "Method Not Allowed",
        409: "Conflict",
        411: "Length Required",
        413: "Payload Too Large",
        415: "Unsupported Media Type",
    }.get(response.status, "Error")
    start_response(f"{response.status} {reason}", list(response.headers))
    return [response.body]


if __name__ == "__main__":  # pragma: no cover
    from wsgiref.simple_server import make_server

    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8080
    with make_server("127.0.0.1", port, app) as httpd:
        print(f"DM endpoint at http://127.0.0.1:{port}/dm")
        httpd.serve_forever()
