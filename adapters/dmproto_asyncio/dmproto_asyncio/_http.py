"""asyncio HTTP/1.1 transport: streams + ssl + the shared h11 framing and loops.

No DM logic lives here, and no loop logic either (:mod:`dmproto_adapter_base`):
:class:`HttpClient` and :class:`HttpServer` only say how asyncio connects, reads,
writes and waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

from dmproto_adapter_base.drive import roundtrip
from dmproto_adapter_base.framing import ClientFraming
from dmproto_adapter_base.pool import AsyncHttpClient
from dmproto_adapter_base.servers import HttpServerSettings
from dmproto_adapter_base.tls import peer_certificate

from dmproto.bindings.http import HttpRequest, HttpResponse, Url
from dmproto.errors import RemoteProtocolError

__all__ = ["HttpClient", "HttpServer"]

_READ = 65536
_Conn = tuple[asyncio.StreamReader, asyncio.StreamWriter]
T = TypeVar("T")

if sys.version_info >= (3, 11):

    async def _within(awaitable: Awaitable[T], seconds: float) -> T:
        # A timeout scope costs no extra task per read (wait_for wraps one).
        async with asyncio.timeout(seconds):
            return await awaitable

else:  # pragma: no cover - Python 3.10
    _within = asyncio.wait_for


def _sender(writer: asyncio.StreamWriter, timeout: float) -> Callable[[bytes], Awaitable[None]]:
    async def send(data: bytes) -> None:
        writer.write(data)
        await _within(writer.drain(), timeout)

    return send


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(Exception):
        await asyncio.wait_for(writer.wait_closed(), 1.0)


class HttpClient(AsyncHttpClient[_Conn]):
    """Posts whole requests, reusing one keep-alive connection per origin
    (``HttpClient(*, ssl_context=None, timeout=30.0, max_body)``; errors:
    ``OSError`` / ``TimeoutError``)."""

    async def _connect(self, url: Url) -> _Conn:
        context = self._tls_context() if url.tls else None
        return await _within(
            asyncio.open_connection(
                url.host, url.port, ssl=context, server_hostname=url.host if context else None
            ),
            self._timeout,
        )

    async def _roundtrip(
        self, conn: _Conn, framing: ClientFraming, request: HttpRequest
    ) -> HttpResponse:
        reader, writer = conn
        return await roundtrip(
            framing,
            request,
            send=_sender(writer, self._timeout),
            receive=lambda: _within(reader.read(_READ), self._timeout),
        )

    async def _close(self, conn: _Conn) -> None:
        await _close(conn[1])


class HttpServer(HttpServerSettings[Callable[[HttpRequest], Awaitable[HttpResponse]]]):
    """An asyncio HTTP/1.1 server awaiting ``answer(request)`` for each whole request
    (one task per connection); ``await start()``, then ``await aclose()``."""

    def _setup(self) -> None:
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._closing = False

    async def start(self) -> None:
        """Bind and start accepting (``port`` is then the bound port)."""
        self._server = await asyncio.start_server(
            self._connection,
            self.host,
            self.port,
            ssl=self._ssl_context,
            ssl_handshake_timeout=self._timeout if self._ssl_context else None,
            backlog=1024,
            reuse_port=self._reuse_port or None,
        )
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        if len(self._tasks) >= self._max_connections:
            await _close(writer)
            return
        self._tasks.add(task)
        tls = writer.get_extra_info("ssl_object")
        try:
            await self._serve_stream(
                receive=lambda wait: _within(reader.read(_READ), wait),
                send=_sender(writer, self._timeout),
                answer=self._answer,
                clock=asyncio.get_running_loop().time,
                peer_certificate=None if tls is None else peer_certificate(tls.getpeercert(True)),
            )
        except (
            OSError,
            TimeoutError,
            asyncio.TimeoutError,
            RemoteProtocolError,
            asyncio.IncompleteReadError,
        ):
            pass  # peer went away or timed out
        except asyncio.CancelledError:
            # aclose() ends the connection: end the task normally, since asyncio's
            # stream callback reports a cancelled connection task as an error.
            if not self._closing:
                raise
        finally:
            self._tasks.discard(task)
            writer.close()

    async def aclose(self) -> None:
        """Stop accepting, cancel connection tasks and wait for them."""
        self._closing = True
        if self._server is not None:
            self._server.close()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)
