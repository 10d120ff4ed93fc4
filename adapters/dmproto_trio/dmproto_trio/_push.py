"""Package 0 delivery over UDP (WSP push) and HTTP, trio (OMA-TS-DM_Notification-V1_2_1 §6.3)."""

from __future__ import annotations

import functools
import logging
import ssl
from collections.abc import Awaitable, Callable

import trio
from dmproto_adapter_base.drive import awaitable
from dmproto_adapter_base.handlers import call_logged
from dmproto_adapter_base.servers import Listen, PushListenerBase

from dmproto.bindings.http import check_status, parse_url
from dmproto.bindings.push import PushAccepted, push_datagram, push_request
from dmproto.notification import DM_PUSH_PORT

from ._http import HttpClient, HttpServer

__all__ = ["PushListener", "send_push_http", "send_push_udp"]

_log = logging.getLogger("dmproto_trio")
#: Receive buffer: larger than any UDP datagram; accept_push applies the limits.
_DATAGRAM = 65536

OnPush = Callable[[PushAccepted], "Awaitable[None] | None"]


def _family(host: str) -> int:
    return trio.socket.AF_INET6 if ":" in host else trio.socket.AF_INET


async def send_push_udp(
    package0: bytes, host: str, port: int = DM_PUSH_PORT, *, transaction_id: int = 1
) -> None:
    """Send ``package0`` as a WSP push datagram to ``host:port`` (default 2948)."""
    # getaddrinfo picks the family: IPv6 literals and names that resolve to IPv6 only.
    infos = await trio.socket.getaddrinfo(host, port, type=trio.socket.SOCK_DGRAM)
    family, kind, proto, _, address = infos[0]
    with trio.socket.socket(family, kind, proto) as sock:
        await sock.sendto(push_datagram(package0, transaction_id=transaction_id), address)


async def send_push_http(
    url: str, package0: bytes, *, ssl_context: ssl.SSLContext | None = None, timeout: float = 10.0
) -> None:
    """POST ``package0`` to a device's push URL.

    Raises:
        HttpStatusError: the device answered anything but 200.
        OSError / trio.TooSlowError: network failure or timeout.
    """
    target = parse_url(url)
    async with HttpClient(ssl_context=ssl_context, timeout=timeout, max_body=64 * 1024) as http:
        response = await http.exchange(target, push_request(target, package0))
    check_status(response.status)


class PushListener(PushListenerBase[OnPush, HttpServer]):
    """Device side: receives Package 0 on UDP (and optionally HTTP) and verifies it.

    ``PushListener(lookup, on_push, *, host="127.0.0.1", udp_port=0, http_port=None,
    limits=DEFAULT_LIMITS)``: ``lookup(server_id)`` gives the stored server password
    and nonce; each verified push is passed to ``on_push(accepted)`` (function or
    async function, run as a task of the listener's nursery). Pushes that fail
    verification or do not parse are ignored (OMA-TS-DM_Notification-V1_2_1 §6.1, §6.2). Run it with
    ``await nursery.start(listener.serve)``.
    """

    def _setup(self) -> None:
        self.udp_port: int | None = None
        self._nursery: trio.Nursery | None = None

    def _new_http(self, listen: Listen) -> HttpServer:
        return HttpServer(awaitable(self._answer_push), **listen.options())

    def _deliver(self, accepted: PushAccepted) -> None:
        # The application's failure must not stop the listener: it is logged.
        run = functools.partial(call_logged, self._on_push, accepted, logger=_log)
        assert self._nursery is not None
        self._nursery.start_soon(run)

    async def _receive_udp(self, sock: trio.socket.SocketType) -> None:
        while True:
            self._datagram(await sock.recv(_DATAGRAM))

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Listen until cancelled; reports readiness to ``nursery.start``."""
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            if self._udp_port is not None:
                sock = trio.socket.socket(_family(self._host), trio.socket.SOCK_DGRAM)
                await sock.bind((self._host, self._udp_port))
                self.udp_port = int(sock.getsockname()[1])
                nursery.start_soon(self._receive_udp, sock)
            if self._http is not None:
                await nursery.start(self._http.serve)
            task_status.started()
