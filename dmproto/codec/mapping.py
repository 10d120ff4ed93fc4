"""Element tree <-> :class:`~dmproto.codec.model.Message`: the one place that knows
SyncML structure, shared by the XML and the WBXML codec.

Decoding is lenient, as the field requires (docs/conformance.md#tolerances, the corpus):

* children may come in any order inside a parent (Alert's Correlator before or after
  its Data, OMA-TS-DM_RepPro-V1_2_1 §4.1; OMA-TS-SyncML_RepPro-V1_2 DTD); they are looked up by
  local name, whatever their namespace (MetInf children with or without ``syncml:metinf``);
* white space around PCDATA values is stripped, but never inside Item ``<Data>``;
* unknown and DS-only elements (Archive, SftDel, Lang, command-level Cred, Anchor,
  Mem, SourceParent, ...) are ignored; the SyncML commands DM does not use (Sync,
  Map, Put, Search, Move) decode to :class:`UnsupportedCommand`;
* a missing CmdID decodes to ``cmd_id=None`` (a session answers it with 400).

Encoding is strict: DTD element order (OMA-TS-DM_RepPro-V1_2_1 §4.1; OMA-TS-SyncML_RepPro-V1_2 DTD;
MetInf order OMA-TS-DM_RepPro-V1_2_1 §4.1.3), a code page on every element, root namespace
``SYNCML:SYNCML1.1`` when VerDTD is ``1.1``.

Data values (model docstring): all-text content is ``str``; content with WBXML
OPAQUE runs is ``bytes`` when the effective Meta Format (Item Meta, else command
Meta) is ``bin`` or the effective Meta Type ends with ``+wbxml``, else UTF-8 text if
it decodes, else ``bytes``; element markup is :class:`XmlData`.

Reasons raised (:class:`~dmproto.errors.MalformedMessageError`, position = element
path such as ``SyncML/SyncBody/Status[3]/Data``): ``message.root``,
``message.missing``, ``message.integer``, ``message.encoding``,
``limit.commands``, ``limit.items``, ``limit.data-size``, ``limit.depth``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from ..errors import EncodeError, MalformedMessageError
from ..limits import DEFAULT_LIMITS, Limits
from .element import CodePage, Element
from .model import (
    Add,
    Alert,
    Atomic,
    Chal,
    Command,
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
from .xml import serialize_xml

__all__ = ["message_from_element", "message_to_element"]

# OMA-TS-DM_RepPro-V1_2_1 §4.1; OMA-TS-SyncML_RepPro-V1_2 DTD: SyncBody commands that are SyncML
# but not DM ("not used in DM").
UNSUPPORTED_COMMANDS = frozenset({"Sync", "Map", "Put", "Search", "Move"})

_ITEM_COMMANDS: dict[str, Callable[..., Command]] = {
    cls.name: cls for cls in (Add, Replace, Delete, Copy, Get, Exec)
}

_DIGITS = re.compile(r"[+-]?[0-9]{1,18}")

#: The root namespace written for VerDTD 1.1 (DM 1.1.2, OMA-TS-DM_RepPro-V1_2_1 §4.1).
_SYNCML_11 = "SYNCML:SYNCML1.1"


# --------------------------------------------------------------------------- decoding


def _index(element: Element) -> dict[str, list[Element]]:
    """Children by local name, in document order (lenient about order and page)."""
    found: dict[str, list[Element]] = {}
    for child in element.children:
        same = found.get(child.name)
        if same is None:
            found[child.name] = [child]
        else:
            same.append(child)
    return found


def _missing(path: str, name: str) -> MalformedMessageError:
    return MalformedMessageError(
        "message.missing", f"required element {name} is missing", position=f"{path}/{name}"
    )


def _text(element: Element, path: str) -> str:
    """PCDATA of a non-Data element, stripped; OPAQUE runs must be UTF-8."""
    parts = element.parts
    if len(parts) == 1 and isinstance(parts[0], str):
        return parts[0].strip()
    chunks: list[str] = []
    for part in parts:
        if isinstance(part, bytes):
            try:
                chunks.append(part.decode("utf-8"))
            except UnicodeDecodeError:
                raise MalformedMessageError(
                    "message.encoding",
                    f"{element.name} is not valid UTF-8",
                    position=f"{path}/{element.name}",
                ) from None
        else:
            chunks.append(part)
    return "".join(chunks).strip()


def _opt_text(index: dict[str, list[Element]], name: str, path: str) -> str | None:
    found = index.get(name)
    return None if found is None else _text(found[0], path)


def _req_text(index: dict[str, list[Element]], name: str, path: str) -> str:
    found = index.get(name)
    if found is None:
        raise _missing(path, name)
    return _text(found[0], path)


def _int(element: Element, path: str) -> int:
    text = _text(element, path)
    if _DIGITS.fullmatch(text) is None:
        raise MalformedMessageError(
            "message.integer",
            f"{element.name} is not an integer",
            position=f"{path}/{element.name}",
            status_hint=400,
        )
    return int(text)


def _opt_int(index: dict[str, list[Element]], name: str, path: str) -> int | None:
    found = index.get(name)
    return None if found is None else _int(found[0], path)


#: MetInf children read into Meta (OMA-TS-DM_RepPro-V1_2_1 §4.1.3): element name -> (field, is
#: integer).
_METINF_FIELDS: dict[str, tuple[str, bool]] = {
    "Format": ("format", False),
    "Type": ("type", False),
    "Mark": ("mark", False),
    "Size": ("size", True),
    "Version": ("version", False),
    "NextNonce": ("next_nonce", False),
    "MaxMsgSize": ("max_msg_size", True),
    "MaxObjSize": ("max_obj_size", True),
}


def _meta(element: Element, path: str) -> Meta:
    """MetInf content of ``<Meta>`` (OMA-TS-DM_RepPro-V1_2_1 §4.1.3); DS-only MetInf is ignored.

    One pass over the children; the first occurrence of a field wins.
    """
    path = f"{path}/Meta"
    children = element.children
    for child in children:
        if child.name == "MetInf":  # tolerate a MetInf wrapper element
            children = child.children
            path = f"{path}/MetInf"
            break
    fields: dict[str, object] = {}
    emi: list[str] = []
    for child in children:
        name = child.name
        spec = _METINF_FIELDS.get(name)
        if spec is not None:
            field, integer = spec
            if field not in fields:
                fields[field] = _int(child, path) if integer else _text(child, path)
        elif name == "EMI":
            emi.append(_text(child, path))
    return Meta(emi=emi, **fields)  # type: ignore[arg-type]


def _opt_meta(index: dict[str, list[Element]], path: str) -> Meta | None:
    found = index.get("Meta")
    return None if found is None else _meta(found[0], path)


def _location_of(element: Element, path: str) -> Location:
    """``(LocURI, LocName?)`` in any order, one pass; ``path`` names the element."""
    loc_uri = loc_name = None
    for child in element.children:
        if child.name == "LocURI":
            if loc_uri is None:
                loc_uri = _text(child, path)
        elif child.name == "LocName" and loc_name is None:
            loc_name = _text(child, path)
    if loc_uri is None:
        raise _missing(path, "LocURI")
    return Location(loc_uri=loc_uri, loc_name=loc_name)


def _req_location(index: dict[str, list[Element]], name: str, path: str) -> Location:
    found = index.get(name)
    if found is None:
        raise _missing(path, name)
    return _location_of(found[0], f"{path}/{name}")


class _Decoder:
    """One message's decoding state: limits and the running command count."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.commands = 0

    def data_value(
        self, element: Element, path: str, format_: str | None, type_: str | None
    ) -> str | bytes | XmlData:
        """An Item ``<Data>`` value (module docstring rules); never stripped."""
        path = f"{path}/Data"
        limit = self.limits.max_data_size
        if element.raw_xml is not None:
            value: str | bytes | XmlData = XmlData(element.raw_xml)
            size = len(element.raw_xml)
        elif element.children:
            # WBXML inline markup: rebuild the XML text of the children.
            try:
                text = "".join(serialize_xml(c).decode("utf-8") for c in element.children)
            except EncodeError as exc:
                raise MalformedMessageError(
                    "message.encoding",
                    f"Data markup cannot be read: {exc.detail}",
                    position=path,
                ) from None
            value, size = XmlData(text), len(text)
        elif all(isinstance(p, str) for p in element.parts):
            text = "".join(element.parts)  # type: ignore[arg-type]  # all str
            value, size = text, len(text)
            if 4 * size > limit:  # exact byte count only when it could matter
                size = len(text.encode("utf-8", "surrogatepass"))
        else:
            raw = b"".join(p if isinstance(p, bytes) else p.encode("utf-8") for p in element.parts)
            size = len(raw)
            # WAP-192-WBXML; OMA-TS-DM_TND-V1_2 §8.3.7.2: Format bin means raw bytes;
            # an embedded +wbxml document is bytes; other OPAQUE runs are text when UTF-8.
            if format_ == "bin" or (type_ is not None and type_.endswith("+wbxml")):
                value = raw
            else:
                try:
                    value = raw.decode("utf-8")
                except UnicodeDecodeError:
                    value = raw
        if size > limit:
            raise MalformedMessageError(
                "limit.data-size",
                f"Data of {size} bytes exceeds max_data_size {limit}",
                position=path,
                status_hint=413,
            )
        return value

    def item(self, element: Element, path: str, command_meta: Meta | None) -> Item:
        """``Item (Target?, Source?, Meta?, Data?, MoreData?)``, any order, one pass."""
        target = source = meta_el = data_el = None
        more_data = False
        for child in element.children:
            name = child.name
            if name == "Data":
                data_el = data_el or child
            elif name == "Target":
                target = target or child
            elif name == "Source":
                source = source or child
            elif name == "Meta":
                meta_el = meta_el or child
            elif name == "MoreData":
                more_data = True
        meta = None if meta_el is None else _meta(meta_el, path)
        data: str | bytes | XmlData | None = None
        if data_el is not None:
            # WAP-192-WBXML; OMA-TS-DM_TND-V1_2 §8.3.7.2: the effective Meta is the Item's, else
            # the command's.
            format_ = meta.format if meta is not None else None
            type_ = meta.type if meta is not None else None
            if command_meta is not None:
                format_ = format_ if format_ is not None else command_meta.format
                type_ = type_ if type_ is not None else command_meta.type
            data = self.data_value(data_el, path, format_, type_)
        return Item(
            target=None if target is None else _location_of(target, f"{path}/Target"),
            source=None if source is None else _location_of(source, f"{path}/Source"),
            meta=meta,
            data=data,
            more_data=more_data,
        )

    def items(self, found: list[Element], path: str, command_meta: Meta | None) -> tuple[Item, ...]:
        """The command's ``Item`` elements, within ``max_items_per_command``."""
        if len(found) > self.limits.max_items_per_command:
            raise MalformedMessageError(
                "limit.items",
                f"more than {self.limits.max_items_per_command} Items in one command",
                position=path,
                status_hint=413,
            )
        item = self.item
        return tuple([item(e, f"{path}/Item[{n}]", command_meta) for n, e in enumerate(found, 1)])

    def commands_of(self, element: Element, path: str) -> list[Command]:
        """The commands among ``element``'s children, in document order."""
        seen: dict[str, int] = {}
        result: list[Command] = []
        for child in element.children:
            name = child.name
            if name not in _DECODERS and name not in UNSUPPORTED_COMMANDS:
                continue  # unknown or DS-only element: ignored (docs/conformance.md#tolerances)
            self.commands += 1
            if self.commands > self.limits.max_commands:
                raise MalformedMessageError(
                    "limit.commands",
                    f"more than {self.limits.max_commands} commands in one message",
                    position=f"{path}/{name}",
                    status_hint=413,
                )
            seen[name] = seen.get(name, 0) + 1
            child_path = f"{path}/{name}[{seen[name]}]"
            decode = _DECODERS.get(name)
            if decode is None:
                index = _index(child)
                result.append(
                    UnsupportedCommand(name=name, cmd_id=_opt_text(index, "CmdID", child_path))
                )
            else:
                result.append(decode(self, child, child_path))
        return result

    def item_command(self, element: Element, path: str) -> Command:
        """``(CmdID, NoResp?, Meta?, [Correlator?,] Item+)``: Add ... Exec; one pass."""
        cmd_id = meta_el = correlator = None
        no_resp = False
        found: list[Element] = []
        for child in element.children:
            name = child.name
            if name == "Item":
                found.append(child)
            elif name == "CmdID":
                cmd_id = cmd_id or child
            elif name == "Meta":
                meta_el = meta_el or child
            elif name == "NoResp":
                no_resp = True
            elif name == "Correlator":
                correlator = correlator or child
        meta = None if meta_el is None else _meta(meta_el, path)
        fields: dict[str, Any] = {
            "cmd_id": None if cmd_id is None else _text(cmd_id, path),
            "no_resp": no_resp,
            "meta": meta,
            "items": self.items(found, path, meta),
        }
        if element.name == "Exec":
            fields["correlator"] = None if correlator is None else _text(correlator, path)
        return _ITEM_COMMANDS[element.name](**fields)

    def alert(self, element: Element, path: str) -> Command:
        """``(CmdID, NoResp?, Data?, Correlator?, Item*)`` — any order
        (OMA-TS-DM_RepPro-V1_2_1 §4.1; OMA-TS-SyncML_RepPro-V1_2 DTD)."""
        index = _index(element)
        return Alert(
            cmd_id=_opt_text(index, "CmdID", path),
            no_resp="NoResp" in index,
            code=_opt_int(index, "Data", path),
            correlator=_opt_text(index, "Correlator", path),
            items=self.items(index.get("Item", []), path, None),
        )

    def container(self, element: Element, path: str) -> Command:
        """Atomic / Sequence: ``(CmdID, NoResp?, Meta?, commands+)``."""
        index = _index(element)
        cls = Atomic if element.name == "Atomic" else Sequence
        return cls(
            cmd_id=_opt_text(index, "CmdID", path),
            no_resp="NoResp" in index,
            meta=_opt_meta(index, path),
            commands=self.commands_of(element, path),
        )

    def status(self, element: Element, path: str) -> Command:
        """``(CmdID, MsgRef, CmdRef, Cmd, TargetRef*, SourceRef*, Chal?, Data, Item*)``."""
        index = _index(element)
        data = index.get("Data")
        if data is None:
            raise _missing(path, "Data")
        chal = index.get("Chal")
        chal_meta = None if chal is None else _opt_meta(_index(chal[0]), f"{path}/Chal")
        return Status(
            cmd_id=_opt_text(index, "CmdID", path),
            msg_ref=_opt_text(index, "MsgRef", path),
            cmd_ref=_req_text(index, "CmdRef", path),
            cmd=_req_text(index, "Cmd", path),
            code=_int(data[0], path),
            target_refs=(_text(e, path) for e in index.get("TargetRef", ())),
            source_refs=(_text(e, path) for e in index.get("SourceRef", ())),
            chal=None if chal is None else Chal(meta=chal_meta or Meta()),
            items=self.items(index.get("Item", []), path, None),
        )

    def results(self, element: Element, path: str) -> Command:
        """``(CmdID, MsgRef?, CmdRef, Meta?, TargetRef?, SourceRef?, Item+)``."""
        index = _index(element)
        meta = _opt_meta(index, path)
        return Results(
            cmd_id=_opt_text(index, "CmdID", path),
            msg_ref=_opt_text(index, "MsgRef", path),
            cmd_ref=_req_text(index, "CmdRef", path),
            meta=meta,
            target_ref=_opt_text(index, "TargetRef", path),
            source_ref=_opt_text(index, "SourceRef", path),
            items=self.items(index.get("Item", []), path, meta),
        )

    def header(self, element: Element, path: str) -> SyncHdr:
        """``(VerDTD, VerProto, SessionID, MsgID, Target, Source, RespURI?, NoResp?,
        Cred?, Meta?)``."""
        index = _index(element)
        cred_el = index.get("Cred")
        cred = None
        if cred_el is not None:
            cred_path = f"{path}/Cred"
            cred_index = _index(cred_el[0])
            cred = Cred(
                meta=_opt_meta(cred_index, cred_path),
                data=_req_text(cred_index, "Data", cred_path),
            )
        return SyncHdr(
            ver_dtd=_opt_text(index, "VerDTD", path) or "1.2",
            ver_proto=_req_text(index, "VerProto", path),
            session_id=_req_text(index, "SessionID", path),
            msg_id=_req_text(index, "MsgID", path),
            target=_req_location(index, "Target", path),
            source=_req_location(index, "Source", path),
            resp_uri=_opt_text(index, "RespURI", path),
            no_resp="NoResp" in index,
            cred=cred,
            meta=_opt_meta(index, path),
        )


