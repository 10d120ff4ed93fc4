"""Element tree <-> Message mapping: lenient decoding, strict encoding, round trips."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import messages

from dmproto.codec.element import CodePage, Element
from dmproto.codec.mapping import message_from_element, message_to_element
from dmproto.codec.model import (
    Alert,
    Atomic,
    Exec,
    Item,
    Location,
    Message,
    Meta,
    Replace,
    Status,
    SyncHdr,
    UnsupportedCommand,
    XmlData,
)
from dmproto.codec.xml import parse_xml, serialize_xml
from dmproto.errors import EncodeError, MalformedMessageError
from dmproto.limits import Limits

HDR = (
    b"<SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto><SessionID>1</SessionID>"
    b"<MsgID>1</MsgID><Target><LocURI>dev</LocURI></Target>"
    b"<Source><LocURI>srv</LocURI></Source></SyncHdr>"
)


def decode(body: bytes, header: bytes = HDR, limits: Limits | None = None) -> Message:
    doc = b'<SyncML xmlns="SYNCML:SYNCML1.2">' + header + b"<SyncBody>" + body
    root = parse_xml(doc + b"</SyncBody></SyncML>")
    return message_from_element(root, limits=limits or Limits())


def header() -> SyncHdr:
    return SyncHdr(
        session_id="1", msg_id="1", target=Location(loc_uri="dev"), source=Location(loc_uri="srv")
    )


@given(messages(data_kinds=("str", "xml")))
def test_xml_round_trip_any_model(message: Message) -> None:
    root = message_to_element(message)
    assert message_from_element(parse_xml(serialize_xml(root))) == message


@given(messages(data_kinds=("str", "bytes")))
def test_element_round_trip_with_bytes(message: Message) -> None:
    # The element tree itself (as WBXML carries it) keeps bytes Data.
    assert message_from_element(message_to_element(message)) == message


def test_alert_correlator_before_or_after_data() -> None:
    a = decode(b"<Alert><CmdID>1</CmdID><Correlator>c</Correlator><Data>1226</Data></Alert>")
    b = decode(b"<Alert><Data>1226</Data><CmdID>1</CmdID><Correlator>c</Correlator></Alert>")
    assert a == b
    assert a.commands == (Alert(cmd_id="1", code=1226, correlator="c"),)


def test_whitespace_stripped_except_data() -> None:
    msg = decode(
        b"<Replace><CmdID>\n 4 \n</CmdID><Item><Source><LocURI> ./DevInfo/Man </LocURI>"
        b"</Source><Data>  VMware, Inc.\n</Data></Item></Replace>"
    )
    (cmd,) = msg.commands
    assert isinstance(cmd, Replace)
    assert cmd.cmd_id == "4"
    assert cmd.items[0].source == Location(loc_uri="./DevInfo/Man")
    assert cmd.items[0].data == "  VMware, Inc.\n"


def test_metinf_namespace_forms() -> None:
    forms = [
        b'<Meta><Type xmlns="syncml:metinf">t</Type></Meta>',
        b'<Meta xmlns="syncml:metinf"><Type>t</Type></Meta>',
        b'<Meta xmlns:mi="syncml:metinf"><mi:Type>t</mi:Type></Meta>',
        b"<Meta><Type>t</Type></Meta>",
        b'<Meta><Type xmlns="SYNCML:METINF">t</Type></Meta>',
    ]
    for meta in forms:
        msg = decode(b"<Get><CmdID>1</CmdID>" + meta + b"<Item/></Get>")
        assert msg.commands[0].meta == Meta(type="t"), meta  # type: ignore[union-attr]


def test_unknown_and_unsupported_elements() -> None:
    msg = decode(
        b"<Sync><CmdID>7</CmdID><Add><CmdID>8</CmdID></Add></Sync><Map/><Frobnicate/>"
        b"<Get><CmdID>9</CmdID><Lang>en</Lang><Item><SourceParent/></Item></Get><Final/>"
    )
    assert msg.commands[:2] == (
        UnsupportedCommand(name="Sync", cmd_id="7"),
        UnsupportedCommand(name="Map", cmd_id=None),
    )
    assert msg.commands[2].cmd_id == "9"
    assert msg.final


def test_missing_cmdid_is_none() -> None:
    msg = decode(b"<Exec><Item><Target><LocURI>./a</LocURI></Target></Item></Exec>")
    assert msg.commands == (Exec(cmd_id=None, items=(Item(target=Location(loc_uri="./a")),)),)


@pytest.mark.parametrize(
    ("body", "reason", "position"),
    [
        (
            b"<Status><CmdID>1</CmdID><MsgRef>1</MsgRef><CmdRef>0</CmdRef><Cmd>SyncHdr</Cmd>"
            b"<Data>20x</Data></Status>",
            "message.integer",
            "SyncML/SyncBody/Status[1]/Data",
        ),
        (
            b"<Alert/><Alert><Data>x</Data></Alert>",
            "message.integer",
            "SyncML/SyncBody/Alert[2]/Data",
        ),
        (
            b"<Status><CmdRef>0</CmdRef><Cmd>SyncHdr</Cmd></Status>",
            "message.missing",
            "SyncML/SyncBody/Status[1]/Data",
        ),
        (
            b"<Get><Item><Target/></Item></Get>",
            "message.missing",
            "SyncML/SyncBody/Get[1]/Item[1]/Target/LocURI",
        ),
        (
            b"<Get><Meta><Size>-</Size></Meta></Get>",
            "message.integer",
            "SyncML/SyncBody/Get[1]/Meta/Size",
        ),
    ],
)
def test_malformed_body_paths(body: bytes, reason: str, position: str) -> None:
    with pytest.raises(MalformedMessageError) as info:
        decode(body)
    assert info.value.reason == reason
    assert info.value.position == position


@pytest.mark.parametrize(
    "drop",
    [
        b"<VerProto>DM/1.2</VerProto>",
        b"<SessionID>1</SessionID>",
        b"<MsgID>1</MsgID>",
        b"<Target><LocURI>dev</LocURI></Target>",
        b"<LocURI>srv</LocURI>",
    ],
)
def test_missing_header_fields(drop: bytes) -> None:
    with pytest.raises(MalformedMessageError) as info:
        decode(b"", header=HDR.replace(drop, b""))
    assert info.value.reason == "message.missing"
    assert str(info.value.position).startswith("SyncML/SyncHdr/")


def test_missing_synchdr_syncbody_and_wrong_root() -> None:
    with pytest.raises(MalformedMessageError, match="SyncHdr"):
        message_from_element(parse_xml(b"<SyncML><SyncBody/></SyncML>"))
    with pytest.raises(MalformedMessageError, match="SyncBody"):
        message_from_element(parse_xml(b"<SyncML>" + HDR + b"</SyncML>"))
    with pytest.raises(MalformedMessageError) as info:
        message_from_element(parse_xml(b"<MgmtTree/>"))
    assert info.value.reason == "message.root"


def test_limits_commands_items_data() -> None:
    small = Limits(max_commands=3, max_items_per_command=2, max_data_size=4)
    with pytest.raises(MalformedMessageError, match=r"limit\.commands"):
        decode(b"<Atomic><Get/><Get/><Get/></Atomic>", limits=small)
    with pytest.raises(MalformedMessageError, match=r"limit\.items"):
        decode(b"<Get><Item/><Item/><Item/></Get>", limits=small)
    with pytest.raises(MalformedMessageError, match=r"limit\.data-size"):
        decode(b"<Get><Item><Data>12345</Data></Item></Get>", limits=small)
    assert decode(b"<Get><Item><Data>1234</Data></Item></Get>", limits=small)


def _opaque_item(meta: Element | None, data: bytes, cmd_meta: Element | None = None) -> Element:
    item = Element("Item", children=[*([meta] if meta else []), Element("Data", parts=[data])])
    cmd = Element("Replace", children=[*([cmd_meta] if cmd_meta else []), item])
    hdr = parse_xml(HDR)
    return Element("SyncML", children=[hdr, Element("SyncBody", children=[cmd])])


def _fmt(value: str, name: str = "Format") -> Element:
    return Element("Meta", children=[Element(name, CodePage.METINF, parts=[value])])


def test_opaque_data_rules() -> None:
    def value(root: Element) -> object:
        return message_from_element(root).commands[0].items[0].data  # type: ignore[union-attr]

    assert value(_opaque_item(None, b"text")) == "text"
    assert value(_opaque_item(None, b"\xff\x00")) == b"\xff\x00"
    assert value(_opaque_item(_fmt("bin"), b"text")) == b"text"
    assert value(_opaque_item(None, b"text", cmd_meta=_fmt("bin"))) == b"text"
    assert value(_opaque_item(_fmt("chr"), b"text", cmd_meta=_fmt("bin"))) == "text"
    assert value(_opaque_item(_fmt("application/vnd.syncml.dmtnds+wbxml", "Type"), b"x")) == b"x"


def test_opaque_in_locuri_is_text_and_must_be_utf8() -> None:
    root = message_to_element(Message(header=header()))
    loc = root.children[0].children[4].children[0]
    assert loc.name == "LocURI"
    loc.parts = [b"./Dev", "Info"]
    assert message_from_element(root).header.target.loc_uri == "./DevInfo"
    loc.parts = [b"\xff"]
    with pytest.raises(MalformedMessageError) as info:
        message_from_element(root)
    assert info.value.reason == "message.encoding"


def test_data_with_element_children_becomes_xmldata() -> None:
    ver = Element("VerDTD", CodePage.DDF, parts=["1.2"])
    tree = Element("MgmtTree", CodePage.DDF, children=[ver])
    root = _opaque_item(None, b"")
    root.children[1].children[0].children[0].children[0] = Element("Data", children=[tree])
    data = message_from_element(root).commands[0].items[0].data  # type: ignore[union-attr]
    assert data == XmlData('<MgmtTree xmlns="syncml:dmddf1.2"><VerDTD>1.2</VerDTD></MgmtTree>')


def test_raw_xml_data_decodes_verbatim() -> None:
    inner = b'\n <MgmtTree xmlns="syncml:dmddf1.2"><VerDTD>1.2</VerDTD></MgmtTree>\n'
    msg = decode(b"<Add><CmdID>1</CmdID><Item><Data>" + inner + b"</Data></Item></Add>")
    assert msg.commands[0].items[0].data == XmlData(inner.decode())  # type: ignore[union-attr]


def test_encode_order_and_pages() -> None:
    msg = Message(
        header=SyncHdr(
            ver_dtd="1.1",
            session_id="1",
            msg_id="2",
            target=Location(loc_uri="t"),
            source=Location(loc_uri="s", loc_name="u"),
            meta=Meta(max_obj_size=9, format="b64", max_msg_size=8, emi=("e",)),
        ),
        commands=(
            Status(
                cmd_id="1",
                msg_ref="1",
                cmd_ref="0",
                cmd="SyncHdr",
                code=200,
                target_refs=("t",),
                source_refs=("s",),
            ),
            Alert(cmd_id="2", code=1226, correlator="c", items=(Item(data="x"),)),
            Atomic(cmd_id="3", commands=(Replace(cmd_id="4", items=(Item(data=""),)),)),
        ),
        final=True,
    )
    xml = serialize_xml(message_to_element(msg))
    assert xml.startswith(b'<SyncML xmlns="SYNCML:SYNCML1.1"><SyncHdr><VerDTD>1.1</VerDTD>')
    assert (
        b'<Meta><Format xmlns="syncml:metinf">b64</Format><MaxMsgSize xmlns="syncml:metinf">'
        b'8</MaxMsgSize><MaxObjSize xmlns="syncml:metinf">9</MaxObjSize>'
        b'<EMI xmlns="syncml:metinf">e</EMI></Meta></SyncHdr>'
    ) in xml
    assert (
        b"<Status><CmdID>1</CmdID><MsgRef>1</MsgRef><CmdRef>0</CmdRef><Cmd>SyncHdr</Cmd>"
        b"<TargetRef>t</TargetRef><SourceRef>s</SourceRef><Data>200</Data></Status>"
    ) in xml
    assert b"<Data>1226</Data><Correlator>c</Correlator><Item>" in xml
    assert b"<Replace><CmdID>4</CmdID><Item><Data/></Item></Replace></Atomic><Final/>" in xml
    assert message_from_element(parse_xml(xml)) == msg


def test_bytes_data_refused_by_xml_encoder() -> None:
    item = Item(meta=Meta(format="bin"), data=b"\x00")
    msg = Message(header=header(), commands=(Replace(cmd_id="1", items=(item,)),))
    root = message_to_element(msg)
    with pytest.raises(EncodeError):
        serialize_xml(root)
    assert message_from_element(root) == msg


def _shuffle_keeping_same_name_order(root: Element, rnd: random.Random) -> None:
    """Reorder every element's children; same-name siblings keep their order."""
    stack = [root]
    while stack:
        element = stack.pop()
        if element.name in ("SyncBody", "Atomic", "Sequence"):
            # command order is meaningful; only shuffle inside commands
            stack.extend(element.children)
            continue
        groups: dict[str, list[Element]] = {}
        for child in element.children:
            groups.setdefault(child.name, []).append(child)
        names = [c.name for c in element.children]
        rnd.shuffle(names)
        element.children = [groups[name].pop(0) for name in names]
        stack.extend(element.children)


@given(messages(data_kinds=("str", "xml")), st.randoms(use_true_random=False))
def test_decoding_accepts_any_child_order(message: Message, rnd: random.Random) -> None:
    root = message_to_element(message)
    _shuffle_keeping_same_name_order(root, rnd)
    assert message_from_element(parse_xml(serialize_xml(root))) == message
