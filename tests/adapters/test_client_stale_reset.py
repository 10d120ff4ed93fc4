"""A kept-alive connection the server resets is stale: every adapter's client resends.

A server closes an idle keep-alive connection when its timeout ends; a request that
crosses that close on the wire meets a reset from the server's kernel, not an end of
stream. The client must then send the request again on a new connection, as it does
after an end of stream (``StaleConnection``), and must not when the reset comes after
part of the response, or on a fresh connection. A raw socket server plays the part.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
from collections.abc import Callable

import pytest

from dmproto.bindings.http import HttpRequest, HttpResponse, parse_url

pytest.importorskip("dmproto_adapter_base")

REQUEST = HttpRequest(
    method="POST", target="/dm", headers=[("Host", "h"), ("Content-Length", "2")], body=b"hi"
)
ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


def _read_request(conn: socket.socket) -> None:
    data = b""
    while not data.endswith(b"\r\n\r\nhi"):
        chunk = conn.recv(4096)
        assert chunk, "client closed"
        data += chunk


def _reset(conn: socket.socket) -> None:
    """Close with SO_LINGER 0: the kernel sends a reset, as when unread data is left."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


class RawServer(threading.Thread):
    """Per accepted connection, a script: how many requests it answers, then what:
    ``end`` (wait for the client to close), ``reset`` (read the next request and reset
    the connection without an answer) or ``partial`` (part of the answer, then reset)."""

    def __init__(self, scripts: list[tuple[int, str]]) -> None:
        super().__init__(daemon=True)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(10)
        self.port = self.listener.getsockname()[1]
        self.scripts = scripts
        self.accepted = 0

    def run(self) -> None:
        for answered, then in self.scripts:
            conn, _ = self.listener.accept()
            self.accepted += 1
            for _ in range(answered):
                _read_request(conn)
                conn.sendall(ANSWER)
            if then == "end":  # kept open until the client closes it
                conn.recv(1)
                conn.close()
                continue
            _read_request(conn)  # the next request arrives...
            if then == "reset":  # ...and the connection is reset without an answer
                _reset(conn)
            else:  # "partial": part of the response, then the reset
                conn.sendall(ANSWER[:10])
                _reset(conn)
        self.listener.close()


def _sync_client() -> Callable[[str], HttpResponse]:
    import dmproto_sync

    client = dmproto_sync.HttpClient(max_body=1000, timeout=10)
    return lambda url: client.exchange(parse_url(url), REQUEST)


def _asyncio_client() -> Callable[[str], HttpResponse]:
    import dmproto_asyncio

    loop = asyncio.new_event_loop()
    client = dmproto_asyncio.HttpClient(max_body=1000, timeout=10)
    return lambda url: loop.run_until_complete(client.exchange(parse_url(url), REQUEST))


def _trio_client() -> Callable[[str], HttpResponse]:
    trio = pytest.importorskip("trio")
    import dmproto_trio

    client = dmproto_trio.HttpClient(max_body=1000, timeout=10)
    return lambda url: trio.run(client.exchange, parse_url(url), REQUEST)


CLIENTS = {"sync": _sync_client, "asyncio": _asyncio_client, "trio": _trio_client}


@pytest.mark.parametrize("adapter", sorted(CLIENTS))
def test_a_reset_kept_alive_connection_is_resent_on_a_new_one(adapter: str) -> None:
    # First connection: one answer, then the second request meets a reset. Second
    # connection: the resent request is answered.
    server = RawServer([(1, "reset"), (1, "end")])
    server.start()
    post = CLIENTS[adapter]()
    url = f"http://127.0.0.1:{server.port}/dm"
    assert post(url).body == b"ok"
    assert post(url).body == b"ok"  # resent after the reset
    assert server.accepted == 2


@pytest.mark.parametrize("adapter", sorted(CLIENTS))
def test_a_reset_after_part_of_the_response_or_on_a_new_connection_is_an_error(
    adapter: str,
) -> None:
    server = RawServer([(1, "partial"), (0, "reset")])
    server.start()
    post = CLIENTS[adapter]()
    url = f"http://127.0.0.1:{server.port}/dm"
    assert post(url).body == b"ok"
    with pytest.raises(Exception) as partial:  # each adapter's own type
        post(url)  # part of the response came: the request may have been processed
    with pytest.raises(Exception) as fresh:
        post(url)  # a new connection is never stale
    assert server.accepted == 2
    for raised in (partial.value, fresh.value):
        assert not isinstance(raised, AssertionError)
