"""The loops every adapter runs, written once and driven by the adapter's own waiting.

Each loop is a coroutine that awaits only what the adapter passes in (read, write,
call the handler, post a request), never an event loop of its own, so the same code
runs under asyncio and trio. The blocking adapter passes plain functions wrapped
with :func:`awaitable` and runs the loop with :func:`run_blocking`: nothing then
ever suspends. All protocol decisions stay in :mod:`dmproto.bindings`.

* :func:`drive_client` — a client session to its end (``ClientDriver``).
* :func:`answer_request` / :func:`expire_due` — one server request, one timer sweep
  (``ServerEndpoint``), with the abandon-on-failure rule.
* :func:`serve_connection` — one HTTP/1.1 server connection (``ServerFraming``).
* :func:`roundtrip` — one request/response on a client connection (``ClientFraming``).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

from dmproto.bindings.claims import StoreUnavailable
from dmproto.bindings.client import ClientDriver
from dmproto.bindings.http import HttpRequest, HttpResponse, error_response
from dmproto.bindings.server import ServerEndpoint, retry_later
from dmproto.bindings.steps import Deliver, Send
from dmproto.session import ServerSession
from dmproto.session.events import ClientSessionEvent, ServerSessionEvent, SessionEnded

from .framing import (
    ClientFraming,
    NeedData,
    ReadBudget,
    Reject,
    ServerFraming,
    StaleConnection,
)

__all__ = [
    "Guard",
    "answer_request",
    "awaitable",
    "drive_client",
    "expire_due",
    "housekeeping_delay",
    "roundtrip",
    "run_blocking",
    "serve_connection",
]

P = ParamSpec("P")
T = TypeVar("T")

Clock = Callable[[], float]
#: Serialises the calls into the (not thread-safe) endpoint; ``nullcontext`` when
#: one event loop is the only caller, a ``threading.Lock`` in the blocking adapter.
Guard = contextlib.AbstractContextManager[Any]
#: ``deliver(session, event)``: the application handler, as a coroutine function.
ServerDeliver = Callable[[ServerSession, ServerSessionEvent], Awaitable[None]]

_NO_GUARD = contextlib.nullcontext()


def awaitable(function: Callable[P, T]) -> Callable[P, Coroutine[Any, Any, T]]:
    """``function`` as a coroutine function that runs it at once (never suspends)."""

    async def call(*args: P.args, **kwargs: P.kwargs) -> T:
        return function(*args, **kwargs)

    return call


def run_blocking(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine whose awaits all complete at once (see :func:`awaitable`).

    Exceptions of the coroutine propagate unchanged.

    Raises:
        RuntimeError: the coroutine tried to suspend (it awaited a real event loop
            primitive, which a blocking adapter never passes in).
    """
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    coro.close()
    raise RuntimeError("a blocking adapter loop tried to suspend")


async def drive_client(
    driver: ClientDriver,
    deliver: Callable[[ClientSessionEvent], Awaitable[None]],
    post: Callable[[Any, HttpRequest], Awaitable[HttpResponse]],
    clock: Clock,
) -> SessionEnded | None:
    """Run the driver's session to its end; returns its ``SessionEnded`` (or ``None``).

    ``post(url, request)`` sends one request and returns the whole response.
    CONTRIBUTING.md#adapter-duties, duty 4: whatever interrupts the session — a network error or
    timeout in a post, a failing handler, cancellation at any await — aborts it
    first, so nothing is left half-applied.
    """
    try:
        while True:
            step = driver.poll(clock())
            if isinstance(step, Deliver):
                await deliver(step.event)
            elif isinstance(step, Send):
                response = await post(step.url, step.request)
                # OMA-TS-SyncML_HTTPBinding-V1_2: a non-200 status or a bad body ends the session
                # (raises).
                driver.handle_response(response, clock())
            else:
                return step.ended
    except BaseException:
        driver.fail(clock())
        raise


