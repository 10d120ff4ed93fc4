"""trio HTTP/1.1 transport: trio streams + ssl + the shared h11 framing and loops.

No DM logic lives here, and no loop logic either (:mod:`dmproto_adapter_base`):
:class:`HttpClient` and :class:`HttpServer` only say how trio connects, reads,
writes and waits.
"""

from __future__ import annotations

import contextlib
import functools
import socket
from collections.abc import Awaitable, Callable

import trio
from dmproto_adapter_base.drive import roundtrip
from dmproto_adapter_base.framing import ClientFraming, StaleConnection
from dmproto_adapter_base.pool import AsyncHttpClient
from dmproto_adapter_base.servers import HttpServerSettings
from dmproto_adapter_base.tls import peer_certificate

from dmproto.bindings.http import HttpRequest, HttpResponse, Url
from dmproto.errors import RemoteProtocolError

__all__ = ["HttpClient", "HttpServer"]

_READ = 65536


async def _close(stream: trio.abc.Stream) -> None:
    with trio.move_on_after(1) as scope:
        scope.shield = True
        with contextlib.suppress(Exception):
            await stream.aclose()


def _sender(stream: trio.abc.Stream, timeout: float) -> Callable[[bytes], Awaitable[None]]:
    async def send(data: bytes) -> None:
        with trio.fail_after(timeout):
            await stream.send_all(data)

    return send


class HttpClient(AsyncHttpClient[trio.abc.Stream]):
    """Posts whole requests, reusing one keep-alive connection per origin
    (``HttpClient(*, ssl_context=None, timeout=30.0, max_body)``; errors:
    ``OSError`` / ``trio.TooSlowError`` / ``trio.BrokenResourceError``)."""

    async def _connect(self, url: Url) -> trio.abc.Stream:
        with trio.fail_after(self._timeout):
            stream: trio.abc.Stream = await trio.open_tcp_stream(url.host, url.port)
            if url.tls:
                tls = trio.SSLStream(stream, self._tls_context(), server_hostname=url.host)
                try:
                    await tls.do_handshake()
                except BaseException:
                    await _close(stream)
                    raise
                stream = tls
        return stream

    async def _roundtrip(
        self, stream: trio.abc.Stream, framing: ClientFraming, request: HttpRequest
    ) -> HttpResponse:
        receive = functools.partial(_receive_within, stream, self._timeout)
        try:
            return await roundtrip(
                framing, request, send=_sender(stream, self._timeout), receive=receive
            )
        except trio.BrokenResourceError:
            # A reset kept-alive connection is stale too (nothing was processed).
            if framing.may_retry:
                raise StaleConnection("kept-alive connection reset") from None
            raise

    async def _close(self, stream: trio.abc.Stream) -> None:
        await _close(stream)


class HttpServer(HttpServerSettings[Callable[[HttpRequest], Awaitable[HttpResponse]]]):
    """A trio HTTP/1.1 server awaiting ``answer(request)`` for each whole request.

    Run it in a nursery: ``port = await nursery.start(server.serve)``; cancel the
    nursery (or its scope) to stop it. Arguments: see ``HttpServerSettings``.
    """

    def _setup(self) -> None:
        self._open = 0

    async def serve(self, *, task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED) -> None:
        """Listen and serve until cancelled; reports the bound port to ``nursery.start``."""
        if self._reuse_port:
            listeners = [await _reuse_port_listener(self.host, self.port)]
        else:
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
        peer = None
        try:
            if self._ssl_context is not None:
                tls = trio.SSLStream(stream, self._ssl_context, server_side=True)
                conn = tls
                with trio.fail_after(self._timeout):
                    await tls.do_handshake()
                peer = peer_certificate(tls.getpeercert(binary_form=True))
            await self._serve_stream(
                receive=functools.partial(_receive_within, conn),
                send=_sender(conn, self._timeout),
                answer=self._answer,
                clock=trio.current_time,
                peer_certificate=peer,
            )
        except (OSError, trio.TooSlowError, trio.BrokenResourceError, RemoteProtocolError):
            pass  # peer went away, timed out, or failed the TLS handshake
        finally:
            self._open -= 1
            await _close(conn)


async def _receive_within(stream: trio.abc.Stream, wait: float) -> bytes:
    with trio.fail_after(wait):
        return bytes(await stream.receive_some(_READ))


async def _reuse_port_listener(host: str, port: int) -> trio.SocketListener:
    """A listener sharing its port with other processes (``SO_REUSEPORT``)."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = trio.socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        await sock.bind(address)
        sock.listen(1024)
    except BaseException:
        sock.close()
        raise
    return trio.SocketListener(sock)
