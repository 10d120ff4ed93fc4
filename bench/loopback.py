"""Loopback benchmark of the adapters: full DM sessions per second, and the overhead
against a bare h11 server doing the same number of HTTP round trips.

For each adapter (sync, asyncio, trio) and each concurrency (default 1, 100, 1000):

* DM: a DM server (the adapter's ``DMServer``) and N concurrent simulated devices
  (``run_client_session``, each with a standard device tree) run one full session
  each: Package 1 with MD5 credentials, a Get of ./DevInfo/Mod, the device's
  Status/Results, the server's closing package. Reported: sessions/s and HTTP
  round trips/s.
* bare: the same adapter's HTTP server answering a fixed 200 body (h11 framing, no
  DM) and N concurrent clients doing the same total number of round trips.
* ratio = DM round trips/s divided by bare round trips/s (1.0 = no DM overhead).
* memory: tracemalloc peak of a separate DM run divided by N (client and server
  sessions both live in this process), in KiB per concurrent session.
* core: the same sessions without any network (``ClientDriver`` straight into
  ``ServerEndpoint.handle``), split into the server's and the devices' share per
  round trip: that codec + session work is in every DM round trip, so
  ``ceiling = bare trip time / (bare trip time + core time)`` is the best ratio
  any adapter could reach in this benchmark (clients and server share one process).

The simulated devices (their trees and sessions) are built before the clock starts:
the benchmark times round trips, not fixtures.

Usage::

    python bench/loopback.py [--counts 1,100,1000] [--adapters sync,asyncio,trio]

It prints a table; it is not a test and asserts nothing about speed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import os
import threading
import time
import tracemalloc
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

from dmproto_adapter_base.testing import asyncio_serving, trio_serving

from dmproto.bindings.client import ClientDriver
from dmproto.bindings.http import HttpRequest, HttpResponse, parse_url
from dmproto.bindings.server import ServerEndpoint
from dmproto.bindings.steps import Deliver, Done
from dmproto.session import ServerConfig
from dmproto.testing import MinimalServerApp, TreeDevice, server_config, tree_device

BODY = b"<SyncML/>"


def make_device(url: str, index: int) -> TreeDevice:
    """A simulated device: a standard tree answering the server, real randomness."""
    return tree_device(url, dev_id=f"IMEI:{index}", man="Bench", mod="B1", random_bytes=os.urandom)


def bench_server_config() -> ServerConfig:
    return server_config(random_bytes=os.urandom, server_uri="bench")


async def bare_answer(request: HttpRequest) -> HttpResponse:
    return HttpResponse(status=200, headers=[("Content-Length", str(len(BODY)))], body=BODY)


def bare_answer_sync(request: HttpRequest) -> HttpResponse:
    return HttpResponse(status=200, headers=[("Content-Length", str(len(BODY)))], body=BODY)


def bare_request(url: str) -> tuple[Any, HttpRequest]:
    target = parse_url(url)
    headers = [("Host", target.host_header), ("Content-Length", str(len(BODY)))]
    return target, HttpRequest(method="POST", target=target.target, headers=headers, body=BODY)


class Counter:
    def __init__(self) -> None:
        self.n = 0
        self.lock = threading.Lock()

    def __call__(self, request: object, response: object, session: object) -> None:
        if response is not None:
            with self.lock:
                self.n += 1


# -- per-adapter drivers: serve in a background thread, run clients in this one -------


class SyncBench:
    name = "sync"

    def __init__(self) -> None:
        import dmproto_sync

        self.m = dmproto_sync

    @contextmanager
    def dm_server(self, counter: Counter) -> Iterator[str]:
        config = bench_server_config()
        with self.m.DMServer(MinimalServerApp(), config=config, on_message=counter) as server:
            yield server.url

    @contextmanager
    def bare_server(self) -> Iterator[str]:
        server = self.m.HttpServer(bare_answer_sync, max_body=1 << 20)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.port}/dm"
        finally:
            server.close()
            thread.join(10)

    def _threads(self, n: int, work: Callable[[int], None]) -> None:
        threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)

    def run_sessions(self, devices: list[TreeDevice]) -> None:
        def one(i: int) -> None:
            self.m.run_client_session(devices[i].session, devices[i], timeout=60)

        self._threads(len(devices), one)

    def run_bare(self, url: str, n: int, per_client: int) -> None:
        target, request = bare_request(url)

        def work(_: int) -> None:
            with self.m.HttpClient(max_body=1 << 20, timeout=60) as client:
                for _ in range(per_client):
                    client.exchange(target, request)

        self._threads(n, work)


class AsyncBench:
    """What the asyncio and trio benches share; each runs coroutines its own way."""

    name = ""
    m: Any

    def _serving(self, server: Any) -> contextlib.AbstractContextManager[None]:
        """Serve ``server`` in a background thread while the block runs."""
        raise NotImplementedError

    def _run_all(self, jobs: list[Callable[[], Awaitable[Any]]]) -> None:
        """Run the jobs concurrently in a fresh event loop until all are done."""
        raise NotImplementedError

    @contextmanager
    def dm_server(self, counter: Counter) -> Iterator[str]:
        server = self.m.DMServer(
            MinimalServerApp(), config=bench_server_config(), on_message=counter
        )
        with self._serving(server):
            yield server.url

    @contextmanager
    def bare_server(self) -> Iterator[str]:
        server = self.m.HttpServer(bare_answer, max_body=1 << 20)
        with self._serving(server):
            yield f"http://127.0.0.1:{server.port}/dm"

    def run_sessions(self, devices: list[TreeDevice]) -> None:
        self._run_all(
            [
                functools.partial(self.m.run_client_session, device.session, device, timeout=60)
                for device in devices
            ]
        )

    def run_bare(self, url: str, n: int, per_client: int) -> None:
        target, request = bare_request(url)

        async def one() -> None:
            async with self.m.HttpClient(max_body=1 << 20, timeout=60) as client:
                for _ in range(per_client):
                    await client.exchange(target, request)

        self._run_all([one] * n)


class AsyncioBench(AsyncBench):
    name = "asyncio"

    def __init__(self) -> None:
        import dmproto_asyncio

        self.m = dmproto_asyncio

    @contextmanager
    def _serving(self, server: Any) -> Iterator[None]:
        with asyncio_serving(server.start, server.aclose):
            yield

    def _run_all(self, jobs: list[Callable[[], Awaitable[Any]]]) -> None:
        async def main() -> None:
            await asyncio.gather(*(job() for job in jobs))

        asyncio.run(main())


class TrioBench(AsyncBench):
    name = "trio"

    def __init__(self) -> None:
        import dmproto_trio
        import trio

        self.m = dmproto_trio
        self.trio = trio

    @contextmanager
    def _serving(self, server: Any) -> Iterator[None]:
        with trio_serving(server.serve):
            yield

    def _run_all(self, jobs: list[Callable[[], Awaitable[Any]]]) -> None:
        async def main() -> None:
            async with self.trio.open_nursery() as nursery:
                for job in jobs:
                    nursery.start_soon(job)

        self.trio.run(main)


BENCHES = {"sync": SyncBench, "asyncio": AsyncioBench, "trio": TrioBench}


def measure_core(n: int) -> tuple[float, float]:
    """Seconds per round trip of codec + session work without network: (server, devices)."""
    endpoint = ServerEndpoint(bench_server_config())
    server_app = MinimalServerApp()
    devices = [make_device("http://127.0.0.1:9/dm", i) for i in range(n)]
    server = total = 0.0
    trips = 0
    for device in devices:
        driver = ClientDriver(device.session)
        start = time.perf_counter()
        while not isinstance(step := driver.poll(time.monotonic()), Done):
            if isinstance(step, Deliver):
                device(device.session, step.event)
            else:
                served = time.perf_counter()
                response = endpoint.handle(step.request, server_app, time.monotonic)
                server += time.perf_counter() - served
                trips += 1
                driver.handle_response(response, time.monotonic())
        total += time.perf_counter() - start
    return server / trips, (total - server) / trips


def measure(bench: Any, n: int) -> dict[str, float]:
    counter = Counter()
    with bench.dm_server(counter) as url:
        devices = [make_device(url, i) for i in range(n)]
        start = time.perf_counter()
        bench.run_sessions(devices)
        dm_time = time.perf_counter() - start
    trips = counter.n
    per_client = max(1, round(trips / n))
    with bench.bare_server() as url:
        start = time.perf_counter()
        bench.run_bare(url, n, per_client)
        bare_time = time.perf_counter() - start
    tracemalloc.start()
    with bench.dm_server(Counter()) as url:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        bench.run_sessions([make_device(url, i) for i in range(n)])
        peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    dm_rate = trips / dm_time
    bare_rate = per_client * n / bare_time
    core_server, core_devices = measure_core(min(n, 200))
    return {
        "core_server_ms": core_server * 1000,
        "core_devices_ms": core_devices * 1000,
        "ceiling": (1 / bare_rate) / (1 / bare_rate + core_server + core_devices),
        "sessions_s": n / dm_time,
        "dm_trips_s": dm_rate,
        "bare_trips_s": bare_rate,
        "ratio": dm_rate / bare_rate,
        "kib_per_session": peak / n / 1024,
        "trips_per_session": trips / n,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--counts", default="1,100,1000")
    parser.add_argument("--adapters", default="sync,asyncio,trio")
    args = parser.parse_args()
    counts = [int(c) for c in args.counts.split(",")]
    print(
        f"{'adapter':8} {'N':>5} {'sessions/s':>11} {'DM trips/s':>11} "
        f"{'bare trips/s':>13} {'ratio':>6} {'ceiling':>7} {'core srv/dev ms':>15} "
        f"{'trips/sess':>10} {'KiB/session':>12}"
    )
    for name in args.adapters.split(","):
        bench = BENCHES[name]()
        for n in counts:
            r = measure(bench, n)
            print(
                f"{name:8} {n:>5} {r['sessions_s']:>11.1f} {r['dm_trips_s']:>11.1f} "
                f"{r['bare_trips_s']:>13.1f} {r['ratio']:>6.2f} {r['ceiling']:>7.2f} "
                f"{r['core_server_ms']:>7.2f}/{r['core_devices_ms']:<7.2f} "
                f"{r['trips_per_session']:>10.1f} {r['kib_per_session']:>12.1f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
