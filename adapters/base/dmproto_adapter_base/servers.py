"""What the adapters' server classes share: settings, the DM endpoint, push checks.

Each adapter subclasses these and adds only how it listens and waits:

* :class:`HttpServerSettings` — the HTTP server's constructor arguments and the
  per-connection loop setup (``ServerFraming`` + ``ReadBudget``).
* :class:`DMServerBase` — the ``ServerEndpoint`` behind a ``DMServer``, answering
  requests and sweeping timers through :mod:`dmproto_adapter_base.drive`.
* :class:`PushListenerBase` — the device side of Package 0: which pushes are
  accepted (OMA-TS-DM_Notification-V1_2_1 §6.1, §6.2, §6.3), whatever carried them.
"""

from __future__ import annotations

import contextlib
import logging
import ssl
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

import attrs

from dmproto.bindings.claims import SessionClaims
from dmproto.bindings.http import HttpRequest, HttpResponse
from dmproto.bindings.lockout import LockoutPolicy
from dmproto.bindings.push import PushAccepted, PushIgnored, PushKind, ServerSecret, check_push
from dmproto.bindings.push import answer_push_request as _answer_push
from dmproto.bindings.server import Observer, ServerEndpoint, SessionStore
from dmproto.errors import MalformedMessageError
from dmproto.limits import DEFAULT_LIMITS, Limits
from dmproto.security import PeerCertificate
from dmproto.session import ServerConfig, ServerSession
from dmproto.session.events import ServerSessionEvent

from .drive import Guard, answer_request, expire_due, housekeeping_delay, serve_connection
from .framing import ReadBudget, ServerFraming

__all__ = [
    "DEFAULT_MAX_CONNECTIONS",
    "DEFAULT_TIMEOUT",
    "REQUEST_TIMEOUT_FACTOR",
    "DMServerBase",
    "HttpServerSettings",
    "Listen",
    "PushListenerBase",
]

#: Seconds a connection may stay silent (each read, write, TLS handshake).
DEFAULT_TIMEOUT = 30.0
#: Open connections per server; the next ones are closed as soon as accepted.
DEFAULT_MAX_CONNECTIONS = 1000
#: A whole request must arrive within this many times ``timeout`` unless
#: ``request_timeout`` says otherwise (slowloris: bytes trickled just often enough).
REQUEST_TIMEOUT_FACTOR = 4

H = TypeVar("H")  # the adapter's handler type
A = TypeVar("A")  # the adapter's answer type (a function or a coroutine function)
S = TypeVar("S", bound="HttpServerSettings[Any]")
OnPushT = TypeVar("OnPushT")  # the adapter's on_push type


@attrs.frozen(kw_only=True)
class Listen:
    """Where and how a server's ``HttpServer`` listens (its keyword arguments)."""

    host: str
    port: int
    max_body: int
    ssl_context: ssl.SSLContext | None = None
    timeout: float = DEFAULT_TIMEOUT
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    request_timeout: float | None = None
    reuse_port: bool = False

    def options(self) -> dict[str, Any]:
        """The keyword arguments of ``HttpServer(answer, **options)``."""
        return attrs.asdict(self, recurse=False)


