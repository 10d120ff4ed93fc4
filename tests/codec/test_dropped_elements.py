"""Which input elements a decode leaves out of the model (``dropped_elements``).

The function compares the parsed input with the tree the mapping writes back from
the decoded model; what ``dmproto decode`` prints on stderr comes from it. Here it
runs on the real pipeline (parse, map to the model, map back), in-process.
"""

from __future__ import annotations

from dmproto.codec.dropped import dropped_elements
from dmproto.codec.mapping import message_from_element, message_to_element
from dmproto.codec.xml import parse_xml

HEADER = (
    "<VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto><SessionID>1</SessionID>"
    "<MsgID>1</MsgID><Target><LocURI>http://dm.example</LocURI></Target>"
    "<Source><LocURI>IMEI:1</LocURI></Source>"
)
REPLACE = (
    "<Replace><CmdID>2</CmdID>{meta}<Item><Source><LocURI>./DevInfo/Lang</LocURI></Source>"
    "<Data>en</Data></Item></Replace>"
)


def _dropped(header: str = HEADER, body: str = "") -> tuple[str, ...]:
    xml = (
        f'<SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr>{header}</SyncHdr>'
        f"<SyncBody>{body}<Final/></SyncBody></SyncML>"
    ).encode()
    root = parse_xml(xml)
    return dropped_elements(root, message_to_element(message_from_element(root)))


def test_a_message_the_model_keeps_whole_drops_nothing() -> None:
    meta = '<Meta><Format xmlns="syncml:metinf">chr</Format></Meta>'
    assert _dropped(body=REPLACE.format(meta=meta)) == ()


def test_a_metinf_wrapper_inside_meta_is_transparent() -> None:
    # The decoder reads through <MetInf> and the encoder never writes it: the fields
    # inside are kept, so nothing is reported (the wrapper itself is not data).
    meta = (
        '<Meta><MetInf xmlns="syncml:metinf"><Format>chr</Format><Type>text/plain</Type>'
        "</MetInf></Meta>"
    )
    assert _dropped(body=REPLACE.format(meta=meta)) == ()


def test_a_field_inside_a_metinf_wrapper_the_model_ignores_is_named_without_it() -> None:
    # Mem is DS-only MetInf: dropped, and named by its path under Meta (no MetInf).
    meta = (
        '<Meta><MetInf xmlns="syncml:metinf"><Format>chr</Format><Mem><FreeMem>1</FreeMem>'
        "</Mem></MetInf></Meta>"
    )
    assert _dropped(body=REPLACE.format(meta=meta)) == ("SyncML/SyncBody/Replace/Meta/Mem",)


def test_only_the_top_of_a_dropped_subtree_is_named() -> None:
    unknown = "<Frobnicate><Depth><Deeper>1</Deeper></Depth><Other/></Frobnicate>"
    assert _dropped(header=HEADER + unknown) == ("SyncML/SyncHdr/Frobnicate",)


def test_a_second_copy_of_a_single_valued_element_is_named_once() -> None:
    # Two unrelated drops in different places, each reported, sorted.
    header = HEADER.replace("<MsgID>1</MsgID>", "<MsgID>1</MsgID><MsgID>2</MsgID>")
    body = '<Alert><CmdID>2</CmdID><Data>1201</Data><Lang xmlns="x">en</Lang></Alert>'
    assert _dropped(header=header, body=body) == (
        "SyncML/SyncBody/Alert/Lang",
        "SyncML/SyncHdr/MsgID",
    )
