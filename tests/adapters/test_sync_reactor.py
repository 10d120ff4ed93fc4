"""The blocking server's connections wait in one selector, not in a thread each.

``dmproto_sync.HttpServer`` runs each connection loop as a coroutine in a pool of at
most ``threads`` threads; a connection waiting for the network (keep-alive between
requests, a slow sender, a TLS handshake, a client not reading its response) holds
no thread. These tests use real sockets and a real TLS handshake.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from tlskit import make_tls

from dmproto.bindings.http import HttpRequest, HttpResponse

dmproto_sync = pytest.importorskip("dmproto_sync")
from dmproto_sync._reactor import Reactor  # noqa: E402

_REQUEST = b"POST /dm HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nhi"


def _ok(body: bytes = b"ok") -> HttpResponse:
    headers = (("Content-Type", "text/plain"), ("Content-Length", str(len(body))))
    return HttpResponse(status=200, headers=headers, body=body)


@contextlib.contextmanager
def _serving(answer: Callable[[HttpRequest], HttpResponse], **options: object) -> Iterator[object]:
    server = dmproto_sync.HttpServer(answer, max_body=1 << 20, **options)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.close()
        thread.join(10)
        assert not thread.is_alive()


def _read_response(sock: socket.socket) -> bytes:
    """One whole response with a Content-Length body (the server's responses)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"closed after {data!r}"
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    body = bytearray(rest)
    length = int(
        next(
            line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")
        ).split(b":")[1]
    )
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk
        body += chunk
    assert len(body) == length
    return head + b"\r\n\r\n" + bytes(body)


def _tls_connect(context: ssl.SSLContext, port: int) -> ssl.SSLSocket:
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    return context.wrap_socket(raw, server_hostname="127.0.0.1")


def _threads() -> set[threading.Thread]:
    """The threads alive in this process now."""
    return set(threading.enumerate())


def test_idle_keepalive_connections_hold_no_thread() -> None:
    before = _threads()
    with _serving(lambda request: _ok(), threads=2) as server:
        conns = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(60)]
        try:
            for rounds in range(2):  # a second request on each kept-alive connection
                for conn in conns:
                    conn.sendall(_REQUEST)
                    assert _read_response(conn).startswith(b"HTTP/1.1 200 ")
                # 60 open connections between requests: the selector thread and at
                # most 2 pool threads, not a thread per connection
                assert len(_threads() - before) <= 3, rounds
        finally:
            for conn in conns:
                conn.close()
    assert not _threads() - before  # close() ended the pool and the selector thread


def test_at_most_threads_answers_run_at_once_and_the_rest_wait() -> None:
    running = 0
    most = 0
    lock = threading.Lock()
    release = threading.Event()

    def answer(request: HttpRequest) -> HttpResponse:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        release.wait(10)
        with lock:
            running -= 1
        return _ok()

    with _serving(answer, threads=2) as server:
        conns = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(5)]
        for conn in conns:
            conn.sendall(_REQUEST)
        deadline = time.monotonic() + 10
        while running < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.3)  # time enough for a third answer to start, were there a thread
        assert running == 2  # two answers started; three requests wait for a thread
        release.set()
        for conn in conns:
            conn.settimeout(10)
            assert _read_response(conn).startswith(b"HTTP/1.1 200 ")
            conn.close()
    assert most == 2


def test_a_silent_connection_is_closed_after_the_timeout() -> None:
    with _serving(lambda request: _ok(), threads=1, timeout=0.3) as server:
        conn = socket.create_connection(("127.0.0.1", server.port))
        conn.settimeout(10)
        started = time.monotonic()
        assert conn.recv(100) == b""  # closed by the server, nothing answered
        waited = time.monotonic() - started
        conn.close()
    assert 0.25 < waited < 5.0  # the timeout, checked every 0.2 s; slack for a busy machine


@pytest.mark.parametrize("use_tls", [False, True], ids=["tcp", "tls"])
def test_a_client_not_reading_its_response_does_not_hold_the_only_thread(use_tls: bool) -> None:
    big = bytes(range(256)) * (128 * 1024)  # 32 MiB: more than the socket buffers hold
    tls = make_tls() if use_tls else None

    def answer(request: HttpRequest) -> HttpResponse:
        return _ok(big if request.body == b"hi" else b"small")

    def connect(port: int) -> socket.socket:
        if tls is None:
            return socket.create_connection(("127.0.0.1", port), timeout=10)
        return _tls_connect(tls.client, port)

    options = {} if tls is None else {"ssl_context": tls.server}
    with _serving(answer, threads=1, **options) as server:
        stalled = connect(server.port)
        stalled.sendall(_REQUEST)  # asks for the big body, then reads nothing yet
        time.sleep(0.3)
        other = connect(server.port)
        other.sendall(_REQUEST.replace(b"hi", b"ho"))
        assert _read_response(other).endswith(b"\r\n\r\nsmall")
        other.close()
        assert _read_response(stalled).endswith(b"\r\n\r\n" + big)  # every byte, in order
        stalled.close()


