"""Differential fuzz target: our WBXML reader against libwbxml's ``wbxml2xml``, same bytes.

``wbxml_vs_libwbxml(data)`` reads ``data`` with :func:`dmproto.codec.wbxml.parse_wbxml`
(element level) and hands the same bytes to ``wbxml2xml -m 0 -k`` (through temporary
files, a bounded time). When both accept, libwbxml's XML is read by our XML reader and
the two element trees must be equal after the normalisations of
:func:`libwbxml.canon` (``read_back=True``: libwbxml's documented quirks, listed in
``tests/codec/test_libwbxml_interop.py``); any other difference is a finding
(``AssertionError``). The base invariant holds too: only ``MalformedMessageError``
may escape our reader.

One side accepting alone is not a failure (libwbxml is lenient and strict in known
ways), nor is libwbxml reading the document as another language (it picks its tag
table from the public id; dmproto reads every document with the DM code pages), nor
XML that libwbxml writes and no XML reader accepts (it copies control characters and
OPAQUE bytes raw). Each outcome is counted (:class:`Tally`); the counts go to the file
named by ``DMPROTO_FUZZ_NOTES`` after every input (``fuzz/run.py`` records them in the
notes column of ``fuzz/RESULTS.md``) and to stderr every 10 000 inputs.

Inputs: one starting with a WBXML version byte (0x00–0x03) is used as it is (the seeds
are real WBXML documents). Any other is structure-aware (:func:`mutated_document`):
a seed document with one element changed, re-encoded by our serializer, which puts
valid but unusual documents in front of both readers.

Without ``wbxml2xml`` on the PATH the target does nothing (CI installs
``libwbxml2-utils``; the in-suite test skips).
"""

from __future__ import annotations

import enum
import os
import re
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import attrs
from libwbxml import WBXML2XML, ToolFailed, canon, libwbxml_decode

from dmproto.codec.element import CodePage, Element
from dmproto.codec.tokens import DDF_FPI, TAG_NAMES
from dmproto.codec.wbxml import DDF_OPTIONS, WbxmlOptions, parse_wbxml, serialize_wbxml
from dmproto.codec.xml import parse_xml
from dmproto.errors import EncodeError, MalformedMessageError
from dmproto.limits import Limits

__all__ = ["TARGETS", "Outcome", "Tally", "mutated_document", "wbxml_vs_libwbxml"]

HERE = Path(__file__).resolve().parent
#: The same small limits as the codec targets; libwbxml's XML is read with room to grow.
LIMITS = Limits(max_message_size=256 * 1024, max_elements=20_000, max_data_size=64 * 1024)
XML_LIMITS = Limits(max_message_size=4 * 1024 * 1024, max_elements=20_000)
#: Seconds wbxml2xml may take on one input.
TOOL_TIMEOUT = 5.0
NOTES_ENV = "DMPROTO_FUZZ_NOTES"

#: Document types libwbxml reads with the tables dmproto reads every document with.
_SAME_LANGUAGE = frozenset(
    {
        "-//SYNCML//DTD SyncML 1.0//EN",
        "-//SYNCML//DTD SyncML 1.1//EN",
        "-//SYNCML//DTD SyncML 1.2//EN",
        DDF_FPI,
    }
)
_DOCTYPE = re.compile(rb'<!DOCTYPE\s+\S+\s+PUBLIC\s+"([^"]*)"')
#: What XML 1.0 §2.2 forbids in a document: C0 controls other than TAB, LF, CR.
_NOT_XML_CHAR = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")


class Outcome(enum.Enum):
    """What happened to one input."""

    SAME = "compared alike"
    OURS_ONLY = "only dmproto accepts"
    LIBWBXML_ONLY = "only libwbxml accepts"
    NEITHER = "both refuse"
    OTHER_LANGUAGE = "libwbxml reads another language"
    WBXML_1_0 = "WBXML 1.0 header, which libwbxml reads without charset"
    PAGE_SWITCHES = "page switches before the root, which libwbxml reads as a tag"
    NOT_XML = "libwbxml writes no XML"