_DECODERS: dict[str, Callable[[_Decoder, Element, str], Command]] = {
    **{name: _Decoder.item_command for name in _ITEM_COMMANDS},
    "Alert": _Decoder.alert,
    "Atomic": _Decoder.container,
    "Sequence": _Decoder.container,
    "Status": _Decoder.status,
    "Results": _Decoder.results,
}


def message_from_element(root: Element, *, limits: Limits = DEFAULT_LIMITS) -> Message:
    """Build a :class:`Message` from a decoded ``<SyncML>`` element tree.

    Raises:
        MalformedMessageError: a required element is missing or malformed, or a
            limit is exceeded (reasons in the module docstring); ``position`` is
            the element path.
    """
    if root.name != "SyncML":
        raise MalformedMessageError(
            "message.root", f"root element is {root.name!r}, not SyncML", position=root.name
        )
    index = _index(root)
    header = index.get("SyncHdr")
    if header is None:
        raise _missing("SyncML", "SyncHdr")
    body = index.get("SyncBody")
    if body is None:
        raise _missing("SyncML", "SyncBody")
    decoder = _Decoder(limits)
    try:
        commands = decoder.commands_of(body[0], "SyncML/SyncBody")
    except RecursionError:
        # Only reachable with a Limits.max_depth far above the default 64.
        raise MalformedMessageError(
            "limit.depth", "commands nested too deeply", position="SyncML/SyncBody"
        ) from None
    return Message(
        header=decoder.header(header[0], "SyncML/SyncHdr"),
        commands=commands,
        final=any(c.name == "Final" for c in body[0].children),
    )


# --------------------------------------------------------------------------- encoding


def _leaf(name: str, text: str, page: CodePage = CodePage.SYNCML) -> Element:
    return Element(name, page, parts=[text] if text else [])


def _flag(children: list[Element], name: str, present: bool) -> None:
    if present:
        children.append(Element(name))


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
