"""Hypothesis strategies building valid :mod:`dmproto.codec.model` values.

Shared by the codec, WBXML and session tests. Everything generated survives a
round trip through the XML codec (and through WBXML for the ``"str"`` and
``"bytes"`` data kinds):

* identifiers and other PCDATA values the mapping strips are non-empty, stripped,
  and free of characters XML cannot carry;
* Item Data values (never stripped) may start or end with white space;
* ``bytes`` Data comes with Item Meta Format ``bin`` (WAP-192-WBXML; OMA-TS-DM_TND-V1_2 §8.3.7.2),
  non-empty;
* :class:`XmlData` holds well-formed markup with at least one element.

Entry point: ``messages(data_kinds=("str",), max_commands=4, max_depth=2)``.
"""

from __future__ import annotations

from collections.abc import Sequence as SequenceABC
from typing import Any

from hypothesis import strategies as st

from dmproto.codec.model import (
    Add,
    Alert,
    Atomic,
    Chal,
    Copy,
    Cred,
    Delete,
    Exec,
    Get,
    Item,
    Location,
    Message,
    Meta,
    Replace,
    Results,
    Sequence,
    Status,
    SyncHdr,
    UnsupportedCommand,
    XmlData,
)

__all__ = [
    "DATA_KINDS",
    "commands",
    "data_values",
    "headers",
    "identifiers",
    "items",
    "locations",
    "messages",
    "metas",
    "texts",
    "xml_data",
]

#: The kinds of Item Data ``messages()`` can generate.
DATA_KINDS = ("str", "bytes", "xml")

# Characters every encoding carries: no controls (NUL ends a WBXML string; XML 1.0
# refuses C0 controls), no surrogates, no non-characters.
_CHARS = st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Cn", "Co"))
_DATA_CHARS = st.one_of(_CHARS, st.sampled_from(" \t\n\r&<>]\"'"))


def identifiers(max_size: int = 12) -> st.SearchStrategy[str]:
    """Non-empty strings with no surrounding white space (survive the mapping's strip)."""
    return st.text(_CHARS, min_size=1, max_size=max_size).map(str.strip).filter(bool)


def texts(max_size: int = 24) -> st.SearchStrategy[str]:
    """Item Data text: anything XML and WBXML carry, surrounding white space included."""
    return st.text(_DATA_CHARS, max_size=max_size)


_NUMBERS = st.integers(min_value=0, max_value=2**31 - 1)
_CMD_IDS = st.none() | st.integers(min_value=1, max_value=9999).map(str)
_FORMATS = st.sampled_from(["chr", "b64", "bin", "bool", "int", "node", "null", "xml"])


@st.composite
def metas(draw: st.DrawFn, format_: str | None = None) -> Meta:
    """A :class:`Meta`; ``format_`` forces the Format value."""
    maybe = st.none() | identifiers()
    return Meta(
        format=format_ if format_ is not None else draw(st.none() | _FORMATS),
        type=draw(maybe),
        mark=draw(maybe),
        size=draw(st.none() | _NUMBERS),
        version=draw(maybe),
        next_nonce=draw(maybe),
        max_msg_size=draw(st.none() | _NUMBERS),
        max_obj_size=draw(st.none() | _NUMBERS),
        emi=draw(st.lists(identifiers(), max_size=2)),
    )


def locations() -> st.SearchStrategy[Location]:
    """Target/Source values."""
    return st.builds(Location, loc_uri=identifiers(), loc_name=st.none() | identifiers())


_TAGS = st.sampled_from(["MgmtTree", "Node", "NodeName", "Value", "wap-provisioningdoc", "a"])


@st.composite
def xml_data(draw: st.DrawFn) -> XmlData:
    """Well-formed XML content with at least one element (a TNDS-like fragment)."""
    parts: list[str] = []
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        tag = draw(_TAGS)
        text = draw(texts(12)).replace("&", "&amp;").replace("<", "&lt;")
        text = text.replace(">", "&gt;").replace("\r", "&#13;")
        xmlns = draw(st.sampled_from(["", ' xmlns="syncml:dmddf1.2"']))
        parts.append(f"<{tag}{xmlns}>{text}</{tag}>" if text else f"<{tag}{xmlns}/>")
    lead = draw(st.sampled_from(["", "\n  ", " "]))
    return XmlData(lead + "".join(parts))


def data_values(kind: str) -> st.SearchStrategy[str | bytes | XmlData]:
    """Item Data of one kind: ``"str"``, ``"bytes"`` (non-empty) or ``"xml"``."""
    if kind == "str":
        return texts()
    if kind == "bytes":
        return st.binary(min_size=1, max_size=40)
    if kind == "xml":
        return xml_data()
    raise ValueError(f"unknown data kind {kind!r}")


@st.composite
def items(draw: st.DrawFn, data_kinds: SequenceABC[str] = ("str",)) -> Item:
    """An :class:`Item`; bytes Data gets Item Meta Format ``bin``."""
    kind = draw(st.none() | st.sampled_from(tuple(data_kinds)))
    data = None if kind is None else draw(data_values(kind))
    meta = draw(metas("bin")) if kind == "bytes" else draw(st.none() | metas())
    return Item(
        target=draw(st.none() | locations()),
        source=draw(st.none() | locations()),
        meta=meta,
        data=data,
        more_data=draw(st.booleans()),
    )


