"""Several servers on one port (``reuse_port=True``, what ``dmproto serve --workers``
uses), sharing their sessions through a claiming store: a device's session completes
whichever of them the kernel hands each connection to."""

from __future__ import annotations

import os
import socket
import threading
import time

import dmproto_asyncio
import dmproto_sync
import dmproto_trio
import pytest
from dmproto_adapter_base.testing import asyncio_serving, trio_serving

from dmproto.session import events as ev
from dmproto.testing import MemoryClaims, MinimalServerApp, server_config, tree_device

URIS = ("./DevInfo/Mod", "./DevInfo/Man")


def _config() -> object:
    return server_config(random_bytes=os.urandom, server_uri="srv")


def test_two_sync_servers_on_one_port_share_sessions() -> None:
    claims = MemoryClaims(time.monotonic)
    lock = threading.Lock()  # MemoryClaims is not thread-safe; a database is
    app = MinimalServerApp(uris=URIS)

    def handler(session: object, event: ev.ServerSessionEvent) -> None:
        with lock:
            app(session, event)  # type: ignore[arg-type]

    first = dmproto_sync.DMServer(handler, config=_config(), claims=claims, reuse_port=True)
    second = dmproto_sync.DMServer(
        handler, config=_config(), claims=claims, reuse_port=True, port=first.port
    )
    assert first.port == second.port
    with first.start(), second.start():
        for n in range(4):
            device = tree_device(
                f"http://127.0.0.1:{first.port}/dm", dev_id=f"IMEI:{n}", random_bytes=os.urandom
            )
            ended = dmproto_sync.run_client_session(device.session, device)
            assert ended is not None and ended.reason is ev.EndReason.COMPLETED
    assert len(app.completed) == 4 * len(URIS)


def test_without_reuse_port_a_second_server_cannot_bind() -> None:
    first = dmproto_sync.DMServer(MinimalServerApp(), config=_config())
    try:
        with pytest.raises(OSError):
            dmproto_sync.DMServer(MinimalServerApp(), config=_config(), port=first.port)
    finally:
        first.close()


def _bound_twice(port: int) -> bool:
    """Whether a plain socket is refused the port (the servers hold it)."""
    probe = socket.socket()
    try:
        probe.bind(("127.0.0.1", port))
    except OSError:
        return True
    finally:
        probe.close()
    return False


def test_two_asyncio_servers_listen_on_one_port() -> None:
    first = dmproto_asyncio.DMServer(MinimalServerApp(), config=_config(), reuse_port=True)
    with asyncio_serving(first.start, first.aclose):
        second = dmproto_asyncio.DMServer(
            MinimalServerApp(), config=_config(), reuse_port=True, port=first.port
        )
        with asyncio_serving(second.start, second.aclose):
            assert second.port == first.port and _bound_twice(first.port)
            device = tree_device(f"http://127.0.0.1:{first.port}/dm", random_bytes=os.urandom)
            ended = dmproto_sync.run_client_session(device.session, device)
            assert ended is not None and ended.reason is ev.EndReason.COMPLETED


def test_two_trio_servers_listen_on_one_port() -> None:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    servers = [
        dmproto_trio.DMServer(MinimalServerApp(), config=_config(), reuse_port=True, port=port)
        for _ in range(2)
    ]
    with trio_serving(servers[0].serve), trio_serving(servers[1].serve):
        assert _bound_twice(port)
        device = tree_device(f"http://127.0.0.1:{port}/dm", random_bytes=os.urandom)
        ended = dmproto_sync.run_client_session(device.session, device)
        assert ended is not None and ended.reason is ev.EndReason.COMPLETED
