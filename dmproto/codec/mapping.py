"""Message <-> element tree: :func:`message_to_element` writes the strict DTD form;
:func:`message_from_element` reads a tree through :mod:`.reading`, the one place that
reads SyncML structure (shared by the XML and the WBXML codec).

Encoding is strict: DTD element order (OMA-TS-DM_RepPro-V1_2_1 §4.1; OMA-TS-SyncML_RepPro-V1_2 DTD;
MetInf order OMA-TS-DM_RepPro-V1_2_1 §4.1.3), a code page on every element, root namespace
``SYNCML:SYNCML1.1`` when VerDTD is ``1.1``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

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

__all__ = [
    "Emitter",
    "message_from_element",
    "message_to_element",
    "root_namespace",
    "write_message",
]

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


class Emitter(Protocol):
    """Where :func:`write_message` sends a message, element by element, in DTD order.

    Containers are on the SyncML page and may turn out empty (``<Meta/>``); leaves carry
    their text (``""`` for none; ``bytes`` is binary Data). Three emitters exist: the element
    tree (:func:`message_to_element`), and the direct XML and WBXML writers of :mod:`.writers`.
    """

    def open(self, name: str) -> None: ...

    def close(self, name: str) -> None: ...

    def leaf(self, name: str, text: str | bytes) -> None: ...

    def metinf(self, name: str, text: str) -> None: ...

    def raw(self, name: str, xml_text: str) -> None: ...


def _int_text(value: int) -> str:
    """The decimal digits of ``value``: status and alert codes are written as plain
    numbers (OMA-TS-DM_RepPro-V1_2_1 §4.1.6, Alert and Status: Data carries the
    code). ``int()`` first, because ``str()`` of an IntEnum member is its name on
    Python 3.10 (``StatusCode.OK``) and its value only from 3.11 on.
    """
    return str(int(value))


def _text_of(value: object) -> str:
    """A Meta value as text; integers (and IntEnum members) as plain digits."""
    return _int_text(value) if isinstance(value, int) else str(value)


def _meta(out: Emitter, meta: Meta) -> None:
    """``<Meta>`` with MetInf children in OMA-TS-DM_RepPro-V1_2_1 §4.1.3 order, each on the
    METINF page."""
    out.open("Meta")
    fields: Iterable[tuple[str, object]] = (
        ("Format", meta.format),
        ("Type", meta.type),
        ("Mark", meta.mark),
        ("Size", meta.size),
        ("Version", meta.version),
        ("NextNonce", meta.next_nonce),
        ("MaxMsgSize", meta.max_msg_size),
        ("MaxObjSize", meta.max_obj_size),
    )
    for name, value in fields:
        if value is not None:
            out.metinf(name, _text_of(value))
    for emi in meta.emi:
        out.metinf("EMI", emi)
    out.close("Meta")


def _location(out: Emitter, name: str, location: Location) -> None:
    out.open(name)
    out.leaf("LocURI", location.loc_uri)
    if location.loc_name is not None:
        out.leaf("LocName", location.loc_name)
    out.close(name)


def _item(out: Emitter, item: Item) -> None:
    """``Item (Target?, Source?, Meta?, Data?, MoreData?)``."""
    out.open("Item")
    if item.target is not None:
        _location(out, "Target", item.target)
    if item.source is not None:
        _location(out, "Source", item.source)
    if item.meta is not None:
        _meta(out, item.meta)
    data = item.data
    if isinstance(data, XmlData):
        out.raw("Data", data.text)
    elif data is not None:
        # bytes stay bytes: WBXML writes OPAQUE, XML refuses (EncodeError).
        out.leaf("Data", data)
    if item.more_data:
        out.leaf("MoreData", "")
    out.close("Item")


def _command(out: Emitter, command: Command) -> None:
    """One SyncBody command in DTD order (OMA-TS-DM_RepPro-V1_2_1 §4.1; OMA-TS-SyncML_RepPro-V1_2
    DTD table)."""
    leaf = out.leaf
    name = command.name
    out.open(name)
    if command.cmd_id is not None:
        leaf("CmdID", command.cmd_id)
    if isinstance(command, UnsupportedCommand):
        out.close(name)
        return
    if isinstance(command, Status):
        if command.msg_ref is not None:
            leaf("MsgRef", command.msg_ref)
        leaf("CmdRef", command.cmd_ref)
        leaf("Cmd", command.cmd)
        for ref in command.target_refs:
            leaf("TargetRef", ref)
        for ref in command.source_refs:
            leaf("SourceRef", ref)
        if command.chal is not None:
            out.open("Chal")
            _meta(out, command.chal.meta)
            out.close("Chal")
        leaf("Data", _int_text(command.code))
    elif isinstance(command, Results):
        if command.msg_ref is not None:
            leaf("MsgRef", command.msg_ref)
        leaf("CmdRef", command.cmd_ref)
        if command.meta is not None:
            _meta(out, command.meta)
        if command.target_ref is not None:
            leaf("TargetRef", command.target_ref)
        if command.source_ref is not None:
            leaf("SourceRef", command.source_ref)
    else:
        if command.no_resp:
            leaf("NoResp", "")
        if isinstance(command, Alert):
            if command.code is not None:
                leaf("Data", _int_text(command.code))
            if command.correlator is not None:
                leaf("Correlator", command.correlator)
        else:
            if command.meta is not None:
                _meta(out, command.meta)
            if isinstance(command, Exec):
                if command.correlator is not None:
                    leaf("Correlator", command.correlator)
            elif isinstance(command, (Atomic, Sequence)):
                for child in command.commands:
                    _command(out, child)
    if not isinstance(command, (Atomic, Sequence)):
        for item in command.items:
            _item(out, item)
    out.close(name)


def _header(out: Emitter, header: SyncHdr) -> None:
    """``SyncHdr`` in DTD order (OMA-TS-DM_RepPro-V1_2_1 §4.1; OMA-TS-SyncML_RepPro-V1_2 DTD)."""
    leaf = out.leaf
    out.open("SyncHdr")
    leaf("VerDTD", header.ver_dtd)
    leaf("VerProto", header.ver_proto)
    leaf("SessionID", header.session_id)
    leaf("MsgID", header.msg_id)
    _location(out, "Target", header.target)
    _location(out, "Source", header.source)
    if header.resp_uri is not None:
        leaf("RespURI", header.resp_uri)
    if header.no_resp:
        leaf("NoResp", "")
    if header.cred is not None:
        out.open("Cred")
        if header.cred.meta is not None:
            _meta(out, header.cred.meta)
        leaf("Data", header.cred.data)
        out.close("Cred")
    if header.meta is not None:
        _meta(out, header.meta)
    out.close("SyncHdr")


def root_namespace(message: Message) -> str | None:
    """The root's namespace when it is not the page default: ``SYNCML:SYNCML1.1`` when
    VerDTD is ``1.1`` (OMA-TS-DM_RepPro-V1_2_1 §4.1)."""
    return _SYNCML_11 if message.header.ver_dtd == "1.1" else None


def write_message(message: Message, out: Emitter) -> None:
    """Send ``message`` to ``out`` in strict DTD order, below the ``<SyncML>`` root (which
    the emitter writes itself: see :func:`root_namespace`)."""
    _header(out, message.header)
    out.open("SyncBody")
    for command in message.commands:
        _command(out, command)
    if message.final:
        out.leaf("Final", "")
    out.close("SyncBody")


class _TreeEmitter:
    """Builds the :class:`Element` tree (for documents that need one: CLI, WBXML options)."""

    def __init__(self, root: Element) -> None:
        self.stack = [root]

    def open(self, name: str) -> None:
        element = Element(name)
        self.stack[-1].children.append(element)
        self.stack.append(element)

    def close(self, name: str) -> None:
        self.stack.pop()

    def leaf(self, name: str, text: str | bytes) -> None:
        parts: list[str | bytes] = [text] if text or isinstance(text, bytes) else []
        self.stack[-1].children.append(Element(name, parts=parts))

    def metinf(self, name: str, text: str) -> None:
        self.stack[-1].children.append(Element(name, CodePage.METINF, parts=[text] if text else []))

    def raw(self, name: str, xml_text: str) -> None:
        self.stack[-1].children.append(Element(name, raw_xml=xml_text))


def message_to_element(message: Message) -> Element:
    """The ``<SyncML>`` element tree of ``message``, in strict DTD order.

    Every element carries its code page (MetInf children on METINF); the root's
    namespace is ``SYNCML:SYNCML1.1`` when VerDTD is ``1.1`` (OMA-TS-DM_RepPro-V1_2_1 §4.1), else
    the page default ``SYNCML:SYNCML1.2``.
    """
    root = Element("SyncML", namespace=root_namespace(message))
    write_message(message, _TreeEmitter(root))
    return root
