"""Scale benchmark (not a test): ``python bench/scale.py [--quick] [--json]``.

What ``docs/scaling.md`` turns into a plan. Every figure comes from this one run:

1. Full sessions per second over real HTTP, for one ``dmproto serve`` worker on
   SQLite, one on PostgreSQL, and two on PostgreSQL — two ``serve`` processes on two
   ports sharing one database, each request sent to one of them at random (what a
   load balancer does; ``serve --workers 2`` shares one port the same way through
   the kernel). The load is :data:`DEVICES` simulated devices at once (threads of
   this process running :func:`dmproto_server.simulate.run_device`), each a fresh
   ``dmproto.testing.tree_device`` authenticating with MD5 as ``--client-user``; the
   job is ``serve``'s default inventory (one package of 11 Gets). The three setups
   run in interleaved rounds (SQLite, PostgreSQL, two workers, SQLite, ...), the
   figure is the median; HTTP requests per second are reported beside it.
2. Database round trips per HTTP request (``Database.round_trips``: every statement,
   ``BEGIN`` and ``COMMIT`` included), in-process: a ``ServerEndpoint(config,
   claims=store)`` and ``serve``'s ``ServerApp`` answering the same sessions through
   ``endpoint.handle(...)``, for SQLite and PostgreSQL.
3. The cost of the shared store per request: in-process wall-clock time the server
   takes to answer a request (``endpoint.handle``; the device's work left out) with
   ``dmproto.testing.MemoryClaims`` and an application keeping accounts and nonces
   in dicts (no database at all), against ``ServerStore`` on SQLite and on
   PostgreSQL; ratios of medians of interleaved rounds, the memory store measured in
   the same run. Wall clock, not CPU time: PostgreSQL's work happens in its own
   processes, and its round trips are waited for.

The machine running it is the load generator as well as the server (and the
database): on a small machine the two-worker figure shows contention, not scaling.

PostgreSQL runs in a private throw-away cluster (:mod:`dmproto_server.pgcluster`)
with its default durability (``fsync`` on: every commit that writes waits for its WAL
flush, as SQLite's ``synchronous = FULL`` commits wait for theirs);
without ``initdb``/``pg_ctl`` or psycopg its parts are skipped with a message on
stderr (``null`` in the JSON). Every process and cluster started is stopped on the
way out, after Ctrl-C or SIGTERM too.

Beside the rates, part 1 reads from ``/proc`` the CPU time each round cost the
``serve`` processes, the PostgreSQL server (all its processes) and this process (the
devices), per HTTP request: what a plan for other machines can build on.

``--json`` prints only one JSON object: ``sessions_per_s`` (``sqlite_1``,
``postgresql_1``, ``postgresql_2``), ``requests_per_s`` and ``cpu_ms_per_request``
(``workers``, ``database``, ``devices``) with the same keys,
``round_trips_per_request`` and ``store_cost_over_memory`` (``sqlite``,
``postgresql``), ``ms_per_request`` (in-process: ``memory``, ``sqlite``,
``postgresql``), ``requests_per_session`` and ``devices``; ``null`` for what was
skipped.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import attrs
from dmproto_server import ServerStore, connect
from dmproto_server.app import ServerApp
from dmproto_server.jobs import DEFAULT_JOB
from dmproto_server.pgcluster import Cluster, find_bindir, free_port
from dmproto_server.simulate import Worker, run_device

from dmproto.bindings.client import ClientDriver
from dmproto.bindings.server import ServerEndpoint
from dmproto.bindings.steps import Deliver, Send
from dmproto.security import AuthScheme, Credentials
from dmproto.session import Account, ServerSession
from dmproto.session import events as ev
from dmproto.testing import CLIENT_CREDS, MemoryClaims, server_config, tree_device

#: Simulated devices running their sessions at once (part 1).
DEVICES = 8
SETUPS = ("sqlite_1", "postgresql_1", "postgresql_2")
SERVER_ID = "srv"
_ids = itertools.count(1)


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def new_device(url: str) -> Any:
    """A device never seen before (its own id), with the account ``serve`` is given."""
    return tree_device(url, dev_id=f"IMEI:{next(_ids)}", random_bytes=os.urandom)


# -- 1. sessions per second over HTTP ---------------------------------------------------


def cpu_seconds(pids: list[int], *, children: bool = False) -> float | None:
    """CPU time (user + system) the processes *pids* used so far, including their
    reaped children; with *children*, plus every live child process of theirs (a
    PostgreSQL server's connection processes). None where ``/proc`` is missing."""
    tick = os.sysconf("SC_CLK_TCK")
    stats: dict[int, list[str]] = {}
    for entry in Path("/proc").iterdir() if children else (Path(f"/proc/{p}") for p in pids):
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue
        if entry.name.isdigit():
            stats[int(entry.name)] = text[text.rindex(")") + 2 :].split()
    if not stats:
        return None
    # fields after the name: [1] ppid, [11] utime, [12] stime, [13] cutime, [14] cstime
    chosen = [f for pid, f in stats.items() if pid in pids or (children and int(f[1]) in pids)]
    return sum(int(f[11]) + int(f[12]) + int(f[13]) + int(f[14]) for f in chosen) / tick


def wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                tail = log.read_text()[-2000:]
                raise RuntimeError(f"dmproto serve did not start:\n{tail}") from None
            time.sleep(0.1)


@attrs.frozen
class Served:
    """A running ``dmproto serve`` process."""

    worker: Worker
    pid: int


@contextlib.contextmanager
def serving(db: str, port: int, log: Path) -> Iterator[Served]:
    """``dmproto serve`` on *db* and *port* (default job, MD5), stopped on the way out."""
    argv = [sys.executable, "-m", "dmproto", "serve", "--db", db, "--port", str(port),
            "--server-id", SERVER_ID, "--client-user", CLIENT_CREDS.username,
            "--client-password", str(CLIENT_CREDS.password), "-q"]  # fmt: skip
    with log.open("ab") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, process, log)
        yield Served(Worker("127.0.0.1", port), process.pid)
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@attrs.define
class Load:
    """What the devices did in one round."""

    sessions: int = 0
    requests: int = 0
    failed: list[BaseException] = attrs.field(factory=list)


