"""Run DM sessions over trio HTTP: the client function and the server.

All protocol decisions are made by :mod:`dmproto.bindings` (driver and endpoint)
and the loops are shared (:mod:`dmproto_adapter_base.drive`); this module only
says how trio waits. Handlers may be plain functions or async functions.
"""

from __future__ import annotations

import logging

import trio
from dmproto_adapter_base.client import async_client_runner
from dmproto_adapter_base.handlers import Handler, call_handler
from dmproto_adapter_base.servers import DMServerBase, Listen

from dmproto.session import ServerSession
from dmproto.session.events import ServerSessionEvent

from ._http import HttpClient, HttpServer

__all__ = ["DMServer", "run_client_session"]


#: ``await run_client_session(session, handler, *, server_url=None, ssl_context=None,
#: timeout=30.0, clock=None, limits=DEFAULT_LIMITS, user_agent=None, on_message=None)``.
run_client_session = async_client_runner(
    HttpClient,
    default_clock=trio.current_time,
    user_agent="dmproto-trio",
    errors="OSError / trio.TooSlowError / trio.BrokenResourceError",
    module=__name__,
)


class DMServer(DMServerBase[Handler[ServerSession, ServerSessionEvent], HttpServer]):
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

    async def _deliver(self, session: ServerSession, event: ServerSessionEvent) -> None:
        await call_handler(self._handler, session, event)

    async def serve(self, *, task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED) -> None:
        """Serve until cancelled; reports the bound port to ``nursery.start``."""
        async with trio.open_nursery() as nursery:
            port = await nursery.start(self._http.serve)
            nursery.start_soon(self._expire_forever, trio.sleep)
            task_status.started(port)
