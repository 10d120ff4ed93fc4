"""WBXML token tables for DM: global tokens, public ids, and the three tag code pages.

Data only; :mod:`dmproto.codec.wbxml` holds the logic. Tables are transcribed from
WAP-192-WBXML; OMA-TS-DM_RepPro-V1_2_1 §4.1 (global tokens), WAP-192-WBXML;
OMA-TS-SyncML_RepPro-V1_2 WBXML (public identifiers) and OMA-TS-SyncML_RepPro-V1_2 WBXML;
OMA-TS-DM_TND-V1_2 §8.6 (code pages 0 SyncML 1.2, 1 MetInf 1.2, 2 DM DDF 1.2), which match libwbxml
``wbxml_tables.c`` and the Synthesis RTK ``xlttags.c``.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

from .element import CodePage

__all__ = [
    "DDF_FPI",
    "FIRST_TAG_ID",
    "FPI_PUBLIC_IDS",
    "PUBLIC_ID_FPIS",
    "TAG_ATTRIBUTES",
    "TAG_CONTENT",
    "TAG_ID_MASK",
    "TAG_NAMES",
    "TAG_TOKENS",
    "GlobalToken",
    "PublicId",
]


class GlobalToken(enum.IntEnum):
    """Tokens with the same meaning on every code page (WAP-192-WBXML;
    OMA-TS-DM_RepPro-V1_2_1 §4.1, WAP-192 table 4)."""

    SWITCH_PAGE = 0x00
    END = 0x01
    ENTITY = 0x02
    STR_I = 0x03
    LITERAL = 0x04
    EXT_I_0 = 0x40
    EXT_I_1 = 0x41
    EXT_I_2 = 0x42
    PI = 0x43
    LITERAL_C = 0x44
    EXT_T_0 = 0x80
    EXT_T_1 = 0x81
    EXT_T_2 = 0x82
    STR_T = 0x83
    LITERAL_A = 0x84
    EXT_0 = 0xC0
    EXT_1 = 0xC1
    EXT_2 = 0xC2
    OPAQUE = 0xC3
    LITERAL_AC = 0xC4


#: Tag token flag: the element has content (WAP-192-WBXML; OMA-TS-DM_RepPro-V1_2_1 §4.1).
TAG_CONTENT = 0x40
#: Tag token flag: the element has an attribute list.
TAG_ATTRIBUTES = 0x80
#: The low six bits of a tag token identify the tag on the current page.
TAG_ID_MASK = 0x3F
#: Lowest tag identity; 0x00–0x04 are global tokens.
FIRST_TAG_ID = 0x05


class PublicId(enum.IntEnum):
    """Numeric WBXML public identifiers relevant to DM (WAP-192-WBXML; OMA-TS-SyncML_RepPro-V1_2
    WBXML)."""

    UNKNOWN = 0x01  #: WBXML "unknown or missing public identifier"
    SYNCML_1_0 = 0x0FD1
    DEVINF_1_0 = 0x0FD2
    SYNCML_1_1 = 0x0FD3
    DEVINF_1_1 = 0x0FD4
    SYNCML_1_2 = 0x1201
    METINF_1_2 = 0x1202
    DEVINF_1_2 = 0x1203


#: The FPI of DM DDF 1.2 / TNDS documents, which have no numeric public id (WAP-192-WBXML;
#: OMA-TS-SyncML_RepPro-V1_2 WBXML).
DDF_FPI = "-//OMA//DTD-DM-DDF 1.2//EN"

#: Textual formal public identifiers and their numeric ids (OMA-TS-DM_RepPro-V1_2_1 §4.1;
#: WAP-192-WBXML; OMA-TS-SyncML_RepPro-V1_2 WBXML). DM DDF 1.2 has no numeric id: it is always
#: written through the string table.
FPI_PUBLIC_IDS: Mapping[str, PublicId | None] = {
    "-//SYNCML//DTD SyncML 1.0//EN": PublicId.SYNCML_1_0,
    "-//SYNCML//DTD SyncML 1.1//EN": PublicId.SYNCML_1_1,
    "-//SYNCML//DTD SyncML 1.2//EN": PublicId.SYNCML_1_2,
    "-//SYNCML//DTD MetInf 1.2//EN": PublicId.METINF_1_2,
    "-//SYNCML//DTD MetaInf 1.2//EN": PublicId.METINF_1_2,
    "-//SYNCML//DTD DevInf 1.2//EN": PublicId.DEVINF_1_2,
    DDF_FPI: None,
}

#: The canonical FPI of each numeric public id.
PUBLIC_ID_FPIS: Mapping[PublicId, str] = {
    PublicId.SYNCML_1_0: "-//SYNCML//DTD SyncML 1.0//EN",
    PublicId.SYNCML_1_1: "-//SYNCML//DTD SyncML 1.1//EN",
    PublicId.SYNCML_1_2: "-//SYNCML//DTD SyncML 1.2//EN",
    PublicId.METINF_1_2: "-//SYNCML//DTD MetaInf 1.2//EN",
    PublicId.DEVINF_1_2: "-//SYNCML//DTD DevInf 1.2//EN",
}

# OMA-TS-SyncML_RepPro-V1_2 WBXML; OMA-TS-DM_TND-V1_2 §8.6, code page 0 — SyncML 1.2 (0x30 is
# reserved; 0x35–0x3C new in 1.2).
_SYNCML: dict[str, int] = {
    "Add": 0x05,
    "Alert": 0x06,
    "Archive": 0x07,
    "Atomic": 0x08,
    "Chal": 0x09,
    "Cmd": 0x0A,
    "CmdID": 0x0B,
    "CmdRef": 0x0C,
    "Copy": 0x0D,
    "Cred": 0x0E,
    "Data": 0x0F,
    "Delete": 0x10,
    "Exec": 0x11,
    "Final": 0x12,
    "Get": 0x13,
    "Item": 0x14,
    "Lang": 0x15,
    "LocName": 0x16,
    "LocURI": 0x17,
    "Map": 0x18,
    "MapItem": 0x19,
    "Meta": 0x1A,
    "MsgID": 0x1B,
    "MsgRef": 0x1C,
    "NoResp": 0x1D,
    "NoResults": 0x1E,
    "Put": 0x1F,
    "Replace": 0x20,
    "RespURI": 0x21,
    "Results": 0x22,
    "Search": 0x23,
    "Sequence": 0x24,
    "SessionID": 0x25,
    "SftDel": 0x26,
    "Source": 0x27,
    "SourceRef": 0x28,
    "Status": 0x29,
    "Sync": 0x2A,
    "SyncBody": 0x2B,
    "SyncHdr": 0x2C,
    "SyncML": 0x2D,
    "Target": 0x2E,
    "TargetRef": 0x2F,
    "VerDTD": 0x31,
    "VerProto": 0x32,
    "NumberOfChanges": 0x33,
    "MoreData": 0x34,
    "Field": 0x35,
    "Filter": 0x36,
    "Record": 0x37,
    "FilterType": 0x38,
    "SourceParent": 0x39,
    "TargetParent": 0x3A,
    "Move": 0x3B,
    "Correlator": 0x3C,
}

# OMA-TS-SyncML_RepPro-V1_2 WBXML; OMA-TS-DM_TND-V1_2 §8.6, code page 1 — MetInf 1.2.
_METINF: dict[str, int] = {
    "Anchor": 0x05,
    "EMI": 0x06,
    "Format": 0x07,
    "FreeID": 0x08,
    "FreeMem": 0x09,
    "Last": 0x0A,
    "Mark": 0x0B,
    "MaxMsgSize": 0x0C,
    "Mem": 0x0D,
    "MetInf": 0x0E,
    "Next": 0x0F,
    "NextNonce": 0x10,
    "SharedMem": 0x11,
    "Size": 0x12,
    "Type": 0x13,
    "Version": 0x14,
    "MaxObjSize": 0x15,
    "FieldLevel": 0x16,
}

# OMA-TS-SyncML_RepPro-V1_2 WBXML; OMA-TS-DM_TND-V1_2 §8.6, code page 2 — DM DDF 1.2 (also TNDS).
# Case matters: Node/node.
_DDF: dict[str, int] = {
    "AccessType": 0x05,
    "ACL": 0x06,
    "Add": 0x07,
    "b64": 0x08,
    "bin": 0x09,
    "bool": 0x0A,
    "chr": 0x0B,
    "CaseSense": 0x0C,
    "CIS": 0x0D,
    "Copy": 0x0E,
    "CS": 0x0F,
    "date": 0x10,
    "DDFName": 0x11,
    "DefaultValue": 0x12,
    "Delete": 0x13,
    "Description": 0x14,
    "DFFormat": 0x15,
    "DFProperties": 0x16,
    "DFTitle": 0x17,
    "DFType": 0x18,
    "Dynamic": 0x19,
    "Exec": 0x1A,
    "float": 0x1B,
    "Format": 0x1C,
    "Get": 0x1D,
    "int": 0x1E,
    "Man": 0x1F,
    "MgmtTree": 0x20,
    "MIME": 0x21,
    "Mod": 0x22,
    "Name": 0x23,
    "Node": 0x24,
    "node": 0x25,
    "NodeName": 0x26,
    "null": 0x27,
    "Occurrence": 0x28,
    "One": 0x29,
    "OneOrMore": 0x2A,
    "OneOrN": 0x2B,
    "Path": 0x2C,
    "Permanent": 0x2D,
    "Replace": 0x2E,
    "RTProperties": 0x2F,
    "Scope": 0x30,
    "Size": 0x31,
    "time": 0x32,
    "Title": 0x33,
    "TStamp": 0x34,
    "Type": 0x35,
    "Value": 0x36,
    "VerDTD": 0x37,
    "VerNo": 0x38,
    "xml": 0x39,
    "ZeroOrMore": 0x3A,
    "ZeroOrN": 0x3B,
    "ZeroOrOne": 0x3C,
}

#: Tag name -> tag identity (without the 0x40/0x80 flags), per code page.
TAG_TOKENS: Mapping[CodePage, Mapping[str, int]] = {
    CodePage.SYNCML: _SYNCML,
    CodePage.METINF: _METINF,
    CodePage.DDF: _DDF,
}

#: Tag identity -> tag name, per code page (the inverse of :data:`TAG_TOKENS`).
TAG_NAMES: Mapping[CodePage, Mapping[int, str]] = {
    page: {token: name for name, token in table.items()} for page, table in TAG_TOKENS.items()
}
