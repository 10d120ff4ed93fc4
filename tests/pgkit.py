"""A private PostgreSQL server for the tests: ``initdb`` and ``pg_ctl`` (Debian's
``postgresql`` package) run a throw-away cluster in a temporary folder, on a free
port on 127.0.0.1, with its Unix socket inside that folder.

PostgreSQL refuses to run as root; under root the cluster runs as ``nobody`` (the
folder is handed to that user). Tests that need it take the session-scoped
``postgres`` fixture (a :class:`Cluster`) and ask it for a fresh database per test;
they are skipped, saying why, when the binaries or psycopg are missing.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

USER = "dmproto"  # the cluster's superuser (trust authentication, local only)


def find_bindir() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl``: on PATH, else the newest
    ``/usr/lib/postgresql/*/bin`` (Debian keeps them off PATH)."""
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(os.path.realpath(on_path)).parent
    found = [Path(d) for d in glob.glob("/usr/lib/postgresql/*/bin") if Path(d, "initdb").exists()]
    found.sort(key=lambda d: int(d.parent.name) if d.parent.name.isdigit() else 0)
    return found[-1] if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    """A running private cluster; :meth:`new_database` gives each test its own."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="dmproto-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self._ids = itertools.count(1)
        self._prefix: list[str] = []
        if os.geteuid() == 0:  # PostgreSQL will not run as root
            nobody = pwd.getpwnam("nobody")
            self._prefix = [
                "setpriv",
                f"--reuid={nobody.pw_uid}",
                f"--regid={nobody.pw_gid}",
                "--clear-groups",
            ]
            os.chown(self.root, nobody.pw_uid, nobody.pw_gid)
        os.chmod(self.root, 0o700)
        self._run("initdb", "-A", "trust", "-U", USER, "-E", "UTF8", "--locale=C", "--no-sync",
                  "-D", str(self.data))  # fmt: skip
        self.start()

    def _run(self, tool: str, *args: str) -> None:
        done = subprocess.run(
            [*self._prefix, str(self.bindir / tool), *args],
            cwd=self.root,  # readable by the unprivileged user
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            log = self.root / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{tool} {args[:1]} failed: {done.stdout}{done.stderr}{tail}")

    def _options(self) -> str:
        return (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c full_page_writes=off"  # a throw-away cluster
        )

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"),
                  "-o", self._options(), "-w", "-t", "60", "start")  # fmt: skip

    def restart(self) -> None:
        """Restart the server (``-m fast``: every open connection is cut)."""
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"),
                  "-o", self._options(), "-m", "fast", "-w", "-t", "60", "restart")  # fmt: skip

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{dbname}"

    def new_database(self) -> str:
        """The URL of a new empty database."""
        import psycopg

        name = f"test_{next(self._ids)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def remove(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres() -> Iterator[Cluster]:
    """A private PostgreSQL cluster for the whole test session."""
    pytest.importorskip("psycopg", reason="psycopg 3 is missing (pip install -e '.[test]')")
    bindir = find_bindir()
    if bindir is None:
        pytest.skip(
            "PostgreSQL's initdb/pg_ctl not found on PATH or in /usr/lib/postgresql/*/bin "
            "(Debian: apt-get install postgresql; .ci/run installs it)"
        )
    cluster = Cluster(bindir)
    try:
        yield cluster
    finally:
        cluster.remove()
