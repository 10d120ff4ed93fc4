"""Run DM sessions over asyncio HTTP: the client coroutine and the server.

All protocol decisions are made by :mod:`dmproto.bindings` (driver and endpoint)
and the loops are shared (:mod:`dmproto_adapter_base.drive`); this module only
says how asyncio waits. Handlers may be plain functions or coroutine functions.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

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
    default_clock=lambda: asyncio.get_running_loop().time(),
    user_agent="dmproto-asyncio",
    errors="OSError / TimeoutError",
    module=__name__,
)


class DMServer(DMServerBase[Handler[ServerSession, ServerSessionEvent], HttpServer]):
    """A DM server serving many concurrent device sessions on ``host:port``.

    Each connection is a task; the handler is awaited inside it, so a slow handler
    delays only its own device. Use ``async with DMServer(...) as server:``. The
    arguments are those of :class:`dmproto_adapter_base.servers.DMServerBase`
    (``handler`` may be a coroutine function; ``clock`` defaults to the loop's).
    """

    _log = logging.getLogger("dmproto_asyncio")
    _housekeeping: asyncio.Task[None] | None = None

    def _new_http(self, listen: Listen) -> HttpServer:
        return HttpServer(self._answer, **listen.options())

    def _default_clock(self) -> float:
        return asyncio.get_running_loop().time()

    async def _deliver(self, session: ServerSession, event: ServerSessionEvent) -> None:
        await call_handler(self._handler, session, event)

    async def start(self) -> DMServer:
        """Bind and start serving in background tasks."""
        await self._http.start()
        self._housekeeping = asyncio.get_running_loop().create_task(
            self._expire_forever(asyncio.sleep)
        )
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