def test_a_stalled_tls_handshake_does_not_hold_the_only_thread() -> None:
    tls = make_tls()
    with _serving(lambda request: _ok(), threads=1, ssl_context=tls.server) as server:
        stalled = socket.create_connection(("127.0.0.1", server.port))  # says nothing
        time.sleep(0.3)
        with _tls_connect(tls.client, server.port) as conn:
            conn.sendall(_REQUEST)
            assert _read_response(conn).startswith(b"HTTP/1.1 200 ")
        stalled.close()


def test_close_ends_waiting_connections_and_the_pool() -> None:
    before = _threads()
    with _serving(lambda request: _ok(), threads=2) as server:
        conn = socket.create_connection(("127.0.0.1", server.port))
        conn.settimeout(5)
        conn.sendall(_REQUEST)
        _read_response(conn)
        assert len(_threads() - before) == 2  # the selector thread and one pool thread
    # the server closed: the waiting keep-alive connection was closed, not left open
    assert conn.recv(100) == b""
    conn.close()
    assert not _threads() - before


def test_one_selector_thread_per_server_and_start_is_idempotent() -> None:
    reactor = Reactor(1)
    listener = socket.create_server(("127.0.0.1", 0))
    thread = threading.Thread(target=reactor.run, args=(listener, socket.socket.close))
    thread.start()
    time.sleep(0.1)
    with pytest.raises(RuntimeError, match="served already"):
        reactor.run(listener, socket.socket.close)
    reactor.close(timeout=5)
    thread.join(5)
    assert not thread.is_alive()
    listener.close()
    with pytest.raises(ValueError, match="at least 1"):
        Reactor(0)


def test_close_before_serving_and_serving_after_close_return_at_once() -> None:
    server = dmproto_sync.HttpServer(lambda request: _ok(), max_body=100)
    server.close()
    started = time.monotonic()
    server.serve_forever()  # returns at once, serves nothing
    assert time.monotonic() - started < 1.0
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", server.port), timeout=1)


def test_tls_requests_and_large_bodies_in_both_directions_arrive_whole() -> None:
    tls = make_tls()
    payload = bytes(range(256)) * 4096  # 1 MiB, arrives in many reads

    def answer(request: HttpRequest) -> HttpResponse:
        return _ok(request.body[::-1])

    with _serving(answer, threads=1, ssl_context=tls.server) as server:
        conn = _tls_connect(tls.client, server.port)
        head = b"POST /dm HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n\r\n" % len(payload)
        for _ in range(2):
            conn.sendall(head + payload)
            assert _read_response(conn).endswith(b"\r\n\r\n" + payload[::-1])
        conn.close()


def test_an_unexpected_error_in_a_connection_loop_is_logged_not_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken() -> None:
        raise LookupError("a bug")

    reactor = Reactor(1)
    listener = socket.create_server(("127.0.0.1", 0))
    thread = threading.Thread(target=reactor.run, args=(listener, socket.socket.close))
    thread.start()
    reactor.start(broken())
    deadline = time.monotonic() + 5
    while "connection loop failed" not in caplog.text and time.monotonic() < deadline:
        time.sleep(0.02)
    reactor.close(timeout=5)
    thread.join(5)
    listener.close()
    assert "connection loop failed" in caplog.text


def test_a_handler_may_close_its_own_server() -> None:
    closed = threading.Event()

    def answer(request: HttpRequest) -> HttpResponse:
        server.close()  # from a pool thread: must not try to join itself
        closed.set()
        return _ok()

    server = dmproto_sync.HttpServer(answer, max_body=100, threads=1)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    conn = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    conn.sendall(_REQUEST)
    assert closed.wait(10)
    thread.join(10)
    assert not thread.is_alive()
    conn.close()


def test_a_silent_connection_is_closed_on_time_while_every_thread_is_busy() -> None:
    # Closed by the selector thread itself: a late close is one a client may already
    # have sent its next request on.
    release = threading.Event()

    def answer(request: HttpRequest) -> HttpResponse:
        release.wait(10)
        return _ok()

    with _serving(answer, threads=1, timeout=0.3) as server:
        busy = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        busy.sendall(_REQUEST)  # holds the only pool thread until released
        silent = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        started = time.monotonic()
        assert silent.recv(100) == b""
        waited = time.monotonic() - started
        release.set()
        assert _read_response(busy).startswith(b"HTTP/1.1 200 ")
        busy.close()
        silent.close()
    assert waited < 5.0  # not the 10 s the busy answer takes
