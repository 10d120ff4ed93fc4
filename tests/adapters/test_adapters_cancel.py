"""Cancellation in the async adapters: a server shut down while a handler is awaiting,
and a client task cancelled mid-session, leave no session half-applied and no task."""

from __future__ import annotations

import asyncio
import os

import pytest

from dmproto.session import (
    Account,
    ClientSession,
    ServerConfig,
    ServerSession,
    SessionState,
)
from dmproto.session import events as ev
from dmproto.testing import CLIENT_CREDS, TreeDevice, tree_device


def _device(url: str) -> tuple[ClientSession, TreeDevice]:
    device = tree_device(url, dev_id="IMEI:c", mod="Cancel", random_bytes=os.urandom)
    return device.session, device


class _Stuck:
    """A server application whose handler never finishes Package 1."""

    def __init__(self, sleep: object) -> None:
        self.sleep = sleep
        self.entered = 0

    async def __call__(self, session: ServerSession, event: ev.Event) -> None:
        if isinstance(event, ev.AccountRequested):
            session.supply_account(Account(credentials=CLIENT_CREDS))
        elif isinstance(event, ev.PackageCompleted):
            self.entered += 1
            await self.sleep(3600)  # type: ignore[operator]


def _config() -> ServerConfig:
    return ServerConfig(random_bytes=os.urandom, server_uri="s")


def test_asyncio_shutdown_cancels_a_stuck_handler() -> None:
    dmproto_asyncio = pytest.importorskip("dmproto_asyncio")

    async def main() -> None:
        app = _Stuck(asyncio.sleep)
        server = dmproto_asyncio.DMServer(app, config=_config())
        await server.start()
        session, handler = _device(server.url)
        client = asyncio.create_task(dmproto_asyncio.run_client_session(session, handler))
        for _ in range(200):
            if app.entered:
                break
            await asyncio.sleep(0.01)
        assert app.entered == 1 and len(server.endpoint) == 1
        client.cancel()  # the client task is cancelled mid-request ...
        with pytest.raises(asyncio.CancelledError):
            await client
        assert session.state is SessionState.FINISHED  # ... and aborted its session
        await asyncio.wait_for(server.aclose(), 5)  # the stuck handler is cancelled
        assert len(server.endpoint) == 0  # the server session was abandoned
        leftover = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        assert leftover == []

    asyncio.run(main())


def test_trio_cancelling_the_nursery_cancels_a_stuck_handler() -> None:
    dmproto_trio = pytest.importorskip("dmproto_trio")
    import trio

    async def main() -> None:
        app = _Stuck(trio.sleep)
        server = dmproto_trio.DMServer(app, config=_config())
        with trio.fail_after(10):
            async with trio.open_nursery() as nursery:
                await nursery.start(server.serve)
                session, handler = _device(server.url)

                async def client() -> None:
                    with trio.move_on_after(0.5):
                        await dmproto_trio.run_client_session(session, handler)

                nursery.start_soon(client)
                while not app.entered:
                    await trio.sleep(0.01)
                assert len(server.endpoint) == 1
                await trio.sleep(0.6)  # the client's scope expires first
                assert session.state is SessionState.FINISHED
                nursery.cancel_scope.cancel()
        assert len(server.endpoint) == 0

    trio.run(main)
