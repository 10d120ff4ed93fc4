"""A throw-away private PostgreSQL cluster, for tests and benchmarks.

``initdb`` and ``pg_ctl`` (Debian's ``postgresql`` package keeps them in
``/usr/lib/postgresql/*/bin``) run a cluster in a temporary folder, on a free port
on 127.0.0.1, with its Unix socket inside that folder, trust authentication for
local connections only, and by default ``fsync`` off: nothing in it is meant to
survive (``durable=True`` keeps PostgreSQL's flushes, for measurements that should
pay what a real server pays).

PostgreSQL refuses to run as root; under root the cluster runs as ``nobody`` (the
folder is handed to that user, ``setpriv`` drops the privileges).

    bindir = find_bindir()            # None: PostgreSQL is not installed
    with Cluster(bindir) as cluster:
        url = cluster.new_database()  # postgresql://dmproto@127.0.0.1:PORT/test_1

The test suite wraps it as a pytest fixture; ``bench/scale.py`` uses it directly.
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
from pathlib import Path
from types import TracebackType

__all__ = ["USER", "Cluster", "find_bindir", "free_port"]

#: The cluster's superuser (trust authentication, local only).
USER = "dmproto"


def find_bindir() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl``: on PATH, else the newest
    ``/usr/lib/postgresql/*/bin`` (Debian keeps them off PATH); None when neither."""
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(os.path.realpath(on_path)).parent
    found = [Path(d) for d in glob.glob("/usr/lib/postgresql/*/bin") if Path(d, "initdb").exists()]
    found.sort(key=lambda d: int(d.parent.name) if d.parent.name.isdigit() else 0)
    return found[-1] if found else None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    """A running private cluster (started by the constructor); :meth:`new_database`
    gives each user its own database, :meth:`remove` stops it and deletes its folder
    (as does leaving a ``with`` block).

    Raises:
        RuntimeError: ``initdb`` or ``pg_ctl`` failed (with the end of their output).
    """

    def __init__(self, bindir: Path, *, durable: bool = False) -> None:
        self.bindir = bindir
        self.durable = durable
        self.root = Path(tempfile.mkdtemp(prefix="dmproto-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self._ids = itertools.count(1)
        self._prefix: list[str] = []
        try:
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
            self._run("initdb", "-A", "trust", "-U", USER, "-E", "UTF8", "--locale=C",
                      "--no-sync", "-D", str(self.data))  # fmt: skip
            self.start()
        except BaseException:
            shutil.rmtree(self.root, ignore_errors=True)
            raise

    def __enter__(self) -> Cluster:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.remove()

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
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
        if not self.durable:
            options += " -c fsync=off -c full_page_writes=off"  # a throw-away cluster
        return options

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"),
                  "-o", self._options(), "-w", "-t", "60", "start")  # fmt: skip

    def restart(self) -> None:
        """Restart the server (``-m fast``: every open connection is cut)."""
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"),
                  "-o", self._options(), "-m", "fast", "-w", "-t", "60", "restart")  # fmt: skip

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def pid(self) -> int:
        """The process id of the running server (the postmaster; its children are
        the connections' processes)."""
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{dbname}"

    def new_database(self) -> str:
        """The URL of a new empty database (needs psycopg 3)."""
        import psycopg  # only here: the rest runs without it

        name = f"test_{next(self._ids)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def remove(self) -> None:
        """Stop the server and delete the cluster's folder."""
        try:
            self.stop()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
