"""Run DM sessions over asyncio HTTP: the client coroutine and the server.

All protocol decisions are made by :mod:`dmproto.bindings` (driver and endpoint);
this module only awaits the handler, moves requests and responses, and waits.
Handlers may be plain functions or coroutine functions.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Callable

from dmproto_adapter_base.handlers import Handler, call_handler, call_logged

from dmproto.bindings.client import ClientDriver
from dmproto.bindings.http import HttpRequest, HttpResponse, error_response
from dmproto.bindings.server import Exchange, Observer, ServerEndpoint, SessionStore
from dmproto.bindings.steps import Deliver, Send
from dmproto.limits import DEFAULT_LIMITS, Limits
from dmproto.session import ClientSession, ServerConfig, ServerSession
from dmproto.session.events import Event, SessionEnded

from ._http import HttpClient, HttpServer

__all__ = ["DMServer", "run_client_session"]

_log = logging.getLogger("dmproto_asyncio")


async def run_client_session(
    session: ClientSession,
    handler: Handler[ClientSession, Event],
    *,
    server_url: str | None = None,
    ssl_context: ssl.SSLContext | None = None,
    timeout: float = 30.0,
    clock: Callable[[], float] | None = None,
    limits: Limits = DEFAULT_LIMITS,
    user_agent: str = "dmproto-asyncio",
) -> SessionEnded | None:
    """Run ``session`` to its end against the DM server (SPEC §7).

    Every event goes to ``handler(session, event)`` (awaited when it is a coroutine
    function). ``timeout`` bounds each connect/read/write; response bodies are
    capped by ``limits.max_message_size`` before they are read. Cancelling the task
    aborts the session.

    Returns the ``SessionEnded`` event (``None`` if the session reported none).

    Raises:
        OSError / TimeoutError: network failure or timeout (the session is aborted).
        DMError: HTTP status other than 200, malformed response (session aborted).
    """
    now = clock or asyncio.get_running_loop().time
    driver = ClientDriver(session, server_url=server_url, limits=limits, user_agent=user_agent)
    http = HttpClient(ssl_context=ssl_context, timeout=timeout, max_body=driver.max_body)
    async with http:
        while True:
            step = driver.poll(now())
            if isinstance(step, Deliver):
                await call_handler(handler, session, step.event)
            elif isinstance(step, Send):
                try:
                    response = await http.exchange(step.url, step.request)
                except BaseException:
                    driver.fail(now())
                    raise
                driver.handle_response(response, now())
            else:
                return step.ended


class DMServer:
    """A DM server serving many concurrent device sessions on ``host:port``.

    Each connection is a task; the handler is awaited inside it, so a slow handler
    delays only its own device. Use ``async with DMServer(...) as server:``.

    Args:
        handler: the application (accounts, commands, outcomes); may be async.
        config: template ServerConfig of every session.
        host, port, path: where to listen and the DM path.
        ssl_context: server TLS context (https) or ``None``.
        timeout: seconds a connection may stay silent.
        public_url: externally visible base URL for RespURIs.
        on_message: ``on_message(request, response, session)`` after every
            exchange (access log, transcript).
        store: session snapshot store, so sessions survive restarts and can be
            shared between workers (see ``ServerEndpoint``).
    """

    def __init__(
        self,
        handler: Handler[ServerSession, Event],
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
        clock: Callable[[], float] | None = None,
    ):
        self._handler = handler
        self._clock = clock
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
        self._housekeeping: asyncio.Task[None] | None = None

    def _now(self) -> float:
        return self._clock() if self._clock else asyncio.get_running_loop().time()

    @property
    def port(self) -> int:
        """The TCP port listened on (after start)."""
        return self._http.port

    @property
    def url(self) -> str:
        """The DM URL of this server."""
        return f"{self._http.scheme}://{self._http.host}:{self.port}{self.endpoint.path}"

    async def _answer(self, request: HttpRequest) -> HttpResponse:
        opened = self.endpoint.open(request, self._now())
        if isinstance(opened, HttpResponse):
            return opened
        return await self._pump(opened)

    async def _pump(self, exchange: Exchange) -> HttpResponse:
        try:
            while True:
                step = exchange.poll(self._now())
                if not isinstance(step, Deliver):
                    return step.response
                await call_handler(self._handler, exchange.session, step.event)
        except BaseException as exc:
            # Cancellation or a failing handler: abort and forget the session.
            exchange.abandon(self._now())
            if not isinstance(exc, Exception):
                raise
            return error_response(500, "the DM application failed")

    async def _expire_forever(self) -> None:
        while True:
            deadline = self.endpoint.next_deadline()
            delay = 1.0 if deadline is None else min(1.0, max(0.0, deadline - self._now()))
            await asyncio.sleep(delay)
            for session in self.endpoint.expire(self._now()):
                while (event := session.next_event()) is not None:
                    # housekeeping must survive the application's failures
                    await call_logged(self._handler, session, event, logger=_log)

    async def start(self) -> DMServer:
        """Bind and start serving in background tasks."""
        await self._http.start()
        self._housekeeping = asyncio.get_running_loop().create_task(self._expire_forever())
        return self

    async def serve_forever(self) -> None:
        """Serve until cancelled."""
        await self.start()
        try:
            await asyncio.Event().wait()
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        """Stop serving; cancel connection tasks and wait for them."""
        if self._housekeeping is not None:
            self._housekeeping.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._housekeeping
        await self._http.aclose()

    async def __aenter__(self) -> DMServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
