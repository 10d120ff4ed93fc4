"""The files a contributor reads first exist and say what the checks really are.

LICENSE is the whole Apache-2.0 text (pyproject.toml declares that licence);
CONTRIBUTING.md names the commands CI runs; the pre-commit hooks run ruff (lint and
format), mypy over the same packages as CI, and the whitespace fixers, never on the
byte-exact test data.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_license_is_the_whole_apache_2_text() -> None:
    text = (ROOT / "LICENSE").read_text("utf-8")
    assert text.lstrip().startswith("Apache License")
    assert "Version 2.0, January 2004" in text
    # the nine sections of the terms, then the appendix
    for number, title in enumerate(
        [
            "Definitions",
            "Grant of Copyright License",
            "Grant of Patent License",
            "Redistribution",
            "Submission of Contributions",
            "Trademarks",
            "Disclaimer of Warranty",
            "Limitation of Liability",
            "Accepting Warranty or Additional Liability",
        ],
        1,
    ):
        assert re.search(rf"^\s*{number}\. {title}\.", text, re.MULTILINE), title
    assert "END OF TERMS AND CONDITIONS" in text
    assert "APPENDIX: How to apply the Apache License to your work." in text
    assert 'license = "Apache-2.0"' in (ROOT / "pyproject.toml").read_text("utf-8")


def test_contributing_names_the_checks() -> None:
    text = (ROOT / "CONTRIBUTING.md").read_text("utf-8")
    for check in (
        "python -m pytest -q",
        "ruff format --check",
        "mypy",
        "lint-imports",
        "sphinx-build -W",
        "# pragma: no cover",
        "docs/conformance.md",
    ):
        assert check in text, check


def test_pre_commit_runs_ruff_mypy_and_whitespace_hooks() -> None:
    text = (ROOT / ".pre-commit-config.yaml").read_text("utf-8")
    hook_ids = set(re.findall(r"^\s*- id: ([\w-]+)", text, re.MULTILINE))
    assert {"ruff", "ruff-format", "mypy", "trailing-whitespace", "end-of-file-fixer"} <= hook_ids
    assert re.search(r"^exclude: .*tests/data/.*fuzz/corpus/", text, re.MULTILINE)
    entry = re.search(r"entry: (python -m mypy .*?)\n\s+types:", text, re.DOTALL)
    assert entry is not None
    checked = set(entry.group(1).split()[3:])
    adapters = {
        p.parent.relative_to(ROOT).as_posix() for p in ROOT.glob("adapters/*/*/__init__.py")
    }
    assert checked == {"dmproto", "examples", *adapters}
