"""Run a fuzzing campaign: every atheris target (or the ones named), then record it.

Usage::

    python fuzz/run.py --runs 1000000                 # every target, 1 M executions each
    python fuzz/run.py --minutes 10 decode_xml nonce  # two targets, 10 minutes each
    python fuzz/run.py --list
    python fuzz/run.py --totals                       # executions recorded per target

For each target, in order:

1. the working corpus ``--work DIR/<target>`` (default ``fuzz/.work``, ignored by git)
   is seeded from the committed ``fuzz/corpus/<target>/`` and kept between runs, so a
   campaign spread over several sessions goes on where it stopped;
2. ``fuzz/atheris_main.py`` runs the target on it (libFuzzer flags: ``-runs`` or
   ``-max_total_time``, a per-input ``-timeout``, ``-rss_limit_mb``, crashes written
   to ``DIR/crashes/``);
3. the working corpus is merged into the committed ``fuzz/corpus/<target>/``
   (libFuzzer ``-merge=1``): the seeds there stay, and only the inputs that reach
   coverage they do not are added, so the committed corpus stays small;
4. one line is appended to ``fuzz/RESULTS.md``: date, commit, target, executions,
   corpus size, coverage reached (libFuzzer's ``cov:`` edge count), crashes — none,
   or the crash files to turn into regression tests (see fuzz/README.md, Triage) — and
   notes: the last line a target wrote to the file named by ``DMPROTO_FUZZ_NOTES``
   (the differential target ``wbxml_vs_libwbxml`` counts there how often each reader
   alone accepted an input).

The exit status is 1 when any target crashed, else 0.
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import attrs

HERE = Path(__file__).resolve().parent
MAIN = HERE / "atheris_main.py"
RESULTS = HERE / "RESULTS.md"
HEADER = (
    "| date | commit | target | executions | corpus (files) | coverage (edges) | crashes "
    "| notes |\n"
    "| --- | --- | --- | ---: | ---: | ---: | --- | --- |\n"
)
#: A target may write a one-line note (e.g. differential counts) to this file.
NOTES_ENV = "DMPROTO_FUZZ_NOTES"


def _targets() -> list[str]:
    sys.path.insert(0, str(HERE))
    from atheris_main import load_targets  # the one place that knows the targets

    return sorted(load_targets())


def _commit() -> str:
    out = subprocess.run(
        ["git", "-C", str(HERE), "rev-parse", "--short=12", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    )
    # Dirty only where the fuzzed code is: the package and the targets (the corpus and
    # RESULTS.md change during every campaign).
    dirty = subprocess.run(
        ["git", "-C", str(HERE), "status", "--porcelain", "--", "../dmproto", "*.py"],
        capture_output=True,
        text=True,
        check=False,
    )
    commit = out.stdout.strip() or "unknown"
    return commit + ("+dirty" if dirty.stdout.strip() else "")


def _libfuzzer(
    target: str, args: list[str], notes: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if notes is not None:
        env[NOTES_ENV] = str(notes)
    return subprocess.run(
        [sys.executable, str(MAIN), target, *args],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )


def _stat(output: str, name: str) -> int:
    match = re.search(rf"^stat::{name}:\s*(\d+)", output, re.MULTILINE)
    return int(match.group(1)) if match else 0


def _coverage(output: str) -> int:
    edges = re.findall(r"\bcov: (\d+)", output)
    return max((int(e) for e in edges), default=0)


def _shown(path: Path) -> str:
    """``path`` relative to the repository when inside it (RESULTS.md names no machine)."""
    try:
        return str(path.resolve().relative_to(HERE.parent))
    except ValueError:
        return path.name


@attrs.frozen
class Record:
    """One target's campaign, as one line of fuzz/RESULTS.md."""

    target: str
    executions: int
    corpus: int
    coverage: int
    crashes: list[str]
    notes: str = ""

    def line(self, date: str, commit: str) -> str:
        crashes = ", ".join(self.crashes) or "none"
        notes = self.notes.replace("|", "/")
        return (
            f"| {date} | {commit} | {self.target} | {self.executions} | {self.corpus} | "
            f"{self.coverage} | {crashes} | {notes} |\n"
        )


