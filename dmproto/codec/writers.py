"""Messages written straight to bytes, without an element tree (issue 12: the hot path).

:func:`write_xml` and :func:`write_wbxml` take the element stream of
:func:`.mapping.write_message` (the one place that knows the DTD order) and write exactly
the bytes :func:`.xml.serialize_xml` and :func:`.wbxml.serialize_wbxml` write for
:func:`.mapping.message_to_element` of the same message, with the same
:class:`~dmproto.errors.EncodeError` for what an encoding cannot carry. The WBXML writer
covers the default :class:`~.wbxml.WbxmlOptions` only; other options go through the tree.
"""

from __future__ import annotations

from collections.abc import Mapping

from .element import PAGE_NAMESPACES, CodePage
from .mapping import root_namespace, write_message
from .model import Message
from .tokens import TAG_CONTENT, TAG_TOKENS, GlobalToken
from .wbxml import WbxmlOptions, _encode_text, _mb_u_int32
from .xml import _ATTR_ESCAPES, _text

__all__ = ["write_wbxml", "write_xml"]

_METINF_XMLNS = PAGE_NAMESPACES[CodePage.METINF]


class _XmlEmitter:
    """XML text pieces; an element still empty at its close becomes ``<Name/>``."""

    __slots__ = ("opened", "out")

    def __init__(self) -> None:
        self.out: list[str] = []
        self.opened: list[int] = []  # index in out of each open element's start tag

    def open(self, name: str) -> None:
        self.opened.append(len(self.out))
        self.out.append(f"<{name}>")

    def close(self, name: str) -> None:
        out = self.out
        at = self.opened.pop()
        if len(out) == at + 1:
            out[at] = f"<{name}/>"
        else:
            out.append(f"</{name}>")

    def leaf(self, name: str, text: str | bytes) -> None:
        if text or isinstance(text, bytes):
            self.out.append(f"<{name}>{_text(text)}</{name}>")
        else:
            self.out.append(f"<{name}/>")

    def metinf(self, name: str, text: str) -> None:
        if text:
            self.out.append(f'<{name} xmlns="{_METINF_XMLNS}">{_text(text)}</{name}>')
        else:
            self.out.append(f'<{name} xmlns="{_METINF_XMLNS}"/>')

    def raw(self, name: str, xml_text: str) -> None:
        self.out.append(f"<{name}>{xml_text}</{name}>")


def write_xml(message: Message) -> bytes:
    """``serialize_xml(message_to_element(message))``, written directly.

    Raises:
        EncodeError: ``bytes`` Data (``xml.binary``) or a character XML cannot carry
            (``xml.invalid-char``).
    """
    namespace = root_namespace(message) or PAGE_NAMESPACES[CodePage.SYNCML]
    emitter = _XmlEmitter()
    write_message(message, emitter)
    emitter.out.append("</SyncML>")
    head = f'<SyncML xmlns="{namespace.translate(_ATTR_ESCAPES)}">'
    return (head + "".join(emitter.out)).encode("utf-8")


_SYNCML_TAGS = TAG_TOKENS[CodePage.SYNCML]
_METINF_TAGS = TAG_TOKENS[CodePage.METINF]
_END = int(GlobalToken.END)
_STR_I = int(GlobalToken.STR_I)
_OPAQUE = int(GlobalToken.OPAQUE)
_TO_SYNCML = bytes([GlobalToken.SWITCH_PAGE, CodePage.SYNCML])
_TO_METINF = bytes([GlobalToken.SWITCH_PAGE, CodePage.METINF])


def _text_heads(tags: Mapping[str, int]) -> dict[str, bytes]:
    """Per tag name: its token with the content flag, then STR_I (a leaf's text follows)."""
    return {name: bytes([token | TAG_CONTENT, _STR_I]) for name, token in tags.items()}


_SYNCML_TEXT_HEADS = _text_heads(_SYNCML_TAGS)
_METINF_TEXT_HEADS = _text_heads(_METINF_TAGS)
_TEXT_TAIL = bytes([0, _END])  # the inline string's terminator, then the leaf's END


class _WbxmlEmitter:
    """WBXML tokens; SWITCH_PAGE exactly where the page changes; an element still empty
    at its close loses its content flag and END (WAP-192-WBXML; OMA-TS-DM_RepPro-V1_2_1 §4.1)."""

    __slots__ = ("metinf_page", "opened", "out")

    def __init__(self, out: bytearray) -> None:
        self.out = out
        self.opened: list[int] = []  # offset of each open element's tag token
        self.metinf_page = False

    def _syncml(self) -> None:
        if self.metinf_page:
            self.out += _TO_SYNCML
            self.metinf_page = False

    # open() and leaf() switch the page back inline rather than through _syncml(): they
    # run for nearly every element, and the call costs about 2 % of a whole session's
    # instructions (callgrind, bench/session.py's scenario).
    def open(self, name: str) -> None:
        out = self.out
        if self.metinf_page:
            out += _TO_SYNCML
            self.metinf_page = False
        self.opened.append(len(out))
        out.append(_SYNCML_TAGS[name] | TAG_CONTENT)

    def close(self, name: str) -> None:
        out = self.out
        at = self.opened.pop()
        if len(out) == at + 1:
            out[at] &= ~TAG_CONTENT
        else:
            out.append(_END)

    def _leaf(
        self, tags: Mapping[str, int], heads: Mapping[str, bytes], name: str, text: str | bytes
    ) -> None:
        out = self.out
        if not text:
            out.append(tags[name])
        elif isinstance(text, str):
            out += heads[name]
            out += _encode_text(text)
            out += _TEXT_TAIL
        else:
            out.append(tags[name] | TAG_CONTENT)
            out.append(_OPAQUE)
            out += _mb_u_int32(len(text))
            out += text
            out.append(_END)

    def leaf(self, name: str, text: str | bytes) -> None:
        if self.metinf_page:
            self.out += _TO_SYNCML
            self.metinf_page = False
        self._leaf(_SYNCML_TAGS, _SYNCML_TEXT_HEADS, name, text)

    def metinf(self, name: str, text: str) -> None:
        if not self.metinf_page:
            self.out += _TO_METINF
            self.metinf_page = True
        self._leaf(_METINF_TAGS, _METINF_TEXT_HEADS, name, text)

    def raw(self, name: str, xml_text: str) -> None:
        # The markup travels as one string (serialize_wbxml writes raw_xml as its text).
        self._syncml()
        out = self.out
        out += _SYNCML_TEXT_HEADS[name]  # with content even when empty
        out += _encode_text(xml_text)
        out += _TEXT_TAIL


_DEFAULT = WbxmlOptions()


def write_wbxml(message: Message) -> bytes:
    """``serialize_wbxml(message_to_element(message))`` with the default options, written
    directly: WBXML 1.2, public id 0x1201, UTF-8, empty string table.

    Raises:
        EncodeError: text containing NUL (``wbxml.nul-in-text``) or a lone surrogate
            (``wbxml.invalid-text``).
    """
    out = bytearray([_DEFAULT.version])
    out += _mb_u_int32(_DEFAULT.public_id)
    out += _mb_u_int32(0x6A)  # UTF-8
    out += _mb_u_int32(0)  # no string table
    out.append(_SYNCML_TAGS["SyncML"] | TAG_CONTENT)
    emitter = _WbxmlEmitter(out)
    write_message(message, emitter)
    out.append(_END)
    return bytes(out)
