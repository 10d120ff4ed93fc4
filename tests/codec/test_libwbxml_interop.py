"""Differential tests of the WBXML codec against libwbxml (``xml2wbxml``/``wbxml2xml``).

Two directions, for every XML message in the corpus and for generated messages:

(a) libwbxml's WBXML (``xml2wbxml -v 1.2 -n``) decoded by us equals our decode of the
    source XML (Element level, and Message level for DM messages);
(b) our WBXML decoded by ``wbxml2xml`` and re-read by our XML parser equals the source.

The tests skip when the tools are missing (Debian ``libwbxml2-utils``; CI installs it).
At the end, Wireshark's WBXML dissector (``tshark``, skipped when missing) serves as a
second, independent decoder of our output: its rendering of tags, strings and opaque
runs must match our tree.

libwbxml quirks found here and by the fuzz target ``wbxml_vs_libwbxml`` (the
comparisons normalise exactly these; the tool runner and :func:`canon` live in
``fuzz/libwbxml.py``, shared with that target):

* It rewrites Meta ``Type`` ``application/vnd.syncml.dmtnds+xml`` (and ``devinf+xml``)
  to ``...+wbxml`` when it converts markup inside ``Data`` (WAP-192-WBXML;
  OMA-TS-DM_TND-V1_2 §8.3.7.2).
* Markup inside ``Data`` (a TNDS tree, a DS DevInf) becomes a complete nested WBXML
  document in OPAQUE, followed by a second OPAQUE run holding the white space that
  followed the markup in the XML; the joined Data bytes therefore end in white space
  after the nested document (hence the parser tolerates trailing white space).
  We decode nested TNDS documents and compare their trees; nested DevInf documents
  (DS only: public id 0x0FD4/0x1203, a code page dmproto does not have) are only
  checked to be there.
* It wraps some Data text in OPAQUE (OMA-TS-DM_Protocol-V1_2_1 §2.6.2: Item Data under Replace).
* ``xml2wbxml`` turns LF into CRLF inside some Data (vCards in syncml-013/014, many
  generated Item Data) — blindly, so CRLF becomes CR CR LF — and not in other Data;
  generated messages are compared with CR removed in direction (a).
* ``wbxml2xml`` writes CR raw into the XML, which any XML reader turns into LF
  (XML 1.0 §2.11); direction (b) compares with line ends normalised that way.
* ``wbxml2xml`` copies OPAQUE bytes raw into the XML text, so binary Data cannot
  survive direction (b); generated messages there use text-only Data.
* Without ``-k`` it trims leading/trailing white space of text; for generated
  messages (whose Item Data may start or end with white space) ``-k`` is used.
* For a root in namespace ``SYNCML:SYNCML1.1`` it uses its SyncML 1.1 table, which
  lacks 1.2 tags such as Correlator: with ``-n`` it fails ("can't encode Literal"),
  without it writes them as LITERAL tags *while page 1 is still current*. Generated
  messages therefore go through ``xml2wbxml`` with its string table (exercising
  STR_T and LITERAL), and our parser resolves a LITERAL name on any DM page.
* Its XML reader refuses the unescaped ``&`` of AOSP's testalertconfirm.xml,
  testalertmultiplechoice.xml, testalertsinglechoice.xml and testalerttextinput.xml,
  so direction (a) skips those four (direction (b) still runs: our XML reader
  recovers them).
* ``wbxml2xml`` cannot read code-page-2 (DDF) tags inline inside a SyncML document
  (it prints ``<unknown>``); it only reads TNDS as a nested document in OPAQUE. Our
  serializer writes Data markup children inline at Element level (the mapping writes
  XmlData as a string instead), so direction (b) skips syncml_with_ddf-001.xml.
* Given one Data element made of several STR_I runs, ``wbxml2xml`` writes vCard text
  as nested, broken CDATA sections; our serializer therefore merges adjacent runs (the
  fuzz target counts such output as XML no reader accepts).
* Found by the fuzz target (``canon(..., read_back=True)`` and
  ``fuzz/libwbxml_targets.py`` normalise or count these):

  - ``wbxml2xml`` writes the text of some Data (Item Data under Add or Replace, and
    OPAQUE anywhere in Data) as a CDATA section it closes only at the end of Data, so
    elements after that text become text; Data with both text and elements is not
    compared.
  - It names a tag it has no table entry for ``unknown`` (code page 2 inside SyncML,
    SyncML 1.2 tags under a 1.1 public id) and writes no namespace on it, so the
    elements below it lose their MetInf namespace.
  - It writes control characters of strings raw into the XML, like OPAQUE bytes, which
    XML 1.0 §2.2 forbids: such output is counted, not compared.
  - ``xml2wbxml -v 1.0`` writes a charset in the WBXML 1.0 header, but ``wbxml2xml``
    reads none there (it reads the charset byte as a tag): WBXML 1.0 documents are
    counted, not compared (dmproto reads the charset for every version).
  - It picks its tag table from the public id (WML, SI, ... tables; "Unknown Public
    ID" for others) where dmproto reads every document with the DM code pages, and it
    refuses attributes ("Attribute Table Undefined"); such inputs are counted.
* ``syncml-011.xml`` is a DS DevInf document, not SyncML: skipped. The DS samples
  003/004/005/010 carry DevInf markup in Data, which our WBXML encoder cannot write (no
  DevInf code page), so direction (b) skips them.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import pytest
from datapaths import CORPUS, FUZZ
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import messages

from dmproto.codec import Encoding, decode_message, encode_message
from dmproto.codec.element import Element
from dmproto.codec.mapping import message_from_element
from dmproto.codec.model import Message
from dmproto.codec.wbxml import DDF_OPTIONS, parse_wbxml, serialize_wbxml
from dmproto.codec.xml import parse_xml

# The tool runner and the normalising comparison, shared with the fuzz target
# wbxml_vs_libwbxml (fuzz/libwbxml.py).
sys.path.insert(0, str(FUZZ))

from libwbxml import WBXML2XML, XML2WBXML, canon, libwbxml_decode, libwbxml_encode, xml_line_ends

pytestmark = pytest.mark.interop
needs_libwbxml = pytest.mark.skipif(
    XML2WBXML is None or WBXML2XML is None, reason="libwbxml tools not installed"
)

SOURCES = sorted(
    [
        *(CORPUS / "aosp-dm12").glob("*.xml"),
        *(CORPUS / "windows").glob("*.xml"),
        *(CORPUS / "libwbxml").glob("syncml*.xml"),
        CORPUS / "libwbxml" / "ddf-001.ddf",
    ]
)
LIBWBXML_CANNOT_READ = {
    "testalertconfirm.xml",
    "testalertmultiplechoice.xml",
    "testalertsinglechoice.xml",
    "testalerttextinput.xml",
}
DM_FOLDERS = {"aosp-dm12", "windows"}
DM_SAMPLES = {"syncml-012.xml"}  # libwbxml's one DM (DM/1.1) sample
NOT_SYNCML = {"syncml-011.xml"}
DEVINF_IN_DATA = {"syncml-003.xml", "syncml-004.xml", "syncml-005.xml", "syncml-010.xml"}
INLINE_DDF = {"syncml_with_ddf-001.xml"}


def _is_dm(root: Element) -> bool:
    proto = [c for c in root.children if c.name == "SyncHdr"]
    verproto = [c for c in proto[0].children if c.name == "VerProto"] if proto else []
    return bool(verproto) and verproto[0].text_content().strip().startswith("DM/")


def _model(root: Element) -> Message | None:
    return message_from_element(root) if root.name == "SyncML" and _is_dm(root) else None


@needs_libwbxml
@pytest.mark.parametrize(
    ("version", "strtbl"), [("1.2", False), ("1.2", True), ("1.1", True), ("1.3", False)]
)
@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_libwbxml_wbxml_decodes_like_the_source_xml(path: Path, version: str, strtbl: bool) -> None:
    """Direction (a): xml2wbxml output read by us == the source XML read by us.

    The main case is the reference ``-v 1.2 -n``; the string-table and 1.1/1.3 variants
    exercise STR_T references, textual FPIs and the other version bytes.
    """
    if path.name in LIBWBXML_CANNOT_READ | NOT_SYNCML:
        pytest.skip("libwbxml cannot read this file / not a SyncML document (module docstring)")
    source = path.read_bytes()
    expected = parse_xml(source)
    doc = parse_wbxml(libwbxml_encode(source, strtbl=strtbl, version=version))
    assert doc.version == {"1.1": 0x01, "1.2": 0x02, "1.3": 0x03}[version]
    assert canon(doc.root, strip=True) == canon(expected, strip=True)
    model = _model(expected)
    assert (model is not None) == (path.parent.name in DM_FOLDERS or path.name in DM_SAMPLES)
    assert _model(doc.root) == model


@needs_libwbxml
@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_our_wbxml_reads_back_through_libwbxml(path: Path) -> None:
    """Direction (b): our WBXML -> wbxml2xml -> our XML reader == the source."""
    if path.name in NOT_SYNCML | DEVINF_IN_DATA | INLINE_DDF:
        pytest.skip("DevInf markup / inline DDF markup in Data (module docstring)")
    expected = parse_xml(path.read_bytes())
    options = DDF_OPTIONS if expected.name == "MgmtTree" else None
    again = parse_xml(libwbxml_decode(serialize_wbxml(expected, options=options)))
    assert canon(again) == canon(expected)
    assert _model(again) == _model(expected)


def map_text(value: Any, fix: Callable[[str], str]) -> Any:
    """A model value with ``fix`` applied to every string (bytes read as UTF-8)."""
    if isinstance(value, bytes):
        value = value.decode("utf-8")
    if isinstance(value, str):
        return fix(value)
    if isinstance(value, tuple):
        return tuple(map_text(v, fix) for v in value)
    if attrs.has(type(value)):
        fields = attrs.fields(type(value))
        return attrs.evolve(
            value, **{f.alias: map_text(getattr(value, f.name), fix) for f in fields}
        )
    return value


def drop_cr(text: str) -> str:
    """Text without CR: xml2wbxml turns LF into CRLF in some Data (CRLF into CR CR LF),
    not in other, so only CR-free text is comparable."""
    return text.replace("\r", "")


@needs_libwbxml
@settings(max_examples=25)
@given(messages(data_kinds=("str",)))
def test_generated_messages_through_libwbxml_encoder(message: Message) -> None:
    """Direction (a) for generated messages: our XML -> xml2wbxml -> us == message."""
    xml = encode_message(message, Encoding.XML)
    got = decode_message(libwbxml_encode(xml, keep_space=True, strtbl=True))
    # xml2wbxml wraps some Data in OPAQUE (bytes where Meta Format is bin).
    assert map_text(got, drop_cr) == map_text(message, drop_cr)


@needs_libwbxml
@settings(max_examples=25)
@given(messages(data_kinds=("str",)))
def test_generated_messages_through_libwbxml_decoder(message: Message) -> None:
    """Direction (b) for generated messages: our WBXML -> wbxml2xml -> us == message."""
    wbxml = encode_message(message, Encoding.WBXML)
    got = decode_message(libwbxml_decode(wbxml))
    assert got == map_text(message, xml_line_ends)


# ------------------------------------------------------- Wireshark as a second decoder

TSHARK = shutil.which("tshark")
#: Dissect link-layer type USER0 (DLT 147) payloads as bare WBXML.
_USER_DLT = 'uat:user_dlts:"User 0 (DLT=147)","wbxml","0","","0",""'


def tshark_renderings(documents: list[bytes]) -> list[list[str]]:
    """Wireshark's rendering column for each WBXML document (one tshark run)."""
    assert TSHARK is not None
    pcap = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 1 << 20, 147)
    for number, document in enumerate(documents):
        pcap += struct.pack("<IIII", number, 0, len(document), len(document)) + document
    with tempfile.TemporaryDirectory() as tmp:
        capture = Path(tmp) / "documents.pcap"
        capture.write_bytes(pcap)
        done = subprocess.run(
            [TSHARK, "-n", "-r", str(capture), "-o", _USER_DLT, "-V"],
            capture_output=True,
            timeout=120,
            check=False,
        )
    assert done.returncode == 0, done.stderr
    frames: list[list[str]] = []
    rows: list[str] | None = None
    for line in done.stdout.decode("utf-8", "replace").splitlines():
        if line.startswith("Frame "):
            rows = None
            frames.append([])
        elif "Data representation" in line:
            rows = frames[-1]
        elif rows is not None and line.count("|") >= 4:
            rendering = line.split("|", 4)[4].strip()  # strings may contain '|'
            if rendering and rendering != "Rendering":
                rows.append(rendering)
    return frames


