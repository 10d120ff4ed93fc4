"""Element tree -> :class:`~dmproto.codec.model.Message`: the one place that reads SyncML
structure, for both encodings.

One pass over a tree builds the model directly. The tree is either the codec's own
:class:`~dmproto.codec.element.Element` tree (WBXML, and XML read with byte positions) or
an ``xml.etree`` tree built by expat and the C tree builder (:mod:`.fastxml`, the hot path
for XML). Both offer the same small :class:`Node` surface, so the structure below exists
once and the encodings cannot drift.

Decoding is lenient, as the field requires (docs/conformance.md#tolerances, the corpus):

* children may come in any order inside a parent (Alert's Correlator before or after
  its Data, OMA-TS-DM_RepPro-V1_2_1 §4.1; OMA-TS-SyncML_RepPro-V1_2 DTD); they are looked up by
  local name, whatever their namespace (MetInf children with or without ``syncml:metinf``);
* white space around PCDATA values is stripped, but never inside Item ``<Data>``;
* unknown and DS-only elements (Archive, SftDel, Lang, command-level Cred, Anchor,
  Mem, SourceParent, ...) are ignored; the SyncML commands DM does not use (Sync,
  Map, Put, Search, Move) decode to :class:`UnsupportedCommand`;
* a missing CmdID decodes to ``cmd_id=None`` (a session answers it with 400).

Data values (model docstring): all-text content is ``str``; content with WBXML
OPAQUE runs is ``bytes`` when the effective Meta Format (Item Meta, else command
Meta) is ``bin`` or the effective Meta Type ends with ``+wbxml``, else UTF-8 text if
it decodes, else ``bytes``; element markup is :class:`XmlData`.

Reasons raised (:class:`~dmproto.errors.MalformedMessageError`, position = element
path such as ``SyncML/SyncBody/Status[3]/Data``): ``message.root``,
``message.missing``, ``message.integer``, ``message.encoding``,
``limit.commands``, ``limit.items``, ``limit.data-size``, ``limit.depth``.

On an ``xml.etree`` tree, whatever only the positioned tree can read exactly (markup
inside ``<Data>``, text split around child elements, nesting near ``max_depth``) raises
:class:`Irregular` instead, and the caller reads the message the positioned way.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Protocol

from ..errors import EncodeError, MalformedMessageError
from ..limits import DEFAULT_LIMITS, Limits
from .element import NAMESPACE_PAGES, PAGE_NAMESPACES, CodePage, Element
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
    trusted,
)
from .tokens import TAG_TOKENS
from .xml import serialize_xml

__all__ = ["UNSUPPORTED_COMMANDS", "Irregular", "Node", "header_from_tree", "message_from_tree"]


class Node(Protocol):
    """What the reader needs of a tree node (``xml.etree`` elements and :class:`Element`).

    ``tag`` is the local name, or expat's ``namespace}local``; ``text`` is the character
    content: ``None`` (none), a ``str``, or (codec elements with WBXML OPAQUE runs only)
    the list of ``str``/``bytes`` runs.
    """

    @property
    def tag(self) -> str: ...

    @property
    def text(self) -> str | list[str | bytes] | None: ...

    def __iter__(self) -> Iterator[Node]: ...

    def __len__(self) -> int: ...


class Irregular(Exception):
    """Internal: this ``xml.etree`` tree needs the positioned reading (see module doc)."""


# OMA-TS-DM_RepPro-V1_2_1 §4.1; OMA-TS-SyncML_RepPro-V1_2 DTD: SyncBody commands that are SyncML
# but not DM ("not used in DM").
UNSUPPORTED_COMMANDS = frozenset({"Sync", "Map", "Put", "Search", "Move"})

_LOCATION_FIELDS = frozenset({"LocURI", "LocName"})

# Trusted constructors (model.trusted): every field given, sequences already tuples.
_LOCATION = trusted(Location)
_ITEM = trusted(Item)
_EXEC = trusted(Exec)
_ITEM_MAKERS: dict[str, Callable[..., Command]] = {
    cls.name: trusted(cls) for cls in (Add, Replace, Delete, Copy, Get)
}
_ALERT = trusted(Alert)
_ATOMIC = trusted(Atomic)
_SEQUENCE = trusted(Sequence)
_STATUS = trusted(Status)
_RESULTS = trusted(Results)
_SYNCHDR = trusted(SyncHdr)
_MESSAGE = trusted(Message)

_DIGITS = re.compile(r"[+-]?[0-9]{1,18}")

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


class _LocalNames(dict[str, str]):
    """expat ``namespace}local`` and bare names of the DM tags -> local name; any other tag
    is resolved on lookup and not kept (a hostile document cannot grow the table)."""

    def __init__(self) -> None:
        super().__init__()
        uris = {*PAGE_NAMESPACES.values(), *NAMESPACE_PAGES}
        for page in (CodePage.SYNCML, CodePage.METINF):
            for name in TAG_TOKENS[page]:
                self[name] = name
                for uri in uris:
                    self[f"{uri}}}{name}"] = name

    def __missing__(self, tag: str) -> str:
        return tag.rpartition("}")[2]


#: ``_LOCAL[tag]`` is the local name of a tag (a subscript: the hot path of the reader).
_LOCAL = _LocalNames()


def _missing(path: str, name: str) -> MalformedMessageError:
    return MalformedMessageError(
        "message.missing", f"required element {name} is missing", position=f"{path}/{name}"
    )


def _index(node: Node) -> dict[str, list[Node]]:
    """Children by local name, in document order (lenient about order and page)."""
    found: dict[str, list[Node]] = {}
    for child in node:
        name = _LOCAL[child.tag]
        same = found.get(name)
        if same is None:
            found[name] = [child]
        else:
            same.append(child)
    return found


class _Reader:
    """One message's reading state: limits, the running command count, the tree kind."""

    def __init__(self, limits: Limits, *, positioned: bool) -> None:
        self.limits = limits
        self.commands = 0
        self.metas: dict[tuple[tuple[str, object, int], ...], Meta] = {}
        #: True for codec Element trees; False for xml.etree trees (see Irregular).
        self.positioned = positioned

    # -- leaves --------------------------------------------------------------

    def text(self, node: Node, path: str) -> str:
        """PCDATA of a non-Data element, stripped; OPAQUE runs must be UTF-8."""
        value = node.text
        if not self.positioned and len(node):
            raise Irregular  # text split around child elements
        if isinstance(value, str):
            return value.strip()
        if value is None:
            return ""
        chunks: list[str] = []
        for part in value:
            if isinstance(part, bytes):
                try:
                    chunks.append(part.decode("utf-8"))
                except UnicodeDecodeError:
                    raise MalformedMessageError(
                        "message.encoding",
                        f"{_LOCAL[node.tag]} is not valid UTF-8",
                        position=f"{path}/{_LOCAL[node.tag]}",
                    ) from None
            else:
                chunks.append(part)
        return "".join(chunks).strip()

    def opt_text(self, index: dict[str, list[Node]], name: str, path: str) -> str | None:
        found = index.get(name)
        return None if found is None else self.text(found[0], path)

    def req_text(self, index: dict[str, list[Node]], name: str, path: str) -> str:
        found = index.get(name)
        if found is None:
            raise _missing(path, name)
        return self.text(found[0], path)

    def integer(self, node: Node, path: str) -> int:
        text = self.text(node, path)
        if _DIGITS.fullmatch(text) is None:
            raise MalformedMessageError(
                "message.integer",
                f"{_LOCAL[node.tag]} is not an integer",
                position=f"{path}/{_LOCAL[node.tag]}",
                status_hint=400,
            )
        return int(text)

    # -- Meta, Location, Item --------------------------------------------------

    def meta(self, node: Node, path: str) -> Meta:
        """MetInf content of ``<Meta>`` (OMA-TS-DM_RepPro-V1_2_1 §4.1.3); DS-only MetInf is
        ignored. The first occurrence of a field wins.

        A message repeats the same few Meta: each distinct one is read once, keyed by its
        children's tags and texts when all are leaves (a frozen value: sharing is invisible).
        """
        children = list(node)
        key = tuple([(c.tag, c.text, len(c)) for c in children])
        try:
            meta = self.metas.get(key)
        except TypeError:  # a text with OPAQUE runs is a list: read without the cache
            return self._meta(children, path)
        if meta is None:
            meta = self._meta(children, path)
            if not any(leaf[2] for leaf in key):  # grandchildren are not in the key
                self.metas[key] = meta
        return meta

    def _meta(self, children: list[Node], path: str) -> Meta:
        path = f"{path}/Meta"
        names = [_LOCAL[c.tag] for c in children]
        if "MetInf" in names:  # tolerate a MetInf wrapper element
            children = list(children[names.index("MetInf")])
            names = [_LOCAL[c.tag] for c in children]
            path = f"{path}/MetInf"
        fields: dict[str, object] = {}
        emi: list[str] = []
        for name, child in zip(names, children, strict=True):
            spec = _METINF_FIELDS.get(name)
            if spec is not None:
                field, integer = spec
                if field not in fields:
                    fields[field] = self.integer(child, path) if integer else self.text(child, path)
            elif name == "EMI":
                emi.append(self.text(child, path))
        return Meta(emi=emi, **fields)  # type: ignore[arg-type]

    def opt_meta(self, index: dict[str, list[Node]], path: str) -> Meta | None:
        found = index.get("Meta")
        return None if found is None else self.meta(found[0], path)

    def location(self, node: Node, path: str) -> Location:
        """``(LocURI, LocName?)`` in any order, one pass; ``path`` names the element."""
        children = list(node)
        if len(children) == 1 and _LOCAL[children[0].tag] == "LocURI":  # the usual shape
            return _LOCATION(loc_uri=self.text(children[0], path), loc_name=None)
        first: dict[str, Node] = {}
        for child in children:
            first.setdefault(_LOCAL[child.tag], child)
        # Texts in document order, then the check: the same error as one sequential pass.
        texts = {n: self.text(c, path) for n, c in first.items() if n in _LOCATION_FIELDS}
        loc_uri = texts.get("LocURI")
        if loc_uri is None:
            raise _missing(path, "LocURI")
        return _LOCATION(loc_uri=loc_uri, loc_name=texts.get("LocName"))

    def req_location(self, index: dict[str, list[Node]], name: str, path: str) -> Location:
        found = index.get(name)
        if found is None:
            raise _missing(path, name)
        return self.location(found[0], f"{path}/{name}")

    def data_value(
        self, node: Node, path: str, format_: str | None, type_: str | None
    ) -> str | bytes | XmlData:
        """An Item ``<Data>`` value (module docstring rules); never stripped."""
        path = f"{path}/Data"
        limit = self.limits.max_data_size
        raw_xml = getattr(node, "raw_xml", None)
        parts = node.text
        if raw_xml is not None:
            value: str | bytes | XmlData = XmlData(raw_xml)
            size = len(raw_xml)
        elif len(node):
            if not self.positioned:
                raise Irregular  # markup inside Data: sliced from the input bytes
            value, size = self._inline_markup(node, path)
        elif parts is None or isinstance(parts, str):
            text = parts or ""
            value, size = text, len(text)
            if 4 * size > limit:  # exact byte count only when it could matter
                size = len(text.encode("utf-8", "surrogatepass"))
        else:
            raw = b"".join(p if isinstance(p, bytes) else p.encode("utf-8") for p in parts)
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

    @staticmethod
    def _inline_markup(node: Node, path: str) -> tuple[XmlData, int]:
        """WBXML inline markup inside ``<Data>``: the XML text of the children."""
        assert isinstance(node, Element)  # positioned trees are codec Elements
        try:
            text = "".join(serialize_xml(c).decode("utf-8") for c in node.children)
        except EncodeError as exc:
            raise MalformedMessageError(
                "message.encoding",
                f"Data markup cannot be read: {exc.detail}",
                position=path,
            ) from None
        return XmlData(text), len(text)

    def item(self, node: Node, path: str, command_meta: Meta | None) -> Item:
        """``Item (Target?, Source?, Meta?, Data?, MoreData?)``, any order, one pass."""
        first: dict[str, Node] = {}
        for child in node:
            first.setdefault(_LOCAL[child.tag], child)
        meta_node = first.get("Meta")
        data_node = first.get("Data")
        target = first.get("Target")
        source = first.get("Source")
        meta = None if meta_node is None else self.meta(meta_node, path)
        data: str | bytes | XmlData | None = None
        if data_node is not None:
            # WAP-192-WBXML; OMA-TS-DM_TND-V1_2 §8.3.7.2: the effective Meta is the Item's, else
            # the command's.
            format_ = meta.format if meta is not None else None
            type_ = meta.type if meta is not None else None
            if command_meta is not None:
                format_ = format_ if format_ is not None else command_meta.format
                type_ = type_ if type_ is not None else command_meta.type
            data = self.data_value(data_node, path, format_, type_)
        return _ITEM(
            target=None if target is None else self.location(target, f"{path}/Target"),
            source=None if source is None else self.location(source, f"{path}/Source"),
            meta=meta,
            data=data,
            more_data="MoreData" in first,
        )

    def items(self, found: list[Node], path: str, command_meta: Meta | None) -> tuple[Item, ...]:
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

    # -- commands ------------------------------------------------------------

    def commands_of(self, node: Node, path: str) -> list[Command]:
        """The commands among ``node``'s children, in document order."""
        seen: dict[str, int] = {}
        result: list[Command] = []
        for child in node:
            name = _LOCAL[child.tag]
            decode = _DECODERS.get(name)
            if decode is None and name not in UNSUPPORTED_COMMANDS:
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
            if decode is None:
                index = _index(child)
                result.append(
                    UnsupportedCommand(name=name, cmd_id=self.opt_text(index, "CmdID", child_path))
                )
            else:
                result.append(decode(self, child, child_path))
        return result

    def item_command(self, node: Node, path: str) -> Command:
        """``(CmdID, NoResp?, Meta?, [Correlator?,] Item+)``: Add ... Exec; one pass."""
        first: dict[str, Node] = {}
        found: list[Node] = []
        for child in node:
            name = _LOCAL[child.tag]
            if name == "Item":
                found.append(child)
            else:
                first.setdefault(name, child)
        meta_node = first.get("Meta")
        cmd_id = first.get("CmdID")
        correlator = first.get("Correlator")
        meta = None if meta_node is None else self.meta(meta_node, path)
        cmd_text = None if cmd_id is None else self.text(cmd_id, path)
        items = self.items(found, path, meta)
        name = _LOCAL[node.tag]
        if name == "Exec":
            return _EXEC(
                cmd_id=cmd_text,
                no_resp="NoResp" in first,
                meta=meta,
                items=items,
                correlator=None if correlator is None else self.text(correlator, path),
            )
        return _ITEM_MAKERS[name](
            cmd_id=cmd_text, no_resp="NoResp" in first, meta=meta, items=items
        )

    def alert(self, node: Node, path: str) -> Command:
        """``(CmdID, NoResp?, Data?, Correlator?, Item*)`` — any order
        (OMA-TS-DM_RepPro-V1_2_1 §4.1; OMA-TS-SyncML_RepPro-V1_2 DTD)."""
        index = _index(node)
        return _ALERT(
            cmd_id=self.opt_text(index, "CmdID", path),
            no_resp="NoResp" in index,
            code=self.opt_integer(index, "Data", path),
            correlator=self.opt_text(index, "Correlator", path),
            items=self.items(index.get("Item", []), path, None),
        )

    def opt_integer(self, index: dict[str, list[Node]], name: str, path: str) -> int | None:
        found = index.get(name)
        return None if found is None else self.integer(found[0], path)

    def container(self, node: Node, path: str) -> Command:
        """Atomic / Sequence: ``(CmdID, NoResp?, Meta?, commands+)``."""
        index = _index(node)
        make = _ATOMIC if _LOCAL[node.tag] == "Atomic" else _SEQUENCE
        return make(
            cmd_id=self.opt_text(index, "CmdID", path),
            no_resp="NoResp" in index,
            meta=self.opt_meta(index, path),
            commands=tuple(self.commands_of(node, path)),
        )

    def status(self, node: Node, path: str) -> Command:
        """``(CmdID, MsgRef, CmdRef, Cmd, TargetRef*, SourceRef*, Chal?, Data, Item*)``."""
        index = _index(node)
        data = index.get("Data")
        if data is None:
            raise _missing(path, "Data")
        chal = index.get("Chal")
        chal_meta = None
        if chal is not None:
            chal_meta = self.opt_meta(_index(chal[0]), f"{path}/Chal")
        return _STATUS(
            cmd_id=self.opt_text(index, "CmdID", path),
            msg_ref=self.opt_text(index, "MsgRef", path),
            cmd_ref=self.req_text(index, "CmdRef", path),
            cmd=self.req_text(index, "Cmd", path),
            code=self.integer(data[0], path),
            target_refs=tuple([self.text(e, path) for e in index.get("TargetRef", ())]),
            source_refs=tuple([self.text(e, path) for e in index.get("SourceRef", ())]),
            chal=None if chal is None else Chal(meta=chal_meta or Meta()),
            items=self.items(index.get("Item", []), path, None),
        )

    def results(self, node: Node, path: str) -> Command:
        """``(CmdID, MsgRef?, CmdRef, Meta?, TargetRef?, SourceRef?, Item+)``."""
        index = _index(node)
        meta = self.opt_meta(index, path)
        return _RESULTS(
            cmd_id=self.opt_text(index, "CmdID", path),
            msg_ref=self.opt_text(index, "MsgRef", path),
            cmd_ref=self.req_text(index, "CmdRef", path),
            meta=meta,
            target_ref=self.opt_text(index, "TargetRef", path),
            source_ref=self.opt_text(index, "SourceRef", path),
            items=self.items(index.get("Item", []), path, meta),
        )

    # -- header --------------------------------------------------------------

    def header(self, node: Node, path: str) -> SyncHdr:
        """``(VerDTD, VerProto, SessionID, MsgID, Target, Source, RespURI?, NoResp?,
        Cred?, Meta?)``."""
        index = _index(node)
        cred_node = index.get("Cred")
        cred = None
        if cred_node is not None:
            cred_path = f"{path}/Cred"
            cred_index = _index(cred_node[0])
            cred = Cred(
                meta=self.opt_meta(cred_index, cred_path),
                data=self.req_text(cred_index, "Data", cred_path),
            )
        return _SYNCHDR(
            ver_dtd=self.opt_text(index, "VerDTD", path) or "1.2",
            ver_proto=self.req_text(index, "VerProto", path),
            session_id=self.req_text(index, "SessionID", path),
            msg_id=self.req_text(index, "MsgID", path),
            target=self.req_location(index, "Target", path),
            source=self.req_location(index, "Source", path),
            resp_uri=self.opt_text(index, "RespURI", path),
            no_resp="NoResp" in index,
            cred=cred,
            meta=self.opt_meta(index, path),
        )