@attrs.frozen
class Setup:
    """One way of serving: its ``serve`` processes and the database server's pid."""

    served: list[Served]
    database_pid: int | None = None

    @property
    def workers(self) -> list[Worker]:
        return [s.worker for s in self.served]

    def cpu(self) -> tuple[float | None, float | None, float]:
        """CPU seconds so far of the workers, of the database server, of this process."""
        workers = cpu_seconds([s.pid for s in self.served])
        database = None
        if self.database_pid is not None:
            database = cpu_seconds([self.database_pid], children=True)
        return workers, database, time.process_time()


@attrs.frozen
class Rates:
    """One round of one setup."""

    sessions_per_s: float
    requests_per_s: float
    #: CPU milliseconds per HTTP request: the workers, the database server, the devices.
    cpu_ms: tuple[float | None, float | None, float]


def drive(setup: Setup, seconds: float, devices: int) -> Rates:
    """*devices* threads running sessions one after the other against *workers* for
    *seconds* (sessions under way then still finish, each thread runs at least one);
    sessions/s and requests/s."""
    load = Load()
    lock = threading.Lock()
    workers = setup.workers
    url = f"http://{workers[0].host}:{workers[0].port}/dm"
    cpu = setup.cpu()
    start = time.perf_counter()
    deadline = start + seconds

    def one(n: int) -> None:
        rng = random.Random(n)
        try:
            while True:  # at least one session each
                device = new_device(url)
                run = run_device(device.session, device, workers, rng=rng)
                if run.ended is None or run.ended.reason is not ev.EndReason.COMPLETED:
                    raise RuntimeError(f"session ended {run.ended}")
                with lock:
                    load.sessions += 1
                    load.requests += run.exchanges
                if time.perf_counter() >= deadline:
                    return
        except BaseException as exc:  # reported below
            with lock:
                load.failed.append(exc)

    threads = [threading.Thread(target=one, args=(n,), daemon=True) for n in range(devices)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    if load.failed:
        raise RuntimeError(f"{len(load.failed)} device(s) failed: {load.failed[0]!r}")
    used = [
        None if after is None or before is None else 1000 * (after - before) / load.requests
        for before, after in zip(cpu, setup.cpu(), strict=True)
    ]
    return Rates(load.sessions / elapsed, load.requests / elapsed, (used[0], used[1], used[2] or 0))


def _median(values: list[float | None]) -> float | None:
    return None if None in values else statistics.median(v for v in values if v is not None)


def http_rates(setups: dict[str, Setup], rounds: int, seconds: float) -> dict[str, Any]:
    """Medians per setup over interleaved rounds: sessions/s, requests/s, CPU ms per
    request (``workers``, ``database``, ``devices``)."""
    for setup in setups.values():
        drive(setup, 0.0, 2)  # warm up: one session per device thread
    found: dict[str, list[Rates]] = {name: [] for name in setups}
    for r in range(rounds):
        for name, setup in setups.items():
            found[name].append(rates := drive(setup, seconds, DEVICES))
            say(f"  round {r + 1}/{rounds} {name}: {rates.sessions_per_s:6.1f} sessions/s")
    return {
        name: {
            "sessions_per_s": statistics.median(r.sessions_per_s for r in rates),
            "requests_per_s": statistics.median(r.requests_per_s for r in rates),
            "cpu_ms": {
                part: _median([r.cpu_ms[i] for r in rates])
                for i, part in enumerate(("workers", "database", "devices"))
            },
        }
        for name, rates in found.items()
    }


# -- 2. and 3. in-process: round trips and time per request ------------------------------


@attrs.define
class MemoryApp:
    """The baseline: what ``ServerApp`` does for these sessions (MD5 account, nonces
    kept per device, the default job, outcomes kept), all in dicts."""

    digest: Credentials = attrs.field(
        factory=lambda: Credentials.digest_of(CLIENT_CREDS.username, str(CLIENT_CREDS.password))
    )
    nonces: dict[tuple[str, ev.NonceRole], bytes] = attrs.field(factory=dict)
    outcomes: list[tuple[str, int]] = attrs.field(factory=list)

    def __call__(self, session: ServerSession, event: ev.Event) -> None:
        if isinstance(event, ev.AccountRequested):
            session.supply_account(
                Account(
                    credentials=self.digest,
                    auth_scheme=AuthScheme.MD5,
                    client_nonce=self.nonces.get((event.device_id, ev.NonceRole.CLIENT), b""),
                    server_nonce=self.nonces.get((event.device_id, ev.NonceRole.SERVER), b""),
                )
            )
        elif isinstance(event, ev.PackageCompleted):
            if event.package > len(DEFAULT_JOB):
                session.end_session()
                return
            for command in DEFAULT_JOB[event.package - 1]:
                session.queue(command)
            session.close_package()
        elif isinstance(event, ev.NonceChanged):
            self.nonces[(session.device_id or "?", event.role)] = event.nonce
        elif isinstance(event, ev.CommandCompleted):
            self.outcomes.append((session.device_id or "?", int(event.outcome.code)))


@attrs.define
class InProcess:
    """A server answering requests in this process: an endpoint and its application."""

    endpoint: ServerEndpoint
    app: Callable[[ServerSession, ev.Event], None]
    store: ServerStore | None = None

    @classmethod
    def make(cls, target: str | None) -> InProcess:
        """On *target* (an SQLite path or a PostgreSQL URL), or in memory (None)."""
        config = server_config(random_bytes=os.urandom, server_uri=SERVER_ID)
        if target is None:
            claims = MemoryClaims(clock=time.time)
            return cls(endpoint=ServerEndpoint(config, claims=claims), app=MemoryApp())
        store = ServerStore(connect(target))
        store.put_account(CLIENT_CREDS.username, str(CLIENT_CREDS.password))
        app = ServerApp(store=store, scheme=AuthScheme.MD5, script=DEFAULT_JOB,
                        log=lambda level, text: None, log_outcomes=False)  # fmt: skip
        return cls(endpoint=ServerEndpoint(config, claims=store), app=app, store=store)

    def session(self) -> tuple[int, float]:
        """One full session of a new device: the HTTP requests it took, and the
        seconds spent answering them (the device's own work left out)."""
        device = new_device("http://127.0.0.1:9/dm")
        driver = ClientDriver(device.session)
        requests, spent = 0, 0.0
        while True:
            step = driver.poll(time.time())
            if isinstance(step, Deliver):
                device(device.session, step.event)
            elif isinstance(step, Send):
                start = time.perf_counter()
                response = self.endpoint.handle(step.request, self.app, time.time)
                spent += time.perf_counter() - start
                requests += 1
                driver.handle_response(response, time.time())
            else:
                if step.ended is None or step.ended.reason is not ev.EndReason.COMPLETED:
                    raise RuntimeError(f"session ended {step.ended}")
                return requests, spent


@attrs.define
class Measured:
    seconds_per_request: list[float] = attrs.field(factory=list)
    requests: int = 0
    round_trips: int = 0


def in_process(servers: dict[str, InProcess], rounds: int, sessions: int) -> dict[str, Measured]:
    """Interleaved rounds of *sessions* sessions per server: time and round trips."""
    for server in servers.values():
        server.session()  # warm up
    found = {name: Measured() for name in servers}
    for _ in range(rounds):
        for name, server in servers.items():
            trips = server.store.db.round_trips if server.store else 0
            requests, elapsed = 0, 0.0
            for _ in range(sessions):
                took, spent = server.session()
                requests += took
                elapsed += spent
            m = found[name]
            m.seconds_per_request.append(elapsed / requests)
            m.requests += requests
            m.round_trips += (server.store.db.round_trips if server.store else 0) - trips
    return found


# -- the run -------------------------------------------------------------------------------


def _terminated(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # the same clean-up as Ctrl-C


def postgres_cluster(stack: contextlib.ExitStack) -> Cluster | None:
    """A private cluster, or None (and why, on stderr) when PostgreSQL is missing."""
    try:
        import psycopg  # noqa: F401 (only whether it is there)
    except ImportError:
        say("PostgreSQL parts skipped: psycopg 3 is missing (pip install 'dmproto[server]')")
        return None
    bindir = find_bindir()
    if bindir is None:
        say(
            "PostgreSQL parts skipped: initdb/pg_ctl not found on PATH or in "
            "/usr/lib/postgresql/*/bin (Debian: apt-get install postgresql)"
        )
        return None
    return stack.enter_context(Cluster(bindir, durable=True))  # flushes, like SQLite's


def run(quick: bool) -> dict[str, Any]:
    rounds, seconds = (2, 2.0) if quick else (3, 8.0)
    in_rounds, in_sessions = (3, 4) if quick else (7, 30)
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="dmproto-scale-")))
        cluster = postgres_cluster(stack)
        log = tmp / "serve.log"
        say(f"1. sessions/s over HTTP, {DEVICES} devices at once, default job ...")
        setups = {
            "sqlite_1": Setup([stack.enter_context(serving(str(tmp / "a.db"), free_port(), log))])
        }
        if cluster is not None:
            one, two = cluster.new_database(), cluster.new_database()
            pid = cluster.pid()
            setups["postgresql_1"] = Setup(
                [stack.enter_context(serving(one, free_port(), log))], pid
            )
            setups["postgresql_2"] = Setup(
                [stack.enter_context(serving(two, free_port(), log)) for _ in range(2)], pid
            )
        http = http_rates(setups, rounds, seconds)
        say("2./3. in-process: round trips and time per request ...")
        servers = {"memory": InProcess.make(None), "sqlite": InProcess.make(str(tmp / "b.db"))}
        if cluster is not None:
            servers["postgresql"] = InProcess.make(cluster.new_database())
        for server in servers.values():
            if server.store is not None:
                stack.callback(server.store.close)
        measured = in_process(servers, in_rounds, in_sessions)
    base = statistics.median(measured["memory"].seconds_per_request)
    per_request = {n: statistics.median(m.seconds_per_request) for n, m in measured.items()}
    engines = ("sqlite", "postgresql")
    return {
        "sessions_per_s": {s: http[s]["sessions_per_s"] if s in http else None for s in SETUPS},
        "requests_per_s": {s: http[s]["requests_per_s"] if s in http else None for s in SETUPS},
        "cpu_ms_per_request": {s: http[s]["cpu_ms"] if s in http else None for s in SETUPS},
        "round_trips_per_request": {
            e: measured[e].round_trips / measured[e].requests if e in measured else None
            for e in engines
        },
        "store_cost_over_memory": {
            e: per_request[e] / base if e in per_request else None for e in engines
        },
        "ms_per_request": {n: 1000 * t for n, t in per_request.items()},
        "requests_per_session": measured["memory"].requests / (in_rounds * in_sessions),
        "devices": DEVICES,
    }