@attrs.define
class Tally:
    """Counts of outcomes over a run."""

    counts: Counter[Outcome] = attrs.field(factory=Counter)

    def add(self, outcome: Outcome) -> None:
        self.counts[outcome] += 1

    def line(self) -> str:
        """One line for the notes column: every outcome with its count."""
        total = sum(self.counts.values())
        parts = [f"{self.counts[o]} {o.value}" for o in Outcome]
        return f"libwbxml differential over {total} inputs: " + ", ".join(parts)


TALLY = Tally()


def _language(xml: bytes) -> str | None:
    match = _DOCTYPE.search(xml[:512])
    return match.group(1).decode("ascii", "replace") if match else None


def _nested_cdata(xml: bytes) -> bool:
    """Whether a CDATA section opens inside another one."""
    start = xml.find(b"<![CDATA[")
    while start >= 0:
        end = xml.find(b"]]>", start)
        inner = xml.find(b"<![CDATA[", start + 9)
        if inner >= 0 and (end < 0 or inner < end):
            return True
        start = xml.find(b"<![CDATA[", end) if end >= 0 else -1
    return False


def _not_xml_by_design(xml: bytes, data: bytes) -> bool:
    """Whether libwbxml's XML is unreadable for a documented reason: it copies OPAQUE
    bytes raw (not UTF-8, or ``]]>`` ending its CDATA early), control characters that
    XML 1.0 §2.2 forbids, and nests CDATA sections in Data made of several text runs."""
    try:
        xml.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return bool(_NOT_XML_CHAR.search(xml)) or b"]]>" in data or _nested_cdata(xml)


def _mb_u_int32(data: bytes, at: int) -> tuple[int, int]:
    """The multi-byte integer at ``at`` and the offset after it (WAP-192-WBXML §5.1)."""
    value = 0
    while at < len(data):
        value = (value << 7) | (data[at] & 0x7F)
        at += 1
        if not data[at - 1] & 0x80:
            break
    return value, at


def _page_switches_before_root(data: bytes) -> bool:
    """Whether the body starts with two SWITCH_PAGE tokens. The WBXML grammar allows
    one before a tag (WAP-192-WBXML §5.8.1); dmproto reads any number, libwbxml reads
    the second one's 0x00 as a tag token (``<unknown/>``) and ignores the rest."""
    public_id, at = _mb_u_int32(data, 1)
    if public_id == 0:
        at = _mb_u_int32(data, at)[1]
    at = _mb_u_int32(data, at)[1]  # charset
    size, at = _mb_u_int32(data, at)
    body = data[at + size :]
    return body[:1] == b"\x00" and body[2:3] == b"\x00"


def compare(data: bytes) -> Outcome:
    """Read ``data`` both ways; return the outcome, raise AssertionError on a difference."""
    try:
        ours: Element | None = parse_wbxml(data, limits=LIMITS).root
    except MalformedMessageError:
        ours = None
    try:
        xml = libwbxml_decode(data, timeout=TOOL_TIMEOUT)
    except ToolFailed:
        return Outcome.NEITHER if ours is None else Outcome.OURS_ONLY
    if ours is None:
        return Outcome.LIBWBXML_ONLY
    if data[0] == 0x00:
        # WBXML 1.0 had no charset field; libwbxml writes one for every version (and so
        # does dmproto, which reads it likewise) but reads none in a 1.0 header.
        return Outcome.WBXML_1_0
    if _page_switches_before_root(data):
        return Outcome.PAGE_SWITCHES
    if _language(xml) not in _SAME_LANGUAGE:
        return Outcome.OTHER_LANGUAGE
    try:
        theirs = parse_xml(xml, limits=XML_LIMITS)
    except MalformedMessageError:
        assert _not_xml_by_design(xml, data), "our XML reader refuses libwbxml's XML"
        return Outcome.NOT_XML
    ours_canon, theirs_canon = canon(ours, read_back=True), canon(theirs, read_back=True)
    assert ours_canon == theirs_canon, f"libwbxml reads it differently: {theirs_canon}"
    return Outcome.SAME