_DECODERS: dict[str, Callable[[_Reader, Node, str], Command]] = {
    **{name: _Reader.item_command for name in (*_ITEM_MAKERS, "Exec")},
    "Alert": _Reader.alert,
    "Atomic": _Reader.container,
    "Sequence": _Reader.container,
    "Status": _Reader.status,
    "Results": _Reader.results,
}


def _parts(root: Node) -> tuple[Node, Node]:
    """The root's SyncHdr and SyncBody; ``message.root`` / ``message.missing``."""
    name = _LOCAL[root.tag]
    if name != "SyncML":
        raise MalformedMessageError(
            "message.root", f"root element is {name!r}, not SyncML", position=name
        )
    index = _index(root)
    header = index.get("SyncHdr")
    if header is None:
        raise _missing("SyncML", "SyncHdr")
    body = index.get("SyncBody")
    if body is None:
        raise _missing("SyncML", "SyncBody")
    return header[0], body[0]


def message_from_tree(root: Node, *, limits: Limits = DEFAULT_LIMITS) -> Message:
    """Build a :class:`Message` from a decoded ``<SyncML>`` tree.

    Raises:
        MalformedMessageError: a required element is missing or malformed, or a
            limit is exceeded (reasons in the module docstring); ``position`` is
            the element path.
        Irregular: only for an ``xml.etree`` tree (see the module docstring).
    """
    positioned = isinstance(root, Element)
    header, body = _parts(root)
    reader = _Reader(limits, positioned=positioned)
    try:
        commands = reader.commands_of(body, "SyncML/SyncBody")
    except RecursionError:
        # Only reachable with a Limits.max_depth far above the default 64.
        raise MalformedMessageError(
            "limit.depth", "commands nested too deeply", position="SyncML/SyncBody"
        ) from None
    return _MESSAGE(
        header=reader.header(header, "SyncML/SyncHdr"),
        commands=tuple(commands),
        final=any(_LOCAL[c.tag] == "Final" for c in body),
    )


def header_from_tree(root: Node, *, limits: Limits = DEFAULT_LIMITS) -> SyncHdr:
    """Only the ``SyncHdr`` of a ``<SyncML>`` tree; the body is not read.

    Raises:
        MalformedMessageError: as :func:`message_from_tree` for the root and header.
        Irregular: only for an ``xml.etree`` tree.
    """
    header, _ = _parts(root)
    return _Reader(limits, positioned=isinstance(root, Element)).header(header, "SyncML/SyncHdr")
