"""The trio adapter over in-memory streams, in virtual time (``trio.testing``).

A client session runs through the trio adapter's HTTP client and the shared client
runner, connected by ``memory_stream_pair`` to the trio server's own connection
handler, under ``MockClock(autojump_threshold=0)``: timeouts take no wall time and
every await point is reproducible. The cancellation test cancels the client at each
of its await points in turn and checks that no task is left behind and that no
server session is left half-applied.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from dmproto.bindings.http import Url
from dmproto.codec.model import Get, Item, Location
from dmproto.session import (
    Account,
    ClientSession,
    ServerConfig,
    ServerSession,
    SessionState,
)
from dmproto.session import events as ev
from dmproto.testing import CLIENT_CREDS, tree_device

trio = pytest.importorskip("trio")
dmproto_trio = pytest.importorskip("dmproto_trio")

trio_testing = pytest.importorskip("trio.testing")
from dmproto_adapter_base.client import async_client_runner  # noqa: E402

SERVER_TIMEOUT = 30.0


async def _server_app(session: ServerSession, event: ev.Event) -> None:
    if isinstance(event, ev.AccountRequested):
        session.supply_account(Account(credentials=CLIENT_CREDS))
    elif isinstance(event, ev.PackageCompleted):
        await trio.sleep(0.5)  # an application that awaits (a database...)
        if event.package == 1:
            session.queue(Get(cmd_id=None, items=(Item(target=Location(loc_uri="./DevInfo/Mod")),)))
            session.close_package()
        else:
            session.end_session()


def _device() -> tuple[ClientSession, Any]:
    device = tree_device(
        "http://dm.test/dm", dev_id="IMEI:m", mod="Memory", random_bytes=os.urandom
    )

    async def handler(session: ClientSession, event: ev.ClientSessionEvent) -> None:
        await trip()
        device(session, event)

    return device.session, handler


class _Tripwire:
    """Cancels the client's scope at its n-th await point (0: never)."""

    def __init__(self) -> None:
        self.at = 0
        self.count = 0
        self.scope: Any = None

    async def __call__(self) -> None:
        self.count += 1
        if self.count == self.at:
            self.scope.cancel()
        await trio.lowlevel.checkpoint()


trip = _Tripwire()


class _TrippedStream(trio.abc.Stream):  # type: ignore[misc]
    """The client's end of the connection: every read and write is an await point."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await trip()
        await self.inner.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        await self.inner.wait_send_all_might_not_block()

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        await trip()
        return await self.inner.receive_some(max_bytes)  # type: ignore[no-any-return]

    async def aclose(self) -> None:
        await self.inner.aclose()


def _memory_runner(server: Any, nursery: Any) -> Any:
    """``run_client_session`` whose connections are memory streams served by ``server``."""

    class MemoryClient(dmproto_trio.HttpClient):  # type: ignore[misc]
        async def _connect(self, url: Url) -> Any:
            client_end, server_end = trio_testing.memory_stream_pair()
            nursery.start_soon(server._http._connection, server_end)
            return _TrippedStream(client_end)

    return async_client_runner(
        MemoryClient,
        default_clock=trio.current_time,
        user_agent="memory",
        errors="trio errors",
        module=__name__,
    )


def _run(at: int) -> tuple[ClientSession, Any, float, BaseException | None]:
    """Run one session, cancelling the client at await point ``at`` (0: never)."""
    trip.at, trip.count = at, 0
    server = dmproto_trio.DMServer(
        _server_app,
        config=ServerConfig(random_bytes=os.urandom, server_uri="s"),
        timeout=SERVER_TIMEOUT,
    )
    session, handler = _device()
    outcome: dict[str, Any] = {"error": None}

    async def main() -> None:
        start = trio.current_time()
        async with trio.open_nursery() as nursery:
            run = _memory_runner(server, nursery)
            with trio.CancelScope() as scope:
                trip.scope = scope
                try:
                    outcome["ended"] = await run(session, handler, timeout=10)
                except Exception as exc:
                    outcome["error"] = exc
        # Every server task ended without waiting out a read timeout: nothing leaked.
        outcome["elapsed"] = trio.current_time() - start

    trio.run(main, clock=trio_testing.MockClock(autojump_threshold=0))
    return session, server, outcome["elapsed"], outcome["error"]


def test_whole_session_over_memory_streams_in_virtual_time() -> None:
    session, server, elapsed, error = _run(0)
    assert error is None
    assert session.state is SessionState.FINISHED
    assert len(server.endpoint) == 0  # the server session completed and was forgotten
    assert 1.0 <= elapsed < SERVER_TIMEOUT  # the app's two 0.5 s awaits, in virtual time
    assert trip.count > 4  # reads, writes and handler calls were all await points


def test_client_timeout_in_virtual_time_aborts_the_session() -> None:
    async def silent_server(server_end: Any) -> None:
        await trio.sleep_forever()

    session, handler = _device()
    trip.at = 0

    async def main() -> None:
        async with trio.open_nursery() as nursery:

            class Silent(dmproto_trio.HttpClient):  # type: ignore[misc]
                async def _connect(self, url: Url) -> Any:
                    client_end, server_end = trio_testing.memory_stream_pair()
                    nursery.start_soon(silent_server, server_end)
                    return client_end

            run = async_client_runner(
                Silent, default_clock=trio.current_time, user_agent="t", errors="t", module=__name__
            )
            start = trio.current_time()
            with pytest.raises(trio.TooSlowError):
                await run(session, handler, timeout=7)
            assert trio.current_time() - start == pytest.approx(7)
            nursery.cancel_scope.cancel()

    trio.run(main, clock=trio_testing.MockClock(autojump_threshold=0))
    assert session.state is SessionState.FINISHED  # aborted before the error surfaced


def test_cancelling_the_client_at_every_await_point_leaves_nothing_half_applied() -> None:
    _run(0)
    total = trip.count
    assert total > 4
    for at in range(1, total + 1):
        session, server, elapsed, error = _run(at)
        assert error is None, (at, error)
        # The client aborted its session (or had completed it before the cancel).
        assert session.state is SessionState.FINISHED, at
        # No server task waited for its read timeout: the cancelled client's
        # connection was closed, and every server connection task ended.
        assert elapsed < SERVER_TIMEOUT, at
        # No server session is left busy (half-applied): whatever remains is idle
        # and ends by inactivity like any abandoned session.
        server.endpoint.expire(1e9)
        assert len(server.endpoint) == 0, at
