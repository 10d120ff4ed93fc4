"""The repository cites OMA documents, never the private protocol digest.

The digest that guided the implementation is not part of the repository, so a
citation of it (the word SPEC followed by a section mark) cannot be followed by a
maintainer. Every rule cites the OMA document and section instead (for example
``OMA-TS-DM_Protocol-V1_2_1 §2.1``), or ``docs/conformance.md#tolerances`` for what
is accepted beyond the text.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from datapaths import ROOT

SCANNED = ["dmproto", "adapters", "tests", "docs", "README.md", "examples", "bench", "fuzz", ".ci"]
# Built from parts so that this file does not contain what it looks for.
NEEDLES = ("SPEC" + " " + "\u00a7", "SPEC" + ".md " + "\u00a7", "SPEC" + ".md")
SKIPPED_DIRS = {"__pycache__", ".pytest_cache", ".mypy_cache", ".hypothesis", "data"}


def _text_files() -> list[Path]:
    files: list[Path] = []
    for name in SCANNED:
        path = ROOT / name
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            for f in sorted(path.rglob("*")):
                if f.is_file() and not SKIPPED_DIRS.intersection(f.relative_to(ROOT).parts):
                    files.append(f)
    return files


def test_scan_covers_the_repository() -> None:
    names = {f.relative_to(ROOT).as_posix() for f in _text_files()}
    assert "README.md" in names
    assert "dmproto/session/_core.py" in names
    assert "tests/project/test_citations.py" in names


@pytest.mark.parametrize("needle", NEEDLES)
def test_no_citation_of_the_private_digest(needle: str) -> None:
    offenders = []
    for f in _text_files():
        try:
            text = f.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if needle in line:
                offenders.append(f"{f.relative_to(ROOT)}:{number}: {line.strip()[:80]}")
    assert not offenders, "cite the OMA document instead:\n" + "\n".join(offenders)
