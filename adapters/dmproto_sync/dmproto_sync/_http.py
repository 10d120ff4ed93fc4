"""Blocking HTTP/1.1 transport: sockets + ssl + the shared h11 framing.

No DM logic lives here: :class:`HttpClient` moves one whole request/response pair,
:class:`HttpServer` accepts connections (one thread each) and asks an ``answer``
callable for each whole request.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
from collections.abc import Callable

from dmproto_adapter_base.framing import (
    ClientFraming,
    NeedData,
    ReadBudget,
    Reject,
    ServerFraming,
)

from dmproto.bindings.http import HttpRequest, HttpResponse, Url, error_response
from dmproto.errors import RemoteProtocolError

__all__ = ["HttpClient", "HttpServer"]

_READ = 65536


class HttpClient:
    """Posts whole requests, reusing one keep-alive connection per origin."""

    def __init__(
        self, *, ssl_context: ssl.SSLContext | None = None, timeout: float = 30.0, max_body: int
    ):
        self._ssl_context = ssl_context
        self._timeout = timeout
        self._max_body = max_body
        self._conns: dict[tuple[str, str, int], tuple[socket.socket, ClientFraming]] = {}

    def _connect(self, url: Url) -> tuple[socket.socket, ClientFraming]:
        sock = socket.create_connection((url.host, url.port), timeout=self._timeout)
        if url.tls:
            context = self._ssl_context or ssl.create_default_context()
            try:
                sock = context.wrap_socket(sock, server_hostname=url.host)
            except BaseException:
                sock.close()
                raise
        return sock, ClientFraming(max_body=self._max_body)

    def exchange(self, url: Url, request: HttpRequest) -> HttpResponse:
        """POST ``request`` to ``url`` and return the whole response.

        Raises:
            OSError: connect/read/write failed or timed out.
            RemoteProtocolError / MalformedMessageError: broken or oversized response.
        """
        cached = self._conns.get(url.origin)
        reused = cached is not None
        if cached is not None:
            del self._conns[url.origin]
            sock, framing = cached
        else:
            sock, framing = self._connect(url)
        try:
            try:
                sock.sendall(framing.request(request))
                response = self._read(sock, framing, fresh=not reused)
            except _StaleConnection:
                # The server closed an idle keep-alive connection before reading
                # anything: the request was not processed, so it is safe to resend.
                sock.close()
                sock, framing = self._connect(url)
                sock.sendall(framing.request(request))
                response = self._read(sock, framing, fresh=True)
        except BaseException:
            sock.close()
            raise
        if framing.reusable:
            self._conns[url.origin] = (sock, framing)
        else:
            sock.close()
        return response

    @staticmethod
    def _read(sock: socket.socket, framing: ClientFraming, *, fresh: bool) -> HttpResponse:
        got_any = False
        while True:
            step = framing.next_response()
            if isinstance(step, HttpResponse):
                return step
            data = sock.recv(_READ)
            if not data and not got_any and not fresh:
                raise _StaleConnection
            got_any = True
            framing.feed(data)

    def close(self) -> None:
        """Close every kept-alive connection."""
        for sock, _ in self._conns.values():
            sock.close()
        self._conns.clear()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _StaleConnection(Exception):
    pass


class HttpServer:
    """A threaded HTTP/1.1 server calling ``answer(request)`` for each whole request.

    Args:
        answer: computes the response (called from connection threads).
        host, port: where to listen (port 0: an ephemeral port, see ``port``).
        ssl_context: server-side TLS context, or ``None`` for plain HTTP.
        timeout: seconds a connection may stay silent (read or write).
        max_body: request bodies are capped to this many bytes before reading.
        max_connections: connections beyond this are closed at once.
        request_timeout: seconds for a whole request to arrive (default
            ``4 * timeout``): a client trickling bytes is dropped.
    """

    def __init__(
        self,
        answer: Callable[[HttpRequest], HttpResponse],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        ssl_context: ssl.SSLContext | None = None,
        timeout: float = 30.0,
        max_body: int,
        max_connections: int = 1000,
        request_timeout: float | None = None,
    ):
        self._answer = answer
        self._ssl_context = ssl_context
        self._timeout = timeout
        self._request_timeout = request_timeout or 4 * timeout
        self._max_body = max_body
        self._slots = threading.BoundedSemaphore(max_connections)
        self._listener = socket.create_server((host, port), backlog=1024)
        self._listener.settimeout(0.2)
        self.host, self.port = self._listener.getsockname()[:2]
        self._stop = threading.Event()
        self._threads: set[threading.Thread] = set()
        self._lock = threading.Lock()
        self._socks: set[socket.socket] = set()
        self.on_tick: Callable[[], None] | None = None

    @property
    def scheme(self) -> str:
        """``"https"`` with a TLS context, else ``"http"``."""
        return "https" if self._ssl_context is not None else "http"

    def serve_forever(self) -> None:
        """Accept connections until :meth:`close` (or Ctrl-C) stops the server."""
        try:
            while not self._stop.is_set():
                if self.on_tick is not None:
                    self.on_tick()
                try:
                    conn, _ = self._listener.accept()
                except TimeoutError:
                    continue
                except OSError:
                    if self._stop.is_set():
                        break
                    raise
                if not self._slots.acquire(blocking=False):
                    conn.close()
                    continue
                thread = threading.Thread(target=self._connection, args=(conn,), daemon=True)
                with self._lock:
                    self._threads.add(thread)
                thread.start()
        finally:
            self._listener.close()

    def _connection(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(self._timeout)
            if self._ssl_context is not None:
                conn = self._ssl_context.wrap_socket(conn, server_side=True)
            with self._lock:
                self._socks.add(conn)
            self._serve(conn)
        except (OSError, RemoteProtocolError):
            pass  # peer went away, timed out, or failed the TLS handshake
        finally:
            with self._lock:
                self._socks.discard(conn)
                self._threads.discard(threading.current_thread())
            conn.close()
            self._slots.release()

    def _serve(self, conn: socket.socket) -> None:
        framing = ServerFraming(max_body=self._max_body)
        budget = ReadBudget(timeout=self._timeout, request_timeout=self._request_timeout)
        while not self._stop.is_set():
            step = framing.next_request()
            if step is NeedData.MORE:
                conn.settimeout(budget.next_wait(time.monotonic()))
                framing.feed(conn.recv(_READ))
                continue
            if step is NeedData.CLOSED:
                return
            if isinstance(step, Reject):
                conn.sendall(step.data)
                return
            assert isinstance(step, HttpRequest)
            try:
                response = self._answer(step)
            except Exception:  # a bug in the answer must not stop the server
                response = error_response(500, "internal server error")
            conn.settimeout(self._timeout)
            conn.sendall(framing.respond(response))
            budget.reset()
            if framing.must_close:
                return

    def close(self) -> None:
        """Stop accepting, close open connections, wait for their threads."""
        self._stop.set()
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._lock:
            socks, threads = list(self._socks), list(self._threads)
        for sock in socks:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for thread in threads:
            thread.join(timeout=5)
