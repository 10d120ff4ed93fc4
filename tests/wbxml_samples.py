"""Known WBXML documents from the OMA specifications, as bytes and as element trees,
shared by the WBXML codec tests (known answers and hostile mutations)."""

from __future__ import annotations

from dmproto.codec.element import CodePage, Element
from dmproto.codec.mapping import message_to_element
from dmproto.codec.model import Item, Location, Message, Replace, SyncHdr
from dmproto.codec.wbxml import serialize_wbxml

S, M, D = CodePage.SYNCML, CodePage.METINF, CodePage.DDF


def E(name: str, *content: Element | str | bytes, page: CodePage = S) -> Element:
    """Build an element: Element arguments are children, str/bytes are parts."""
    children = [c for c in content if isinstance(c, Element)]
    parts = [c for c in content if not isinstance(c, Element)]
    return Element(name, page, children=children, parts=parts)


# OMA-TS-DM_Protocol-V1_2_1 §2.6.2: the spec's Package 1, encoded by libwbxml `xml2wbxml -n -v 1.2`.
PKG1_HEX = """
02 a4 01 6a 00 6d 6c 71 03 31 2e 32 00 01 72 03 44 4d 2f 31 2e 32 00 01
65 03 31 00 01 5b 03 31 00 01 6e 57 03 68 74 74 70 3a 2f 2f 77 77 77 2e
73 79 6e 63 6d 6c 2e 6f 72 67 2f 6d 67 6d 74 2d 73 65 72 76 65 72 00 01
01 67 57 03 49 4d 45 49 3a 34 39 33 30 30 35 31 30 30 35 39 32 38 30 30
00 01 56 03 42 72 75 63 65 32 00 01 01 4e 5a 00 01 47 03 62 36 34 00 01
53 03 73 79 6e 63 6d 6c 3a 61 75 74 68 2d 6d 64 35 00 01 01 00 00 4f 03
5a 7a 36 45 69 76 52 33 79 65 61 61 45 4e 63 52 4e 36 6c 70 41 51 3d 3d
00 01 01 5a 00 01 4c 03 35 30 30 30 00 01 01 01 00 00 6b 46 4b 03 31 00
01 4f 03 31 32 30 31 00 01 01 60 4b 03 32 00 01 54 67 57 03 2e 2f 44 65
76 49 6e 66 6f 2f 44 65 76 49 64 00 01 01 5a 00 01 47 03 63 68 72 00 01
53 03 74 65 78 74 2f 70 6c 61 69 6e 00 01 01 00 00 4f c3 14 49 4d 45 49
3a 34 39 33 30 30 35 31 30 30 35 39 32 38 30 30 01 01 01 12 01 01
"""
PKG1 = bytes.fromhex(PKG1_HEX)


def pkg1_tree(devid: str | bytes) -> Element:
    return E(
        "SyncML",
        E(
            "SyncHdr",
            E("VerDTD", "1.2"),
            E("VerProto", "DM/1.2"),
            E("SessionID", "1"),
            E("MsgID", "1"),
            E("Target", E("LocURI", "http://www.syncml.org/mgmt-server")),
            E("Source", E("LocURI", "IMEI:493005100592800"), E("LocName", "Bruce2")),
            E(
                "Cred",
                E("Meta", E("Format", "b64", page=M), E("Type", "syncml:auth-md5", page=M)),
                E("Data", "Zz6EivR3yeaaENcRN6lpAQ=="),
            ),
            E("Meta", E("MaxMsgSize", "5000", page=M)),
        ),
        E(
            "SyncBody",
            E("Alert", E("CmdID", "1"), E("Data", "1201")),
            E(
                "Replace",
                E("CmdID", "2"),
                E(
                    "Item",
                    E("Source", E("LocURI", "./DevInfo/DevId")),
                    E("Meta", E("Format", "chr", page=M), E("Type", "text/plain", page=M)),
                    E("Data", devid),
                ),
            ),
            E("Final"),
        ),
    )


# OMA-TS-DM_TND-V1_2 §8.6: a stand-alone TNDS document as libwbxml writes it.
TNDS = (
    bytes([0x02, 0x00, 0x00, 0x6A, 0x1B])
    + b"-//OMA//DTD-DM-DDF 1.2//EN\x00"
    + bytes([0x00, 0x02, 0x60, 0x77, 0x03])
    + b"1.2\x00\x01"
    + bytes([0x64, 0x66, 0x03])
    + b"POPServer\x00\x01"
    + bytes([0x6F, 0x5C, 0x0B, 0x01, 0x75, 0x61, 0x03])
    + b"text/plain\x00\x01\x01\x01"
    + bytes([0x76, 0x03])
    + b"mail.operatorx.com\x00\x01\x01\x01"
)
TNDS_TREE = E(
    "MgmtTree",
    E("VerDTD", "1.2", page=D),
    E(
        "Node",
        E("NodeName", "POPServer", page=D),
        E(
            "RTProperties",
            E("Format", E("chr", page=D), page=D),
            E("Type", E("MIME", "text/plain", page=D), page=D),
            page=D,
        ),
        E("Value", "mail.operatorx.com", page=D),
        page=D,
    ),
    page=D,
)


def wbxml_with_data_markup(text: str) -> bytes:
    """A WBXML message whose Data holds an inline MgmtTree element with ``text``."""
    message = Message(
        header=SyncHdr(
            session_id="1",
            msg_id="1",
            target=Location(loc_uri="dev"),
            source=Location(loc_uri="srv"),
        ),
        commands=[Replace(cmd_id="2", items=[Item(target=Location(loc_uri="./a"), data="x")])],
        final=True,
    )
    root = message_to_element(message)
    data = root.children[1].children[0].children[1].children[1]
    assert data.name == "Data"
    data.parts = []
    data.children = [Element("MgmtTree", CodePage.DDF, parts=[text])]
    return serialize_wbxml(root)


__all__ = [
    "PKG1",
    "PKG1_HEX",
    "TNDS",
    "TNDS_TREE",
    "D",
    "E",
    "M",
    "S",
    "pkg1_tree",
    "wbxml_with_data_markup",
]