def expected_renderings(root: Element) -> list[str]:
    """What Wireshark should show for a tree we wrote: tags, strings, opaque sizes."""
    out: list[str] = []
    pending: list[Element | str] = [root]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            out.append(item)
        elif not item.parts and not item.children:
            out.append(f"<{item.name} />")
        else:
            out.append(f"<{item.name}>")
            for part in item.parts:
                out.append(
                    f"'{part}'" if isinstance(part, str) else f"({len(part)} bytes of opaque data)"
                )
            pending.append(f"</{item.name}>")
            pending.extend(reversed(item.children))
    return out


def mask_escaped(ours: list[str], theirs: list[str]) -> tuple[list[str], list[str]]:
    """Blank, on both sides, the strings Wireshark escapes (non-printable, non-ASCII)."""
    if len(ours) != len(theirs):
        return ours, theirs
    keep = [not row.startswith("'") or (row.isascii() and row.isprintable()) for row in ours]
    return (
        [row if k else "'?'" for row, k in zip(ours, keep, strict=True)],
        [row if k else "'?'" for row, k in zip(theirs, keep, strict=True)],
    )


@pytest.mark.skipif(TSHARK is None, reason="tshark not installed")
def test_wireshark_reads_our_wbxml_like_we_do() -> None:
    """Our WBXML of every DM corpus message, dissected by Wireshark's WBXML decoder."""
    trees = [
        parse_xml(path.read_bytes())
        for path in SOURCES
        if path.parent.name in DM_FOLDERS or path.name in DM_SAMPLES
    ]
    trees += [parse_wbxml(p.read_bytes()).root for p in sorted(CORPUS.glob("aosp-dm12/*.wbxml"))]
    documents = [serialize_wbxml(tree) for tree in trees]
    frames = tshark_renderings(documents)
    assert len(frames) == len(documents)
    for document, theirs in zip(documents, frames, strict=True):
        ours, theirs = mask_escaped(expected_renderings(parse_wbxml(document).root), theirs)
        assert theirs == ours


@pytest.mark.skipif(TSHARK is None, reason="tshark not installed")
@settings(max_examples=3)
@given(st.lists(messages(data_kinds=("str", "bytes")), min_size=8, max_size=8))
def test_wireshark_reads_generated_messages_like_we_do(batch: list[Message]) -> None:
    """Generated messages (binary Data included), one tshark run per batch."""
    documents = [encode_message(message, Encoding.WBXML) for message in batch]
    frames = tshark_renderings(documents)
    assert len(frames) == len(documents)
    for document, theirs in zip(documents, frames, strict=True):
        ours, theirs = mask_escaped(expected_renderings(parse_wbxml(document).root), theirs)
        assert theirs == ours
