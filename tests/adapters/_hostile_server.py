"""A DM server in a process of its own, for ``test_hostile_load.py``.

The server runs apart from the clients so that its memory and its file descriptors
are measured alone. Usage::

    python _hostile_server.py ADAPTER TIMEOUT REQUEST_TIMEOUT

It serves ``ServerApp`` (MD5 accounts, one package of two Gets) through the
conformance harness, prints one JSON line ``{"url": ...}``, then answers each line
read from stdin with one JSON line, and stops at the end of its input:

* ``mark`` — the baseline: open descriptors and resident memory (the kernel's peak
  is reset to it, ``/proc/self/clear_refs``);
* ``measure`` — descriptors once the server has closed the connections of the run,
  resident memory, the peak since ``mark``, and what the application saw.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE.parent / "conformance")]

from _harness import HARNESSES  # noqa: E402
from _scenario import ServerApp, get, server_config  # noqa: E402

from dmproto.security import AuthScheme  # noqa: E402
from dmproto.session.events import EndReason  # noqa: E402

#: How long ``measure`` waits for the server to close the run's connections.
SETTLE = 30.0


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


def _reset_peak() -> bool:
    """Reset the kernel's peak RSS (VmHWM) to the current RSS; False where not allowed
    (then the peak since start is reported: never less than the peak of the run)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _reply(data: dict[str, Any]) -> None:
    print(json.dumps(data), flush=True)


def main() -> None:
    name, timeout, request_timeout = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
    app = ServerApp(scheme=AuthScheme.MD5, packages=[[get("./DevInfo/Mod"), get("./DevInfo/Man")]])
    serving = HARNESSES[name]().serving(
        app, server_config(), timeout=timeout, request_timeout=request_timeout
    )
    with serving as url:
        _reply({"url": url})
        baseline = _fds()
        for line in sys.stdin:
            command = line.strip()
            gc.collect()
            if command == "mark":
                baseline = _fds()
                _reply({"fds": baseline, "rss_kib": _status_kib("VmRSS"), "reset": _reset_peak()})
            elif command == "measure":
                settle = time.monotonic() + SETTLE
                while _fds() > baseline and time.monotonic() < settle:
                    time.sleep(0.1)
                with app.lock:
                    complete = [
                        device
                        for device, ended in app.ended.items()
                        if ended.reason is EndReason.COMPLETED
                        and [o.code for o in app.results(device)] == [200, 200]
                    ]
                _reply(
                    {
                        "fds": _fds(),
                        "rss_kib": _status_kib("VmRSS"),
                        "peak_kib": _status_kib("VmHWM"),
                        "complete": complete,
                    }
                )


if __name__ == "__main__":
    main()