_ITEM_COMMANDS = (Add, Replace, Delete, Copy, Get, Exec)


@st.composite
def _item_command(draw: st.DrawFn, data_kinds: SequenceABC[str]) -> Any:
    cls = draw(st.sampled_from(_ITEM_COMMANDS))
    fields: dict[str, Any] = {
        "cmd_id": draw(_CMD_IDS),
        "no_resp": draw(st.booleans()),
        "meta": draw(st.none() | metas()),
        "items": draw(st.lists(items(data_kinds), min_size=1, max_size=2)),
    }
    if cls is Exec:
        fields["correlator"] = draw(st.none() | identifiers())
    return cls(**fields)


@st.composite
def _alert(draw: st.DrawFn, data_kinds: SequenceABC[str]) -> Alert:
    return Alert(
        cmd_id=draw(_CMD_IDS),
        no_resp=draw(st.booleans()),
        code=draw(st.none() | st.integers(min_value=0, max_value=9999)),
        correlator=draw(st.none() | identifiers()),
        items=draw(st.lists(items(data_kinds), max_size=2)),
    )


@st.composite
def _status(draw: st.DrawFn, data_kinds: SequenceABC[str]) -> Status:
    chal = draw(st.none() | metas("b64").map(lambda m: Chal(meta=m)))
    return Status(
        cmd_id=draw(_CMD_IDS),
        msg_ref=draw(st.none() | identifiers()),
        cmd_ref=draw(identifiers()),
        cmd=draw(st.sampled_from(["SyncHdr", "Add", "Get", "Alert", "Replace", "Exec"])),
        code=draw(st.integers(min_value=0, max_value=9999)),
        target_refs=draw(st.lists(identifiers(), max_size=2)),
        source_refs=draw(st.lists(identifiers(), max_size=2)),
        chal=chal,
        items=draw(st.lists(items(data_kinds), max_size=2)),
    )


@st.composite
def _results(draw: st.DrawFn, data_kinds: SequenceABC[str]) -> Results:
    return Results(
        cmd_id=draw(_CMD_IDS),
        msg_ref=draw(st.none() | identifiers()),
        cmd_ref=draw(identifiers()),
        meta=draw(st.none() | metas()),
        target_ref=draw(st.none() | identifiers()),
        source_ref=draw(st.none() | identifiers()),
        items=draw(st.lists(items(data_kinds), min_size=1, max_size=2)),
    )


def _unsupported() -> st.SearchStrategy[UnsupportedCommand]:
    return st.builds(
        UnsupportedCommand,
        name=st.sampled_from(["Sync", "Map", "Put", "Search", "Move"]),
        cmd_id=_CMD_IDS,
    )


def commands(data_kinds: SequenceABC[str] = ("str",), max_depth: int = 2) -> st.SearchStrategy[Any]:
    """Any SyncBody command; Atomic/Sequence nest up to ``max_depth`` levels."""
    leaves = st.one_of(
        _item_command(data_kinds),
        _alert(data_kinds),
        _status(data_kinds),
        _results(data_kinds),
        _unsupported(),
    )
    if max_depth <= 0:
        return leaves

    @st.composite
    def container(draw: st.DrawFn) -> Atomic | Sequence:
        fields: dict[str, Any] = {
            "cmd_id": draw(_CMD_IDS),
            "no_resp": draw(st.booleans()),
            "meta": draw(st.none() | metas()),
            "commands": draw(st.lists(commands(data_kinds, max_depth - 1), max_size=2)),
        }
        return Atomic(**fields) if draw(st.booleans()) else Sequence(**fields)

    return st.one_of(leaves, container())


@st.composite
def headers(draw: st.DrawFn) -> SyncHdr:
    """A :class:`SyncHdr` (VerDTD 1.2 or 1.1)."""
    cred = draw(st.none() | st.builds(Cred, meta=st.none() | metas("b64"), data=identifiers()))
    return SyncHdr(
        ver_dtd=draw(st.sampled_from(["1.2", "1.1"])),
        ver_proto=draw(st.sampled_from(["DM/1.2", "DM/1.3", "DM/1.1"])),
        session_id=draw(identifiers(8)),
        msg_id=draw(st.integers(min_value=1, max_value=9999).map(str)),
        target=draw(locations()),
        source=draw(locations()),
        resp_uri=draw(st.none() | identifiers()),
        no_resp=draw(st.booleans()),
        cred=cred,
        meta=draw(st.none() | metas()),
    )


@st.composite
def messages(
    draw: st.DrawFn,
    data_kinds: SequenceABC[str] = ("str",),
    max_commands: int = 4,
    max_depth: int = 2,
) -> Message:
    """A whole valid :class:`Message`.

    Args:
        data_kinds: which Item Data kinds may appear (subset of :data:`DATA_KINDS`);
            ``"bytes"`` cannot be written as XML, ``"xml"`` does not survive WBXML.
        max_commands: most top-level commands.
        max_depth: deepest Atomic/Sequence nesting.
    """
    return Message(
        header=draw(headers()),
        commands=draw(st.lists(commands(data_kinds, max_depth), max_size=max_commands)),
        final=draw(st.booleans()),
    )
