"""Loopback benchmark of the adapters' servers: a DM server against a bare h11 server,
each in its own process, driven by the same load processes.

For each adapter (sync, asyncio, trio) and each concurrency N (default 1, 100, 1000):

* DM: the adapter's ``DMServer`` (a ``MinimalServerApp``: MD5, one Get of
  ./DevInfo/Mod, end) runs in a server process. N simulated devices (standard device
  trees, the asyncio adapter's ``run_client_session``) are shared out among the load
  processes; each device runs full sessions back to back, enough for about
  ``--sessions`` sessions per round. Devices are built before the clock starts.
* bare: the same adapter's plain ``HttpServer`` in a server process of its own,
  answering each request with the very response the DM server gave to the same
  request in a calibration session (same body size and content type); the same load
  processes replay that session's requests (same bodies, same number of round trips
  per session, one connection per session as the DM client has).
* rounds run interleaved (DM, bare, DM, bare...), medians reported; the load average
  is printed before and after (the ratios are only as steady as the machine). The ratio is
  median DM round trips/s over median bare round trips/s (1.0 = no DM overhead).
* server CPU per round trip: utime + stime of the server process (``/proc/<pid>/stat``)
  read before and after each round. ``cpu ratio`` = bare CPU per trip / DM CPU per trip:
  the ratio the server would reach if its CPU were the only limit (on a machine with
  few cores the load processes compete with it, and ``load cpu`` shows how busy they
  were).
* memory per concurrent session: before the timed rounds, in a fresh DM server process
  warmed by the calibration session, N devices each stop inside their session (after
  the server's Package 2 arrived, before they answer it), so N sessions and their
  connections are open in the server at once. KiB per session = (RSS with the N
  sessions open - RSS before) / N, RSS from ``/proc/<pid>/statm``. With N = 1 this is
  page-granular noise.

Usage::

    python bench/loopback.py [--counts 1,100,1000] [--adapters sync,asyncio,trio]
        [--rounds 5] [--sessions 150] [--loads 2] [--quick] [--json]

``--json`` prints only one JSON object: ``dm_over_bare`` (adapter -> concurrency ->
ratio) and ``server_kib_per_session`` (adapter -> concurrency -> KiB). Progress goes
to standard error. It is not a test and asserts nothing about speed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import importlib
import json
import math
import multiprocessing
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from typing import Any

import attrs
from dmproto_adapter_base.testing import asyncio_serving, trio_serving

from dmproto.bindings.http import HttpRequest, HttpResponse, parse_url
from dmproto.session import ClientSession
from dmproto.session import events as ev
from dmproto.testing import MinimalServerApp, TreeDevice, server_config, tree_device

ADAPTERS = ("sync", "asyncio", "trio")
#: Above the largest concurrency, so no connection is refused for being one too many.
MAX_CONNECTIONS = 4096
MAX_BODY = 1 << 20
_TICK = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")

# -- readings of another process -------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """utime + stime of process ``pid`` (all its threads), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / _TICK  # fields 14 and 15 of proc(5)


def rss_bytes(pid: int) -> int:
    """Resident set size of process ``pid``."""
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * _PAGE


# -- the server process ------------------------------------------------------------------


def bench_app() -> Callable[[Any, ev.ServerSessionEvent], None]:
    """``MinimalServerApp`` without its record of completed commands, which would grow
    with every session the server runs."""
    app = MinimalServerApp()

    def handler(session: Any, event: ev.ServerSessionEvent) -> None:
        if not isinstance(event, ev.CommandCompleted):
            app(session, event)

    return handler


def bare_answers(answers: dict[bytes, HttpResponse]) -> Callable[[HttpRequest], HttpResponse]:
    """The bare server's answer: the response recorded for the same request body."""
    fallback = next(iter(answers.values()))
    return lambda request: answers.get(request.body, fallback)


def make_server(adapter: str, answers: dict[bytes, HttpResponse] | None) -> Any:
    """The adapter's ``DMServer`` (``answers`` is ``None``) or its plain ``HttpServer``."""
    module = importlib.import_module(f"dmproto_{adapter}")
    if answers is None:
        return module.DMServer(
            bench_app(),
            config=server_config(random_bytes=os.urandom, server_uri="bench"),
            max_connections=MAX_CONNECTIONS,
        )
    answer: Callable[[HttpRequest], Any] = bare_answers(answers)
    if adapter != "sync":
        sync_answer = answer

        async def answer(request: HttpRequest) -> HttpResponse:
            return sync_answer(request)  # type: ignore[no-any-return]

    return module.HttpServer(answer, max_body=MAX_BODY, max_connections=MAX_CONNECTIONS)


