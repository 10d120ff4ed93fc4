"""The one-pass reader on both kinds of tree gives the same answer (issue 12).

XML messages are read from an ``xml.etree`` tree built by expat and the C tree builder
(``codec.fastxml``); whatever that path cannot reproduce exactly is read again from the
positioned ``Element`` tree of ``parse_xml``. WBXML messages likewise: the lean token loop
(``codec.wbxml_fast``) reads the regular ones, ``parse_wbxml`` everything else, every error
and limit included. These tests hold the two paths to the same model, or the same error
(reason and position), on every corpus file, on generated and on mutated messages, and check
each reason for taking the positioned path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs
import pytest
from datapaths import CORPUS
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import messages
from wbxml_samples import PKG1

from dmproto.codec import Encoding, decode_header, decode_message, detect_encoding, encode_message
from dmproto.codec.element import Element
from dmproto.codec.fastxml import parse_tree
from dmproto.codec.mapping import message_from_element
from dmproto.codec.model import Item, Message, Meta, Replace, XmlData, trusted, trusted_evolve
from dmproto.codec.reading import Irregular, header_from_tree, message_from_tree
from dmproto.codec.wbxml import parse_wbxml, parse_wbxml_tree
from dmproto.codec.wbxml_fast import read_tree
from dmproto.codec.xml import parse_xml
from dmproto.errors import MalformedMessageError
from dmproto.limits import DEFAULT_LIMITS, Limits

FILES = sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.name != "ORIGIN.md")

HDR = (
    "<SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto><SessionID>{sid}</SessionID>"
    "<MsgID>1</MsgID><Target><LocURI>srv</LocURI></Target>"
    "<Source><LocURI>dev</LocURI></Source></SyncHdr>"
)


def doc(body: str, sid: str = "7") -> bytes:
    return (
        f'<SyncML xmlns="SYNCML:SYNCML1.2">{HDR.format(sid=sid)}<SyncBody>{body}'
        "<Final/></SyncBody></SyncML>"
    ).encode()


Outcome = Message | tuple[str, object]


def outcome(read: object, data: bytes) -> Outcome:
    try:
        return read(data)  # type: ignore[operator,no-any-return]
    except MalformedMessageError as exc:
        return (exc.reason, exc.position)


def positioned(data: bytes) -> Message:
    """The reference: the positioned Element tree of either encoding, then the reader."""
    if detect_encoding(data) is Encoding.XML:
        return message_from_element(parse_xml(data))
    return message_from_element(parse_wbxml(data).root)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.relative_to(CORPUS).as_posix())
def test_corpus_file_reads_the_same_on_both_paths(path: Path) -> None:
    data = path.read_bytes()
    expected = outcome(positioned, data)
    assert outcome(decode_message, data) == expected
    tree = parse_tree(data, DEFAULT_LIMITS) if data[:1] == b"<" else None
    if tree is not None and isinstance(expected, Message):
        try:
            assert message_from_tree(tree) == expected
        except Irregular:
            assert any(isinstance(i.data, XmlData) for i in _items(expected.commands))
    if isinstance(expected, Message):
        assert decode_header(data) == expected.header


def _items(commands: object) -> list:  # type: ignore[type-arg]
    found = []
    for command in commands:  # type: ignore[attr-defined]
        found.extend(getattr(command, "items", ()))
        found.extend(_items(getattr(command, "commands", ())))
    return found


def test_the_corpus_mostly_takes_the_fast_path() -> None:
    xml = [p.read_bytes() for p in FILES if p.read_bytes()[:1] == b"<"]
    fast = [d for d in xml if parse_tree(d, DEFAULT_LIMITS) is not None]
    assert len(fast) >= len(xml) // 2 >= 5


@settings(max_examples=150, deadline=None)
@given(messages(data_kinds=("str", "xml")))
def test_generated_xml_messages_read_the_same_on_both_paths(message: Message) -> None:
    data = encode_message(message)
    tree = parse_tree(data, DEFAULT_LIMITS)
    assert tree is not None
    try:
        assert message_from_tree(tree) == message
    except Irregular:
        assert any(isinstance(i.data, XmlData) for i in _items(message.commands))
    assert decode_message(data) == message_from_element(parse_xml(data)) == message
    assert decode_header(data) == message.header


@settings(max_examples=150, deadline=None)
@given(messages(data_kinds=("str", "bytes")))
def test_generated_wbxml_messages_read_like_xml(message: Message) -> None:
    data = encode_message(message, Encoding.WBXML)
    assert decode_message(data) == message
    assert decode_header(data) == message.header


# -- each reason for the positioned path -------------------------------------------------


def test_data_markup_is_sliced_from_the_input() -> None:
    data = doc(
        "<Replace><CmdID>2</CmdID><Item><Target><LocURI>./a</LocURI></Target>"
        '<Data><MgmtTree xmlns="syncml:dmddf1.2"><VerDTD>1.2</VerDTD></MgmtTree></Data>'
        "</Item></Replace>"
    )
    tree = parse_tree(data, DEFAULT_LIMITS)
    assert tree is not None
    with pytest.raises(Irregular):
        message_from_tree(tree)
    (replace,) = decode_message(data).commands
    assert replace.items[0].data == XmlData(
        '<MgmtTree xmlns="syncml:dmddf1.2"><VerDTD>1.2</VerDTD></MgmtTree>'
    )


def test_text_around_a_child_element_is_joined_as_before() -> None:
    data = doc("<Get><CmdID>1<x/>2</CmdID><Item><Target><LocURI>./a</LocURI></Target></Item></Get>")
    tree = parse_tree(data, DEFAULT_LIMITS)
    assert tree is not None
    with pytest.raises(Irregular):
        message_from_tree(tree)
    assert decode_message(data).commands[0].cmd_id == "12"


def test_comments_and_cdata_inside_text_read_the_same() -> None:
    data = doc(
        "<Replace><CmdID>3</CmdID><Item><Target><LocURI>./a</LocURI></Target>"
        "<Data>a<!-- c --><![CDATA[<b>]]>&amp;c<?pi x?>d</Data></Item></Replace>"
    )
    tree = parse_tree(data, DEFAULT_LIMITS)
    assert tree is not None
    assert message_from_tree(tree) == positioned(data)
    assert decode_message(data).commands[0].items[0].data == "a<b>&cd"


def test_unknown_namespaces_and_prefixes_resolve_to_local_names() -> None:
    data = (
        b'<SyncML xmlns="SYNCML:SYNCML1.2" xmlns:m="urn:other">'
        + HDR.format(sid="9").encode()
        + b"<SyncBody><m:Get><CmdID>1</CmdID><Item><Target><LocURI>./x</LocURI></Target>"
        b'<Meta><m:Format xmlns:m="SYNCML:METINF">int</m:Format></Meta></Item></m:Get>'
        b"</SyncBody></SyncML>"
    )
    assert parse_tree(data, DEFAULT_LIMITS) is not None
    message = decode_message(data)
    assert message == positioned(data)
    assert message.commands[0].items[0].meta.format == "int"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("limits", "data", "reason"),
    [
        (
            Limits(max_depth=6),
            doc("<Atomic><CmdID>1</CmdID><Get><a><b><c/></b></a></Get></Atomic>"),
            "limit.depth",
        ),
        (Limits(max_elements=14), doc("<Final/>" * 3), "limit.elements"),
        (Limits(max_data_size=100, max_message_size=4096), doc(""), None),
    ],
    ids=["depth", "elements", "data-size"],
)
def test_inputs_near_a_limit_take_the_positioned_path(
    limits: Limits, data: bytes, reason: str | None
) -> None:
    assert parse_tree(data, limits) is None
    assert outcome(lambda d: decode_message(d, limits=limits), data) == outcome(
        lambda d: message_from_element(parse_xml(d, limits=limits), limits=limits), data
    )
    if reason is not None:
        with pytest.raises(MalformedMessageError) as caught:
            decode_message(data, limits=limits)
        assert caught.value.reason == reason


def test_deep_but_allowed_nesting_stays_on_the_fast_path() -> None:
    data = doc("<Get><CmdID>1</CmdID><Item><Target><LocURI>./a</LocURI></Target></Item></Get>")
    assert parse_tree(data, Limits(max_depth=6)) is not None
    assert parse_tree(data, Limits(max_depth=5)) is None


def test_utf16_and_unreadable_documents_take_the_positioned_path() -> None:
    text = doc("").decode()
    utf16 = ('<?xml version="1.0" encoding="UTF-16"?>' + text).encode("utf-16")
    assert parse_tree(utf16, DEFAULT_LIMITS) is None
    assert decode_message(utf16) == decode_message(doc(""))
    bare_amp = doc("<Alert><CmdID>1</CmdID><Data>1200</Data><Item><Data>a&b</Data></Item></Alert>")
    assert parse_tree(bare_amp, DEFAULT_LIMITS) is None  # parse_xml recovers from it
    assert decode_message(bare_amp).commands[0].items[0].data == "a&b"
    entity = b'<!DOCTYPE SyncML [<!ENTITY e "x">]>' + doc("")
    assert parse_tree(entity, DEFAULT_LIMITS) is None
    with pytest.raises(MalformedMessageError) as caught:
        decode_message(entity)
    assert caught.value.reason == "xml.entity"


@pytest.mark.parametrize(
    "data",
    [
        doc("<Status><CmdID>1</CmdID><CmdRef>0</CmdRef><Cmd>SyncHdr</Cmd></Status>"),
        doc("<Alert><CmdID>1</CmdID><Data>12x</Data></Alert>"),
        b"<SyncML><SyncBody/></SyncML>",
        b"<MgmtTree/>",
    ],
    ids=["missing", "integer", "no-header", "root"],
)
def test_errors_are_those_of_the_positioned_path(data: bytes) -> None:
    expected = outcome(positioned, data)
    assert isinstance(expected, tuple)
    assert outcome(decode_message, data) == expected
    tree = parse_tree(data, DEFAULT_LIMITS)
    assert tree is not None
    assert outcome(lambda _: message_from_tree(tree), data) == expected


def test_header_only_reading() -> None:
    # A body the reader refuses does not stop routing; the header is the full decode's.
    data = doc("<Alert><CmdID>1</CmdID><Data>bad</Data></Alert>", sid="42")
    assert decode_header(data).session_id == "42"
    with pytest.raises(MalformedMessageError):
        decode_message(data)
    split = doc("", sid="4<x/>2")
    tree = parse_tree(split, DEFAULT_LIMITS)
    assert tree is not None
    with pytest.raises(Irregular):
        header_from_tree(tree)
    assert decode_header(split).session_id == "42"
    assert decode_header(split, encoding=Encoding.XML).source.loc_uri == "dev"
    with pytest.raises(MalformedMessageError) as caught:
        decode_header(b"<SyncML><SyncBody/></SyncML>")
    assert (caught.value.reason, caught.value.position) == ("message.missing", "SyncML/SyncHdr")
    wbxml = encode_message(decode_message(data.replace(b"bad", b"1200")), Encoding.WBXML)
    assert decode_header(wbxml).session_id == "42"


def test_codec_elements_offer_the_reading_surface() -> None:
    element = Element("Data", children=[Element("A"), Element("B")])
    assert [c.tag for c in element] == ["A", "B"]
    assert len(element) == 2 and element
    assert len(Element("A")) == 0 and Element("A")  # true without children
    assert Element("A").text is None
    assert Element("A", parts=["x"]).text == "x"
    assert Element("A", parts=["x", "y"]).text == "xy"
    assert Element("A", parts=["x", b"y"]).text == ["x", b"y"]


def test_an_empty_leaf_reads_as_empty_text_on_both_paths() -> None:
    data = doc("<Get><CmdID/><Item><Target><LocURI>./a</LocURI><LocName/></Target></Item></Get>")
    tree = parse_tree(data, DEFAULT_LIMITS)
    assert tree is not None
    message = message_from_tree(tree)
    assert message == positioned(data)
    assert message.commands[0].cmd_id == ""
    assert message.commands[0].items[0].target.loc_name == ""  # type: ignore[union-attr]


def test_repeated_meta_is_read_once_and_shared() -> None:
    item = (
        "<Item><Target><LocURI>./{n}</LocURI></Target>"
        '<Meta><Format xmlns="syncml:metinf">int</Format></Meta><Data>{n}</Data></Item>'
    )
    data = doc(f"<Replace><CmdID>1</CmdID>{item.format(n=1)}{item.format(n=2)}</Replace>")
    first, second = decode_message(data).commands[0].items  # type: ignore[union-attr]
    assert first.meta is second.meta
    assert first.meta == Meta(format="int")


@pytest.mark.parametrize(
    "meta",
    [
        "<Meta><MetInf><Format>int</Format></MetInf></Meta>",  # a wrapper: not cached
        "<Meta><Format>in<x/>t</Format></Meta>",  # split text: the positioned path
    ],
)
def test_meta_with_grandchildren_is_never_taken_from_the_cache(meta: str) -> None:
    plain = "<Meta><Format>int</Format></Meta>"
    body = "".join(
        f"<Replace><CmdID>{n}</CmdID><Item><Target><LocURI>./a</LocURI></Target>{m}"
        "<Data>1</Data></Item></Replace>"
        for n, m in enumerate((meta, plain, meta), 1)
    )
    data = doc(body)
    assert decode_message(data) == positioned(data)
    formats = [c.items[0].meta.format for c in decode_message(data).commands]  # type: ignore[union-attr]
    assert formats[1] == "int" and formats[0] == formats[2]


def test_opaque_meta_text_is_read_without_the_cache() -> None:
    # A WBXML Meta field carried as OPAQUE (bytes runs: not a cache key) still decodes.
    message = Message(
        header=decode_message(doc("")).header,
        commands=(Replace(cmd_id="1", items=(Item(meta=Meta(type="text/plain"), data="v"),)),),
    )
    body = encode_message(message, Encoding.WBXML)
    plain = b"\x03text/plain\x00"
    opaque = b"\xc3\x0atext/plain"
    assert body.count(plain) == 1
    assert decode_message(body.replace(plain, opaque)) == message


def test_trusted_construction_makes_ordinary_values() -> None:
    make = trusted(Item)
    built = make(target=None, source=None, meta=None, data="x", more_data=True)
    public = Item(data="x", more_data=True)
    assert built == public and hash(built) == hash(public) and type(built) is Item
    assert attrs.evolve(built, data="y") == Item(data="y", more_data=True)
    with pytest.raises(TypeError):
        make(data="x")  # every field is required: nothing is defaulted silently


@settings(max_examples=60, deadline=None)
@given(messages(data_kinds=("str", "bytes")))
def test_trusted_evolve_is_attrs_evolve(message: Message) -> None:
    values: list[Any] = [message, message.header, *message.commands]
    values += [item for command in message.commands for item in getattr(command, "items", ())]
    for value in values:
        field = attrs.fields(type(value))[0]
        new = getattr(value, field.name)  # the same value: every field's type is kept
        copy = trusted_evolve(value, **{field.name: new})
        assert copy == attrs.evolve(value, **{field.name: new})
        assert copy is not value and type(copy) is type(value) and hash(copy) == hash(value)
    changed = trusted_evolve(message, final=not message.final)
    assert changed == attrs.evolve(message, final=not message.final) and changed != message
    with pytest.raises(TypeError):
        trusted_evolve(message, no_such_field=1)


# -- WBXML: the lean loop (codec.wbxml_fast) builds an xml.etree tree for the reader -------


@settings(max_examples=150, deadline=None)
@given(messages(data_kinds=("str", "bytes")))
def test_generated_wbxml_reads_the_same_from_both_trees(message: Message) -> None:
    data = encode_message(message, Encoding.WBXML)
    tree = parse_wbxml_tree(data)
    reference = message_from_element(parse_wbxml(data).root)
    assert reference == message
    if tree is None:  # OPAQUE runs (bytes Data): the positioned tree keeps them apart
        assert any(isinstance(i.data, bytes) for i in _items(message.commands))
    else:
        try:
            assert message_from_tree(tree) == message
        except Irregular:  # markup inside Data
            assert any(isinstance(i.data, XmlData) for i in _items(message.commands))


WBXML_HEAD = b"\x02\xa4\x01\x6a\x00"  # WBXML 1.2, SyncML 1.2, UTF-8, no string table


@pytest.mark.parametrize(
    "text",
    [
        b"\x03a\x00\x03b\x00",  # two STR_I runs in one element
        b"\xc3\x01a",  # OPAQUE
        b"\x02\x41",  # ENTITY
    ],
    ids=["two-runs", "opaque", "entity"],
)
def test_wbxml_text_other_than_one_inline_string_takes_the_positioned_tree(text: bytes) -> None:
    # <SyncML><SyncHdr><VerDTD>text</VerDTD></SyncHdr></SyncML>
    data = WBXML_HEAD + b"\x6d\x6c\x71" + text + b"\x01\x01\x01"
    assert parse_wbxml_tree(data) is None
    assert parse_wbxml(data).root.children[0].children[0].tag == "VerDTD"
    with pytest.raises(MalformedMessageError) as caught:
        decode_message(data)  # read on the positioned tree: the same error as ever
    assert caught.value.reason == "message.missing"


# A valid message with every token the lean loop reads: tags with and without content,
# STR_I, SWITCH_PAGE to MetInf and back.
WBXML_MESSAGE = encode_message(
    decode_message(
        doc(
            "<Replace><CmdID>2</CmdID><Item><Target><LocURI>./a</LocURI></Target>"
            '<Meta><Format xmlns="syncml:metinf">int</Format></Meta><Data>12</Data></Item>'
            "</Replace>"
        )
    ),
    Encoding.WBXML,
)
WBXML_SAMPLES = {
    "message": WBXML_MESSAGE,
    "spec-pkg1": PKG1,  # OPAQUE Data: the positioned tree
    **{p.name: p.read_bytes() for p in sorted((CORPUS / "aosp-dm12").glob("*.wbxml"))},
}


def check_against_positioned(data: bytes, limits: Limits = DEFAULT_LIMITS) -> Outcome:
    """The public decode gives what ``parse_wbxml`` and the reader give (the same message, or
    the same error: reason and position), and the lean loop refuses every input
    ``parse_wbxml`` refuses (so no error depends on it); returns that outcome."""
    try:
        parse_wbxml(data, limits=limits)
    except MalformedMessageError:
        assert parse_wbxml_tree(data, limits=limits) is None
    expected = outcome(
        lambda d: message_from_element(parse_wbxml(d, limits=limits).root, limits=limits), data
    )
    decoded = outcome(lambda d: decode_message(d, encoding=Encoding.WBXML, limits=limits), data)
    assert decoded == expected
    return expected


def test_the_lean_loop_reads_the_regular_samples() -> None:
    # Not vacuous: the inputs below are mutated from ones the lean loop reads.
    assert [n for n, d in WBXML_SAMPLES.items() if parse_wbxml_tree(d) is None] == ["spec-pkg1"]
    for data in WBXML_SAMPLES.values():
        assert isinstance(check_against_positioned(data), Message)


_H = WBXML_HEAD
_VERDTD = _H + b"\x6d\x6c\x71"  # <SyncML><SyncHdr><VerDTD>


@pytest.mark.parametrize(
    ("data", "limits", "reason"),
    [
        pytest.param(_VERDTD + b"\x03a\x00", None, "wbxml.truncated", id="truncated"),
        pytest.param(_VERDTD + b"\x03abc", None, "wbxml.unterminated-string", id="no-nul"),
        pytest.param(_H + b"\x6d\x00", None, "wbxml.truncated", id="truncated-switch-page"),
        pytest.param(_H, None, "wbxml.empty", id="empty"),
        pytest.param(_H + b"\x01\x6d\x01", None, "wbxml.unbalanced-end", id="unbalanced-end"),
        pytest.param(WBXML_MESSAGE + b"\x01", None, "wbxml.trailing-data", id="end-after-root"),
        pytest.param(WBXML_MESSAGE + b"\x6d\x01", None, "wbxml.trailing-data", id="second-root"),
        pytest.param(WBXML_MESSAGE + b" \r\n", None, None, id="trailing-white-space"),
        pytest.param(_H + b"\x6d\x00\x03\x12\x01", None, "wbxml.unknown-page", id="unknown-page"),
        pytest.param(
            _H + b"\x6d\x00\x01\x57\x01\x01", None, "wbxml.unknown-tag", id="unknown-tag-page-1"
        ),
        pytest.param(_H + b"\x6d\x7d\x01", None, "wbxml.unknown-tag", id="unknown-tag-page-0"),
        pytest.param(
            _H + b"\x00\x01\x47\x03int\x00\x01", None, "message.root", id="root-on-page-1"
        ),
        pytest.param(_H + b"\x2d", None, "message.missing", id="root-without-content"),
        pytest.param(
            _H + b"\x2d" + WBXML_MESSAGE[len(_H) + 1 :],
            None,
            "wbxml.trailing-data",
            id="content-after-an-empty-root",
        ),
        pytest.param(
            _H + b"\x03a\x00\x6d\x01", None, "wbxml.unexpected-token", id="text-before-root"
        ),
        pytest.param(
            _H + b"\x43\x05\x01" + WBXML_MESSAGE[len(_H) :], None, None, id="pi-before-root"
        ),
        pytest.param(
            _VERDTD + b"\x03\xc3\x28\x00\x01\x01\x01", None, "wbxml.invalid-text", id="bad-utf-8"
        ),
        pytest.param(
            b"\x02\xa4\x01\x03\x00\x6d\x6c\x71\x03\xe9\x00\x01\x01\x01",
            None,
            "wbxml.invalid-text",
            id="not-ascii",
        ),
        pytest.param(
            _VERDTD + b"\x03ab\x00\x03cd\x00\x01\x01\x01",
            Limits(max_data_size=3),
            "limit.data-size",
            id="two-runs-over-data-size",
        ),
        pytest.param(
            _VERDTD + b"\x03ab\x00\x03cd\x00\x01\x01\x01", None, "message.missing", id="two-runs"
        ),
        pytest.param(WBXML_MESSAGE, Limits(max_data_size=2), "limit.data-size", id="data-size"),
        pytest.param(WBXML_MESSAGE, Limits(max_elements=10), "limit.elements", id="elements"),
        pytest.param(WBXML_MESSAGE, Limits(max_depth=5), "limit.depth", id="depth"),
        pytest.param(WBXML_MESSAGE, Limits(max_depth=1), "limit.depth", id="depth-1"),
        # <SyncML><SyncBody><Final/>: an element without content one level too deep.
        pytest.param(
            _H + b"\x6d\x6b\x12\x01\x01", Limits(max_depth=2), "limit.depth", id="leaf-too-deep"
        ),
        # Format (text, no children) at depth 6: parse_wbxml accepts it; the lean loop opens
        # no element at max_depth.
        pytest.param(WBXML_MESSAGE, Limits(max_depth=6), None, id="depth-at-the-limit"),
        pytest.param(
            WBXML_MESSAGE,
            Limits(max_message_size=len(WBXML_MESSAGE) - 1),
            "limit.message-size",
            id="message-size",
        ),
        pytest.param(b"\x04" + WBXML_MESSAGE[1:], None, "wbxml.version", id="version"),
        pytest.param(
            _H + b"\x6d\xf1\x05\x01\x03x\x00\x01\x01", None, "message.missing", id="attributes"
        ),
        pytest.param(_H + b"\x6d\xb1\x05", None, "wbxml.truncated", id="attributes-unterminated"),
        pytest.param(
            _VERDTD + b"\x40a\x00\x01\x01\x01",
            None,
            "wbxml.unsupported-token",
            id="extension-token",
        ),
        pytest.param(_VERDTD + b"\xc3\x05ab", None, "wbxml.truncated", id="opaque-truncated"),
        pytest.param(_H + b"\x6d\x44", None, "wbxml.truncated", id="literal-truncated"),
    ],
)
def test_wbxml_errors_are_those_of_the_positioned_tree(
    data: bytes, limits: Limits | None, reason: str | None
) -> None:
    # Each input is one the lean loop refuses; the decode's answer is parse_wbxml's.
    limits = limits or DEFAULT_LIMITS
    assert parse_wbxml_tree(data, limits=limits) is None
    result = check_against_positioned(data, limits)
    if reason is None:  # a message the positioned tree reads
        assert isinstance(result, Message)
    else:
        assert isinstance(result, tuple) and result[0] == reason


# (kind, where, what): overwrite one byte, insert bytes, delete a run of bytes.
_MUTATIONS = st.one_of(
    st.tuples(st.just("set"), st.integers(0, 10_000), st.integers(0, 255)),
    st.tuples(st.just("insert"), st.integers(0, 10_000), st.binary(min_size=1, max_size=4)),
    st.tuples(st.just("delete"), st.integers(0, 10_000), st.integers(1, 40)),
)
_SMALL_LIMITS = [
    DEFAULT_LIMITS,
    Limits(max_elements=12),
    Limits(max_depth=4),
    Limits(max_depth=6),
    Limits(max_data_size=5),
    Limits(max_message_size=200),
]


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(sorted(WBXML_SAMPLES)),
    st.lists(_MUTATIONS, max_size=3),
    st.sampled_from(_SMALL_LIMITS),
)
def test_mutated_wbxml_decodes_like_the_positioned_tree(
    name: str, mutations: list[tuple[str, int, int | bytes]], limits: Limits
) -> None:
    data = bytearray(WBXML_SAMPLES[name])
    for kind, index, value in mutations:
        at = index % (len(data) + 1)
        if isinstance(value, bytes):
            data[at:at] = value
        elif kind == "delete":
            del data[at : at + value]
        elif data:
            data[at % len(data)] = value
    check_against_positioned(bytes(data), limits)


def test_the_lean_loop_keeps_the_text_budget() -> None:
    # parse_wbxml_tree cannot reach it (the message size is checked first): read_tree itself.
    body = WBXML_MESSAGE[len(WBXML_HEAD) :]
    assert read_tree(body, 0, "utf-8", DEFAULT_LIMITS, len(body)).tag == "SyncML"
    with pytest.raises(Irregular):
        read_tree(body, 0, "utf-8", DEFAULT_LIMITS, len(body) - 1)
