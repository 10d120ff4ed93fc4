"""``run_client_session`` of the async adapters, written once.

asyncio and trio differ only in their ``HttpClient``, their default clock and the
errors a network failure raises, so each binds :func:`async_client_runner` to them.
"""

from __future__ import annotations

import functools
import ssl
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from dmproto.bindings.client import ClientDriver, ClientObserver
from dmproto.limits import DEFAULT_LIMITS, Limits
from dmproto.session import ClientSession
from dmproto.session.events import ClientSessionEvent, SessionEnded

from .drive import drive_client
from .handlers import Handler, call_handler
from .pool import AsyncHttpClient

__all__ = ["ClientRunner", "async_client_runner"]

_DOC = """Run ``session`` to its end against the DM server (OMA-TS-SyncML_HTTPBinding-V1_2).

    Every event goes to ``handler(session, event)`` (awaited when it is a coroutine
    function). Requests go to ``server_url`` (or the session's server URI), then to
    the RespURI the server gave. ``timeout`` bounds each connect/read/write;
    response bodies are capped by ``limits.max_message_size`` before they are read.
    ``clock`` defaults to the event loop's. Cancellation aborts the session.
    ``on_message(request, response)`` observes every exchange (``ClientDriver``).

    Returns the ``SessionEnded`` event (``None`` if the session reported none).

    Raises:
        {errors}: network failure or timeout (the session is aborted).
        DMError: HTTP status other than 200 (``HttpStatusError``), a malformed
            response (the session is aborted).
    """


class ClientRunner(Protocol):
    """The signature of an async adapter's ``run_client_session``."""

    def __call__(
        self,
        session: ClientSession,
        handler: Handler[ClientSession, ClientSessionEvent],
        *,
        server_url: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
        timeout: float = 30.0,
        clock: Callable[[], float] | None = None,
        limits: Limits = DEFAULT_LIMITS,
        user_agent: str | None = None,
        on_message: ClientObserver | None = None,
    ) -> Coroutine[Any, Any, SessionEnded | None]: ...


def async_client_runner(
    client: type[AsyncHttpClient[Any]],
    *,
    default_clock: Callable[[], float],
    user_agent: str,
    errors: str,
    module: str,
) -> ClientRunner:
    """The ``run_client_session`` of an async adapter.

    Args:
        client: the adapter's ``HttpClient``.
        default_clock: the event loop's monotonic clock (called per reading).
        user_agent: the default User-Agent header.
        errors: what the adapter raises on network failures (for the docstring).
        module: the adapter module the function is presented in.
    """
    default_agent = user_agent

    async def run_client_session(
        session: ClientSession,
        handler: Handler[ClientSession, ClientSessionEvent],
        *,
        server_url: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
        timeout: float = 30.0,
        clock: Callable[[], float] | None = None,
        limits: Limits = DEFAULT_LIMITS,
        user_agent: str | None = None,
        on_message: ClientObserver | None = None,
    ) -> SessionEnded | None:
        driver = ClientDriver(
            session,
            server_url=server_url,
            limits=limits,
            user_agent=user_agent or default_agent,
            on_message=on_message,
        )
        deliver = functools.partial(call_handler, handler, session)
        async with client(
            ssl_context=ssl_context, timeout=timeout, max_body=driver.max_body
        ) as http:
            return await drive_client(driver, deliver, http.exchange, clock or default_clock)

    run_client_session.__doc__ = _DOC.format(errors=errors)
    run_client_session.__module__ = module
    return run_client_session