@contextlib.contextmanager
def serving(adapter: str, server: Any) -> Iterator[None]:
    """Serve ``server`` in a background thread of this process while the block runs."""
    if adapter == "sync":
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield
        finally:
            server.close()
            thread.join(10)
    elif adapter == "asyncio":
        with asyncio_serving(server.start, server.aclose):
            yield
    else:
        with trio_serving(server.serve):
            yield


def server_main(adapter: str, answers: dict[bytes, HttpResponse] | None, conn: Connection) -> None:
    """Server process: serve, send the URL, serve until the parent says stop."""
    server = make_server(adapter, answers)
    with serving(adapter, server):
        conn.send(server.url if answers is None else f"http://127.0.0.1:{server.port}/dm")
        conn.recv()


class ServerProcess:
    """A server (DM or bare) of one adapter in a process of its own."""

    def __init__(self, adapter: str, answers: dict[bytes, HttpResponse] | None) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(
            target=server_main, args=(adapter, answers, child), daemon=True
        )
        self._process.start()
        self.url: str = self._conn.recv()
        assert self._process.pid is not None
        self.pid: int = self._process.pid

    def stop(self) -> None:
        self._conn.send(None)
        self._process.join(30)


# -- the load processes ------------------------------------------------------------------


@attrs.frozen
class DmJob:
    """Run ``sessions`` full sessions on each of ``devices`` devices (numbered from
    ``first``); with ``pause``, each device stops inside its first session until told."""

    url: str
    first: int
    devices: int
    sessions: int
    pause: bool = False


@attrs.frozen
class BareJob:
    """Replay ``requests`` on one new connection per session, ``sessions`` times on each
    of ``devices`` devices."""

    url: str
    requests: tuple[HttpRequest, ...]
    devices: int
    sessions: int


@attrs.frozen
class LoadResult:
    start: float  # time.monotonic(): one clock for every process of the machine
    end: float
    trips: int
    sessions: int
    failures: int


READY, GO, PAUSED, RELEASE = "ready", "go", "paused", "release"


def make_device(url: str, index: int) -> TreeDevice:
    """A simulated device: a standard tree answering the server, real randomness."""
    return tree_device(url, dev_id=f"IMEI:{index}", man="Bench", mod="B1", random_bytes=os.urandom)


class Tally:
    def __init__(self) -> None:
        self.trips = self.sessions = self.failures = 0

    def trip(self, request: HttpRequest, response: HttpResponse | None) -> None:
        """A client observer: called before each request is sent, and with its response."""
        self.trips += response is not None


async def dm_load(job: DmJob, conn: Connection) -> LoadResult:
    import dmproto_asyncio

    # A fresh device (tree and session) for each of its sessions: built before the
    # clock starts, so the rounds time round trips, not fixtures.
    queues = [
        [make_device(job.url, job.first + i) for _ in range(job.sessions)]
        for i in range(job.devices)
    ]
    tally = Tally()
    paused = 0
    all_paused, release = asyncio.Event(), asyncio.Event()

    async def pausing(device: TreeDevice, session: ClientSession, event: Any) -> None:
        nonlocal paused
        device(session, event)
        if isinstance(event, ev.CommandReceived) and not release.is_set():
            paused += 1
            if paused == job.devices:
                all_paused.set()
            await release.wait()

    async def run(queue: list[TreeDevice]) -> None:
        for device in queue:
            handler: Any = device
            if job.pause:
                handler = functools.partial(pausing, device)
            try:
                ended = await dmproto_asyncio.run_client_session(
                    device.session, handler, timeout=60, on_message=tally.trip
                )
                completed = ended is not None and ended.reason is ev.EndReason.COMPLETED
            except Exception:
                completed = False
            tally.sessions += 1
            tally.failures += not completed

    conn.send(READY)
    await asyncio.get_running_loop().run_in_executor(None, conn.recv)
    start = time.monotonic()
    tasks = asyncio.gather(*(run(q) for q in queues))
    if job.pause:
        # A session that failed before its pause is counted, not waited for.
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(all_paused.wait(), 60)
        conn.send(PAUSED)
        await asyncio.get_running_loop().run_in_executor(None, conn.recv)
        release.set()
    await tasks
    return LoadResult(start, time.monotonic(), tally.trips, tally.sessions, tally.failures)


