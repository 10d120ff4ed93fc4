"""XML documents in UTF-16 (Windows' local MDM interface writes SyncML this way).

XML 1.0 §4.3.3 and Appendix F: a UTF-16 document starts with the byte-order mark
FE FF (big-endian) or FF FE (little-endian); without a mark the encoding is found
from the first characters of the XML declaration, ``<?`` as 00 3C 00 3F or
3C 00 3F 00.

Decisions:

* A UTF-16 document is transcoded to UTF-8 once, before expat sees it, so the rest
  of the XML reader (raw ``<Data>`` markup slicing by byte offset, the bare-``&``
  recovery) works on ASCII-compatible bytes. The declaration's ``encoding`` is
  rewritten to ``UTF-8`` accordingly.
* Without a byte-order mark (which XML 1.0 §4.3.3 requires of UTF-16), a document
  is accepted only when it starts with an XML declaration that names UTF-16
  (``UTF-16``, ``UTF-16LE``, ``UTF-16BE``, any case): the Appendix F
  autodetection, confirmed by the declaration. Input starting with ``<`` and a NUL
  byte (little-endian) without such a declaration is refused; input starting with
  a NUL byte and no ``<?`` after it stays WBXML's (version byte 0x00).
* A UTF-16 document whose declaration names another encoding contradicts itself
  and is refused (``xml.encoding``), as is one that is not valid UTF-16 (odd
  length, an unpaired surrogate).
* The size limit is checked by the caller on the bytes as received; error positions
  in a transcoded document are offsets into its UTF-8 form.
"""

from __future__ import annotations

import re

from ..errors import MalformedMessageError

__all__ = ["is_utf16_xml", "utf16_to_utf8"]

_BOMS = {b"\xff\xfe": "utf-16-le", b"\xfe\xff": "utf-16-be"}
_UTF16_NAMES = frozenset({"utf-16", "utf-16le", "utf-16be"})
# The XML declaration and its encoding pseudo-attribute (XML 1.0 §2.8, §4.3.3).
_DECLARATION = re.compile(r"<\?xml\s[^>]*?\?>")
_ENCODING = re.compile(r"""(\sencoding\s*=\s*)(["'])([^"']*)\2""")


def _byte_order(data: bytes) -> tuple[str, int, bool] | None:
    """(codec, BOM length, declaration required) for UTF-16 input, else None."""
    codec = _BOMS.get(data[:2])
    if codec is not None:
        return codec, 2, False
    if data[:2] == b"<\x00" or data[:4] == b"\x00<\x00?":
        # "<" then NUL is never UTF-8 XML; "\0<" alone may begin WBXML 1.0, so
        # big-endian needs the declaration's "<?" to be told apart.
        return ("utf-16-le" if data[:1] == b"<" else "utf-16-be"), 0, True
    return None


def is_utf16_xml(data: bytes) -> bool:
    """Whether *data* starts like a UTF-16 XML document (see the module rules)."""
    return _byte_order(data) is not None


def utf16_to_utf8(data: bytes) -> bytes | None:
    """*data* transcoded to UTF-8 with its declaration saying so; None when *data*
    is not UTF-16 (by the rules above).

    Raises:
        MalformedMessageError: ``xml.encoding`` — not valid UTF-16, no declaration
            naming UTF-16 where one is required, or a declaration naming another
            encoding.
    """
    found = _byte_order(data)
    if found is None:
        return None
    codec, bom, required = found
    try:
        text = data[bom:].decode(codec)
    except UnicodeDecodeError as exc:
        raise MalformedMessageError(
            "xml.encoding", f"not valid UTF-16: {exc.reason}", position=bom + exc.start
        ) from None
    declaration = _DECLARATION.match(text)
    encoding = _ENCODING.search(declaration.group()) if declaration is not None else None
    if encoding is None:
        if required:
            raise MalformedMessageError(
                "xml.encoding",
                "UTF-16 without a byte-order mark needs an XML declaration naming it",
                position=0,
            )
        return text.encode("utf-8")
    if encoding.group(3).strip().lower() not in _UTF16_NAMES:
        raise MalformedMessageError(
            "xml.encoding",
            f"UTF-16 document declares encoding {encoding.group(3)[:40]!r}",
            position=0,
        )
    assert declaration is not None
    fixed = (
        declaration.group()[: encoding.start(3)] + "UTF-8" + declaration.group()[encoding.end(3) :]
    )
    return (fixed + text[declaration.end() :]).encode("utf-8")
