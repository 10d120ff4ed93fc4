"""Test helpers for the async adapters: run a server's event loop in a background
thread while blocking code (a test, a benchmark) drives clients in the calling one.

Not imported by the package (it starts threads and event loops, which the rest of
the package leaves to the adapters); import it as ``dmproto_adapter_base.testing``.
The sans-IO pieces (in-memory pair, seeded randomness, ready-made configurations and
applications) are in :mod:`dmproto.testing`. Every wait is bounded, so a broken
server fails the caller instead of hanging it.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from typing import Any, TypeVar

__all__ = ["LoopThread", "asyncio_serving", "trio_serving"]

T = TypeVar("T")


class LoopThread:
    """An asyncio event loop running in a daemon thread; :meth:`run` runs one coroutine
    on it and waits for its result."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 60.0) -> T:
        """Run *coro* on the loop; its result (its exception is raised here)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        """Stop the loop, join the thread and close the loop."""
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()


@contextlib.contextmanager
def asyncio_serving(
    start: Callable[[], Awaitable[Any]],
    aclose: Callable[[], Awaitable[Any]],
    *,
    timeout: float = 60.0,
) -> Iterator[LoopThread]:
    """Await ``start()`` on an asyncio loop in a background thread, and ``aclose()``
    when the block exits: ``with asyncio_serving(server.start, server.aclose): ...``
    for a ``dmproto_asyncio.DMServer`` or ``PushListener``. A failing ``aclose``
    is ignored (the loop is stopped anyway)."""

    async def call(function: Callable[[], Awaitable[Any]]) -> Any:
        return await function()

    lt = LoopThread()
    try:
        lt.run(call(start), timeout)
        yield lt
    finally:
        with contextlib.suppress(Exception):
            lt.run(call(aclose), timeout)
        lt.stop()


@contextlib.contextmanager
def trio_serving(start: Callable[..., Awaitable[Any]], *, timeout: float = 10.0) -> Iterator[None]:
    """Run ``nursery.start(start)`` in a trio loop in a background thread until the
    block exits, then cancel it: ``with trio_serving(server.serve): ...`` for a
    ``dmproto_trio.DMServer`` (or a ``PushListener``). A server that fails to start
    raises its error here."""
    import trio  # the trio extra; imported here so asyncio users need not install it

    ready = threading.Event()
    state: dict[str, Any] = {}

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            state["token"] = trio.lowlevel.current_trio_token()
            state["cancel"] = nursery.cancel_scope.cancel
            try:
                await nursery.start(start)
            finally:
                ready.set()

    def run() -> None:
        try:
            trio.run(main)
        except BaseException as exc:  # surfaced to the caller below
            state["error"] = exc
            ready.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    if not ready.wait(timeout):
        raise TimeoutError("the trio server did not start")
    if "error" in state:
        raise state["error"]
    try:
        yield
    finally:
        trio.from_thread.run_sync(state["cancel"], trio_token=state["token"])
        thread.join(timeout=10)
