"""SyncML XML in UTF-16 (Windows' local MDM interface writes it with a BOM).

Regression: ``decode_message`` said "input is neither XML nor WBXML" for a UTF-16
document. Rules (``dmproto/codec/utf16.py``): a byte-order mark in either order is
accepted; without one, only a document opening with an XML declaration that names
UTF-16 (XML 1.0 Appendix F autodetection); invalid UTF-16 and a declaration naming
another encoding are ``xml.encoding``; the size limit applies to the bytes received.
"""

from __future__ import annotations

import pytest
from datapaths import CORPUS

from dmproto.codec import Encoding, decode_message, detect_encoding
from dmproto.errors import MalformedMessageError
from dmproto.limits import Limits
from dmproto.session import ServerConfig, ServerSession
from dmproto.session import events as ev

WINDOWS = CORPUS / "windows" / "win10-pkg1-session1.xml"
SAMPLES = [
    WINDOWS,
    CORPUS / "aosp-dm12" / "testalertconfirm.xml",  # bare '&' recovered after transcoding
    CORPUS / "libwbxml" / "syncml_with_ddf-001.xml",  # DDF markup inside <Data>
]
BOMS = {"utf-16-le": b"\xff\xfe", "utf-16-be": b"\xfe\xff"}


def utf16(text: str, codec: str, *, bom: bool = True) -> bytes:
    return (BOMS[codec] if bom else b"") + text.encode(codec)


def test_utf8_with_bom_decodes() -> None:
    data = WINDOWS.read_bytes()
    assert decode_message(b"\xef\xbb\xbf" + data) == decode_message(data)


@pytest.mark.parametrize("codec", sorted(BOMS))
@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_corpus_message_in_utf16_with_bom_is_model_equal(path: object, codec: str) -> None:
    data = path.read_bytes()  # type: ignore[attr-defined]
    text = data.decode("utf-8")
    encoded = utf16(text, codec)
    assert detect_encoding(encoded) is Encoding.XML
    assert decode_message(encoded) == decode_message(data)


@pytest.mark.parametrize("codec", sorted(BOMS))
@pytest.mark.parametrize("declared", ["UTF-16", "utf-16", "UTF-16LE", "UTF-16BE"])
def test_utf16_declaration_with_bom(codec: str, declared: str) -> None:
    data = WINDOWS.read_bytes()
    text = f'<?xml version="1.0" encoding="{declared}"?>\n' + data.decode("utf-8")
    assert decode_message(utf16(text, codec)) == decode_message(data)


@pytest.mark.parametrize("codec", sorted(BOMS))
def test_utf16_without_bom_accepted_when_the_declaration_names_it(codec: str) -> None:
    # Decision: XML 1.0 Appendix F autodetects "<?" in UTF-16; the declaration
    # must then confirm UTF-16.
    data = WINDOWS.read_bytes()
    text = "<?xml version='1.0' encoding='UTF-16'?>" + data.decode("utf-8")
    assert decode_message(utf16(text, codec, bom=False)) == decode_message(data)


@pytest.mark.parametrize("codec", sorted(BOMS))
@pytest.mark.parametrize(
    "prolog",
    ["", '<?xml version="1.0"?>', '<?xml version="1.0" encoding="UTF-8"?>'],
)
def test_utf16_without_bom_and_without_a_utf16_declaration_is_refused(
    codec: str, prolog: str
) -> None:
    text = prolog + WINDOWS.read_text(encoding="utf-8")
    with pytest.raises(MalformedMessageError):
        decode_message(utf16(text, codec, bom=False))


@pytest.mark.parametrize("codec", sorted(BOMS))
def test_utf16_declaring_another_encoding_is_refused(codec: str) -> None:
    text = '<?xml version="1.0" encoding="ISO-8859-1"?>' + WINDOWS.read_text(encoding="utf-8")
    with pytest.raises(MalformedMessageError) as info:
        decode_message(utf16(text, codec))
    assert info.value.reason == "xml.encoding"


@pytest.mark.parametrize("codec", sorted(BOMS))
@pytest.mark.parametrize(
    "damage",
    [
        lambda b, codec: b[:-1],  # odd length: a truncated code unit
        # an unpaired high surrogate in the middle of the document
        lambda b, codec: b[:40] + "\ud800".encode(codec, "surrogatepass") + b[40:],
    ],
    ids=["odd-length", "lone-surrogate"],
)
def test_malformed_utf16_is_a_malformed_message(codec: str, damage: object) -> None:
    encoded = utf16(WINDOWS.read_text(encoding="utf-8"), codec)
    with pytest.raises(MalformedMessageError) as info:
        decode_message(damage(encoded, codec))  # type: ignore[operator]
    assert info.value.reason == "xml.encoding"


def test_size_limit_applies_to_the_bytes_received() -> None:
    data = WINDOWS.read_bytes()  # ASCII: its UTF-16 form is about twice as long
    encoded = utf16(data.decode("utf-8"), "utf-16-le")
    limits = Limits(max_message_size=len(encoded) - 1)
    assert len(data) < limits.max_message_size
    with pytest.raises(MalformedMessageError) as info:
        decode_message(encoded, limits=limits)
    assert info.value.reason == "limit.message-size"
    decode_message(encoded, limits=Limits(max_message_size=len(encoded)))


def test_server_session_accepts_a_utf16_package1() -> None:
    server = ServerSession(ServerConfig(random_bytes=lambda n: b"\x01" * n, server_uri="s"))
    body = utf16(WINDOWS.read_text(encoding="utf-8"), "utf-16-le")
    server.receive_message(body, media_type=Encoding.XML.media_type, now=0.0)
    asked = server.next_event()
    assert isinstance(asked, ev.AccountRequested)
    assert asked.device_id == decode_message(WINDOWS.read_bytes()).header.source.loc_uri