async def bare_load(job: BareJob, conn: Connection) -> LoadResult:
    import dmproto_asyncio

    target = parse_url(job.url)
    tally = Tally()

    async def run() -> None:
        for _ in range(job.sessions):
            async with dmproto_asyncio.HttpClient(max_body=MAX_BODY, timeout=60) as client:
                for request in job.requests:
                    response = await client.exchange(target, request)
                    tally.trip(request, response)
                    tally.failures += response.status != 200
            tally.sessions += 1

    conn.send(READY)
    await asyncio.get_running_loop().run_in_executor(None, conn.recv)
    start = time.monotonic()
    await asyncio.gather(*(run() for _ in range(job.devices)))
    return LoadResult(start, time.monotonic(), tally.trips, tally.sessions, tally.failures)


def load_main(conn: Connection) -> None:
    """Load process: run the jobs the parent sends until it sends ``None``."""
    while (job := conn.recv()) is not None:
        if isinstance(job, DmJob):
            conn.send(asyncio.run(dm_load(job, conn)))
        else:
            conn.send(asyncio.run(bare_load(job, conn)))


class Loads:
    """The load processes, started once for the whole benchmark."""

    def __init__(self, count: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.conns: list[Connection] = []
        self.processes = []
        for _ in range(count):
            conn, child = context.Pipe()
            process = context.Process(target=load_main, args=(child,), daemon=True)
            process.start()
            self.conns.append(conn)
            self.processes.append(process)

    def cpu(self) -> float:
        return sum(cpu_seconds(p.pid) for p in self.processes if p.pid is not None)

    def split(self, n: int) -> list[tuple[Connection, int, int]]:
        """``(conn, first device, devices)`` per load process that gets any of the n."""
        k = len(self.conns)
        shares = [n // k + (i < n % k) for i in range(k)]
        firsts = [sum(shares[:i]) for i in range(k)]
        return [(c, f, s) for c, f, s in zip(self.conns, firsts, shares, strict=True) if s]

    def stop(self) -> None:
        for conn in self.conns:
            conn.send(None)
        for process in self.processes:
            process.join(30)


@attrs.frozen
class Round:
    seconds: float
    trips: int
    sessions: int
    failures: int
    server_cpu: float
    load_cpu: float


def run_round(
    loads: Loads, server: ServerProcess, jobs: list[tuple[Connection, Any]], pause: bool = False
) -> tuple[Round, int]:
    """Run one job per load process at once; the round and the server's RSS growth
    while paused (0 without ``pause``)."""
    for conn, job in jobs:
        conn.send(job)
    for conn, _ in jobs:
        assert conn.recv() == READY
    grown = 0
    cpu, load_cpu, rss = cpu_seconds(server.pid), loads.cpu(), rss_bytes(server.pid)
    for conn, _ in jobs:
        conn.send(GO)
    if pause:
        for conn, _ in jobs:
            assert conn.recv() == PAUSED
        time.sleep(0.2)  # the last responses leave the server's buffers
        grown = rss_bytes(server.pid) - rss
        for conn, _ in jobs:
            conn.send(RELEASE)
    results: list[LoadResult] = [conn.recv() for conn, _ in jobs]
    return (
        Round(
            seconds=max(r.end for r in results) - min(r.start for r in results),
            trips=sum(r.trips for r in results),
            sessions=sum(r.sessions for r in results),
            failures=sum(r.failures for r in results),
            server_cpu=cpu_seconds(server.pid) - cpu,
            load_cpu=loads.cpu() - load_cpu,
        ),
        grown,
    )


# -- one cell: an adapter at one concurrency ---------------------------------------------


def calibrate(url: str) -> tuple[tuple[HttpRequest, ...], dict[bytes, HttpResponse]]:
    """One DM session: its requests, and the response to each request body."""
    import dmproto_asyncio

    exchanges: list[tuple[HttpRequest, HttpResponse]] = []

    def record(request: HttpRequest, response: HttpResponse | None) -> None:
        if response is not None:
            exchanges.append((request, response))

    device = make_device(url, 0)
    ended = asyncio.run(
        dmproto_asyncio.run_client_session(device.session, device, on_message=record)
    )
    assert ended is not None and ended.reason is ev.EndReason.COMPLETED, ended
    assert all(response.status == 200 for _, response in exchanges)
    return tuple(q for q, _ in exchanges), {q.body: r for q, r in exchanges}


@attrs.frozen
class Cell:
    adapter: str
    n: int
    dm: list[Round]
    bare: list[Round]
    kib_per_session: float

    def median(self, side: str, f: Callable[[Round], float]) -> float:
        return statistics.median(f(r) for r in getattr(self, side))

    def trips_s(self, side: str) -> float:
        return self.median(side, lambda r: r.trips / r.seconds)

    def cpu_ms(self, side: str) -> float:
        return self.median(side, lambda r: 1000 * r.server_cpu / r.trips)

    @property
    def ratio(self) -> float:
        return self.trips_s("dm") / self.trips_s("bare")


def measure(adapter: str, n: int, loads: Loads, rounds: int, sessions: int) -> Cell:
    dm = ServerProcess(adapter, None)
    requests, answers = calibrate(dm.url)
    calibrate(dm.url)  # a second one: lazily built state exists before the idle reading
    bare = ServerProcess(adapter, answers)
    try:
        split = loads.split(n)
        held, grown = run_round(
            loads, dm, [(c, DmJob(dm.url, f, k, 1, True)) for c, f, k in split], True
        )
        if held.failures:
            print(f"{adapter} N={n}: {held.failures} failures while held", file=sys.stderr)
        each = max(1, math.ceil(sessions / n))
        dm_jobs = [(c, DmJob(dm.url, f, k, each)) for c, f, k in split]
        bare_jobs = [(c, BareJob(bare.url, requests, k, each)) for c, _, k in split]
        # The held sessions warmed the DM server up; a few sessions warm the bare one.
        run_round(loads, bare, [(c, BareJob(bare.url, requests, 1, 5)) for c, _, _ in split])
        dm_rounds: list[Round] = []
        bare_rounds: list[Round] = []
        for _ in range(rounds):
            dm_rounds.append(run_round(loads, dm, dm_jobs)[0])
            bare_rounds.append(run_round(loads, bare, bare_jobs)[0])
            if dm_rounds[-1].failures or bare_rounds[-1].failures:
                print(
                    f"{adapter} N={n}: {dm_rounds[-1].failures} DM / "
                    f"{bare_rounds[-1].failures} bare failures",
                    file=sys.stderr,
                )
    finally:
        dm.stop()
        bare.stop()
    return Cell(adapter, n, dm_rounds, bare_rounds, grown / n / 1024)


# -- output ------------------------------------------------------------------------------

HEADER = (
    f"{'adapter':8} {'N':>5} {'sessions/s':>10} {'DM trips/s':>10} {'bare trips/s':>12} "
    f"{'ratio':>5} {'srv ms/trip DM/bare':>19} {'cpu ratio':>9} {'load cpu DM/bare':>16} "
    f"{'trips/sess':>10} {'KiB/session':>11}"
)


def row(cell: Cell) -> str:
    sessions = cell.median("dm", lambda r: r.sessions / r.seconds)
    load = [cell.median(s, lambda r: r.load_cpu / r.seconds) for s in ("dm", "bare")]
    trips = cell.dm[0].trips / cell.dm[0].sessions
    return (
        f"{cell.adapter:8} {cell.n:>5} {sessions:>10.1f} {cell.trips_s('dm'):>10.1f} "
        f"{cell.trips_s('bare'):>12.1f} {cell.ratio:>5.2f} "
        f"{cell.cpu_ms('dm'):>9.3f}/{cell.cpu_ms('bare'):<9.3f} "
        f"{cell.cpu_ms('bare') / cell.cpu_ms('dm'):>9.2f} "
        f"{100 * load[0]:>7.0f}%/{100 * load[1]:.0f}%{'':4} {trips:>10.1f} "
        f"{cell.kib_per_session:>11.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--counts", default="1,100,1000")
    parser.add_argument("--adapters", default=",".join(ADAPTERS))
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds per side")
    parser.add_argument("--sessions", type=int, default=150, help="sessions per round (>= N)")
    parser.add_argument("--loads", type=int, default=2, help="load processes")
    parser.add_argument("--quick", action="store_true", help="3 rounds of 20 sessions")
    parser.add_argument("--json", action="store_true", help="print only the JSON object")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.sessions = 3, 20
    counts = [int(c) for c in args.counts.split(",")]
    out = sys.stderr if args.json else sys.stdout
    print(f"load average before: {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs)", file=out)
    print(HEADER, file=out, flush=True)
    result: dict[str, dict[str, dict[str, float]]] = {
        "dm_over_bare": {},
        "server_kib_per_session": {},
    }
    loads = Loads(args.loads)
    try:
        for adapter in args.adapters.split(","):
            for n in counts:
                cell = measure(adapter, n, loads, args.rounds, args.sessions)
                print(row(cell), file=out, flush=True)
                result["dm_over_bare"].setdefault(adapter, {})[str(n)] = round(cell.ratio, 3)
                result["server_kib_per_session"].setdefault(adapter, {})[str(n)] = round(
                    cell.kib_per_session, 1
                )
    finally:
        loads.stop()
    print(f"load average after: {os.getloadavg()[0]:.2f}", file=out)
    if args.json:
        print(json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main()
