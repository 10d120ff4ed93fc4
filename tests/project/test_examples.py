"""Every example runs under a real server and serves a full DM session.

The ASGI app runs under uvicorn, the WSGI app under the standard library's wsgiref,
each in a thread on an ephemeral loopback port; the client is the sync adapter's.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
from datapaths import EXAMPLES

from dmproto.security import AuthScheme, Credentials
from dmproto.session import ClientConfig, ClientSession
from dmproto.session import events as ev
from dmproto.tree.stdobj import DeviceInfo, build_device_tree, devinfo_items

dmproto_sync = pytest.importorskip("dmproto_sync")
sys.path.insert(0, str(EXAMPLES))

import inventory_app  # noqa: E402


def _run_device(url: str, dev_id: str) -> ev.SessionEnded | None:
    tree = build_device_tree(DeviceInfo(dev_id=dev_id, man="Acme", mod="Example"))
    config = ClientConfig(
        random_bytes=os.urandom,
        server_uri=url,
        device_id=dev_id,
        dev_info=devinfo_items(tree),
        credentials=Credentials(username="dev", password="secret"),
        auth_scheme=AuthScheme.MD5,
    )

    def handler(session: ClientSession, event: ev.Event) -> None:
        if isinstance(event, ev.CommandReceived):
            session.respond(event.handle, tree.execute(event.command, server_id="example"))

    ended: ev.SessionEnded | None = dmproto_sync.run_client_session(
        ClientSession(config), handler, timeout=10
    )
    return ended


@contextmanager
def _uvicorn(app: Any) -> Iterator[int]:
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def _wsgiref(app: Any) -> Iterator[int]:
    httpd = make_server("127.0.0.1", 0, app, handler_class=_Quiet)
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield int(httpd.server_port)
    finally:
        httpd.shutdown()
        thread.join(timeout=10)
        httpd.server_close()


def test_asgi_example_under_uvicorn() -> None:
    import asgi_server

    with _uvicorn(asgi_server.app) as port:
        ended = _run_device(f"http://127.0.0.1:{port}/dm", "IMEI:asgi")
        # a second device, and a request the DM endpoint refuses, on the same app
        _run_device(f"http://127.0.0.1:{port}/dm", "IMEI:asgi2")
        with dmproto_sync.HttpClient(max_body=4096, timeout=5) as client:
            from dmproto.bindings.http import HttpRequest, parse_url

            url = parse_url(f"http://127.0.0.1:{port}/elsewhere")
            get = HttpRequest(method="GET", target=url.target, headers=[("Host", "x")], body=b"")
            assert client.exchange(url, get).status == 404
    assert ended is not None and ended.reason is ev.EndReason.COMPLETED
    assert inventory_app.INVENTORY["IMEI:asgi"] == {
        "./DevInfo/Man": "Acme",
        "./DevInfo/Mod": "Example",
        "./DevInfo/DmV": "1.2",
    }
    assert "IMEI:asgi2" in inventory_app.INVENTORY
    assert len(asgi_server.endpoint) == 0  # finished sessions are forgotten


def test_wsgi_example_under_wsgiref() -> None:
    import wsgi_server

    with _wsgiref(wsgi_server.app) as port:
        ended = _run_device(f"http://127.0.0.1:{port}/dm", "IMEI:wsgi")
    assert ended is not None and ended.reason is ev.EndReason.COMPLETED
    assert inventory_app.INVENTORY["IMEI:wsgi"]["./DevInfo/Mod"] == "Example"
    assert len(wsgi_server.endpoint) == 0
