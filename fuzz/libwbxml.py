"""libwbxml's command-line tools as a peer: run them, and compare their trees with ours.

Shared by the interop tests (``tests/codec/test_libwbxml_interop.py``) and the
differential fuzz target ``wbxml_vs_libwbxml`` (``fuzz/libwbxml_targets.py``); the
tests import it the way they import the fuzz targets, with ``fuzz/`` on ``sys.path``.

:func:`canon` is a tree's comparable form with libwbxml's known quirks normalised.
The quirks, and where each was found, are listed in the module docstring of
``tests/codec/test_libwbxml_interop.py``; one found by the fuzz target is added there
and here together.

The tools are Debian's ``libwbxml2-utils``; :data:`XML2WBXML` / :data:`WBXML2XML` are
``None`` when they are not installed.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from dmproto.codec.element import NAMESPACE_PAGES, Element
from dmproto.codec.tokens import PublicId
from dmproto.codec.wbxml import parse_wbxml
from dmproto.errors import DMError

__all__ = [
    "ANY",
    "WBXML2XML",
    "XML2WBXML",
    "ToolFailed",
    "canon",
    "libwbxml_decode",
    "libwbxml_encode",
    "run_tool",
    "xml_line_ends",
]

XML2WBXML = shutil.which("xml2wbxml")
WBXML2XML = shutil.which("wbxml2xml")

#: DS DevInf documents (a code page dmproto does not have) nested in Data.
DEVINF_IDS = frozenset({PublicId.DEVINF_1_0, PublicId.DEVINF_1_1, PublicId.DEVINF_1_2})


class ToolFailed(Exception):
    """A libwbxml tool refused its input (non-zero exit, or it ran out of time)."""


def run_tool(tool: str | None, args: list[str], data: bytes, *, timeout: float = 60) -> bytes:
    """Run a libwbxml tool on ``data`` through temporary files; return its output.

    Raises:
        ToolFailed: the tool exited with a non-zero status or took longer than
            ``timeout`` seconds; the message holds its output.
    """
    assert tool is not None, "libwbxml tool not installed"
    with tempfile.TemporaryDirectory() as tmp:
        source, target = Path(tmp) / "in", Path(tmp) / "out"
        source.write_bytes(data)
        try:
            done = subprocess.run(
                [tool, *args, "-o", str(target), str(source)],
                capture_output=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise ToolFailed(f"{Path(tool).name} ran longer than {timeout} s") from None
        if done.returncode != 0 or not target.is_file():
            output = (done.stdout + done.stderr).decode("utf-8", "replace")
            raise ToolFailed(f"{Path(tool).name} exit status {done.returncode}: {output}")
        return target.read_bytes()


def libwbxml_encode(
    xml: bytes, *, keep_space: bool = False, strtbl: bool = False, version: str = "1.2"
) -> bytes:
    """``xml2wbxml -v <version>``, ``-n`` unless ``strtbl``, ``-k`` if ``keep_space``."""
    flags = ["-v", version, *([] if strtbl else ["-n"]), *(["-k"] if keep_space else [])]
    return run_tool(XML2WBXML, flags, xml)


def libwbxml_decode(wbxml: bytes, *, timeout: float = 60) -> bytes:
    """``wbxml2xml -m 0 -k``: compact XML, white space kept."""
    return run_tool(WBXML2XML, ["-m", "0", "-k"], wbxml, timeout=timeout)


def xml_line_ends(text: str) -> str:
    """What an XML reader makes of line ends that wbxml2xml writes raw (XML 1.0 §2.11)."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _embedded(parts: list[str | bytes], strip: bool) -> tuple[object, ...] | None:
    """The canonical form of a nested WBXML document in OPAQUE Data, if it is one."""
    if not parts or not all(isinstance(p, bytes) for p in parts):
        return None
    try:
        doc = parse_wbxml(b"".join(p for p in parts if isinstance(p, bytes)))
    except DMError:
        return None  # plain OPAQUE text
    if doc.public_id in DEVINF_IDS:
        return ("foreign document",)
    return (canon(doc.root, strip=strip),)


class _Any:
    """Equal to anything: stands for what libwbxml cannot render (see :func:`canon`)."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        return True

    def __hash__(self) -> int:
        return 0


ANY = _Any()


def canon(
    element: Element, *, strip: bool = False, read_back: bool = False, _under_unknown: bool = False
) -> tuple[object, ...]:
    """Names, pages, text and children, with the libwbxml quirks normalised.

    ``strip``: compare text without leading/trailing white space (libwbxml without
    ``-k`` drops it).

    ``read_back``: compare a tree read from WBXML with the tree our XML reader reads
    from ``wbxml2xml``'s XML of the same bytes (the fuzz target); pass it for both.
    Text is compared as an XML reader sees line ends written raw, and white space
    beside child elements (ignorable in XML, kept by the WBXML reader) not at all. An
    element libwbxml names ``unknown`` matches any name and page, and the pages below
    it any page (it writes no namespace there). Data holding both character content and elements
    matches anything: ``wbxml2xml`` writes some Data text (Item Data under Add or
    Replace, and OPAQUE anywhere) as a CDATA section it closes only at the end of Data,
    turning the elements after it into text, and the element tree keeps no order
    between text and children to predict that. Otherwise Data keeps its text beside
    markup children (both readers keep mixed content).
    """
    unknown = read_back and element.name == "unknown"
    below = _under_unknown or unknown
    children: tuple[object, ...] = tuple(
        canon(c, strip=strip, read_back=read_back, _under_unknown=below) for c in element.children
    )
    text = "".join(p if isinstance(p, str) else p.decode("utf-8", "replace") for p in element.parts)
    if strip:
        text = text.strip()
    if read_back:
        text = xml_line_ends(text)
        if element.children and not text.strip():
            text = ""  # our XML reader drops white space between elements; WBXML keeps it
    name: object = ANY if unknown else element.name
    page: object = ANY if below else element.page
    if element.name == "Data":
        if read_back and element.children and text:
            return (name, page, ANY, ANY)
        if element.raw_xml is not None:  # markup read from XML
            first = element.children[0] if element.children else None
            foreign = (
                first is not None
                and (first.namespace or "").lower() not in NAMESPACE_PAGES
                and not (read_back and first.name == "unknown")  # no namespace written
            )
            children = ("foreign document",) if foreign else children
            text = text if read_back else ""
        elif (nested := _embedded(element.parts, strip)) is not None:
            children, text = nested, ""
        text = text.replace("\r\n", "\n")
    if element.name == "Type":
        text = text.replace("+wbxml", "+xml")
    return (name, page, text, children)
