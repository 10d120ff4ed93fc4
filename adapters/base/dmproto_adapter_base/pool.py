"""Keep-alive client connections, one per origin, and the adapters' HTTP client base.

The adapter supplies how to connect, how to run one request/response on a
connection (usually :func:`dmproto_adapter_base.drive.roundtrip` with its own read
and write) and how to close; :class:`KeepAlive` decides when a connection is reused,
retried or dropped.
"""

from __future__ import annotations

import ssl
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from dmproto.bindings.http import HttpRequest, HttpResponse, Url

from .framing import ClientFraming, StaleConnection

__all__ = ["AsyncHttpClient", "HttpClientBase", "KeepAlive"]

C = TypeVar("C")
A = TypeVar("A", bound="AsyncHttpClient[Any]")
Origin = tuple[str, str, int]


class KeepAlive(Generic[C]):
    """Posts whole requests, reusing one kept-alive connection ``C`` per origin.

    Args:
        max_body: response bodies are capped to this many bytes before reading.
        connect: opens a connection to the URL's origin.
        exchange: ``exchange(conn, framing, request)`` writes the request, reads the
            whole response; raises ``StaleConnection`` when a reused connection turns
            out closed before the response began.
        close: closes a connection (after use, or when it failed or was cancelled).
    """

    def __init__(
        self,
        *,
        max_body: int,
        connect: Callable[[Url], Awaitable[C]],
        exchange: Callable[[C, ClientFraming, HttpRequest], Awaitable[HttpResponse]],
        close: Callable[[C], Awaitable[None]],
    ):
        self._max_body = max_body
        self._connect = connect
        self._exchange = exchange
        self._close = close
        self._conns: dict[Origin, tuple[C, ClientFraming]] = {}

    async def _open(self, url: Url) -> tuple[C, ClientFraming]:
        return await self._connect(url), ClientFraming(max_body=self._max_body)

    async def post(self, url: Url, request: HttpRequest) -> HttpResponse:
        """Send ``request`` to ``url`` and return the whole response.

        Raises:
            whatever the adapter's connect/exchange raise (network errors, timeouts,
            ``RemoteProtocolError`` / ``MalformedMessageError`` for a broken or
            oversized response); the connection is closed first.
        """
        conn = self._conns.pop(url.origin, None) or await self._open(url)
        try:
            try:
                response = await self._exchange(*conn, request)
            except StaleConnection:
                # The server closed an idle kept-alive connection before reading
                # anything: the request was not processed, so it is safe to resend.
                await self._close(conn[0])
                conn = await self._open(url)
                response = await self._exchange(*conn, request)
        except BaseException:
            await self._close(conn[0])
            raise
        if conn[1].reusable:
            self._conns[url.origin] = conn
        else:
            await self._close(conn[0])
        return response

    async def aclose(self) -> None:
        """Close every kept-alive connection."""
        conns, self._conns = list(self._conns.values()), {}
        for conn, _ in conns:
            await self._close(conn)


class HttpClientBase(Generic[C]):
    """What every adapter's ``HttpClient`` shares: settings and the keep-alive pool.

    The adapter implements the three primitives as coroutine functions (the blocking
    adapter's complete at once and are run with ``run_blocking``).

    Args:
        ssl_context: client TLS context for https (default: the system's trust).
        timeout: seconds each connect/read/write may take.
        max_body: response bodies are capped to this many bytes before reading.
    """

    def __init__(
        self, *, ssl_context: ssl.SSLContext | None = None, timeout: float = 30.0, max_body: int
    ):
        self._ssl_context = ssl_context
        self._timeout = timeout
        self._pool: KeepAlive[C] = KeepAlive(
            max_body=max_body, connect=self._connect, exchange=self._roundtrip, close=self._close
        )

    def _tls_context(self) -> ssl.SSLContext:
        return self._ssl_context or ssl.create_default_context()

    async def _connect(self, url: Url) -> C:
        """Open a connection to the URL's origin (TLS for https)."""
        raise NotImplementedError

    async def _roundtrip(
        self, conn: C, framing: ClientFraming, request: HttpRequest
    ) -> HttpResponse:
        """Write the request, read the whole response (``drive.roundtrip``)."""
        raise NotImplementedError

    async def _close(self, conn: C) -> None:
        """Close a connection."""
        raise NotImplementedError


class AsyncHttpClient(HttpClientBase[C]):
    """An async adapter's ``HttpClient``: ``async with HttpClient(...) as http:``."""

    async def exchange(self, url: Url, request: HttpRequest) -> HttpResponse:
        """POST ``request`` to ``url`` and return the whole response.

        Raises:
            the adapter's network errors and timeouts; ``RemoteProtocolError`` /
            ``MalformedMessageError`` for a broken or oversized response.
        """
        return await self._pool.post(url, request)

    async def aclose(self) -> None:
        """Close every kept-alive connection."""
        await self._pool.aclose()

    async def __aenter__(self: A) -> A:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