# ------------------------------------------------------------- structure-aware inputs


def _seeds() -> list[bytes]:
    """The real-world documents of tests/data/corpus as WBXML: fixed, so that an input
    means the same document in every run."""
    corpus = HERE.parent / "tests" / "data" / "corpus"
    found = [p.read_bytes() for p in sorted(corpus.glob("*/*.wbxml"))]
    for path in sorted([*corpus.glob("*/*.xml"), *corpus.glob("*/*.ddf")]):
        try:
            root = parse_xml(path.read_bytes())
            options = DDF_OPTIONS if root.name == "MgmtTree" else None
            found.append(serialize_wbxml(root, options=options))
        except (MalformedMessageError, EncodeError):
            continue  # e.g. DevInf markup in Data, which has no code page here
    return found


_SEEDS: list[bytes] | None = None
#: Every tag name with its page, for renaming an element.
_TAGS = sorted((page, name) for page, names in TAG_NAMES.items() for name in names.values())


def _elements(root: Element) -> list[Element]:
    found, pending = [], [root]
    while pending:
        element = pending.pop()
        found.append(element)
        pending.extend(element.children)
    return found


def mutated_document(data: bytes) -> bytes | None:
    """A seed with one element changed, as our serializer writes it; None if unwritable.

    ``data[0]`` picks the seed, ``data[1:3]`` the element, ``data[3]`` the change and
    the serializer options, the rest is the new value.
    """
    global _SEEDS
    if _SEEDS is None:
        _SEEDS = _seeds()
    if len(data) < 4 or not _SEEDS:
        return None
    try:
        root = parse_wbxml(_SEEDS[data[0] % len(_SEEDS)], limits=LIMITS).root
    except MalformedMessageError:
        return None
    elements = _elements(root)
    element = elements[int.from_bytes(data[1:3], "big") % len(elements)]
    change, value = data[3] & 0x07, data[4:]
    if change == 0:  # new text
        element.parts, element.children = [value.decode("utf-8", "replace")], []
    elif change == 1:  # new OPAQUE
        element.parts, element.children = [value], []
    elif change == 2:  # another tag, any page
        page, name = _TAGS[int.from_bytes(value[:2], "big") % len(_TAGS)]
        element.name = element.tag = name
        element.page = CodePage(page)
    elif change == 3:  # text added after the children
        element.parts = [*element.parts, value.decode("utf-8", "replace")]
    elif change == 4 and element.children:  # a child repeated
        element.children = [*element.children, element.children[-1]]
    elif change == 5:  # children dropped
        element.children = []
    else:  # the document as it is, under other header options
        pass
    # WBXML 1.1-1.3: libwbxml reads a 1.0 header differently (see compare)
    options = WbxmlOptions(version=1 + (data[3] >> 3) % 3, string_table=bool(data[3] & 0x20))
    try:
        return serialize_wbxml(root, options=options)
    except EncodeError:
        return None


def wbxml_vs_libwbxml(data: bytes) -> None:
    """The target: see the module docstring."""
    if WBXML2XML is None:
        return
    if data[:1] not in (b"\x00", b"\x01", b"\x02", b"\x03"):
        document = mutated_document(data)
        if document is None:
            return
        data = document
    TALLY.add(compare(data))
    notes = os.environ.get(NOTES_ENV)
    if notes:
        Path(notes).write_text(TALLY.line() + "\n")
    if sum(TALLY.counts.values()) % 10_000 == 0:
        print(TALLY.line(), file=sys.stderr, flush=True)


TARGETS: dict[str, Callable[[bytes], None]] = {"wbxml_vs_libwbxml": wbxml_vs_libwbxml}
