"""The repository cites OMA documents, never the private protocol digest.

The digest that guided the implementation is not part of the repository, so a
citation of it (the word SPEC followed by a section mark) cannot be followed by a
maintainer. Every rule cites the OMA document and section instead (for example
``OMA-TS-DM_Protocol-V1_2_1 §2.1``), or ``docs/conformance.md#tolerances`` for what
is accepted beyond the text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from datapaths import ROOT

SCANNED = [
    "dmproto",
    "adapters",
    "tests",
    "docs",
    "README.md",
    "CONTRIBUTING.md",
    "CHANGELOG.md",
    ".pre-commit-config.yaml",
    "pyproject.toml",
    "examples",
    "bench",
    "fuzz",
    ".ci",
]
# Built from parts so that this file does not contain what it looks for.
NEEDLES = ("SPEC" + " " + "\u00a7", "SPEC" + ".md " + "\u00a7", "SPEC" + ".md")
SKIPPED_DIRS = {"__pycache__", ".pytest_cache", ".mypy_cache", ".hypothesis", "data", "_build"}


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


# ---- references to the project's own documents ----------------------------------------

# A path under docs/ (or a top-level document) named in text; not part of a URL.
DOC_REF = re.compile(
    r"(?<![\w/.-])((?:docs/[\w./-]*[\w-]|(?:CONTRIBUTING|CHANGELOG|README)\.md))(#[\w-]+)?"
)
# A relative Markdown link: [text](path) or [text](path#anchor).
MD_LINK = re.compile(r"\]\((?!https?:|mailto:)([\w./-]*)(#[\w-]+)?\)")
# Files outside the repository that must not be cited (the developer guide).
OUTSIDE = (re.compile(r"\bSTYLE(?:\.md)?\s*§?C\.\d+"), re.compile(r"\bARCHITECTURE\.md\b"))


def slug(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = path.read_text(encoding="utf-8")
    return {slug(h) for h in re.findall(r"^#{1,6} (.+)$", text, re.MULTILINE)}


def broken_references(text: str, where: Path) -> list[str]:
    """The references in *text* (a file at *where*) to project documents that do not
    exist, or to headings they do not have."""
    found: list[tuple[Path, str, str]] = []
    for match in DOC_REF.finditer(text):
        if "/_build/" in match.group(1):  # build output, named by .gitignore checks
            continue
        found.append((ROOT / match.group(1).rstrip("."), match.group(2) or "", match.group(0)))
    if where.suffix == ".md":
        for match in MD_LINK.finditer(text):
            target = where.parent / match.group(1) if match.group(1) else where
            found.append((target, match.group(2) or "", match.group(0)))
    broken = []
    for target, anchor, shown in found:
        if not target.exists():
            broken.append(f"{shown}: no such file")
        elif anchor and target.suffix == ".md" and anchor[1:] not in anchors(target):
            broken.append(f"{shown}: no such heading")
    return broken


def _checked_files() -> list[Path]:
    """The scanned files, without this one (its checker tests hold bad examples) and
    without fuzz seeds (foreign documents)."""
    me = Path(__file__).resolve()
    return [f for f in _text_files() if f != me and "corpus" not in f.relative_to(ROOT).parts]


def _checked_texts() -> Iterator[tuple[Path, str]]:
    """Each checked file with its text (files that are not UTF-8 are skipped)."""
    for f in _checked_files():
        try:
            yield f, f.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue


def _offending_lines(pattern: Callable[[str], bool]) -> list[str]:
    """``file:line: text`` of every checked line *pattern* flags."""
    return [
        f"{f.relative_to(ROOT)}:{number}: {line.strip()[:80]}"
        for f, text in _checked_texts()
        for number, line in enumerate(text.splitlines(), 1)
        if pattern(line)
    ]


def test_references_to_project_documents_exist() -> None:
    offenders = [
        f"{f.relative_to(ROOT)}: {b}"
        for f, text in _checked_texts()
        for b in broken_references(text, f)
    ]
    assert not offenders, "\n".join(offenders)


def test_no_citation_of_files_outside_the_repository() -> None:
    offenders = _offending_lines(lambda line: any(p.search(line) for p in OUTSIDE))
    assert not offenders, "cite CONTRIBUTING.md or docs/ instead:\n" + "\n".join(offenders)


@pytest.mark.parametrize(
    ("text", "broken"),
    [
        ("see docs/protocol.md", False),
        ("see docs/conformance.md#tolerances.", False),
        ("see docs/no-such-file.md", True),
        ("see docs/conformance.md#no-such-heading", True),
        ("see [the catalogue](docs/conformance.md#alerts)", False),
        ("see [x](docs/nothing.md)", True),
        ("http://example.org/docs/nothing.dtd", False),
        ("(README.md)", False),
    ],
)
def test_reference_checker(text: str, broken: bool) -> None:
    assert bool(broken_references(text, ROOT / "README.md")) is broken


def test_slug_follows_github() -> None:
    assert slug("Final and Alert 1222 (multiple messages per package)") == (
        "final-and-alert-1222-multiple-messages-per-package"
    )
    assert slug("Identifiers: SessionID, MsgID, CmdID, RespURI") == (
        "identifiers-sessionid-msgid-cmdid-respuri"
    )
    assert slug("DM 1.3") == "dm-13"


# ---- section numbers stay in their document's chapter ---------------------------------

# The enabler's chapter numbering (docs/protocol.md#documents-and-section-numbers).
CHAPTERS = {
    "OMA-TS-DM_Protocol-V1_2_1": "2",
    "OMA-TS-DM_Bootstrap-V1_2_1": "3",
    "OMA-TS-DM_RepPro-V1_2_1": "4",
    "OMA-TS-DM_Security-V1_2_1": "5",
    "OMA-TS-DM_Notification-V1_2_1": "6",
    "OMA-TS-DM_StdObj-V1_2_1": "7",
    "OMA-TS-DM_TND-V1_2": "8",
    "OMA-TS-DM_TNDS-V1_2": "9",
}
# A citation and the section list after it: "DOC §2.1", "DOC §6.1, §6.2".
CITATION = re.compile(r"(OMA-TS-DM_\w+-V1_2(?:_1)?)((?:[ ,/]*§[\d.]+)+)")


def wrong_chapters(text: str) -> list[str]:
    wrong = []
    for match in CITATION.finditer(text):
        chapter = CHAPTERS.get(match.group(1))
        for section in re.findall(r"§([\d.]+)", match.group(2)):
            if chapter is not None and section.rstrip(".").split(".")[0] != chapter:
                wrong.append(f"{match.group(1)} §{section}")
    return wrong


def test_oma_sections_are_in_their_document_chapter() -> None:
    offenders = [
        f"{f.relative_to(ROOT)}: {w}" for f, text in _checked_texts() for w in wrong_chapters(text)
    ]
    assert not offenders, "\n".join(offenders)


@pytest.mark.parametrize(
    ("text", "wrong"),
    [
        ("OMA-TS-DM_Protocol-V1_2_1 §2.1", []),
        ("OMA-TS-DM_Notification-V1_2_1 §6.1, §6.2", []),
        ("OMA-TS-DM_Protocol-V1_2_1 §10", ["OMA-TS-DM_Protocol-V1_2_1 §10"]),
        ("OMA-TS-DM_RepPro-V1_2_1 §4.1, §6.6.2", ["OMA-TS-DM_RepPro-V1_2_1 §6.6.2"]),
        ("OMA-TS-DM_TND-V1_2 §8.3.7.1", []),
    ],
)
def test_chapter_checker(text: str, wrong: list[str]) -> None:
    assert wrong_chapters(text) == wrong


# ---- citations name the document --------------------------------------------------------

# "TND 8.3.7.2", "DM RepPro §4.1.6": a section without the document's full name.
SHORT = re.compile(
    r"(?<![\w-])(?:DM RepPro|DM Notification|DM Protocol|DM Security|TNDS|TND|StdObj)"
    r" §?\d+(?:\.\d+)+"
)


def test_citations_name_the_document() -> None:
    offenders = _offending_lines(lambda line: SHORT.search(line) is not None)
    assert not offenders, "write e.g. OMA-TS-DM_TND-V1_2 §8.3.7.2:\n" + "\n".join(offenders)


@pytest.mark.parametrize(
    ("text", "short"),
    [
        ("TND 8.3.7.2", True),
        ("DM RepPro §4.1.6", True),
        ("OMA-TS-DM_TND-V1_2 §8.3.7.2", False),
        ("OMA-TS-DM_TNDS-V1_2 §9.2", False),
        ("TNDS documents", False),
    ],
)
def test_short_citation_checker(text: str, short: bool) -> None:
    assert bool(SHORT.search(text)) is short
