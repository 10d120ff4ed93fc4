#!/usr/bin/env python3
"""Small mutation-testing runner for dmproto/session (not run in CI).

Why not mutmut: mutmut 3 copies the project into ``mutants/``, runs the whole
suite once for coverage and then every mutant; on this shared 2-core machine that
is far too slow, and it cannot be pointed at a named handful of mutants. This
runner is deliberately tiny:

* It parses each target file with :mod:`ast` and lists mutants: comparison
  operators swapped (``<=``/``<``, ``>=``/``>``, ``==``/``!=``, ``in``/``not in``,
  ``is``/``is not``), ``and``/``or`` swapped, small integer constants changed
  (``n`` -> ``n + 1``, and ``3`` -> ``30`` for limits), ``True``/``False`` flipped.
* Each mutant is applied to a copy of the repository in a temporary directory
  (the worktree is never modified) and the focused test selection runs there with
  ``-x``; the copy's ``dmproto`` is first on ``sys.path``, ahead of the editable
  install's finder, which the runner checks before starting.
* A mutant is *killed* when the tests fail (or time out), *survived* when they
  pass. Survivors are printed at the end as ``file:line: description``.

Usage (from the repository root, with the project's venv active)::

    python .ci/mutation.py --list                      # mutants, numbered
    python .ci/mutation.py --match "msg_id <= s.last_peer_msg_id" --match "MAX_STALLS = 3"
    python .ci/mutation.py --file dmproto/session/_core.py --sample 20 --seed 1
    python .ci/mutation.py --all                       # every mutant: slow

Exit status: 0 when no mutant survived, 1 otherwise, 2 on a setup problem.
"""

from __future__ import annotations

import argparse
import ast
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FILES = sorted(
    str(p.relative_to(ROOT)) for p in (ROOT / "dmproto" / "session").glob("*.py")
)
#: Focused selection: the session tests (state machines through the public API).
DEFAULT_TESTS = [
    "tests/session/test_session_repeated_msgid.py",
    "tests/session/test_session_stall_count.py",
    "tests/session/test_session_pair.py",
    "tests/session/test_session_client_edges.py",
    "tests/session/test_session_server_edges.py",
    "tests/session/test_session_end.py",
    "tests/session/test_session_order.py",
    "tests/session/test_session_sizes.py",
    "tests/session/test_session_replay.py",
    "tests/session/test_session_units.py",
    "tests/session/test_session_binary.py",
    "tests/session/test_server_reauthentication.py",
    "tests/session/test_basic_auth_username.py",
    "tests/session/test_session_auth_handshake.py",
]

_COMPARE_SWAPS: dict[type[ast.cmpop], tuple[type[ast.cmpop], str]] = {
    ast.LtE: (ast.Lt, "<"),
    ast.Lt: (ast.LtE, "<="),
    ast.GtE: (ast.Gt, ">"),
    ast.Gt: (ast.GtE, ">="),
    ast.Eq: (ast.NotEq, "!="),
    ast.NotEq: (ast.Eq, "=="),
    ast.In: (ast.NotIn, "not in"),
    ast.NotIn: (ast.In, "in"),
    ast.Is: (ast.IsNot, "is not"),
    ast.IsNot: (ast.Is, "is"),
}
_OP_TEXT = {
    ast.LtE: "<=",
    ast.Lt: "<",
    ast.GtE: ">=",
    ast.Gt: ">",
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.In: "in",
    ast.NotIn: "not in",
    ast.Is: "is",
    ast.IsNot: "is not",
}


@dataclass(frozen=True)
class Mutant:
    file: str
    line: int
    #: Index of the node in ``ast.walk`` order plus what to do with it.
    node_index: int
    kind: str
    detail: str
    source_line: str

    def describe(self) -> str:
        return f"{self.file}:{self.line}: {self.detail}   [{self.source_line.strip()}]"


def _walk(tree: ast.AST) -> list[ast.AST]:
    return list(ast.walk(tree))


def _docstring_nodes(tree: ast.AST) -> set[int]:
    """ids of docstring Constant nodes (never mutated)."""
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def find_mutants(path: str) -> Iterator[Mutant]:
    text = (ROOT / path).read_text()
    lines = text.splitlines()
    tree = ast.parse(text)
    skip = _docstring_nodes(tree)
    for index, node in enumerate(_walk(tree)):
        line = getattr(node, "lineno", 0)
        src = lines[line - 1] if line else ""
        if isinstance(node, ast.Compare):
            for k, op in enumerate(node.ops):
                swap = _COMPARE_SWAPS.get(type(op))
                if swap is not None:
                    detail = f"compare #{k}: {_OP_TEXT[type(op)]} -> {swap[1]}"
                    yield Mutant(path, line, index, f"cmp:{k}", detail, src)
        elif isinstance(node, ast.BoolOp):
            other = "or" if isinstance(node.op, ast.And) else "and"
            yield Mutant(path, line, index, "bool", f"boolean operator -> {other}", src)
        elif isinstance(node, ast.Constant) and id(node) not in skip:
            value = node.value
            if isinstance(value, bool):
                yield Mutant(path, line, index, "flip", f"{value} -> {not value}", src)
            elif isinstance(value, int) and 0 <= value <= 1000:
                yield Mutant(path, line, index, "inc", f"{value} -> {value + 1}", src)
                if value == 3:
                    yield Mutant(path, line, index, "x10", "3 -> 30", src)


