"""Keep-alive client connections, one per origin, written once for every adapter.

The adapter supplies how to connect, how to run one request/response on a
connection (usually :func:`dmproto_adapter_base.drive.roundtrip` with its own read
and write) and how to close; :class:`KeepAlive` decides when a connection is reused,
retried or dropped.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from dmproto.bindings.http import HttpRequest, HttpResponse, Url

from .framing import ClientFraming, StaleConnection

__all__ = ["KeepAlive"]

C = TypeVar("C")
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
