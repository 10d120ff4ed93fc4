"""Run DM sessions over blocking HTTP: the client loop and the threaded server.

All protocol decisions are made by :mod:`dmproto.bindings` (driver and endpoint);
this module only calls the handler, moves requests and responses, and waits.
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
from collections.abc import Callable

from dmproto.bindings.client import ClientDriver
from dmproto.bindings.http import HttpRequest, HttpResponse, error_response
from dmproto.bindings.server import Exchange, Observer, ServerEndpoint, SessionStore
from dmproto.bindings.steps import Deliver, Send
from dmproto.limits import DEFAULT_LIMITS, Limits
from dmproto.session import ClientSession, ServerConfig, ServerSession
from dmproto.session.events import Event, SessionEnded

from ._http import HttpClient, HttpServer

__all__ = ["ClientHandler", "DMServer", "ServerHandler", "run_client_session"]

_log = logging.getLogger("dmproto_sync")

#: ``handler(session, event)``: answers CommandReceived with ``session.respond``...
ClientHandler = Callable[[ClientSession, Event], None]
#: ``handler(session, event)``: supplies accounts, queues commands, sends packages.
ServerHandler = Callable[[ServerSession, Event], None]


def run_client_session(
    session: ClientSession,
    handler: ClientHandler,
    *,
    server_url: str | None = None,
    ssl_context: ssl.SSLContext | None = None,
    timeout: float = 30.0,
    clock: Callable[[], float] = time.monotonic,
    limits: Limits = DEFAULT_LIMITS,
    user_agent: str = "dmproto-sync",
) -> SessionEnded | None:
    """Run ``session`` to its end against the DM server (SPEC §7).

    Every event goes to ``handler(session, event)``. Requests go to the session's
    URL (the server URI, then RespURI). Response bodies are capped by
    ``limits.max_message_size`` before they are read. ``timeout`` bounds each connect/read/write.

    Returns the ``SessionEnded`` event (``None`` if the session reported none).

    Raises:
        OSError: network failure or timeout (the session is aborted).
        DMError: HTTP status other than 200 (``HttpStatusError``), a malformed
            response (the session is aborted).
    """
    driver = ClientDriver(session, server_url=server_url, limits=limits, user_agent=user_agent)
    with HttpClient(ssl_context=ssl_context, timeout=timeout, max_body=driver.max_body) as http:
        while True:
            step = driver.poll(clock())
            if isinstance(step, Deliver):
                handler(session, step.event)
            elif isinstance(step, Send):
                try:
                    response = http.exchange(step.url, step.request)
                except BaseException:
                    driver.fail(clock())
                    raise
                driver.handle_response(response, clock())
            else:
                return step.ended


class DMServer:
    """A DM server serving many concurrent device sessions on ``host:port``.

    Each connection has its own thread; the application's ``handler(session, event)``
    runs in that thread, outside the endpoint lock, so a slow handler delays only its
    own device. Use as a context manager or call :meth:`start` / :meth:`close`.

    Args:
        handler: the application (accounts, commands, outcomes).
        config: template ServerConfig of every session.
        host, port, path: where to listen and the DM path.
        ssl_context: server TLS context (https) or ``None``.
        timeout: seconds a connection may stay silent.
        public_url: externally visible base URL for RespURIs.
        on_message: ``on_message(request, response, session)`` after every
            exchange (access log, transcript).
        store: session snapshot store, so sessions survive restarts and can be
            shared between workers (see ``ServerEndpoint``).
        clock: monotonic clock in seconds.
    """

    def __init__(
        self,
        handler: ServerHandler,
        *,
        config: ServerConfig,
        host: str = "127.0.0.1",
        port: int = 0,
        path: str = "/dm",
        ssl_context: ssl.SSLContext | None = None,
        timeout: float = 30.0,
        public_url: str | None = None,
        max_sessions: int = 10_000,
        on_message: Observer | None = None,
        store: SessionStore | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._handler = handler
        self._clock = clock
        self._lock = threading.Lock()
        self.endpoint = ServerEndpoint(
            config,
            path=path,
            public_url=public_url,
            scheme="https" if ssl_context is not None else "http",
            max_sessions=max_sessions,
            on_message=on_message,
            store=store,
        )
        self._http = HttpServer(
            self._answer,
            host=host,
            port=port,
            ssl_context=ssl_context,
            timeout=timeout,
            max_body=self.endpoint.max_body,
        )
        self._http.on_tick = self._expire
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The TCP port listened on."""
        return int(self._http.port)

    @property
    def url(self) -> str:
        """The DM URL of this server."""
        return f"{self._http.scheme}://{self._http.host}:{self.port}{self.endpoint.path}"

    def _answer(self, request: HttpRequest) -> HttpResponse:
        with self._lock:
            opened = self.endpoint.open(request, self._clock())
        if isinstance(opened, HttpResponse):
            return opened
        return self._pump(opened)

    def _pump(self, exchange: Exchange) -> HttpResponse:
        try:
            while True:
                with self._lock:
                    step = exchange.poll(self._clock())
                if not isinstance(step, Deliver):
                    return step.response
                self._handler(exchange.session, step.event)
        except BaseException as exc:
            # Never leave the session half-applied: abort and forget it.
            with self._lock:
                exchange.abandon(self._clock())
            if not isinstance(exc, Exception):
                raise
            return error_response(500, "the DM application failed")

    def _expire(self) -> None:
        with self._lock:
            ended = self.endpoint.expire(self._clock())
        for session in ended:
            while (event := session.next_event()) is not None:
                try:
                    self._handler(session, event)
                except Exception:  # housekeeping must survive the application's failures
                    _log.exception("handler failed on %s", type(event).__name__)

    def serve_forever(self) -> None:
        """Serve in the calling thread until :meth:`close` or Ctrl-C."""
        self._http.serve_forever()

    def start(self) -> DMServer:
        """Serve in a background thread; returns ``self``."""
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving and wait for the connection threads."""
        self._http.close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> DMServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
