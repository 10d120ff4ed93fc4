"""Package 0 delivery over UDP (WSP push) and HTTP, blocking
(OMA-TS-DM_Notification-V1_2_1 §6.3)."""

from __future__ import annotations

import logging
import socket
import ssl
import threading
from collections.abc import Callable

from dmproto_adapter_base.servers import Listen, PushListenerBase

from dmproto.bindings.http import check_status, parse_url
from dmproto.bindings.push import PushAccepted, push_datagram, push_request
from dmproto.notification import DM_PUSH_PORT

from ._http import HttpClient, HttpServer

__all__ = ["PushListener", "send_push_http", "send_push_udp"]

_log = logging.getLogger("dmproto_sync")
#: Receive buffer: larger than any UDP datagram; accept_push applies the limits.
_DATAGRAM = 65536


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def send_push_udp(
    package0: bytes, host: str, port: int = DM_PUSH_PORT, *, transaction_id: int = 1
) -> None:
    """Send ``package0`` as a WSP push datagram to ``host:port`` (default 2948)."""
    # getaddrinfo picks the family: IPv6 literals and names that resolve to IPv6 only.
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
    with socket.socket(family, kind, proto) as sock:
        sock.sendto(push_datagram(package0, transaction_id=transaction_id), address)


def send_push_http(
    url: str, package0: bytes, *, ssl_context: ssl.SSLContext | None = None, timeout: float = 10.0
) -> None:
    """POST ``package0`` to a device's push URL.

    Raises:
        HttpStatusError: the device answered anything but 200.
        OSError: network failure or timeout.
    """
    target = parse_url(url)
    with HttpClient(ssl_context=ssl_context, timeout=timeout, max_body=64 * 1024) as http:
        response = http.exchange(target, push_request(target, package0))
    check_status(response.status)


class PushListener(PushListenerBase[Callable[[PushAccepted], None], HttpServer]):
    """Device side: receives Package 0 on UDP (and optionally HTTP) and verifies it.

    ``PushListener(lookup, on_push, *, host="127.0.0.1", udp_port=0, http_port=None,
    limits=DEFAULT_LIMITS, on_ignored=None)``: ``lookup(server_id)`` gives the stored
    server password and nonce; each verified push is passed to ``on_push(accepted)``
    in the listener's thread (start the session there with
    ``ClientSession.from_notification``). Pushes that fail verification or do not
    parse are ignored (OMA-TS-DM_Notification-V1_2_1 §6.1, §6.2; ``on_ignored(PushIgnored)`` hears
    why). The sockets are bound at construction.
    """

    def _setup(self) -> None:
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._udp: socket.socket | None = None
        if self._udp_port is not None:
            self._udp = socket.socket(_family(self._host), socket.SOCK_DGRAM)
            self._udp.bind((self._host, self._udp_port))
            self._udp.settimeout(0.2)

    def _new_http(self, listen: Listen) -> HttpServer:
        return HttpServer(self._answer_push, **listen.options())

    @property
    def udp_port(self) -> int | None:
        """The UDP port listened on (``None`` without UDP)."""
        return None if self._udp is None else int(self._udp.getsockname()[1])

    def _deliver(self, accepted: PushAccepted) -> None:
        try:
            self._on_push(accepted)
        except Exception:  # the application's failure must not stop the listener
            _log.exception("on_push failed")

    def _receive_udp(self) -> None:
        assert self._udp is not None
        while not self._stop.is_set():
            try:
                data = self._udp.recv(_DATAGRAM)
            except TimeoutError:
                continue
            except OSError:
                return
            self._datagram(data)

    def start(self) -> PushListener:
        """Listen in background threads (once: calling it again, or entering the
        ``with`` block of a started listener, changes nothing); returns ``self``."""
        if self._threads:
            return self
        if self._udp is not None:
            self._threads.append(threading.Thread(target=self._receive_udp, daemon=True))
        if self._http is not None:
            self._threads.append(threading.Thread(target=self._http.serve_forever, daemon=True))
        for thread in self._threads:
            thread.start()
        return self

    def close(self) -> None:
        """Stop listening and wait for the threads."""
        self._stop.set()
        if self._http is not None:
            self._http.close()
        for thread in self._threads:
            thread.join(timeout=5)
        if self._udp is not None:
            self._udp.close()

    def __enter__(self) -> PushListener:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
