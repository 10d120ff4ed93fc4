"""Helpers of the command-line tests: run ``python -m dmproto`` in a subprocess, find a
free port, wait for a server, start a listening device."""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path


def dmproto(
    *args: str,
    timeout: float = 60,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """``python -m dmproto ARGS`` with text output (never raises on a failing exit)."""
    return subprocess.run(
        [sys.executable, "-m", "dmproto", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        check=False,
    )


def start_dmproto(
    *args: str, merge_stderr: bool = False, ignore_sigint: bool = False, cwd: Path | None = None
) -> subprocess.Popen[str]:
    """``python -m dmproto ARGS`` started in the background, text pipes for its output
    (stderr into stdout with *merge_stderr*); *ignore_sigint* starts it the way a
    non-interactive shell starts ``dmproto ... &``."""
    return subprocess.Popen(
        [sys.executable, "-m", "dmproto", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT if merge_stderr else subprocess.PIPE,
        text=True,
        preexec_fn=(lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
        if ignore_sigint
        else None,
        cwd=cwd,
    )


def dmproto_bytes(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    """``python -m dmproto ARGS`` fed *stdin*, with bytes output."""
    return subprocess.run(
        [sys.executable, "-m", "dmproto", *args],
        input=stdin,
        capture_output=True,
        check=False,
        timeout=60,
    )


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """A port nothing listens on right now (TCP, or UDP with ``socket.SOCK_DGRAM``)."""
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int) -> None:
    """Wait until a server accepts connections on ``port`` (60 s is a bound under load,
    not a timing check)."""
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.1)


@contextlib.contextmanager
def listening_device(port: int) -> Iterator[subprocess.Popen[str]]:
    """A ``dmproto device --listen-udp PORT`` for server id ``srv`` / password ``sp``
    whose server address is unreachable; killed if still running at the end."""
    device = start_dmproto(
        "device",
        "--server",
        "http://127.0.0.1:1/dm",
        "--server-id",
        "srv",
        "--server-password",
        "sp",
        "--listen-udp",
        str(port),
    )
    try:
        yield device
    finally:
        if device.poll() is None:
            device.kill()
            device.communicate()


@contextlib.contextmanager
def serving(
    *args: str,
    port: int | None = None,
    cwd: Path | None = None,
) -> Iterator[tuple[int, list[str]]]:
    """A ``dmproto serve`` subprocess; yields its port and, after it stopped, its output."""
    port = port or free_port()
    server = start_dmproto("serve", "--port", str(port), *args, merge_stderr=True, cwd=cwd)
    output: list[str] = []
    try:
        wait_for_port(port)
        yield port, output
    finally:
        server.terminate()
        out, _ = server.communicate(timeout=30)
        output.append(out)


def device_session(
    port: int, *args: str, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """``dmproto device`` against the server on *port* (one session, 60 s at most)."""
    return dmproto("device", "--server", f"http://127.0.0.1:{port}/dm", *args, timeout=60, cwd=cwd)


__all__ = [
    "device_session",
    "dmproto",
    "dmproto_bytes",
    "free_port",
    "listening_device",
    "serving",
    "wait_for_port",
]