async def answer_request(
    endpoint: ServerEndpoint,
    request: HttpRequest,
    deliver: ServerDeliver,
    clock: Clock,
    guard: Guard = _NO_GUARD,
) -> HttpResponse:
    """The HTTP response to one DM request: route it, hand its events to ``deliver``.

    If the handler raises or is cancelled, the session is aborted and forgotten
    (``Exchange.abandon``), never left half-applied: a failing handler gets HTTP
    500, a cancellation propagates.
    """
    with guard:
        opened = endpoint.open(request, clock())
    if isinstance(opened, HttpResponse):
        return opened
    try:
        while True:
            with guard:
                step = opened.poll(clock())
            if not isinstance(step, Deliver):
                return step.response
            await deliver(opened.session, step.event)
    except BaseException as exc:
        with guard:
            opened.abandon(clock())
        if not isinstance(exc, Exception):
            raise
        if isinstance(exc, StoreUnavailable):
            # The application's database is away (restarting): nothing was kept of
            # this exchange, so the device may send the message again.
            return retry_later("the server's database is unavailable")
        return error_response(500, "the DM application failed")


def housekeeping_delay(endpoint: ServerEndpoint, now: float, *, most: float = 1.0) -> float:
    """Seconds to sleep before the next :func:`expire_due` (at most ``most``)."""
    deadline = endpoint.next_deadline()
    return most if deadline is None else min(most, max(0.0, deadline - now))


async def expire_due(
    endpoint: ServerEndpoint,
    deliver: ServerDeliver,
    clock: Clock,
    *,
    logger: logging.Logger,
    guard: Guard = _NO_GUARD,
) -> None:
    """Fire due session timers; the ended sessions' events (``SessionEnded(TIMED_OUT)``)
    go to ``deliver``. Housekeeping survives the application's failures: logged."""
    with guard:
        ended = endpoint.expire(clock())
    for session in ended:
        while (event := session.next_event()) is not None:
            try:
                await deliver(session, event)
            except Exception:
                logger.exception("handler failed on %s", type(event).__name__)


async def serve_connection(
    framing: ServerFraming,
    budget: ReadBudget,
    *,
    receive: Callable[[float], Awaitable[bytes]],
    send: Callable[[bytes], Awaitable[None]],
    answer: Callable[[HttpRequest], Awaitable[HttpResponse]],
    clock: Clock,
) -> None:
    """Serve one HTTP/1.1 connection until it closes (keep-alive between requests).

    ``receive(wait)`` returns the next bytes (``b""`` at end of stream) or raises
    after ``wait`` seconds; ``send(data)`` writes them. A broken or oversized
    request is answered 400/413 and the connection closed (OMA-TS-SyncML_HTTPBinding-V1_2).
    """
    while True:
        step = framing.next_request()
        if step is NeedData.MORE:
            framing.feed(await receive(budget.next_wait(clock())))
            continue
        if step is NeedData.CLOSED:
            return
        if isinstance(step, Reject):
            await send(step.data)
            return
        try:
            response = await answer(step)
        except Exception:  # a bug in the answer must not stop the server
            response = error_response(500, "internal server error")
        await send(framing.respond(response))
        budget.reset()
        if framing.must_close:
            return


async def roundtrip(
    framing: ClientFraming,
    request: HttpRequest,
    *,
    receive: Callable[[], Awaitable[bytes]],
    send: Callable[[bytes], Awaitable[None]],
) -> HttpResponse:
    """Write ``request`` and read its whole response on one client connection.

    A reused connection that the server closed or reset before any byte of the
    response arrived is stale: a server closes an idle keep-alive connection when its
    timeout ends, and if our request crosses that close on the wire, the server's
    kernel answers it with a reset (``ConnectionResetError``, or ``BrokenPipeError``
    while writing) rather than an end of stream.

    Raises:
        StaleConnection: the reused connection was closed or reset before the
            response began (resend the request on a new connection).
        RemoteProtocolError / MalformedMessageError: broken or oversized response.
    """
    try:
        await send(framing.request(request))
        while True:
            step = framing.next_response()
            if isinstance(step, HttpResponse):
                return step
            framing.feed(await receive())
    except ConnectionError as error:  # reset, broken pipe, aborted
        if framing.may_retry:
            raise StaleConnection("kept-alive connection reset by the server") from error
        raise
