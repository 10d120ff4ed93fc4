"""Package 0 delivery over UDP (WSP push) and HTTP, asyncio (OMA-TS-DM_Notification-V1_2_1 §6.3)."""

from __future__ import annotations

import asyncio
import functools
import logging
import ssl
from collections.abc import Awaitable, Callable

from dmproto_adapter_base.drive import awaitable
from dmproto_adapter_base.handlers import call_logged
from dmproto_adapter_base.servers import Listen, PushListenerBase

from dmproto.bindings.http import check_status, parse_url
from dmproto.bindings.push import PushAccepted, push_datagram, push_request
from dmproto.notification import DM_PUSH_PORT

from ._http import HttpClient, HttpServer

__all__ = ["PushListener", "send_push_http", "send_push_udp"]

_log = logging.getLogger("dmproto_asyncio")

OnPush = Callable[[PushAccepted], "Awaitable[None] | None"]


async def send_push_udp(
    package0: bytes, host: str, port: int = DM_PUSH_PORT, *, transaction_id: int = 1
) -> None:
    """Send ``package0`` as a WSP push datagram to ``host:port`` (default 2948)."""
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(
        asyncio.DatagramProtocol, remote_addr=(host, port)
    )
    try:
        transport.sendto(push_datagram(package0, transaction_id=transaction_id))
    finally:
        transport.close()


async def send_push_http(
    url: str, package0: bytes, *, ssl_context: ssl.SSLContext | None = None, timeout: float = 10.0
) -> None:
    """POST ``package0`` to a device's push URL.

    Raises:
        HttpStatusError: the device answered anything but 200.
        OSError / TimeoutError: network failure or timeout.
    """
    target = parse_url(url)
    async with HttpClient(ssl_context=ssl_context, timeout=timeout, max_body=64 * 1024) as http:
        response = await http.exchange(target, push_request(target, package0))
    check_status(response.status)


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, listener: PushListener):
        self._listener = listener

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        self._listener._datagram(data)


class PushListener(PushListenerBase[OnPush, HttpServer]):
    """Device side: receives Package 0 on UDP (and optionally HTTP) and verifies it.

    ``PushListener(lookup, on_push, *, host="127.0.0.1", udp_port=0, http_port=None,
    limits=DEFAULT_LIMITS)``: ``lookup(server_id)`` gives the stored server password
    and nonce; each verified push is passed to ``on_push(accepted)`` (a function or
    coroutine function, run as its own task). Pushes that fail verification or do
    not parse are ignored (OMA-TS-DM_Notification-V1_2_1 §6.1, §6.2). Use ``async with
    PushListener(...) as listener:``.
    """

    def _setup(self) -> None:
        self._transport: asyncio.DatagramTransport | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def _new_http(self, listen: Listen) -> HttpServer:
        return HttpServer(awaitable(self._answer_push), **listen.options())

    @property
    def udp_port(self) -> int | None:
        """The UDP port listened on (``None`` without UDP)."""
        if self._transport is None:
            return None
        return int(self._transport.get_extra_info("sockname")[1])

    def _deliver(self, accepted: PushAccepted) -> None:
        # The application's failure must not stop the listener: it is logged.
        run = functools.partial(call_logged, self._on_push, accepted, logger=_log)
        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def start(self) -> PushListener:
        """Bind the sockets and start listening."""
        if self._udp_port is not None:
            loop = asyncio.get_running_loop()
            self._transport, _ = await loop.create_datagram_endpoint(
                lambda: _Udp(self), local_addr=(self._host, self._udp_port)
            )
        if self._http is not None:
            await self._http.start()
        return self

    async def aclose(self) -> None:
        """Stop listening; cancel running ``on_push`` tasks and wait for them."""
        if self._transport is not None:
            self._transport.close()
        if self._http is not None:
            await self._http.aclose()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def __aenter__(self) -> PushListener:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
