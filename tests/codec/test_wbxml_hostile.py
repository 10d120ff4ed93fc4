"""Hostile WBXML: every bad input raises MalformedMessageError, fast and in bounded memory.

WAP-192-WBXML; OMA-TS-SyncML_RepPro-V1_2 WBXML defines what is readable;
CONTRIBUTING.md#limits-before-work says how hostile input is bounded. Each case names
the reason the parser documents for it.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
from datapaths import CORPUS
from hypothesis import given
from hypothesis import strategies as st
from wbxml_samples import PKG1, TNDS, pkg1_tree

from dmproto.codec.wbxml import WbxmlOptions, parse_wbxml, serialize_wbxml
from dmproto.errors import MalformedMessageError
from dmproto.limits import Limits

AOSP_WBXML = sorted((CORPUS / "aosp-dm12").glob("*.wbxml"))
CRASHERS = sorted((CORPUS / "libwbxml").glob("crash-*.fuzz"))
_LITERALS = b"SyncML\x00xmlns\x00Final\x00"
SAMPLES = {
    **{p.name: p.read_bytes() for p in AOSP_WBXML},
    "spec-pkg1": PKG1,
    "spec-tnds": TNDS,
    # The same Package 1 with a textual FPI, string table references and WBXML 1.3.
    "pkg1-strtbl": serialize_wbxml(
        pkg1_tree("IMEI:493005100592800"),
        options=WbxmlOptions(version=3, fpi="-//SYNCML//DTD SyncML 1.2//EN", string_table=True),
    ),
    # LITERAL tags, an attribute list, PIs, ENTITY (Nokia-style oddities).
    "literals": b"\x02\xa4\x01\x6a"
    + bytes([len(_LITERALS)])
    + _LITERALS
    + b"\x43\x05\x03pi\x00\x01\xc4\x00\x04\x07\x03SYNCML:SYNCML1.2\x00\x01"
    + b"\x04\x0d\x4f\x02\x81\x20\x03a\x00\xc3\x01\xff\x01\x01",
}

HEAD = b"\x02\xa4\x01\x6a"  # WBXML 1.2, public id 0x1201, UTF-8; string table next
EMPTY_TABLE = HEAD + b"\x00"


def reason_of(data: bytes, limits: Limits | None = None) -> str:
    """Parse ``data``, expect MalformedMessageError, return its reason."""
    with pytest.raises(MalformedMessageError) as info:
        if limits is None:
            parse_wbxml(data)
        else:
            parse_wbxml(data, limits=limits)
    error = info.value
    assert isinstance(error.position, int) and 0 <= error.position <= len(data)
    assert error.reason.startswith(("wbxml.", "limit."))
    assert error.status_hint == (413 if error.reason.startswith("limit.") else 400)
    return error.reason


@contextmanager
def peak_memory() -> Iterator[list[int]]:
    """Yield a one-element list that holds the traced peak allocation afterwards."""
    result = [0]
    tracemalloc.start()
    try:
        yield result
    finally:
        result[0] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()


@pytest.mark.parametrize("path", CRASHERS, ids=lambda p: p.name[:22])
def test_libwbxml_crashers_are_rejected(path: Path) -> None:
    reason_of(path.read_bytes())


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "wbxml.truncated"),
        (b"\x04\xa4\x01\x6a\x00\x12", "wbxml.version"),
        (b"\x02\xa4", "wbxml.truncated"),
        # A 6-byte mb_u_int32, and a 5-byte one above 2**32-1.
        (b"\x02\x80\x80\x80\x80\x80\x01\x6a\x00\x12", "wbxml.mb-uint32"),
        (b"\x02\x90\x80\x80\x80\x00\x6a\x00\x12", "wbxml.mb-uint32"),
        (b"\x02\xa4\x01\x87\x77\x00\x12", "wbxml.charset"),  # UTF-16 (1015)
        (HEAD + b"\x05abc", "wbxml.truncated"),  # string table longer than the input
        (b"\x02\x00\x05\x6a\x02ab\x12", "wbxml.string-table"),  # FPI index past the table
        (b"\x02\x00\x00\x6a\x02\xff\x00\x12", "wbxml.invalid-text"),  # FPI not UTF-8
        (HEAD + b"\x02a\x00\x4f\x83\x02\x01\x01", "wbxml.string-table"),  # STR_T past the end
        (HEAD + b"\x02a\x00\x44\x07\x01", "wbxml.string-table"),  # LITERAL_C past the end
        (HEAD + b"\x04Foo\x00\x44\x00\x01", "wbxml.unknown-tag"),  # LITERAL name unknown
        (EMPTY_TABLE + b"\x70\x01", "wbxml.unknown-tag"),  # 0x30 is reserved on page 0
        (EMPTY_TABLE + b"\x7d\x01", "wbxml.unknown-tag"),  # 0x3D: not on page 0
        (EMPTY_TABLE + b"\x00\x01\x57\x01", "wbxml.unknown-tag"),  # 0x17 not on page 1
        (EMPTY_TABLE + b"\x00\x03\x12", "wbxml.unknown-page"),
        (EMPTY_TABLE + b"\x4f\x03abc", "wbxml.unterminated-string"),
        (EMPTY_TABLE + b"\x4f\x03\xc3\x28\x00\x01", "wbxml.invalid-text"),
        (EMPTY_TABLE + b"\x4f\x03\xed\xa0\x80\x00\x01", "wbxml.invalid-text"),  # surrogate
        (b"\x02\xa4\x01\x03\x00\x4f\x03\xe9\x00\x01", "wbxml.invalid-text"),  # not ASCII
        (EMPTY_TABLE + b"\x4f\x02\x00\x01", "wbxml.entity"),
        (EMPTY_TABLE + b"\x4f\x02\x83\xb0\x00\x01", "wbxml.entity"),  # U+D800
        (EMPTY_TABLE + b"\x4f\x02\xc4\x80\x80\x00\x01", "wbxml.entity"),  # > U+10FFFF
        (EMPTY_TABLE + b"\x4f\x40\x03a\x00\x01", "wbxml.unsupported-token"),  # EXT_I_0
        (EMPTY_TABLE + b"\x4f\x80\x00\x01", "wbxml.unsupported-token"),  # EXT_T_0
        (EMPTY_TABLE + b"\x4f\xc2\x01", "wbxml.unsupported-token"),  # EXT_2
        (EMPTY_TABLE + b"\xcf\x05\xc0\x01\x01", "wbxml.unsupported-token"),  # in attributes
        (EMPTY_TABLE + b"\xcf\x05\x44\x01\x01", "wbxml.unexpected-token"),  # LITERAL_C there
        (EMPTY_TABLE + b"\x8f\x05\x03ab", "wbxml.unterminated-string"),  # attribute value
        (EMPTY_TABLE + b"\x8f\x05\x85", "wbxml.truncated"),  # attribute list never ends
        (EMPTY_TABLE + b"\x43\x05", "wbxml.truncated"),  # PI never ends
        (EMPTY_TABLE + b"\x03a\x00\x12", "wbxml.unexpected-token"),  # text before the root
        (EMPTY_TABLE + b"\x01\x12", "wbxml.unbalanced-end"),
        (EMPTY_TABLE + b"\x12\x01", "wbxml.trailing-data"),
        (EMPTY_TABLE + b"\x12\x12", "wbxml.trailing-data"),  # a second root
        (EMPTY_TABLE + b"\x12\x00\x00", "wbxml.trailing-data"),
        (EMPTY_TABLE + b"\x12\x03a\x00", "wbxml.trailing-data"),
        (EMPTY_TABLE + b"\x12\r\n \x12", "wbxml.trailing-data"),
        (EMPTY_TABLE + b"\x6d\x6c\x01", "wbxml.truncated"),  # unclosed root
        (EMPTY_TABLE + b"\x4f\xc3\x05ab", "wbxml.truncated"),  # OPAQUE past the end
        (EMPTY_TABLE + b"\x4f\xc3", "wbxml.truncated"),
        (EMPTY_TABLE, "wbxml.empty"),
        (EMPTY_TABLE + b"\x43\x05\x01", "wbxml.empty"),  # only a PI
    ],
)
def test_malformed_inputs(data: bytes, reason: str) -> None:
    assert reason_of(data) == reason


def test_trailing_white_space_after_the_root_is_tolerated() -> None:
    """libwbxml leaves the XML white space after an embedded document inside OPAQUE."""
    assert parse_wbxml(EMPTY_TABLE + b"\x12\r\n \t").root.name == "Final"
    assert parse_wbxml(EMPTY_TABLE + b"\x12\x43\x05\x01 ").root.name == "Final"


def test_huge_opaque_length_fails_fast_without_allocating() -> None:
    """A 4 GB OPAQUE length on a 100-byte input is checked before any slicing."""
    data = EMPTY_TABLE + b"\x4f\xc3\x8f\xff\xff\xff\x7f"
    data += b"x" * (100 - len(data))
    with peak_memory() as peak:
        assert reason_of(data) == "wbxml.truncated"
    assert peak[0] < 256 * 1024
    # The same for a string-table length in the header.
    assert reason_of(HEAD + b"\x8f\xff\xff\xff\x7f" + b"x" * 95) == "wbxml.truncated"


def test_ten_thousand_deep_nesting_hits_the_depth_limit() -> None:
    data = EMPTY_TABLE + b"\x48" * 10_000 + b"\x01" * 10_000
    assert reason_of(data) == "limit.depth"
    assert reason_of(data[:-5000]) == "limit.depth"  # checked while reading, not at the end


def test_deep_nesting_within_a_raised_limit_parses_iteratively() -> None:
    data = EMPTY_TABLE + b"\x48" * 10_000 + b"\x01" * 10_000
    node = parse_wbxml(data, limits=Limits(max_depth=10_000)).root
    depth = 1
    while node.children:
        (node,) = node.children
        depth += 1
    assert depth == 10_000
    assert reason_of(data, Limits(max_depth=9_999)) == "limit.depth"


def test_element_count_limit() -> None:
    data = EMPTY_TABLE + b"\x6b" + b"\x12" * 10 + b"\x01"
    parse_wbxml(data, limits=Limits(max_elements=11))
    assert reason_of(data, Limits(max_elements=10)) == "limit.elements"


@pytest.mark.parametrize(
    "content",
    [b"\x03" + b"a" * 11 + b"\x00", b"\xc3\x0b" + b"a" * 11, b"\x03aaaaaa\x00\xc3\x05aaaaa"],
)
def test_data_size_limit_per_element(content: bytes) -> None:
    data = EMPTY_TABLE + b"\x4f" + content + b"\x01"
    assert reason_of(data, Limits(max_data_size=10)) == "limit.data-size"
    assert parse_wbxml(data, limits=Limits(max_data_size=11)).root.text_content() == "a" * 11


def test_string_table_references_cannot_amplify_without_bound() -> None:
    """Many STR_T references to one long entry: bounded per element and per document."""
    entry = b"A" * 100_000
    table = entry + b"\x00"
    head = HEAD + b"\x86\x8d\x21" + table  # mb_u_int32 100_001
    one_element = head + b"\x4f" + b"\x83\x00" * 50 + b"\x01"
    with peak_memory() as peak:
        assert reason_of(one_element) == "limit.data-size"
    many = head + b"\x6b" + b"\x4f\x83\x00\x01" * 50 + b"\x01"
    with peak_memory() as peak2:
        assert reason_of(many) == "limit.data-size"
    assert max(peak[0], peak2[0]) < 2_000_000
    # Within the limits the same kind of document is fine.
    parse_wbxml(head + b"\x6b" + b"\x4f\x83\x00\x01" * 5 + b"\x01")


def test_message_size_limit_is_checked_first() -> None:
    assert reason_of(EMPTY_TABLE + b"\x12", Limits(max_message_size=5)) == "limit.message-size"


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_every_prefix_truncation_is_rejected(name: str) -> None:
    data = SAMPLES[name]
    assert parse_wbxml(data).root.name in ("SyncML", "MgmtTree")  # the whole is valid
    for end in range(len(data)):
        with pytest.raises(MalformedMessageError):
            parse_wbxml(data[:end])


@given(
    st.sampled_from(sorted(SAMPLES)),
    st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=3),
)
def test_byte_mutations_raise_only_malformed(name: str, edits: list[tuple[int, int]]) -> None:
    data = bytearray(SAMPLES[name])
    for index, value in edits:
        data[index % len(data)] = value
    with suppress(MalformedMessageError):
        parse_wbxml(bytes(data))


@given(st.sampled_from(sorted(SAMPLES)), st.integers(0, 10_000), st.binary(max_size=6))
def test_insertions_raise_only_malformed(name: str, index: int, inserted: bytes) -> None:
    data = SAMPLES[name]
    index %= len(data)
    with suppress(MalformedMessageError):
        parse_wbxml(data[:index] + inserted + data[index:])


@given(st.binary(max_size=200))
def test_random_bytes_raise_only_malformed(data: bytes) -> None:
    with suppress(MalformedMessageError):
        parse_wbxml(b"\x02\xa4\x01\x6a" + data)
    with suppress(MalformedMessageError):
        parse_wbxml(data)