class HttpServerSettings(Generic[A]):
    """The arguments of every adapter's ``HttpServer``.

    Args:
        answer: computes the response to each whole request.
        host, port: where to listen (port 0: ephemeral, see ``port`` once bound).
        ssl_context: server-side TLS context, or ``None`` for plain HTTP; one that
            verifies client certificates (``tls.server_ssl_context(client_ca=...)``)
            hands each request the device's certificate.
        timeout: seconds a connection may stay silent (read, write, TLS handshake).
        max_body: request bodies are capped to this many bytes before reading.
        max_connections: connections beyond this are closed at once.
        request_timeout: seconds for a whole request (head and body) to arrive,
            counted from the first read after the previous response (default
            ``REQUEST_TIMEOUT_FACTOR * timeout``): a client trickling bytes is dropped.
        reuse_port: listen with ``SO_REUSEPORT``, so that several processes
            (``dmproto serve --workers N``) accept on one port, the kernel sharing
            the connections out among them.
    """

    def __init__(
        self,
        answer: A,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        ssl_context: ssl.SSLContext | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_body: int,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        request_timeout: float | None = None,
        reuse_port: bool = False,
    ):
        self._answer = answer
        self._reuse_port = reuse_port
        self.host = host
        self.port = port
        self._ssl_context = ssl_context
        self._timeout = timeout
        self._request_timeout = request_timeout or REQUEST_TIMEOUT_FACTOR * timeout
        self._max_body = max_body
        self._max_connections = max_connections
        self._setup()

    def _setup(self) -> None:
        """Create the adapter's own state (listener, task set...): a hook."""

    @property
    def scheme(self) -> str:
        """``"https"`` with a TLS context, else ``"http"``."""
        return "https" if self._ssl_context is not None else "http"

    async def _serve_stream(
        self,
        *,
        receive: Callable[[float], Awaitable[bytes]],
        send: Callable[[bytes], Awaitable[None]],
        answer: Callable[[HttpRequest], Awaitable[HttpResponse]],
        clock: Callable[[], float],
        peer_certificate: PeerCertificate | None = None,
    ) -> None:
        """One connection's request loop with fresh framing and read budget; its
        requests carry the client certificate the TLS handshake verified."""
        await serve_connection(
            ServerFraming(max_body=self._max_body, peer_certificate=peer_certificate),
            ReadBudget(timeout=self._timeout, request_timeout=self._request_timeout),
            receive=receive,
            send=send,
            answer=answer,
            clock=clock,
        )


class DMServerBase(Generic[H, S]):
    """A DM server serving many concurrent device sessions on ``host:port``.

    Args:
        handler: the application (accounts, commands, outcomes).
        config: template ServerConfig of every session.
        host, port, path: where to listen and the DM path.
        ssl_context: server TLS context (https) or ``None``.
        timeout: seconds a connection may stay silent.
        max_connections: open connections at most; the next ones are closed as
            soon as accepted, without a response.
        request_timeout: seconds for a whole request to arrive (default
            ``REQUEST_TIMEOUT_FACTOR * timeout``); a slower client is disconnected.
        public_url: externally visible base URL for RespURIs.
        max_sessions: concurrent sessions; more Package 1s are refused with 503.
        on_message: ``on_message(request, response, session)`` for every exchange
            (access log, transcript).
        store: session snapshot store, so sessions survive a restart of this
            process (see ``ServerEndpoint``).
        lockout: how failed authentications lock an account name or device id
            (``dmproto.bindings.lockout``); ``None`` turns it off.
        clock: clock in seconds (default: the adapter's own, monotonic); with
            ``claims`` shared by several machines, pass a wall clock (``time.time``),
            since session deadlines travel in the snapshots.
        claims: a session store shared by several processes, with leases
            (``dmproto.bindings.claims``): any of them answers any request.
        reuse_port: listen with ``SO_REUSEPORT`` (several worker processes on one
            port).
    """

    #: Where housekeeping logs the application's failures.
    _log: logging.Logger = logging.getLogger("dmproto_adapter_base")

    def __init__(
        self,
        handler: H,
        *,
        config: ServerConfig,
        host: str = "127.0.0.1",
        port: int = 0,
        path: str = "/dm",
        ssl_context: ssl.SSLContext | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        request_timeout: float | None = None,
        public_url: str | None = None,
        max_sessions: int = 10_000,
        on_message: Observer | None = None,
        store: SessionStore | None = None,
        clock: Callable[[], float] | None = None,
        lockout: LockoutPolicy | None = LockoutPolicy(),  # noqa: B008 (frozen value)
        claims: SessionClaims | None = None,
        reuse_port: bool = False,
    ):
        self._handler = handler
        self._clock = clock
        self._guard: Guard = self._new_guard()
        self.endpoint = ServerEndpoint(
            config,
            path=path,
            public_url=public_url,
            scheme="https" if ssl_context is not None else "http",
            max_sessions=max_sessions,
            on_message=on_message,
            store=store,
            lockout=lockout,
            claims=claims,
        )
        self._http: S = self._new_http(
            Listen(
                host=host,
                port=port,
                ssl_context=ssl_context,
                timeout=timeout,
                max_body=self.endpoint.max_body,
                max_connections=max_connections,
                request_timeout=request_timeout,
                reuse_port=reuse_port,
            )
        )

    # -- what each adapter supplies ----------------------------------------------------

    def _new_http(self, listen: Listen) -> S:
        """The adapter's HTTP server, answering with :meth:`_answer`."""
        raise NotImplementedError

    def _new_guard(self) -> Guard:
        """What serialises endpoint calls (one event loop: nothing)."""
        return contextlib.nullcontext()

    def _default_clock(self) -> float:
        raise NotImplementedError

    async def _deliver(self, session: ServerSession, event: ServerSessionEvent) -> None:
        """Hand one event to the application's handler."""
        raise NotImplementedError

    # -- shared ------------------------------------------------------------------------

    def _now(self) -> float:
        return self._clock() if self._clock is not None else self._default_clock()

    @property
    def port(self) -> int:
        """The TCP port listened on (once bound)."""
        return int(self._http.port)

    @property
    def url(self) -> str:
        """The DM URL of this server."""
        return f"{self._http.scheme}://{self._http.host}:{self.port}{self.endpoint.path}"

    async def _answer(self, request: HttpRequest) -> HttpResponse:
        return await answer_request(self.endpoint, request, self._deliver, self._now, self._guard)

    async def _expire(self) -> None:
        await expire_due(
            self.endpoint, self._deliver, self._now, logger=self._log, guard=self._guard
        )

    async def _expire_forever(self, sleep: Callable[[float], Awaitable[object]]) -> None:
        """Sweep session timers until cancelled, sleeping with the adapter's ``sleep``."""
        while True:
            await sleep(housekeeping_delay(self.endpoint, self._now()))
            await self._expire()


