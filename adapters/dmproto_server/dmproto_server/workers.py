"""``dmproto serve --workers N``: N worker processes on one port, kept running.

Each worker is a whole ``dmproto serve`` listening with ``SO_REUSEPORT`` (the kernel
shares the connections out) on the same database; the sessions live in the database
(``ServerEndpoint(claims=...)``), so any worker answers any message. The supervisor
only starts the workers, starts a new one when one dies (its sessions continue in
the others once their leases run out), and stops them all on SIGTERM or Ctrl-C.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from types import FrameType

__all__ = ["supervise"]

#: A worker that exits with an error status sooner than this after its start is not
#: restarted: it cannot start at all (a port taken, a database refused). One killed
#: by a signal is restarted however young.
EARLY_EXIT = 2.0
#: Seconds the workers get to stop after SIGTERM before they are killed.
STOP_GRACE = 10.0
POLL = 0.2


def supervise(
    command: Sequence[str],
    workers: int,
    *,
    say: Callable[[str], None],
    stop_signals: Sequence[signal.Signals] = (signal.SIGTERM, signal.SIGINT),
) -> int:
    """Run ``workers`` copies of *command* (argv of one worker) until a stop signal.

    Returns 0 after SIGTERM, 130 after SIGINT, or the exit status of a worker that
    could not start.
    """
    stopped: list[int] = []

    def stop(signum: int, frame: FrameType | None) -> None:
        stopped.append(signum)

    previous = {s: signal.signal(s, stop) for s in stop_signals}
    running: dict[int, tuple[subprocess.Popen[bytes], float]] = {}
    try:
        for index in range(workers):
            running[index] = (subprocess.Popen(list(command)), time.monotonic())
        say(f"{workers} workers started (pids {' '.join(str(p.pid) for p, _ in running.values())})")
        while not stopped:
            time.sleep(POLL)
            for index, (process, started) in list(running.items()):
                code = process.poll()
                if code is None or stopped:
                    continue
                if code > 0 and time.monotonic() - started < EARLY_EXIT:
                    say(f"worker {index} could not start (exit status {code}); stopping")
                    _stop_all(running)
                    return code
                say(f"worker {index} (pid {process.pid}) ended with status {code}; restarting it")
                running[index] = (subprocess.Popen(list(command)), time.monotonic())
        _stop_all(running)
        return 130 if stopped[0] == signal.SIGINT else 0
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _stop_all(running: dict[int, tuple[subprocess.Popen[bytes], float]]) -> None:
    for process, _ in running.values():
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE
    for process, _ in running.values():
        try:
            process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    sys.stdout.flush()
