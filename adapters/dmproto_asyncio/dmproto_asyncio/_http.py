"""asyncio HTTP/1.1 transport: streams + ssl + the shared h11 framing.

No DM logic lives here: :class:`HttpClient` moves one whole request/response pair,
:class:`HttpServer` serves connections (one task each) and awaits an ``answer``
coroutine for each whole request.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Awaitable, Callable

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
_Conn = tuple[asyncio.StreamReader, asyncio.StreamWriter, ClientFraming]


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(Exception):
        await asyncio.wait_for(writer.wait_closed(), 1.0)


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
        context = (self._ssl_context or ssl.create_default_context()) if url.tls else None
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(
                url.host, url.port, ssl=context, server_hostname=url.host if context else None
            ),
            self._timeout,
        )
        return reader, writer, ClientFraming(max_body=self._max_body)

    async def exchange(self, url: Url, request: HttpRequest) -> HttpResponse:
        """POST ``request`` to ``url`` and return the whole response.

        Raises:
            OSError / TimeoutError: connect/read/write failed or timed out.
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
                await _close(conn[1])
                conn = await self._connect(url)
                response = await self._roundtrip(conn, request, fresh=True)
        except BaseException:
            conn[1].close()
            raise
        if conn[2].reusable:
            self._conns[url.origin] = conn
        else:
            await _close(conn[1])
        return response

    async def _roundtrip(self, conn: _Conn, request: HttpRequest, *, fresh: bool) -> HttpResponse:
        reader, writer, framing = conn
        writer.write(framing.request(request))
        await asyncio.wait_for(writer.drain(), self._timeout)
        got_any = False
        while True:
            step = framing.next_response()
            if isinstance(step, HttpResponse):
                return step
            data = await asyncio.wait_for(reader.read(_READ), self._timeout)
            if not data and not got_any and not fresh:
                raise _StaleConnection
            got_any = True
            framing.feed(data)

    async def aclose(self) -> None:
        """Close every kept-alive connection."""
        conns, self._conns = list(self._conns.values()), {}
        for _, writer, _ in conns:
            await _close(writer)

    async def __aenter__(self) -> HttpClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class _StaleConnection(Exception):
    pass


class HttpServer:
    """An asyncio HTTP/1.1 server awaiting ``answer(request)`` for each whole request.

    Args:
        answer: coroutine computing the response.
        host, port: where to listen (port 0: ephemeral, see ``port`` after start).
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
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def scheme(self) -> str:
        """``"https"`` with a TLS context, else ``"http"``."""
        return "https" if self._ssl_context is not None else "http"

    async def start(self) -> None:
        """Bind and start accepting (``port`` is then the bound port)."""
        self._server = await asyncio.start_server(
            self._connection,
            self.host,
            self.port,
            ssl=self._ssl_context,
            ssl_handshake_timeout=self._timeout if self._ssl_context else None,
            backlog=1024,
        )
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        if len(self._tasks) >= self._max_connections:
            await _close(writer)
            return
        self._tasks.add(task)
        try:
            await self._serve(reader, writer)
        except (OSError, TimeoutError, RemoteProtocolError, asyncio.IncompleteReadError):
            pass  # peer went away or timed out
        finally:
            self._tasks.discard(task)
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        framing = ServerFraming(max_body=self._max_body)
        budget = ReadBudget(timeout=self._timeout, request_timeout=self._request_timeout)
        loop = asyncio.get_running_loop()
        while True:
            step = framing.next_request()
            if step is NeedData.MORE:
                wait = budget.next_wait(loop.time())
                framing.feed(await asyncio.wait_for(reader.read(_READ), wait))
                continue
            if step is NeedData.CLOSED:
                return
            if isinstance(step, Reject):
                writer.write(step.data)
                await asyncio.wait_for(writer.drain(), self._timeout)
                return
            assert isinstance(step, HttpRequest)
            try:
                response = await self._answer(step)
            except Exception:  # a bug in the answer must not stop the server
                response = error_response(500, "internal server error")
            writer.write(framing.respond(response))
            await asyncio.wait_for(writer.drain(), self._timeout)
            budget.reset()
            if framing.must_close:
                return

    async def aclose(self) -> None:
        """Stop accepting, cancel connection tasks and wait for them."""
        if self._server is not None:
            self._server.close()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)
