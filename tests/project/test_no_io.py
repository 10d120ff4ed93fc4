"""The core does no I/O and reads no clock or random source of its own
(CONTRIBUTING.md#no-clock-no-randomness-no-io).

Every module under ``dmproto/`` except the ``dmproto.cli`` application is checked two
ways: statically (its imports, via the AST) and dynamically (importing the whole core
in a fresh interpreter must not pull in a forbidden module).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from datapaths import PACKAGE

ROOT = PACKAGE
FORBIDDEN = {
    "socket",
    "ssl",
    "asyncio",
    "trio",
    "threading",
    "selectors",
    "subprocess",
    "random",
    "time",
    "logging",
    "sqlite3",
    "h11",
    "multiprocessing",
    "concurrent",
    # Pure parts of these packages (urllib.parse, http.HTTPStatus) are fine.
    "urllib.request",
    "http.client",
    "http.server",
}


def forbidden(module: str) -> bool:
    parts = module.split(".")
    return any(".".join(parts[:n]) in FORBIDDEN for n in range(1, len(parts) + 1))


FORBIDDEN_CALLS = {("os", "urandom"), ("os", "getrandom"), ("secrets", "token_bytes")}


def core_modules() -> list[Path]:
    return sorted(
        p
        for p in ROOT.rglob("*.py")
        if "cli" not in p.relative_to(ROOT).parts and p.name != "__main__.py"
    )


def test_core_modules_exist() -> None:
    # A guard against the check silently passing on an empty set.
    assert len(core_modules()) >= 8


@pytest.mark.parametrize("path", core_modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_module_imports_no_io(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    bad: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            bad += [a.name for a in node.names if forbidden(a.name)]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if forbidden(node.module) or any(
                forbidden(f"{node.module}.{a.name}") for a in node.names
            ):
                bad.append(node.module)
            if node.module in ("os", "secrets"):
                bad += [
                    f"{node.module}.{a.name}"
                    for a in node.names
                    if (node.module, a.name) in FORBIDDEN_CALLS
                ]
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and (node.value.id, node.attr) in FORBIDDEN_CALLS
        ):
            bad.append(f"{node.value.id}.{node.attr}")
    assert not bad, f"{path}: core module uses I/O, a clock or randomness: {bad}"


def test_importing_the_core_loads_no_io_module() -> None:
    modules = sorted(
        ".".join(("dmproto", *p.relative_to(ROOT).with_suffix("").parts)).removesuffix(".__init__")
        for p in core_modules()
    )
    code = (
        "import sys\n"
        # The runtime dependencies are allowed whatever they import themselves.
        "import attrs, defusedxml.ElementTree, cryptography.hazmat.primitives.hashes\n"
        "before = set(sys.modules)\n"
        f"for m in {modules!r}: __import__(m)\n"
        f"new = set(sys.modules) - before\n"
        f"print(sorted(new & {FORBIDDEN!r}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "[]", f"importing the core pulled in: {out}"
