"""Blocking HTTP/1.1 transport: sockets + ssl + the shared h11 framing and loops.

No DM logic lives here, and no loop logic either (:mod:`dmproto_adapter_base`): the
shared loops are coroutines. The client runs them with ``run_blocking`` over blocking
socket calls (``awaitable``), so they never suspend; the server runs them over
non-blocking sockets in a :class:`~._reactor.Reactor`, where they suspend only to wait
for the network. :class:`HttpClient` and :class:`HttpServer` only say how sockets
connect, read, write and wait.
"""

from __future__ import annotations

import contextlib
import functools
import selectors
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from dmproto_adapter_base.drive import awaitable, roundtrip, run_blocking
from dmproto_adapter_base.framing import ClientFraming
from dmproto_adapter_base.pool import HttpClientBase
from dmproto_adapter_base.servers import HttpServerSettings
from dmproto_adapter_base.tls import peer_certificate

from dmproto.bindings.http import HttpRequest, HttpResponse, Url
from dmproto.errors import RemoteProtocolError

from ._reactor import DEFAULT_THREADS, Reactor, Wait, handshake, receive, send_all

__all__ = ["HttpClient", "HttpServer"]

_READ = 65536


class HttpClient(HttpClientBase[socket.socket]):
    """Posts whole requests, reusing one keep-alive connection per origin
    (``HttpClient(*, ssl_context=None, timeout=30.0, max_body)``). Its primitives are
    blocking calls written as coroutines that never suspend (``run_blocking``)."""

    async def _connect(self, url: Url) -> socket.socket:
        sock = socket.create_connection((url.host, url.port), timeout=self._timeout)
        if url.tls:
            try:
                sock = self._tls_context().wrap_socket(sock, server_hostname=url.host)
            except BaseException:
                sock.close()
                raise
        return sock

    async def _roundtrip(
        self, sock: socket.socket, framing: ClientFraming, request: HttpRequest
    ) -> HttpResponse:
        return await roundtrip(
            framing,
            request,
            send=awaitable(sock.sendall),
            receive=awaitable(lambda: sock.recv(_READ)),
        )

    async def _close(self, sock: socket.socket) -> None:
        sock.close()

    def exchange(self, url: Url, request: HttpRequest) -> HttpResponse:
        """POST ``request`` to ``url`` and return the whole response.

        Raises:
            OSError: connect/read/write failed or timed out.
            RemoteProtocolError / MalformedMessageError: broken or oversized response.
        """
        return run_blocking(self._pool.post(url, request))

    def close(self) -> None:
        """Close every kept-alive connection."""
        run_blocking(self._pool.aclose())

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class HttpServer(HttpServerSettings[Callable[[HttpRequest], HttpResponse]]):
    """A threaded HTTP/1.1 server calling ``answer(request)`` for each whole request;
    it binds at once (``port``), then ``serve_forever()`` until ``close()``.

    Connections wait for the network in one selector (``serve_forever``'s thread), not
    in a thread each: ``answer`` runs in a pool of at most ``threads`` threads
    (default 2), so that many requests are answered at once and a quiet keep-alive
    connection costs no thread. Other arguments: see ``HttpServerSettings``.
    """

    def __init__(
        self,
        answer: Callable[[HttpRequest], HttpResponse],
        *,
        threads: int = DEFAULT_THREADS,
        **settings: Any,
    ) -> None:
        self._reactor = Reactor(threads)
        super().__init__(answer, **settings)

    def _setup(self) -> None:
        self._slots = threading.BoundedSemaphore(self._max_connections)
        self._listener = socket.create_server(
            (self.host, self.port), backlog=1024, reuse_port=self._reuse_port
        )
        self.host, self.port = self._listener.getsockname()[:2]
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._socks: set[socket.socket] = set()
        self.on_tick: Callable[[], None] | None = None

    def serve_forever(self) -> None:
        """Accept connections until :meth:`close` (or Ctrl-C) stops the server."""
        try:
            self._reactor.run(self._listener, self._accepted, self.on_tick)
        finally:
            self._listener.close()

    def _accepted(self, conn: socket.socket) -> None:
        if not self._slots.acquire(blocking=False):
            conn.close()
            return
        conn.setblocking(False)
        self._reactor.start(self._connection(conn))

    async def _connection(self, conn: socket.socket) -> None:
        try:
            # The first bytes (a request, or a TLS ClientHello), waited for in the
            # selector: a silent new connection holds no thread (Reactor.start).
            await Wait(conn, selectors.EVENT_READ, time.monotonic() + self._timeout)
            peer = None
            if self._ssl_context is not None:
                conn = self._ssl_context.wrap_socket(
                    conn, server_side=True, do_handshake_on_connect=False
                )
                await handshake(conn, self._timeout)
                peer = peer_certificate(conn.getpeercert(binary_form=True))
            with self._lock:
                self._socks.add(conn)
            await self._serve_stream(
                receive=functools.partial(self._receive, conn),
                send=functools.partial(send_all, conn, timeout=self._timeout),
                answer=awaitable(self._answer),
                clock=time.monotonic,
                peer_certificate=peer,
            )
        except (OSError, RemoteProtocolError):
            pass  # peer went away, timed out, or failed the TLS handshake
        finally:
            with self._lock:
                self._socks.discard(conn)
            conn.close()
            self._slots.release()

    async def _receive(self, conn: socket.socket, wait: float) -> bytes:
        if self._stop.is_set():
            return b""  # closing: end this connection as if the peer had closed it
        return await receive(conn, _READ, wait)

    def close(self) -> None:
        """Stop accepting, close open connections, wait for their threads."""
        self._stop.set()
        with self._lock:
            socks = list(self._socks)
        for sock in socks:  # a request being answered: its next read or write fails
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self._reactor.close(timeout=5)
        with contextlib.suppress(OSError):
            self._listener.close()