class PushListenerBase(Generic[OnPushT, S]):
    """Device side of Package 0: accepts verified pushes, ignores everything else.

    ``lookup(server_id)`` gives the stored server password and nonce; each verified
    push goes to ``on_push(accepted)`` through the adapter's :meth:`_deliver`.
    Pushes that fail verification or do not parse are ignored
    (OMA-TS-DM_Notification-V1_2_1 §6.1, §6.2); a parsed one that is ignored goes to
    ``on_ignored(PushIgnored)`` (for a log).
    """

    def __init__(
        self,
        lookup: Callable[[str], ServerSecret | None],
        on_push: OnPushT,
        *,
        host: str = "127.0.0.1",
        udp_port: int | None = 0,
        http_port: int | None = None,
        limits: Limits = DEFAULT_LIMITS,
        on_ignored: Callable[[PushIgnored], None] | None = None,
    ):
        self._lookup = lookup
        self._on_push = on_push
        self._on_ignored = on_ignored
        self._host = host
        self._udp_port = udp_port
        self._limits = limits
        self._setup()
        self._http: S | None = None
        if http_port is not None:
            self._http = self._new_http(
                Listen(host=host, port=http_port, max_body=limits.max_message_size)
            )

    def _setup(self) -> None:
        """Create the adapter's own state (sockets, task sets...): a hook."""

    def _new_http(self, listen: Listen) -> S:
        """The adapter's HTTP server answering Package 0 POSTs."""
        raise NotImplementedError

    def _deliver(self, accepted: PushAccepted) -> None:
        """Hand a verified push to the application (its failures must be contained)."""
        raise NotImplementedError

    @property
    def http_url(self) -> str | None:
        """The HTTP URL accepting Package 0 POSTs (``None`` without HTTP)."""
        if self._http is None:
            return None
        return f"http://{self._http.host}:{self._http.port}/push"

    def _datagram(self, data: bytes) -> None:
        """A UDP datagram arrived (OMA-TS-DM_Notification-V1_2_1 §6.3: WSP push); deliver it if it
        verifies."""
        with contextlib.suppress(MalformedMessageError):
            checked = check_push(data, PushKind.WSP, self._lookup, limits=self._limits)
            if isinstance(checked, PushAccepted):
                self._deliver(checked)
            elif self._on_ignored is not None:
                self._on_ignored(checked)

    def _answer_push(self, request: HttpRequest) -> HttpResponse:
        """The response to a Package 0 POST; a verified push is delivered."""
        response, accepted = _answer_push(
            request, self._lookup, limits=self._limits, on_ignored=self._on_ignored
        )
        if accepted is not None:
            self._deliver(accepted)
        return response
