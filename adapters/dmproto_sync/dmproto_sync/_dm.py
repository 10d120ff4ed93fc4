"""Run DM sessions over blocking HTTP: the client loop and the threaded server.

All protocol decisions are made by :mod:`dmproto.bindings` (driver and endpoint)
and the loops are shared (:mod:`dmproto_adapter_base.drive`, run with
``run_blocking``); this module only calls the handler and says how threads wait.
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any

from dmproto_adapter_base.drive import (
    Guard,
    awaitable,
    drive_client,
    housekeeping_delay,
    run_blocking,
)
from dmproto_adapter_base.servers import DMServerBase, Listen

from dmproto.bindings.client import ClientDriver, ClientObserver
from dmproto.limits import DEFAULT_LIMITS, Limits
from dmproto.session import ClientSession, ServerSession
from dmproto.session.events import ClientSessionEvent, ServerSessionEvent, SessionEnded

from ._http import HttpClient, HttpServer
from ._reactor import DEFAULT_THREADS

__all__ = ["ClientHandler", "DMServer", "ServerHandler", "run_client_session"]

#: ``handler(session, event)``: answers CommandReceived with ``session.respond``...
ClientHandler = Callable[[ClientSession, ClientSessionEvent], None]
#: ``handler(session, event)``: supplies accounts, queues commands, sends packages.
ServerHandler = Callable[[ServerSession, ServerSessionEvent], None]


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
    on_message: ClientObserver | None = None,
) -> SessionEnded | None:
    """Run ``session`` to its end against the DM server (OMA-TS-SyncML_HTTPBinding-V1_2).

    Every event goes to ``handler(session, event)``. Requests go to the session's
    URL (the server URI, then RespURI). Response bodies are capped by
    ``limits.max_message_size`` before they are read. ``timeout`` bounds each connect/read/write.
    ``on_message(request, response)`` observes every exchange (``ClientDriver``).

    Returns the ``SessionEnded`` event (``None`` if the session reported none).

    Raises:
        OSError: network failure or timeout (the session is aborted).
        DMError: HTTP status other than 200 (``HttpStatusError``), a malformed
            response (the session is aborted).
    """
    driver = ClientDriver(
        session, server_url=server_url, limits=limits, user_agent=user_agent, on_message=on_message
    )
    deliver = awaitable(lambda event: handler(session, event))
    with HttpClient(ssl_context=ssl_context, timeout=timeout, max_body=driver.max_body) as http:
        return run_blocking(drive_client(driver, deliver, awaitable(http.exchange), clock))


class DMServer(DMServerBase[ServerHandler, HttpServer]):
    """A DM server serving many concurrent device sessions on ``host:port``.

    Requests are answered in a pool of at most ``threads`` threads (default 2;
    connections waiting for the network hold none, see :class:`HttpServer`); the
    application's ``handler(session, event)`` runs in the request's thread, outside the
    endpoint lock, so a slow handler delays only its own device while fewer than
    ``threads`` are slow at once. Use as a context manager or call :meth:`start` /
    :meth:`close`. The other arguments are those of
    :class:`dmproto_adapter_base.servers.DMServerBase` (``clock`` defaults to
    ``time.monotonic``).
    """

    _log = logging.getLogger("dmproto_sync")
    _thread: threading.Thread | None = None
    _next_sweep: float | None = None

    def __init__(
        self, handler: ServerHandler, *, threads: int = DEFAULT_THREADS, **options: Any
    ) -> None:
        self._thread_count = threads
        super().__init__(handler, **options)

    def _new_http(self, listen: Listen) -> HttpServer:
        http = HttpServer(
            lambda request: run_blocking(self._answer(request)),
            threads=self._thread_count,
            **listen.options(),
        )
        http.on_tick = self._tick
        return http

    def _tick(self) -> None:
        """Sweep session timers when one may be due (checked at most once a second, as
        the other adapters do), not on every accepted connection: under load the sweep
        took the endpoint lock once per connection."""
        now = self._now()
        if self._next_sweep is not None and now < self._next_sweep:
            return
        run_blocking(self._expire())
        now = self._now()
        with self._guard:
            self._next_sweep = now + housekeeping_delay(self.endpoint, now)

    def _new_guard(self) -> Guard:
        # The endpoint is not thread-safe: connection threads take turns in it.
        return threading.Lock()

    def _default_clock(self) -> float:
        return time.monotonic()

    async def _deliver(self, session: ServerSession, event: ServerSessionEvent) -> None:
        self._handler(session, event)

    def serve_forever(self) -> None:
        """Serve in the calling thread until :meth:`close` or Ctrl-C."""
        self._http.serve_forever()

    def start(self) -> DMServer:
        """Serve in a background thread (once: calling it again, or entering the
        ``with`` block of a started server, changes nothing); returns ``self``."""
        if self._thread is None:
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
