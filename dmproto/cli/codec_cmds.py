"""``dmproto decode`` and ``dmproto encode``: DM messages and TNDS/DDF documents
between XML, WBXML and JSON on the command line.

* ``dmproto decode [FILE|-] [--json]`` reads XML or WBXML (detected from the bytes)
  and prints indented XML, or with ``--json`` the decoded model as JSON. In JSON,
  every model object carries its class in ``"@type"``; ``bytes`` values are written
  as ``{"base64": "..."}`` and XML markup inside Data as ``{"xml": "..."}``. In the
  XML view, binary Data (WBXML OPAQUE with Format ``bin``) is shown the way XML
  carries binary: base64 text with Meta Format ``b64`` (OMA-TS-DM_TND-V1_2 §8.3.7.2).
* ``dmproto encode --to wbxml|xml [FILE|-]`` re-encodes (binary to stdout).

``decode`` replaces the SyncHdr ``<Cred>`` Data (for ``syncml:auth-basic`` it is
the password, merely base64-encoded) with :data:`REDACTED` unless ``--show-credentials``
is given; ``encode`` refuses that marker (exit status 2, naming ``--show-credentials``)
rather than send it as a credential. Input elements the decoder does not keep (unknown,
DS-only, the content of commands DM does not process) are named in one warning line on
stderr by both commands: they are not in the output. A document whose root is
``MgmtTree`` is handled as a TNDS/DDF document, anything else as a DM message.
Malformed input raises :class:`~dmproto.errors.MalformedMessageError`, which
``dmproto.cli.main`` prints as one line (problem and position) with exit status 2.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
from pathlib import Path
from typing import Any

import attrs

from ..codec import Encoding, detect_encoding
from ..codec.dropped import dropped_elements
from ..codec.element import Element
from ..codec.mapping import message_from_element, message_to_element
from ..codec.model import Item, Message, Meta, XmlData
from ..codec.tnds import MgmtTree, tree_from_element, tree_to_element
from ..codec.transform import map_items
from ..codec.wbxml import DDF_OPTIONS, parse_wbxml, serialize_wbxml
from ..codec.xml import parse_xml, serialize_xml
from ..errors import InvalidValueError
from ..limits import DEFAULT_LIMITS

__all__ = ["REDACTED", "register", "to_json"]


def _read_input(path: str) -> bytes:
    """The input bytes, read no further than the message size limit allows."""
    cap = DEFAULT_LIMITS.max_message_size + 1  # decode rejects the +1 with limit.*
    if path == "-":
        return sys.stdin.buffer.read(cap)
    with Path(path).open("rb") as handle:
        return handle.read(cap)


def _decode(data: bytes, command: str) -> Message | MgmtTree:
    """A DM message or, when the root is MgmtTree, a TNDS/DDF document; the input
    elements the model does not keep are named on stderr."""
    if len(data) > DEFAULT_LIMITS.max_message_size:
        root = parse_xml(data)  # raises limit.message-size before parsing
    elif detect_encoding(data) is Encoding.XML:
        root = parse_xml(data)
    else:
        root = parse_wbxml(data).root
    document: Message | MgmtTree = (
        tree_from_element(root) if root.name == "MgmtTree" else message_from_element(root)
    )
    dropped = dropped_elements(root, _element(document))
    if dropped:
        print(
            f"dmproto {command}: warning: not decoded, left out: {', '.join(dropped)}",
            file=sys.stderr,
        )
    return document


def to_json(value: object) -> Any:
    """A JSON-serialisable view of a model value (see the module docstring)."""
    if isinstance(value, bytes):
        return {"base64": base64.b64encode(value).decode("ascii")}
    if isinstance(value, XmlData):
        return {"xml": value.text}
    if isinstance(value, tuple):
        return [to_json(v) for v in value]
    cls: Any = type(value)
    if attrs.has(cls):
        fields = {a.name: to_json(getattr(value, a.name)) for a in attrs.fields(cls)}
        return {"@type": cls.__name__, **fields}
    return value


def _binary_as_b64(message: Message) -> Message:
    """``message`` with bytes Data rewritten as base64 text, Item Meta Format b64."""

    def item(it: Item) -> Item:
        if not isinstance(it.data, bytes):
            return it
        meta = attrs.evolve(it.meta, format="b64") if it.meta else Meta(format="b64")
        return attrs.evolve(it, meta=meta, data=base64.b64encode(it.data).decode("ascii"))

    return map_items(message, item)


#: What ``decode`` prints instead of a credential. The spaces keep it from being a
#: base64 credential (OMA-TS-DM_Security-V1_2_1 §5.1: Cred Data is b64), and
#: ``encode`` refuses it.
REDACTED = "REDACTED by dmproto decode (use --show-credentials)"


def _redacted(message: Message) -> Message:
    """``message`` with the SyncHdr Cred Data hidden (it may be a password)."""
    cred = message.header.cred
    if cred is None:
        return message
    header = attrs.evolve(message.header, cred=attrs.evolve(cred, data=REDACTED))
    return attrs.evolve(message, header=header)


def _element(document: Message | MgmtTree) -> Element:
    if isinstance(document, MgmtTree):
        return tree_to_element(document)
    return message_to_element(document)


def _cmd_decode(args: argparse.Namespace) -> int:
    document = _decode(_read_input(args.file), "decode")
    if isinstance(document, Message) and not args.show_credentials:
        document = _redacted(document)
    if args.json:
        print(json.dumps(to_json(document), indent=2, ensure_ascii=False))
        return 0
    if isinstance(document, Message):
        document = _binary_as_b64(document)
    sys.stdout.buffer.write(serialize_xml(_element(document), indent="  "))
    sys.stdout.buffer.flush()
    return 0


def _cmd_encode(args: argparse.Namespace) -> int:
    document = _decode(_read_input(args.file), "encode")
    cred = document.header.cred if isinstance(document, Message) else None
    if cred is not None and cred.data == REDACTED:
        raise InvalidValueError(
            "cli.redacted",
            "the Cred Data was redacted by decode; decode again with --show-credentials",
        )
    root = _element(document)
    if args.to == "xml":
        out = serialize_xml(root)
    else:
        options = DDF_OPTIONS if isinstance(document, MgmtTree) else None
        out = serialize_wbxml(root, options=options)
    sys.stdout.buffer.write(out)
    sys.stdout.buffer.flush()
    return 0


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add ``decode`` and ``encode``."""
    decode = subparsers.add_parser(
        "decode",
        help="show a DM message or TNDS/DDF document (XML or WBXML) as XML or JSON",
        description="Decode XML or WBXML (detected from the bytes) and print indented XML,"
        ' or JSON with --json (bytes as {"base64": ...}, Data markup as {"xml": ...}).',
    )
    decode.add_argument("file", nargs="?", default="-", metavar="FILE", help="input (- = stdin)")
    decode.add_argument("--json", action="store_true", help="print the decoded model as JSON")
    decode.add_argument(
        "--show-credentials",
        action="store_true",
        help="print the SyncHdr Cred Data (hidden by default: it may be a password)",
    )
    decode.set_defaults(func=_cmd_decode)

    encode = subparsers.add_parser(
        "encode",
        help="re-encode a DM message or TNDS/DDF document as WBXML or XML",
        description="Decode XML or WBXML and write it in the chosen encoding to stdout.",
    )
    encode.add_argument("--to", required=True, choices=("wbxml", "xml"), help="output encoding")
    encode.add_argument("file", nargs="?", default="-", metavar="FILE", help="input (- = stdin)")
    encode.set_defaults(func=_cmd_encode)
