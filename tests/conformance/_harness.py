"""One test-facing surface over the three adapters (sync, asyncio, trio).

Each harness can serve (a DM server in a background thread, with its own event loop
for asyncio/trio; extra keyword arguments go to ``DMServer``), run many client
sessions concurrently in the calling thread, and listen for / send Package 0. Every
wait is bounded so a broken adapter fails a test instead of hanging it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import ssl
from collections.abc import Callable, Iterator
from typing import Any, Protocol

import attrs
from dmproto_adapter_base.testing import asyncio_serving, trio_serving

from dmproto.bindings.push import PushAccepted, ServerSecret
from dmproto.limits import DEFAULT_LIMITS, Limits
from dmproto.session import ClientSession, ServerConfig

Handler = Callable[[Any, Any], None]
Lookup = Callable[[str], "ServerSecret | None"]
OnPush = Callable[[PushAccepted], None]


@attrs.frozen
class ClientRun:
    """One client session to run: the session, its handler, the server URL."""

    session: ClientSession
    handler: Handler
    url: str
    limits: Limits = DEFAULT_LIMITS


class Harness(Protocol):
    name: str

    def serving(
        self,
        handler: Handler,
        config: ServerConfig,
        *,
        ssl_context: ssl.SSLContext | None = None,
        timeout: float = 10.0,
        **options: Any,
    ) -> contextlib.AbstractContextManager[str]: ...

    def run_clients(
        self,
        runs: list[ClientRun],
        *,
        ssl_context: ssl.SSLContext | None = None,
        timeout: float = 10.0,
        deadline: float = 60.0,
    ) -> list[Any]: ...

    def listening(
        self, lookup: Lookup, on_push: OnPush, *, http: bool = False
    ) -> contextlib.AbstractContextManager[tuple[int, str | None]]: ...

    def send_push_udp(self, package0: bytes, port: int) -> None: ...

    def send_push_http(self, url: str, package0: bytes) -> None: ...


class SyncHarness:
    name = "sync"

    def __init__(self) -> None:
        import dmproto_sync

        self.mod = dmproto_sync

    @contextlib.contextmanager
    def serving(
        self,
        handler: Handler,
        config: ServerConfig,
        *,
        ssl_context: ssl.SSLContext | None = None,
        timeout: float = 10.0,
        **options: Any,
    ) -> Iterator[str]:
        with self.mod.DMServer(
            handler, config=config, ssl_context=ssl_context, timeout=timeout, **options
        ) as server:
            yield server.url

    def run_clients(
        self,
        runs: list[ClientRun],
        *,
        ssl_context: ssl.SSLContext | None = None,
        timeout: float = 10.0,
        deadline: float = 60.0,
    ) -> list[Any]:
        def one(run: ClientRun) -> Any:
            try:
                return self.mod.run_client_session(
                    run.session,
                    run.handler,
                    server_url=run.url,
                    ssl_context=ssl_context,
                    timeout=timeout,
                    limits=run.limits,
                )
            except Exception as exc:
                return exc

        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, len(runs))) as pool:
            futures = [pool.submit(one, run) for run in runs]
            return [f.result(timeout=deadline) for f in futures]

    @contextlib.contextmanager
    def listening(
        self, lookup: Lookup, on_push: OnPush, *, http: bool = False
    ) -> Iterator[tuple[int, str | None]]:
        with self.mod.PushListener(lookup, on_push, http_port=0 if http else None) as listener:
            assert listener.udp_port is not None
            yield listener.udp_port, listener.http_url

    def send_push_udp(self, package0: bytes, port: int) -> None:
        self.mod.send_push_udp(package0, "127.0.0.1", port)

    def send_push_http(self, url: str, package0: bytes) -> None:
        self.mod.send_push_http(url, package0)


class AsyncioHarness:
    name = "asyncio"

    def __init__(self) -> None:
        import dmproto_asyncio

        self.mod = dmproto_asyncio

    @contextlib.contextmanager
    def serving(
        self,
        handler: Handler,
        config: ServerConfig,
        *,
        ssl_context: ssl.SSLContext | None = None,
        timeout: float = 10.0,
        **options: Any,
    ) -> Iterator[str]:
        server = self.mod.DMServer(
            handler, config=config, ssl_context=ssl_context, timeout=timeout, **options
        )
        with asyncio_serving(server.start, server.aclose, timeout=10.0):
            yield server.url

    def run_clients(
        self,
        runs: list[ClientRun],
        *,
        ssl_context: ssl.SSLContext | None = None,
        timeout: float = 10.0,
        deadline: float = 60.0,
    ) -> list[Any]:
        async def main() -> list[Any]:
            coros = [
                self.mod.run_client_session(
                    run.session,
                    run.handler,
                    server_url=run.url,
                    ssl_context=ssl_context,
                    timeout=timeout,
                    limits=run.limits,
                )
                for run in runs
            ]
            return list(
                await asyncio.wait_for(asyncio.gather(*coros, return_exceptions=True), deadline)
            )

        return asyncio.run(main())

    @contextlib.contextmanager
    def listening(
        self, lookup: Lookup, on_push: OnPush, *, http: bool = False
    ) -> Iterator[tuple[int, str | None]]:
        listener = self.mod.PushListener(lookup, on_push, http_port=0 if http else None)
        with asyncio_serving(listener.start, listener.aclose, timeout=10.0):
            assert listener.udp_port is not None
            yield listener.udp_port, listener.http_url

    def send_push_udp(self, package0: bytes, port: int) -> None:
        asyncio.run(self.mod.send_push_udp(package0, "127.0.0.1", port))

    def send_push_http(self, url: str, package0: bytes) -> None:
        asyncio.run(self.mod.send_push_http(url, package0))


class TrioHarness:
    name = "trio"

    def __init__(self) -> None:
        import dmproto_trio
        import trio

        self.mod = dmproto_trio
        self.trio = trio

    @contextlib.contextmanager
    def serving(
        self,
        handler: Handler,
        config: ServerConfig,
        *,
        ssl_context: ssl.SSLContext | None = None,
        timeout: float = 10.0,
        **options: Any,
    ) -> Iterator[str]:
        server = self.mod.DMServer(
            handler, config=config, ssl_context=ssl_context, timeout=timeout, **options
        )
        with trio_serving(server.serve):
            yield server.url

    def run_clients(
        self,
        runs: list[ClientRun],
        *,
        ssl_context: ssl.SSLContext | None = None,
        timeout: float = 10.0,
        deadline: float = 60.0,
    ) -> list[Any]:
        trio = self.trio
        results: list[Any] = [None] * len(runs)

        async def one(index: int, run: ClientRun) -> None:
            try:
                results[index] = await self.mod.run_client_session(
                    run.session,
                    run.handler,
                    server_url=run.url,
                    ssl_context=ssl_context,
                    timeout=timeout,
                    limits=run.limits,
                )
            except Exception as exc:
                results[index] = exc

        async def main() -> None:
            with trio.fail_after(deadline):
                async with trio.open_nursery() as nursery:
                    for index, run in enumerate(runs):
                        nursery.start_soon(one, index, run)

        trio.run(main)
        return results

    @contextlib.contextmanager
    def listening(
        self, lookup: Lookup, on_push: OnPush, *, http: bool = False
    ) -> Iterator[tuple[int, str | None]]:
        listener = self.mod.PushListener(lookup, on_push, http_port=0 if http else None)
        with trio_serving(listener.serve):
            assert listener.udp_port is not None
            yield listener.udp_port, listener.http_url

    def send_push_udp(self, package0: bytes, port: int) -> None:
        self.trio.run(self.mod.send_push_udp, package0, "127.0.0.1", port)

    def send_push_http(self, url: str, package0: bytes) -> None:
        self.trio.run(self.mod.send_push_http, url, package0)


HARNESSES: dict[str, Callable[[], Harness]] = {
    "sync": SyncHarness,
    "asyncio": AsyncioHarness,
    "trio": TrioHarness,
}