def report(found: dict[str, Any]) -> None:
    print(f"{found['devices']} devices at once, {found['requests_per_session']:.0f} HTTP "
          "requests per session (default job: 11 Gets, MD5)")  # fmt: skip
    names = {
        "sqlite_1": "1 worker, SQLite",
        "postgresql_1": "1 worker, PostgreSQL",
        "postgresql_2": "2 workers, PostgreSQL (2 ports, random routing)",
    }
    for key, name in names.items():
        sessions, requests = found["sessions_per_s"][key], found["requests_per_s"][key]
        if sessions is None:
            print(f"  {name:48s} skipped (no PostgreSQL)")
            continue
        print(f"  {name:48s} {sessions:7.1f} sessions/s  {requests:7.1f} requests/s")
        cpu = found["cpu_ms_per_request"][key]
        parts = [f"{part} {ms:.2f}" for part, ms in cpu.items() if ms is not None]
        inside = "  (SQLite runs inside the workers)" if key.startswith("sqlite") else ""
        print(f"    CPU ms per request: {', '.join(parts)}{inside}")
    print("in-process, the server's time per HTTP request:")
    ms = found["ms_per_request"]
    print(f"  memory (MemoryClaims)  {ms['memory']:6.2f} ms")
    for engine in ("sqlite", "postgresql"):
        trips = found["round_trips_per_request"][engine]
        cost = found["store_cost_over_memory"][engine]
        if trips is None:
            print(f"  {engine:22s} skipped (no PostgreSQL)")
            continue
        print(f"  {engine:22s} {ms[engine]:6.2f} ms  ({cost:.2f}x memory)  "
              f"{trips:.1f} database round trips")  # fmt: skip


def main() -> None:
    signal.signal(signal.SIGTERM, _terminated)
    try:
        found = run("--quick" in sys.argv)
    except KeyboardInterrupt:
        say("bench/scale.py: interrupted; the servers and the cluster it started are stopped")
        sys.exit(130)
    if "--json" in sys.argv:
        print(json.dumps(found))
    else:
        report(found)


if __name__ == "__main__":
    main()
