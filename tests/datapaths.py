"""Where the files the tests read live (import as ``from datapaths import CORPUS``).

One place for these paths, so a test module can sit in any folder under ``tests/``.
Kept out of ``conftest.py`` because ``tests/conformance/`` has a conftest of its own and
``from conftest import ...`` would then depend on collection order.
"""

from __future__ import annotations

from pathlib import Path

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
DATA = TESTS / "data"
CORPUS = DATA / "corpus"
SNAPSHOTS = DATA / "snapshots"
DOCS = ROOT / "docs"
FUZZ = ROOT / "fuzz"
PACKAGE = ROOT / "dmproto"
README = ROOT / "README.md"
EXAMPLES = ROOT / "examples"

__all__ = [
    "CORPUS",
    "DATA",
    "DOCS",
    "EXAMPLES",
    "FUZZ",
    "PACKAGE",
    "README",
    "ROOT",
    "SNAPSHOTS",
    "TESTS",
]
