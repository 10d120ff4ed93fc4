"""trio HTTP/1.1 transport: trio streams + ssl + the shared h11 framing.

No DM logic lives here: :class:`HttpClient` moves one whole request/response pair,
:class:`HttpServer` serves connections (one task each, in the caller's nursery) and
awaits an ``answer`` coroutine for each whole request.
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Awaitable, Callable

import trio
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
_Conn = tuple[trio.abc.Stream, ClientFraming]


async def _close(stream: trio.abc.Stream) -> None:
    with trio.move_on_after(1) as scope:
        scope.shield = True
        with contextlib.suppress(Exception):
            await stream.aclose()


class HttpClient:
    """Posts whole requests, reusing one keep-alive connection per origin."""

    def __init__(
        self, *, ssl_context: ssl.SSLContext | None = None, timeout: float = 30.0, max_body: int
    ):
        self._ssl_context = ssl_context
        self._timeout = timeout
        self._max_body = max_body
        self._conns: dict[tuple[str, str, int], _Conn] = {}

    async def _connect(self, url: Url) -> _Conn:
        with trio.fail_after(self._timeout):
            stream: trio.abc.Stream = await trio.open_tcp_stream(url.host, url.port)
            if url.tls:
                context = self._ssl_context or ssl.create_default_context()
                tls = trio.SSLStream(stream, context, server_hostname=url.host)
                try:
                    await tls.do_handshake()
                except BaseException:
                    await _close(stream)
                    raise
                stream = tls
        return stream, ClientFraming(max_body=self._max_body)

    async def exchange(self, url: Url, request: HttpRequest) -> HttpResponse:
        """POST ``request`` to ``url`` and return the whole response.

        Raises:
            OSError / trio.TooSlowError / trio.BrokenResourceError: network failure
                or timeout.
            RemoteProtocolError / MalformedMessageError: broken or oversized response.
        """
        cached = self._conns.pop(url.origin, None)
        conn = cached if cached is not None else await self._connect(url)
        try:
            try:
                response = await self._roundtrip(conn, request, fresh=cached is None)
            except _StaleConnection:
                # The server closed an idle keep-alive connection before reading
                # anything: the request was not processed, so it is safe to resend.
                await _close(conn[0])
                conn = await self._connect(url)
                response = await self._roundtrip(conn, request, fresh=True)
        except BaseException:
            await _close(conn[0])
            raise
        if conn[1].reusable:
            self._conns[url.origin] = conn
        else:
            await _close(conn[0])
        return response

    async def _roundtrip(self, conn: _Conn, request: HttpRequest, *, fresh: bool) -> HttpResponse:
        stream, framing = conn
        got_any = False
        try:
            with trio.fail_after(self._timeout):
                await stream.send_all(framing.request(request))
            while True:
                step = framing.next_response()
                if isinstance(step, HttpResponse):
                    return step
                with trio.fail_after(self._timeout):
                    data = await stream.receive_some(_READ)
                if not data and not got_any and not fresh:
                    raise _StaleConnection
                got_any = True
                framing.feed(bytes(data))
        except trio.BrokenResourceError:
            if got_any or fresh:
                raise
            raise _StaleConnection from None

    async def aclose(self) -> None:
        """Close every kept-alive connection."""
        conns, self._conns = list(self._conns.values()), {}
        for stream, _ in conns:
            await _close(stream)

    async def __aenter__(self) -> HttpClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class _StaleConnection(Exception):
    pass


class HttpServer:
    """A trio HTTP/1.1 server awaiting ``answer(request)`` for each whole request.

    Run it in a nursery: ``port = await nursery.start(server.serve)``; cancel the
    nursery (or its scope) to stop it.

    Args:
        answer: coroutine computing the response.
        host, port: where to listen (port 0: ephemeral).
        ssl_context: server-side TLS context, or ``None`` for plain HTTP.
        timeout: seconds a connection may stay silent (read, write, TLS handshake).
        max_body: request bodies are capped to this many bytes before reading.
        max_connections: connections beyond this are closed at once.
        request_timeout: seconds for a whole request to arrive (default
            ``4 * timeout``): a client trickling bytes is dropped.
    """

    def __init__(
        self,
        answer: Callable[[HttpRequest], Awaitable[HttpResponse]],
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
        self.host = host
        self.port = port
        self._ssl_context = ssl_context
        self._timeout = timeout
        self._request_timeout = request_timeout or 4 * timeout
        self._max_body = max_body
        self._max_connections = max_connections
        self._open = 0

    @property
    def scheme(self) -> str:
        """``"https"`` with a TLS context, else ``"http"``."""
        return "https" if self._ssl_context is not None else "http"

    async def serve(self, *, task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED) -> None:
        """Listen and serve until cancelled; reports the bound port to ``nursery.start``."""
        listeners = await trio.open_tcp_listeners(self.port, host=self.host, backlog=1024)
        self.port = int(listeners[0].socket.getsockname()[1])
        async with trio.open_nursery() as nursery:
            await nursery.start(trio.serve_listeners, self._connection, listeners)
            task_status.started(self.port)

    async def _connection(self, stream: trio.SocketStream) -> None:
        if self._open >= self._max_connections:
            await _close(stream)
            return
        self._open += 1
        conn: trio.abc.Stream = stream
        try:
            if self._ssl_context is not None:
                conn = trio.SSLStream(stream, self._ssl_context, server_side=True)
                with trio.fail_after(self._timeout):
                    await conn.do_handshake()
            await self._serve(conn)
        except (OSError, trio.TooSlowError, trio.BrokenResourceError, RemoteProtocolError):
            pass  # peer went away, timed out, or failed the TLS handshake
        finally:
            self._open -= 1
            await _close(conn)

    async def _serve(self, stream: trio.abc.Stream) -> None:
        framing = ServerFraming(max_body=self._max_body)
        budget = ReadBudget(timeout=self._timeout, request_timeout=self._request_timeout)
        while True:
            step = framing.next_request()
            if step is NeedData.MORE:
                with trio.fail_after(budget.next_wait(trio.current_time())):
                    framing.feed(bytes(await stream.receive_some(_READ)))
                continue
            if step is NeedData.CLOSED:
                return
            if isinstance(step, Reject):
                with trio.fail_after(self._timeout):
                    await stream.send_all(step.data)
                return
            assert isinstance(step, HttpRequest)
            try:
                response = await self._answer(step)
            except Exception:  # a bug in the answer must not stop the server
                response = error_response(500, "internal server error")
            data = framing.respond(response)
            with trio.fail_after(self._timeout):
                await stream.send_all(data)
            budget.reset()
            if framing.must_close:
                return
