"""The version is written once, in ``dmproto.__version__``.

``pyproject.toml`` reads it (dynamic metadata), ``dmproto --version`` prints it, the
API reference shows it and the demo device reports it as its software version. A
copy of the number anywhere else would drift at the next release, so none may exist
outside ``dmproto/__init__.py`` and the release headings of ``CHANGELOG.md``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import dmproto

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ["dmproto", "adapters", "docs", "tests", "examples", "bench", "fuzz", ".ci"]
SCANNED_FILES = ["README.md", "CONTRIBUTING.md", "pyproject.toml"]
ALLOWED = {"dmproto/__init__.py", "CHANGELOG.md"}
SKIPPED_DIRS = {"__pycache__", ".pytest_cache", ".mypy_cache", ".hypothesis", "data", "_build"}
SUFFIXES = {".py", ".md", ".rst", ".toml", ".txt", ".cfg", ".ini", ".json", ""}


def _files() -> list[Path]:
    files = [ROOT / name for name in SCANNED_FILES if (ROOT / name).is_file()]
    for name in SCANNED:
        for f in sorted((ROOT / name).rglob("*")):
            rel = f.relative_to(ROOT)
            if f.is_file() and f.suffix in SUFFIXES and not SKIPPED_DIRS.intersection(rel.parts):
                files.append(f)
    return files


def _pattern(version: str) -> re.Pattern[str]:
    """The version as a whole number: not part of a longer dotted number."""
    return re.compile(rf"(?<!\d)(?<!\d\.){re.escape(version)}(?!\.?\d)")


def test_pyproject_reads_the_version_from_the_package() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text("utf-8")
    # (tomllib is 3.11+; the lines are simple enough to read as text)
    project = pyproject.split("\n[project]\n", 1)[1].split("\n[", 1)[0]
    assert re.search(r'^dynamic = \["version"\]$', project, re.MULTILINE)
    assert not re.search(r"^version\s*=", project, re.MULTILINE)
    assert re.search(r'^version = \{ attr = "dmproto.__version__" \}', pyproject, re.MULTILINE)


def test_the_version_is_written_nowhere_else() -> None:
    literal = _pattern(dmproto.__version__)
    found = []
    for f in _files():
        rel = f.relative_to(ROOT).as_posix()
        if rel in ALLOWED:
            continue
        try:
            text = f.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        found += [
            f"{rel}:{n}" for n, line in enumerate(text.splitlines(), 1) if literal.search(line)
        ]
    assert not found, "take the version from dmproto.__version__:\n" + "\n".join(found)


def test_changelog_names_the_current_version() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text("utf-8")
    assert f"## [{dmproto.__version__}]" in changelog


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("9.8.7", True),
        ('sw_v="9.8.7"', True),
        ("dist/dmproto-9.8.7.tar.gz", True),
        ("release 9.8.7.", True),
        ("19.8.7", False),
        ("9.8.70", False),
        ("1.9.8.7", False),
        ("9.8.7.1", False),
    ],
)
def test_the_scan_finds_a_copy_and_only_a_copy(text: str, found: bool) -> None:
    # checked on a made-up number, so that this file holds no copy of the real one
    assert bool(_pattern("9.8.7").search(text)) is found