def run_target(target: str, work: Path, budget: list[str], timeout: int) -> Record:
    """Fuzz one target, merge its corpus into fuzz/corpus/<target>; return the record."""
    corpus = work / target
    committed = HERE / "corpus" / target
    crashes = work / "crashes"
    crashes.mkdir(parents=True, exist_ok=True)
    corpus.mkdir(parents=True, exist_ok=True)
    if committed.is_dir():
        for seed in committed.iterdir():
            if seed.is_file() and not (corpus / seed.name).exists():
                shutil.copyfile(seed, corpus / seed.name)
    before = set(crashes.iterdir())
    notes = work / f"{target}.notes"
    notes.unlink(missing_ok=True)
    result = _libfuzzer(
        target,
        [
            str(corpus),
            *budget,
            f"-timeout={timeout}",
            "-rss_limit_mb=2048",
            "-max_len=65536",
            "-print_final_stats=1",
            f"-artifact_prefix={crashes}/{target}-",
        ],
        notes,
    )
    found = sorted(_shown(p) for p in set(crashes.iterdir()) - before)
    if result.returncode != 0 and not found:
        found = [f"exit status {result.returncode} (see the log: {_shown(work / target)}.log)"]
    (work / f"{target}.log").write_text(result.stdout + result.stderr)
    # Merge: the committed seeds stay; of the working corpus only inputs that reach
    # coverage the committed ones do not are added (libFuzzer -merge=1 keeps it small).
    committed.mkdir(parents=True, exist_ok=True)
    merge = _libfuzzer(target, ["-merge=1", str(committed), str(corpus)])
    if merge.returncode != 0:
        found.append(f"merge failed with exit status {merge.returncode}")
    output = result.stdout + result.stderr
    return Record(
        target=target,
        executions=_stat(output, "number_of_executed_units"),
        corpus=sum(1 for p in committed.iterdir() if p.is_file()),
        coverage=_coverage(output),
        crashes=found,
        notes=notes.read_text().strip() if notes.is_file() else "",
    )


def record(line: Record, commit: str) -> None:
    """Append one campaign line to fuzz/RESULTS.md (the table header comes first)."""
    if not RESULTS.exists():
        RESULTS.write_text(
            "# Fuzzing results\n\nOne line per target and campaign, appended by "
            "`python fuzz/run.py`.\n\n" + HEADER
        )
    with RESULTS.open("a") as out:
        out.write(line.line(datetime.date.today().isoformat(), commit))


def totals(results: Path, targets: list[str]) -> dict[str, int]:
    """Executions recorded per target over every campaign line of ``results`` (0 for a
    target never run); lines of targets no longer known are left out."""
    found = dict.fromkeys(targets, 0)
    for row in results.read_text().splitlines() if results.is_file() else []:
        cells = [cell.strip() for cell in row.strip().strip("|").split("|")]
        if len(cells) >= 4 and cells[2] in found and cells[3].isdigit():
            found[cells[2]] += int(cells[3])
    return found


def main(argv: list[str] | None = None) -> int:
    """Parse the options, run the targets in order, record each one."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("targets", nargs="*", help="target names (default: all)")
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument("--runs", type=int, help="executions per target")
    budget.add_argument("--minutes", type=float, help="minutes per target")
    parser.add_argument("--work", type=Path, default=HERE / ".work", help="working corpora")
    parser.add_argument("--timeout", type=int, default=10, help="seconds per input")
    parser.add_argument("--no-record", action="store_true", help="do not touch RESULTS.md")
    parser.add_argument("--list", action="store_true", help="list the targets and exit")
    parser.add_argument(
        "--totals",
        action="store_true",
        help="print the executions RESULTS.md records per target, and exit",
    )
    args = parser.parse_args(argv)
    known = _targets()
    if args.list:
        print("\n".join(known))
        return 0
    if args.totals:
        for name, count in totals(RESULTS, known).items():
            print(f"{name} {count}")
        return 0
    unknown = sorted(set(args.targets) - set(known))
    if unknown:
        parser.error(f"unknown target(s) {', '.join(unknown)}; known: {', '.join(known)}")
    if args.minutes is not None:
        limit = [f"-max_total_time={max(1, round(args.minutes * 60))}"]
    else:
        limit = [f"-runs={args.runs if args.runs is not None else 1_000_000}"]
    commit = _commit()
    failed = False
    for target in args.targets or known:
        line = run_target(target, args.work, limit, args.timeout)
        failed = failed or bool(line.crashes)
        print(
            f"{target}: {line.executions} executions, corpus {line.corpus}, "
            f"coverage {line.coverage}, crashes: {line.crashes or 'none'}"
            + (f"; {line.notes}" if line.notes else ""),
            flush=True,
        )
        if not args.no_record:
            record(line, commit)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
