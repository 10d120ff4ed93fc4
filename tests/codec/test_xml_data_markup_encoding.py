"""Markup inside ``<Data>`` is kept as text in the document's declared encoding; a
document whose encoding expat accepts but whose Data markup that codec cannot decode
is refused as ``xml.encoding`` at the markup, never with a bare codec error.

``raw_unicode_escape`` is such a codec: pyexpat builds its byte table from the codec, so
the document parses, but ``\\u12`` (a truncated escape) does not decode.
"""

from __future__ import annotations

import pytest

from dmproto.codec.xml import parse_xml
from dmproto.errors import MalformedMessageError


def _doc(markup: bytes) -> bytes:
    return (
        b'<?xml version="1.0" encoding="raw_unicode_escape"?>'
        b'<SyncML xmlns="SYNCML:SYNCML1.2"><Data>' + markup + b"</Data></SyncML>"
    )


def test_data_markup_is_decoded_with_the_declared_codec() -> None:
    (data,) = parse_xml(_doc(b"<a>\\u0041</a>")).children
    assert data.raw_xml == "<a>A</a>"


def test_data_markup_the_declared_codec_cannot_decode_is_malformed() -> None:
    doc = _doc(b"<a>\\u12</a>")
    with pytest.raises(MalformedMessageError) as info:
        parse_xml(doc)
    assert info.value.reason == "xml.encoding"
    assert info.value.position == doc.index(b"<a>")
    assert "raw_unicode_escape" in info.value.detail