def apply(mutant: Mutant) -> str:
    """The mutated source of ``mutant.file``."""
    tree = ast.parse((ROOT / mutant.file).read_text())
    node = _walk(tree)[mutant.node_index]
    if mutant.kind.startswith("cmp:"):
        assert isinstance(node, ast.Compare)
        k = int(mutant.kind.split(":")[1])
        node.ops[k] = _COMPARE_SWAPS[type(node.ops[k])][0]()
    elif mutant.kind == "bool":
        assert isinstance(node, ast.BoolOp)
        node.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
    elif mutant.kind == "flip":
        assert isinstance(node, ast.Constant)
        node.value = not node.value
    elif mutant.kind == "inc":
        assert isinstance(node, ast.Constant)
        node.value = node.value + 1
    elif mutant.kind == "x10":
        assert isinstance(node, ast.Constant)
        node.value = 30
    return ast.unparse(tree)


def _copy_repo(dest: Path) -> None:
    for name in ("dmproto", "tests", "pyproject.toml"):
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif src.exists():
            shutil.copy2(src, dest / name)


def _pytest(workdir: Path, tests: list[str], timeout: float) -> str:
    """'killed', 'survived' or 'timeout'."""
    env = dict(os.environ, PYTHONPATH=str(workdir), PYTHONDONTWRITEBYTECODE="1")
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests]
    try:
        done = subprocess.run(
            cmd, cwd=workdir, env=env, capture_output=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return "timeout"
    return "survived" if done.returncode == 0 else "killed"


def _check_isolation(workdir: Path) -> bool:
    env = dict(os.environ, PYTHONPATH=str(workdir))
    out = subprocess.run(
        [sys.executable, "-c", "import dmproto; print(dmproto.__file__)"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return out.startswith(str(workdir))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--file", action="append", help="target file(s); default dmproto/session/*.py"
    )
    parser.add_argument(
        "--match",
        action="append",
        default=[],
        help="only mutants whose source line contains this text",
    )
    parser.add_argument(
        "--kind", action="append", default=[], help="only these kinds (cmp, bool, flip, inc, x10)"
    )
    parser.add_argument("--sample", type=int, help="run a random sample of this many mutants")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--all", action="store_true", help="run every selected mutant")
    parser.add_argument("--list", action="store_true", help="list the mutants and stop")
    parser.add_argument("--tests", nargs="+", default=None, help="pytest selection")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per mutant")
    args = parser.parse_args()

    files = args.file or DEFAULT_FILES
    mutants = [m for f in files for m in find_mutants(f)]
    if args.match:
        mutants = [m for m in mutants if any(t in m.source_line for t in args.match)]
    if args.kind:
        mutants = [m for m in mutants if m.kind.split(":")[0] in args.kind]
    if args.list:
        for n, m in enumerate(mutants):
            print(f"{n:4d} {m.describe()}")
        return 0
    if args.sample is not None:
        mutants = random.Random(args.seed).sample(mutants, min(args.sample, len(mutants)))
    elif not (args.all or args.match):
        print("choose --match, --sample N or --all (see --list)", file=sys.stderr)
        return 2
    tests = [t for t in (args.tests or DEFAULT_TESTS) if (ROOT / t.split("::")[0]).exists()]

    survivors: list[Mutant] = []
    with tempfile.TemporaryDirectory(prefix="dmproto-mut-") as tmp:
        work = Path(tmp)
        _copy_repo(work)
        if not _check_isolation(work):
            print("the copy's dmproto is not the one imported; aborting", file=sys.stderr)
            return 2
        if _pytest(work, tests, args.timeout) != "survived":
            print("the test selection fails without any mutant; aborting", file=sys.stderr)
            return 2
        for n, mutant in enumerate(mutants, 1):
            target = work / mutant.file
            original = target.read_text()
            target.write_text(apply(mutant))
            started = time.monotonic()
            try:
                verdict = _pytest(work, tests, args.timeout)
            finally:
                target.write_text(original)
            print(
                f"[{n}/{len(mutants)}] {verdict:8s} {time.monotonic() - started:5.1f}s "
                f"{mutant.describe()}",
                flush=True,
            )
            if verdict == "survived":
                survivors.append(mutant)
    print(
        f"\n{len(mutants)} mutants, {len(mutants) - len(survivors)} killed, "
        f"{len(survivors)} survived"
    )
    for mutant in survivors:
        print("SURVIVED", mutant.describe())
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main())
