"""``.gitignore`` covers what the tools leave behind in a checkout."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from datapaths import ROOT

import dmproto

LEFT_BEHIND = [
    "build/lib/dmproto/__init__.py",
    f"dist/dmproto-{dmproto.__version__}.tar.gz",
    "dmproto.egg-info/PKG-INFO",
    "adapters/base/dmproto_adapter_base.egg-info/PKG-INFO",
    "dmproto/__pycache__/x.cpython-310.pyc",
    ".mypy_cache/3.10/x.json",
    ".ruff_cache/content",
    ".import_linter_cache/x.data.json",
    ".pytest_cache/v/cache/nodeids",
    ".hypothesis/examples/x",
    ".coverage",
    ".coverage.host.1234.5678",
    "htmlcov/index.html",
    "docs/api/_build/html/index.html",
    "fuzz/crashes/crash-1",
    "crash-da39a3ee",
    "timeout-da39a3ee",
    "dmproto-server.sqlite3",  # dmproto serve's default --db
    "dmproto-server.sqlite3-journal",
    "dmproto-server.sqlite3-wal",
    "server.db",
    "server.db-journal",
    "server.db-wal",
]
KEPT = [
    "dmproto/__init__.py",
    "docs/api/conf.py",
    "docs/api/index.rst",
    "fuzz/corpus/decode_xml/x.xml",
    "tests/data/corpus/x.wbxml",
]


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_gitignore_covers_tool_output(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    shutil.copy(ROOT / ".gitignore", tmp_path / ".gitignore")
    out = subprocess.run(
        ["git", "check-ignore", "--no-index", "--verbose", "--non-matching", *LEFT_BEHIND, *KEPT],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    ignored = {
        line.split("\t", 1)[1] for line in out.stdout.splitlines() if not line.startswith("::")
    }
    assert ignored == set(LEFT_BEHIND)
