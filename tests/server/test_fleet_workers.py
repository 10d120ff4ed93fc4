"""Workers sharing one PostgreSQL database, as processes: every HTTP request of every
session goes to a random worker; one worker is SIGKILLed mid-run, or the database is
restarted mid-run, and still every device completes its job, nothing is lost and
nothing is executed twice (docs/scaling.md).

The devices are :func:`dmproto_server.simulate.run_device`: real HTTP, a random worker
per request, and the same request sent again after a failed exchange (a refused or
reset connection, a 503) — what a device does after an HTTP timeout.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from clikit import dmproto, free_port, wait_for_port
from dmproto_server import ServerStore, connect
from dmproto_server.queue import CommandQueue
from dmproto_server.simulate import DeviceRun, Worker, run_device
from pgkit import Cluster, postgres  # noqa: F401 (the session-scoped cluster fixture)

from dmproto.security import AuthScheme, Credentials
from dmproto.session import ClientSession
from dmproto.session import events as ev
from dmproto.testing import tree_device

DEVICES = 24
#: One package that must run exactly once (Add: a second one would answer 418),
#: then one that reads back and changes what the first did.
JOB = [
    [
        {"cmd": "Add", "uri": "./Vendor/Fleet", "data": "1"},
        {"cmd": "Get", "uri": "./DevInfo/Mod"},
    ],
    [
        {"cmd": "Replace", "uri": "./Vendor/Fleet", "data": "2"},
        {"cmd": "Get", "uri": "./Vendor/Fleet"},
    ],
]


def serve(db: str, port: int, log: Path, *extra: str) -> subprocess.Popen[str]:
    """``dmproto serve`` on *db* and *port*, its output into the file *log*."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dmproto",
            "serve",
            "--db",
            db,
            "--port",
            str(port),
            "--client-user",
            "fleet",
            "--client-password",
            "pw",
            "--lease-seconds",
            "2",
            "-q",
            *extra,
        ],
        stdout=log.open("a"),
        stderr=subprocess.STDOUT,
        text=True,
    )
    wait_for_port(port)
    return process


@pytest.fixture
def database(postgres: Cluster) -> Iterator[str]:  # noqa: F811
    url = postgres.new_database()
    store = ServerStore(connect(url))
    queue = CommandQueue(store)
    for n in range(DEVICES):
        queue.add(f"IMEI:{n}", JOB)
    store.close()
    yield url


def run_fleet(ports: list[int], during: Callable[[], None]) -> list[DeviceRun]:
    """Run every device at once (threads), calling ``during()`` once a third of the
    devices are inside their session (they received the server's commands)."""
    runs: list[DeviceRun | BaseException] = [RuntimeError("not run")] * DEVICES
    inside = threading.Semaphore(0)
    workers = [Worker("127.0.0.1", p) for p in ports]

    def one(n: int) -> None:
        device = tree_device(
            f"http://127.0.0.1:{ports[0]}/dm",
            dev_id=f"IMEI:{n}",
            random_bytes=os.urandom,
            credentials=Credentials(username="fleet", password="pw"),
            auth_scheme=AuthScheme.MD5,
        )
        first: list[bool] = []

        def handler(session: ClientSession, event: ev.ClientSessionEvent) -> None:
            if isinstance(event, ev.CommandReceived) and not first:
                first.append(True)
                inside.release()
            device(session, event)

        try:
            runs[n] = run_device(device.session, handler, workers, rng=random.Random(n))
        except BaseException as exc:  # reported below
            runs[n] = exc

    threads = [threading.Thread(target=one, args=(n,), daemon=True) for n in range(DEVICES)]
    for thread in threads:
        thread.start()
    for _ in range(DEVICES // 3):
        assert inside.acquire(timeout=120), "the devices did not get their commands"
    during()
    for thread in threads:
        thread.join(timeout=300)
    failures = [r for r in runs if isinstance(r, BaseException)]
    assert not failures, failures[:3]
    return [r for r in runs if isinstance(r, DeviceRun)]


def check_fleet(db: str, runs: list[DeviceRun]) -> None:
    """Every device completed its job once; every queued command answered once."""
    for run in runs:
        assert run.ended is not None and run.ended.reason is ev.EndReason.COMPLETED
        assert run.executed[("Add", "./Vendor/Fleet")] == 1  # executed exactly once
        assert run.executed[("Replace", "./Vendor/Fleet")] == 1
    listed = dmproto("queue", "list", "--db", db, "--json")
    assert listed.returncode == 0, listed.stderr
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert len(rows) == DEVICES * 4
    assert {(r["state"], r["code"]) for r in rows} == {("answered", 200)}
    results = dmproto("queue", "results", "--db", db, "--json")
    finished = [json.loads(line) for line in results.stdout.splitlines()]
    # one outcome per queued command: nothing lost, nothing recorded twice
    assert sorted(len(r["outcomes"]) for r in finished) == [1] * (DEVICES * 4)
    fleet_values = {
        r["device_id"]: r["outcomes"][0]["results"]
        for r in finished
        if r["command"] == {"cmd": "Get", "uri": "./Vendor/Fleet"}
    }
    assert fleet_values == {f"IMEI:{n}": ["2"] for n in range(DEVICES)}


def stop(log: Path, *processes: subprocess.Popen[str]) -> str:
    """SIGTERM the processes still running; their output."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    return log.read_text()


def test_two_workers_one_killed_mid_run(database: str, tmp_path: Path) -> None:
    ports = [free_port(), free_port()]
    log = tmp_path / "serve.log"
    first, second = serve(database, ports[0], log), serve(database, ports[1], log)
    try:
        runs = run_fleet(ports, lambda: os.kill(second.pid, signal.SIGKILL))
        check_fleet(database, runs)
        assert second.wait(timeout=10) == -signal.SIGKILL
        assert sum(r.resends for r in runs) > 0  # requests did hit the dead worker
    finally:
        output = stop(log, first, second)
    assert "Traceback" not in output, output


def test_two_workers_through_a_database_restart(
    database: str,
    postgres: Cluster,  # noqa: F811
    tmp_path: Path,
) -> None:
    ports = [free_port(), free_port()]
    log = tmp_path / "serve.log"
    workers = [serve(database, ports[0], log), serve(database, ports[1], log)]
    try:
        runs = run_fleet(ports, postgres.restart)
        check_fleet(database, runs)
        assert all(w.poll() is None for w in workers)  # they rode it out
    finally:
        output = stop(log, *workers)
    assert "Traceback" not in output, output


def test_serve_workers_share_one_port_and_a_killed_one_is_replaced(
    database: str, tmp_path: Path
) -> None:
    port = free_port()
    log = tmp_path / "serve.log"
    supervisor = serve(database, port, log, "--workers", "2")
    try:
        pids = _worker_pids(log)
        assert len(pids) == 2
        runs = run_fleet([port], lambda: os.kill(pids[0], signal.SIGKILL))
        check_fleet(database, runs)
    finally:
        output = stop(log, supervisor)
    assert f"(pid {pids[0]}) ended with status -9; restarting it" in output
    assert "Traceback" not in output, output
    assert supervisor.returncode == 0  # SIGTERM: every worker stopped, then the supervisor


def _worker_pids(log: Path) -> list[int]:
    """The pids the supervisor reports when it started the workers."""
    for line in log.read_text().splitlines():
        if "workers started" in line:
            return [int(p) for p in line.split("pids ")[1].rstrip(")").split()]
    raise AssertionError(log.read_text())
