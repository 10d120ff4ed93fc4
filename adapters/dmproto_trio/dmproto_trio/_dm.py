"""Run DM sessions over trio HTTP: the client function and the server.

All protocol decisions are made by :mod:`dmproto.bindings` (driver and endpoint);
this module only awaits the handler, moves requests and responses, and waits.
Handlers may be plain functions or async functions.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Callable

import trio
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

_log = logging.getLogger("dmproto_trio")


async def run_client_session(
    session: ClientSession,
    handler: Handler[ClientSession, Event],
    *,
    server_url: str | None = None,
    ssl_context: ssl.SSLContext | None = None,
    timeout: float = 30.0,
    clock: Callable[[], float] = trio.current_time,
    limits: Limits = DEFAULT_LIMITS,
    user_agent: str = "dmproto-trio",
) -> SessionEnded | None:
    """Run ``session`` to its end against the DM server (SPEC §7).

    Every event goes to ``handler(session, event)`` (awaited when async).
    ``timeout`` bounds each connect/read/write; response bodies are capped by
    ``limits.max_message_size``. Cancellation aborts the session.

    Returns the ``SessionEnded`` event (``None`` if the session reported none).

    Raises:
        OSError / trio.TooSlowError / trio.BrokenResourceError: network failure or
            timeout (the session is aborted).
        DMError: HTTP status other than 200, malformed response (session aborted).
    """
    driver = ClientDriver(session, server_url=server_url, limits=limits, user_agent=user_agent)
    http = HttpClient(ssl_context=ssl_context, timeout=timeout, max_body=driver.max_body)
    async with http:
        while True:
            step = driver.poll(clock())
            if isinstance(step, Deliver):
                await call_handler(handler, session, step.event)
            elif isinstance(step, Send):
                try:
                    response = await http.exchange(step.url, step.request)
                except BaseException:
                    driver.fail(clock())
                    raise
                driver.handle_response(response, clock())
            else:
                return step.ended


class DMServer:
    """A DM server serving many concurrent device sessions on ``host:port``.

    Run it in a nursery: ``await nursery.start(server.serve)``; ``server.url`` is
    then valid. Cancel the nursery to stop it: connection tasks end with it.

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
        clock: Callable[[], float] = trio.current_time,
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

    @property
    def port(self) -> int:
        """The TCP port listened on (once started)."""
        return self._http.port

    @property
    def url(self) -> str:
        """The DM URL of this server."""
        return f"{self._http.scheme}://{self._http.host}:{self.port}{self.endpoint.path}"

    async def _answer(self, request: HttpRequest) -> HttpResponse:
        opened = self.endpoint.open(request, self._clock())
        if isinstance(opened, HttpResponse):
            return opened
        return await self._pump(opened)

    async def _pump(self, exchange: Exchange) -> HttpResponse:
        try:
            while True:
                step = exchange.poll(self._clock())
                if not isinstance(step, Deliver):
                    return step.response
                await call_handler(self._handler, exchange.session, step.event)
        except BaseException as exc:
            # Cancellation or a failing handler: abort and forget the session.
            exchange.abandon(self._clock())
            if not isinstance(exc, Exception):
                raise
            return error_response(500, "the DM application failed")

    async def _expire_forever(self) -> None:
        while True:
            deadline = self.endpoint.next_deadline()
            delay = 1.0 if deadline is None else min(1.0, max(0.0, deadline - self._clock()))
            await trio.sleep(delay)
            for session in self.endpoint.expire(self._clock()):
                while (event := session.next_event()) is not None:
                    # housekeeping must survive the application's failures
                    await call_logged(self._handler, session, event, logger=_log)

    async def serve(self, *, task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED) -> None:
        """Serve until cancelled; reports the bound port to ``nursery.start``."""
        async with trio.open_nursery() as nursery:
            port = await nursery.start(self._http.serve)
            nursery.start_soon(self._expire_forever)
            task_status.started(port)
