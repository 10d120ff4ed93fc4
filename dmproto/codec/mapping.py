"""Message <-> element tree: :func:`message_to_element` writes the strict DTD form;
:func:`message_from_element` reads a tree through :mod:`.reading`, the one place that
reads SyncML structure (shared by the XML and the WBXML codec).

Encoding is strict: DTD element order (OMA-TS-DM_RepPro-V1_2_1 §4.1; OMA-TS-SyncML_RepPro-V1_2 DTD;
MetInf order OMA-TS-DM_RepPro-V1_2_1 §4.1.3), a code page on every element, root namespace
``SYNCML:SYNCML1.1`` when VerDTD is ``1.1``.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..limits import DEFAULT_LIMITS, Limits
from .element import CodePage, Element
from .model import (
    Alert,
    Atomic,
    Command,
    Exec,
    Item,
    Location,
    Message,
    Meta,
    Results,
    Sequence,
    Status,
    SyncHdr,
    UnsupportedCommand,
    XmlData,
)
from .reading import message_from_tree

__all__ = ["message_from_element", "message_to_element"]

#: The root namespace written for VerDTD 1.1 (DM 1.1.2, OMA-TS-DM_RepPro-V1_2_1 §4.1).
_SYNCML_11 = "SYNCML:SYNCML1.1"


def message_from_element(root: Element, *, limits: Limits = DEFAULT_LIMITS) -> Message:
    """Build a :class:`Message` from a decoded ``<SyncML>`` element tree
    (:func:`.reading.message_from_tree`, which holds the decoding rules).

    Raises:
        MalformedMessageError: a required element is missing or malformed, or a
            limit is exceeded; ``position`` is the element path.
    """
    return message_from_tree(root, limits=limits)


# --------------------------------------------------------------------------- encoding


def _leaf(name: str, text: str, page: CodePage = CodePage.SYNCML) -> Element:
    return Element(name, page, parts=[text] if text else [])


def _flag(children: list[Element], name: str, present: bool) -> None:
    if present:
        children.append(Element(name))


def _int_text(value: int) -> str:
    """The decimal digits of ``value``: status and alert codes are written as plain
    numbers (OMA-TS-DM_RepPro-V1_2_1 §6.6.2 Alert, §6.6.19 Status: Data carries the
    code). ``int()`` first, because ``str()`` of an IntEnum member is its name on
    Python 3.10 (``StatusCode.OK``) and its value only from 3.11 on.
    """
    return str(int(value))


def _text_of(value: object) -> str:
    """A Meta value as text; integers (and IntEnum members) as plain digits."""
    return _int_text(value) if isinstance(value, int) else str(value)


def _opt_leaf(children: list[Element], name: str, text: str | None) -> None:
    if text is not None:
        children.append(_leaf(name, text))


def _meta_element(meta: Meta) -> Element:
    """``<Meta>`` with MetInf children in OMA-TS-DM_RepPro-V1_2_1 §4.1.3 order, each on the METINF
    page."""
    fields: Iterable[tuple[str, object]] = (
        ("Format", meta.format),
        ("Type", meta.type),
        ("Mark", meta.mark),
        ("Size", meta.size),
        ("Version", meta.version),
        ("NextNonce", meta.next_nonce),
        ("MaxMsgSize", meta.max_msg_size),
        ("MaxObjSize", meta.max_obj_size),
        *(("EMI", emi) for emi in meta.emi),
    )
    return Element(
        "Meta",
        children=[
            _leaf(name, _text_of(value), CodePage.METINF)
            for name, value in fields
            if value is not None
        ],
    )


def _opt_meta_el(children: list[Element], meta: Meta | None) -> None:
    if meta is not None:
        children.append(_meta_element(meta))


def _location_element(name: str, location: Location) -> Element:
    children = [_leaf("LocURI", location.loc_uri)]
    _opt_leaf(children, "LocName", location.loc_name)
    return Element(name, children=children)


def _data_element(data: str | bytes | XmlData) -> Element:
    if isinstance(data, XmlData):
        return Element("Data", raw_xml=data.text)
    # bytes become a bytes part: WBXML writes OPAQUE, XML refuses (EncodeError).
    return Element("Data", parts=[data] if data or isinstance(data, bytes) else [])


def _item_element(item: Item) -> Element:
    """``Item (Target?, Source?, Meta?, Data?, MoreData?)``."""
    children: list[Element] = []
    if item.target is not None:
        children.append(_location_element("Target", item.target))
    if item.source is not None:
        children.append(_location_element("Source", item.source))
    _opt_meta_el(children, item.meta)
    if item.data is not None:
        children.append(_data_element(item.data))
    _flag(children, "MoreData", item.more_data)
    return Element("Item", children=children)


def _command_element(command: Command) -> Element:
    """One SyncBody command in DTD order (OMA-TS-DM_RepPro-V1_2_1 §4.1; OMA-TS-SyncML_RepPro-V1_2
    DTD table)."""
    children: list[Element] = []
    _opt_leaf(children, "CmdID", command.cmd_id)
    if isinstance(command, UnsupportedCommand):
        return Element(command.name, children=children)
    if isinstance(command, Status):
        _opt_leaf(children, "MsgRef", command.msg_ref)
        children.append(_leaf("CmdRef", command.cmd_ref))
        children.append(_leaf("Cmd", command.cmd))
        children.extend(_leaf("TargetRef", ref) for ref in command.target_refs)
        children.extend(_leaf("SourceRef", ref) for ref in command.source_refs)
        if command.chal is not None:
            children.append(Element("Chal", children=[_meta_element(command.chal.meta)]))
        children.append(_leaf("Data", _int_text(command.code)))
    elif isinstance(command, Results):
        _opt_leaf(children, "MsgRef", command.msg_ref)
        children.append(_leaf("CmdRef", command.cmd_ref))
        _opt_meta_el(children, command.meta)
        _opt_leaf(children, "TargetRef", command.target_ref)
        _opt_leaf(children, "SourceRef", command.source_ref)
    else:
        _flag(children, "NoResp", command.no_resp)
        if isinstance(command, Alert):
            _opt_leaf(children, "Data", None if command.code is None else _int_text(command.code))
            _opt_leaf(children, "Correlator", command.correlator)
        else:
            _opt_meta_el(children, command.meta)
            if isinstance(command, Exec):
                _opt_leaf(children, "Correlator", command.correlator)
            elif isinstance(command, (Atomic, Sequence)):
                children.extend(_command_element(c) for c in command.commands)
    if not isinstance(command, (Atomic, Sequence)):
        children.extend(_item_element(item) for item in command.items)
    return Element(command.name, children=children)


def _header_element(header: SyncHdr) -> Element:
    """``SyncHdr`` in DTD order (OMA-TS-DM_RepPro-V1_2_1 §4.1; OMA-TS-SyncML_RepPro-V1_2 DTD)."""
    children = [
        _leaf("VerDTD", header.ver_dtd),
        _leaf("VerProto", header.ver_proto),
        _leaf("SessionID", header.session_id),
        _leaf("MsgID", header.msg_id),
        _location_element("Target", header.target),
        _location_element("Source", header.source),
    ]
    _opt_leaf(children, "RespURI", header.resp_uri)
    _flag(children, "NoResp", header.no_resp)
    if header.cred is not None:
        cred_children: list[Element] = []
        _opt_meta_el(cred_children, header.cred.meta)
        cred_children.append(_leaf("Data", header.cred.data))
        children.append(Element("Cred", children=cred_children))
    _opt_meta_el(children, header.meta)
    return Element("SyncHdr", children=children)


def message_to_element(message: Message) -> Element:
    """The ``<SyncML>`` element tree of ``message``, in strict DTD order.

    Every element carries its code page (MetInf children on METINF); the root's
    namespace is ``SYNCML:SYNCML1.1`` when VerDTD is ``1.1`` (OMA-TS-DM_RepPro-V1_2_1 §4.1), else
    the page default ``SYNCML:SYNCML1.2``.
    """
    body = [_command_element(c) for c in message.commands]
    _flag(body, "Final", message.final)
    return Element(
        "SyncML",
        children=[_header_element(message.header), Element("SyncBody", children=body)],
        namespace=_SYNCML_11 if message.header.ver_dtd == "1.1" else None,
    )
