"""The differential fuzz target ``wbxml_vs_libwbxml`` (fuzz/libwbxml_targets.py), briefly:
its seeds and a few generated inputs pass, the outcomes are counted, and a reader that
loses an element is caught. Skipped without libwbxml's ``wbxml2xml`` (CI installs it)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

import pytest
from datapaths import FUZZ
from hypothesis import given, settings
from hypothesis import strategies as st

from dmproto.codec.element import Element
from dmproto.codec.wbxml import WbxmlDocument, WbxmlOptions, parse_wbxml, serialize_wbxml

pytestmark = pytest.mark.interop


def _targets() -> ModuleType:
    if str(FUZZ) not in sys.path:
        sys.path.insert(0, str(FUZZ))
    return importlib.import_module("libwbxml_targets")


targets = _targets()
needs_wbxml2xml = pytest.mark.skipif(targets.WBXML2XML is None, reason="wbxml2xml not installed")
SEEDS = sorted(p for p in (FUZZ / "corpus" / "wbxml_vs_libwbxml").iterdir() if p.is_file())


def test_the_target_is_registered_with_the_campaign() -> None:
    atheris_main = importlib.import_module("atheris_main")
    assert atheris_main.load_targets()["wbxml_vs_libwbxml"] is targets.wbxml_vs_libwbxml


@needs_wbxml2xml
def test_seeds_pass_and_reach_every_main_outcome() -> None:
    outcomes = {targets.compare(p.read_bytes()) for p in SEEDS if p.read_bytes()[:1] < b"\x04"}
    assert {
        targets.Outcome.SAME,
        targets.Outcome.OURS_ONLY,
        targets.Outcome.LIBWBXML_ONLY,
        targets.Outcome.NEITHER,
    } <= outcomes


@needs_wbxml2xml
@settings(max_examples=15, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes(data: bytes) -> None:
    targets.wbxml_vs_libwbxml(data)


@needs_wbxml2xml
@settings(max_examples=15, deadline=None)
@given(st.binary(min_size=4, max_size=40).filter(lambda d: d[0] > 0x03))
def test_structure_aware_inputs(data: bytes) -> None:
    targets.wbxml_vs_libwbxml(data)


@needs_wbxml2xml
def test_the_counts_go_to_the_notes_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    notes = tmp_path / "notes"
    monkeypatch.setenv(targets.NOTES_ENV, str(notes))
    monkeypatch.setattr(targets, "TALLY", targets.Tally())
    targets.wbxml_vs_libwbxml(b"\x03garbage")
    assert notes.read_text().startswith("libwbxml differential over 1 inputs: ")
    assert "1 both refuse" in notes.read_text()


@needs_wbxml2xml
def test_wbxml_1_0_is_counted_not_compared() -> None:
    # libwbxml writes a charset in a WBXML 1.0 header but reads none: 0x6a becomes a tag.
    document = (FUZZ / "corpus" / "wbxml_vs_libwbxml" / "testget.wbxml").read_bytes()
    one_oh = serialize_wbxml(parse_wbxml(document).root, options=WbxmlOptions(version=0))
    assert targets.compare(one_oh) is targets.Outcome.WBXML_1_0


@needs_wbxml2xml
def test_a_reader_that_loses_an_element_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    real = targets.parse_wbxml

    def lossy(data: bytes, **kwargs: object) -> WbxmlDocument:
        document: WbxmlDocument = real(data, **kwargs)  # type: ignore[arg-type]
        root: Element = document.root
        root.children = root.children[:-1]
        return document

    monkeypatch.setattr(targets, "parse_wbxml", lossy)
    document = (FUZZ / "corpus" / "wbxml_vs_libwbxml" / "testget.wbxml").read_bytes()
    with pytest.raises(AssertionError, match="libwbxml reads it differently"):
        targets.compare(document)


@needs_wbxml2xml
def test_regression_two_page_switches_before_the_root() -> None:
    # Found by the campaign: SWITCH_PAGE twice before the root. dmproto reads the
    # document; libwbxml reads the second 0x00 as tag 0 and writes <unknown/> alone.
    header = bytes.fromhex("02a4016a00")
    body = bytes.fromhex("6d6c7103312e3200010101")  # SyncML SyncHdr VerDTD "1.2" ...
    switched = header + b"\x00\x00\x00\x00" + body
    assert parse_wbxml(switched).root.name == "SyncML"
    assert targets.compare(switched) is targets.Outcome.PAGE_SWITCHES
    targets.wbxml_vs_libwbxml(switched)
    # one switch, or two inside the body, libwbxml reads like dmproto: still compared
    assert targets.compare(header + b"\x00\x00" + body) is targets.Outcome.SAME
    inside = header + bytes.fromhex("6d6c7103312e32000101000000006b120101")
    assert targets.compare(inside) is targets.Outcome.SAME


@needs_wbxml2xml
def test_regression_white_space_beside_children_is_ignorable() -> None:
    # Found by the campaign (structure-aware: "\n" added to Source after its LocURI).
    # The WBXML reader keeps that text; our XML reader drops white space between
    # elements. The comparison ignores it there, and still sees other text.
    document = targets.mutated_document(b"\x0a\xff\x6a\x03\x0a")
    assert document is not None
    assert targets.compare(document) is targets.Outcome.SAME
    targets.wbxml_vs_libwbxml(b"\x0a\xff\x6a\x03\x0a")
    libwbxml = importlib.import_module("libwbxml")
    source = Element("Source", children=[Element("LocURI", parts=["./a"])], parts=["x\n"])
    assert libwbxml.canon(source, read_back=True)[2] == "x\n"
    source.parts = [" \n"]
    assert libwbxml.canon(source, read_back=True)[2] == ""


@needs_wbxml2xml
def test_regression_nested_cdata_is_libwbxml_writing_no_xml() -> None:
    # Found by the campaign: Item Data under Replace made of two STR_I runs around an
    # element; wbxml2xml writes <![CDATA[en)<RespURI/><![CDATA[/]]>]]>, which no XML
    # reader accepts (the known broken-CDATA quirk of the interop tests).
    document = (FUZZ / "corpus" / "wbxml_vs_libwbxml" / "nested-cdata").read_bytes()
    assert targets.compare(document) is targets.Outcome.NOT_XML
    assert targets._nested_cdata(b"<a><![CDATA[x<![CDATA[y]]>]]></a>")
    assert not targets._nested_cdata(b"<a><![CDATA[x]]><![CDATA[y]]></a>")
