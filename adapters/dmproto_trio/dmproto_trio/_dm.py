"""Run DM sessions over trio HTTP: the client function and the server.

All protocol decisions are made by :mod:`dmproto.bindings` (driver and endpoint)
and the loops are shared (:mod:`dmproto_adapter_base.drive`); this module only
says how trio waits. Handlers may be plain functions or async functions.
"""

from __future__ import annotations

import functools
import logging
import ssl
from collections.abc import Callable

import trio
from dmproto_adapter_base.drive import drive_client
from dmproto_adapter_base.handlers import Handler, call_handler
from dmproto_adapter_base.servers import DMServerBase, Listen

from dmproto.bindings.client import ClientDriver
from dmproto.limits import DEFAULT_LIMITS, Limits
from dmproto.session import ClientSession, ServerSession
from dmproto.session.events import Event, SessionEnded

from ._http import HttpClient, HttpServer

__all__ = ["DMServer", "run_client_session"]


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
    deliver = functools.partial(call_handler, handler, session)
    async with HttpClient(ssl_context=ssl_context, timeout=timeout,
                          max_body=driver.max_body) as http:
        return await drive_client(driver, deliver, http.exchange, clock)


class DMServer(DMServerBase[Handler[ServerSession, Event], HttpServer]):
    """A DM server serving many concurrent device sessions on ``host:port``.

    Run it in a nursery: ``await nursery.start(server.serve)``; ``server.url`` is
    then valid. Cancel the nursery to stop it: connection tasks end with it. The
    arguments are those of :class:`dmproto_adapter_base.servers.DMServerBase`
    (``handler`` may be async; ``clock`` defaults to ``trio.current_time``).
    """

    _log = logging.getLogger("dmproto_trio")

    def _new_http(self, listen: Listen) -> HttpServer:
        return HttpServer(self._answer, **listen.options())

    def _default_clock(self) -> float:
        return trio.current_time()

    async def _deliver(self, session: ServerSession, event: Event) -> None:
        await call_handler(self._handler, session, event)

    async def serve(self, *, task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED) -> None:
        """Serve until cancelled; reports the bound port to ``nursery.start``."""
        async with trio.open_nursery() as nursery:
            port = await nursery.start(self._http.serve)
            nursery.start_soon(self._expire_forever, trio.sleep)
            task_status.started(port)
