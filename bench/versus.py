"""This tree against an older commit, side by side (not a test).

Usage::

    git worktree add --detach ../baseline <commit>      # any checkout of the older code
    python bench/versus.py --baseline ../baseline [--quick] [--json] [--instructions]

Both sides run the *baseline's* ``bench/session.py`` scenario (its ``one_session``: the
same messages, commands and authentication on both sides, so the figure is the code's
speed, not a changed benchmark), each measurement in a fresh process whose ``dmproto`` is
imported from that side's tree. Rounds alternate the sides and the encodings (baseline,
current, baseline, ...), so machine noise hits both alike; the figure is the median of
sessions per CPU second of the measuring process.

``--instructions`` also counts instructions per session under valgrind's callgrind
(``PYTHONHASHSEED=0``): a count does not move with the load of the machine, which timing
on a shared 2-core machine does. The per-session count is the difference between a run
of ``1 + N`` sessions and a run of one, over N, so start-up is not counted.

``--json`` prints one JSON object: ``sessions_per_s`` (``baseline``/``current`` →
``xml``/``wbxml``), ``current_over_baseline`` (``xml``/``wbxml``), and with
``--instructions`` also ``instructions_per_session`` (like ``sessions_per_s``) and
``baseline_over_current_instructions``.
"""

from __future__ import annotations

import argparse
import importlib.util
import inspect
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
CURRENT = HERE.parent.parent
ENCODINGS = ("xml", "wbxml")
SIDES = ("baseline", "current")


def _worker(scenario: str, encoding: str, sessions: int) -> None:
    """In a fresh process whose ``dmproto`` is one side's: run *sessions* sessions of
    the scenario after one warm-up, print the CPU seconds they took as JSON."""
    import dmproto
    from dmproto.codec import Encoding

    root = Path(os.environ["DMPROTO_VERSUS_ROOT"]).resolve()
    imported = Path(dmproto.__file__).resolve()
    if root not in imported.parents:
        sys.exit(f"dmproto imported from {imported}, not from {root}")
    spec = importlib.util.spec_from_file_location("versus_scenario", scenario)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    seeded = "seed" in inspect.signature(module.one_session).parameters
    chosen = Encoding(encoding)

    def one(i: int) -> None:
        if seeded:
            module.one_session(chosen, i)
        else:
            module.one_session(chosen)

    one(0)  # warm up: imports, caches, first-use tables
    start = time.process_time()
    for i in range(sessions):
        one(i + 1)
    print(json.dumps({"cpu": time.process_time() - start}))


def _run(side: Path, scenario: Path, encoding: str, sessions: int, *, tool: list[str]) -> str:
    env = {**os.environ, "PYTHONPATH": str(side), "DMPROTO_VERSUS_ROOT": str(side)}
    env["PYTHONHASHSEED"] = "0"
    argv = [*tool, sys.executable, str(HERE), "--worker", str(scenario), encoding, str(sessions)]
    with tempfile.TemporaryDirectory() as cwd:  # nothing importable from the cwd
        done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"{side} ({encoding}) failed:\n{done.stderr[-3000:]}")
    return done.stdout + done.stderr


def _rate(side: Path, scenario: Path, encoding: str, sessions: int) -> float:
    out = _run(side, scenario, encoding, sessions, tool=[])
    cpu = float(json.loads(out.splitlines()[0])["cpu"])
    return sessions / cpu


def _instructions(side: Path, scenario: Path, encoding: str, sessions: int) -> float:
    tool = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"]

    def collected(n: int) -> int:
        found = re.search(r"Collected : (\d+)", _run(side, scenario, encoding, n, tool=tool))
        if found is None:
            sys.exit("callgrind printed no instruction count")
        return int(found.group(1))

    return (collected(1 + sessions) - collected(1)) / sessions


def _checkout(path: str) -> Path:
    root = Path(path).resolve()
    if (
        not (root / "dmproto" / "__init__.py").is_file()
        or not (root / "bench" / "session.py").is_file()
    ):
        print(
            f"versus: {root} is not a dmproto checkout (dmproto/, bench/session.py)",
            file=sys.stderr,
        )
        sys.exit(2)
    return root


def compare(baseline: Path, *, rounds: int, sessions: int, counted: int | None) -> dict[str, Any]:
    """The figures of both sides (see the module docstring for the keys)."""
    scenario = baseline / "bench" / "session.py"
    sides = {"baseline": baseline, "current": CURRENT}
    rates: dict[str, dict[str, list[float]]] = {s: {e: [] for e in ENCODINGS} for s in SIDES}
    for index in range(rounds):
        order = SIDES if index % 2 == 0 else SIDES[::-1]
        for encoding in ENCODINGS:
            for side in order:
                rates[side][encoding].append(_rate(sides[side], scenario, encoding, sessions))
    medians = {s: {e: statistics.median(rates[s][e]) for e in ENCODINGS} for s in SIDES}
    result: dict[str, Any] = {
        "sessions_per_s": medians,
        "current_over_baseline": {
            e: medians["current"][e] / medians["baseline"][e] for e in ENCODINGS
        },
    }
    if counted is not None:
        counts = {
            s: {e: _instructions(sides[s], scenario, e, counted) for e in ENCODINGS} for s in SIDES
        }
        result["instructions_per_session"] = counts
        result["baseline_over_current_instructions"] = {
            e: counts["baseline"][e] / counts["current"][e] for e in ENCODINGS
        }
    return result


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        _worker(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", required=True, help="a checkout of the older commit")
    parser.add_argument("--quick", action="store_true", help="fewer, shorter rounds")
    parser.add_argument("--json", action="store_true", help="print one JSON object only")
    parser.add_argument(
        "--instructions", action="store_true", help="also count instructions (callgrind)"
    )
    args = parser.parse_args()
    baseline = _checkout(args.baseline)
    result = compare(
        baseline,
        rounds=3 if args.quick else 9,
        sessions=5 if args.quick else 40,
        counted=(2 if args.quick else 10) if args.instructions else None,
    )
    if args.json:
        print(json.dumps(result))
        return
    print(f"baseline {baseline}  vs  current {CURRENT}  (baseline's bench/session.py)")
    for encoding in ENCODINGS:
        base, cur = (result["sessions_per_s"][s][encoding] for s in SIDES)
        line = f"{encoding:5s} sessions/s: baseline {base:7.1f}  current {cur:7.1f}"
        line += f"  current/baseline {cur / base:5.2f}"
        if "instructions_per_session" in result:
            counts = result["instructions_per_session"]
            line += f"  instructions/session {counts['baseline'][encoding] / 1e6:6.2f}M"
            line += f" -> {counts['current'][encoding] / 1e6:6.2f}M"
            line += f" ({result['baseline_over_current_instructions'][encoding]:4.2f}x fewer)"
        print(line)


if __name__ == "__main__":
    main()
