"""WSP Push framing of Package 0 (OMA-TS-DM_Notification-V1_2_1 §6.3), including a Wireshark
cross-check."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dmproto.errors import InvalidValueError, MalformedMessageError
from dmproto.limits import Limits
from dmproto.notification import (
    NOTIFICATION_CONTENT_TYPE,
    SYNCML_DM_APPLICATION_ID,
    Initiator,
    SmsPorts,
    UIMode,
    WspHeader,
    build_notification,
    build_wsp_push,
    parse_notification,
    parse_wsp_push,
)
from dmproto.security import RESET_NONCE

PKG0 = build_notification(
    server_id="com.mgmtsrv.manage",
    password="serverpassword",
    nonce=RESET_NONCE,
    session_id=0x1234,
    ui_mode=UIMode.BACKGROUND,
    initiator=Initiator.CLIENT,
)


def test_spec_example_bytes() -> None:
    # OMA-TS-DM_Notification-V1_2_1 §6.3 example: UDH, tid 01, Push 06, headers length 03, C4, AF
    # 87, Package 0.
    pdu = build_wsp_push(PKG0, sms_ports=SmsPorts(destination=2948, originator=0xC002))
    assert pdu[:13] == bytes.fromhex("06 05 04 0B 84 C0 02 01 06 03 C4 AF 87")
    assert pdu[13:] == PKG0
    push = parse_wsp_push(pdu, sms_udh=True)
    assert push.sms_ports == SmsPorts(destination=2948, originator=0xC002)
    assert push.transaction_id == 1
    assert push.content_type == NOTIFICATION_CONTENT_TYPE
    assert push.application_id == SYNCML_DM_APPLICATION_ID
    assert push.is_dm_notification
    assert parse_notification(push.body).session_id_text == "1234"


def test_without_udh() -> None:
    pdu = build_wsp_push(PKG0, transaction_id=0x7F)
    assert pdu[:6] == bytes.fromhex("7F 06 03 C4 AF 87")
    push = parse_wsp_push(pdu)
    assert push.sms_ports is None
    assert push.body == PKG0


def _push(headers: bytes, body: bytes = PKG0, tid: int = 1) -> bytes:
    assert len(headers) < 0x80
    return bytes([tid, 0x06, len(headers)]) + headers + body


@pytest.mark.parametrize(
    "content_type",
    [
        b"application/vnd.syncml.notification\x00",  # textual Extension-media
        b"\x01\xc4",  # general form, short-integer media
        b"\x03\xc4\x81\x83",  # general form with a parameter (ignored)
        b"\x03\x02\x00\x44",  # general form, long-integer media
        b"\x1f\x24application/vnd.syncml.notification\x00",  # general form, quoted length
    ],
)
def test_tolerant_content_type_forms(content_type: bytes) -> None:
    push = parse_wsp_push(_push(content_type + b"\xaf\x87"))
    assert push.content_type == NOTIFICATION_CONTENT_TYPE
    assert push.is_dm_notification


def test_textual_application_id_and_extra_headers() -> None:
    headers = (
        b"\xc4"
        + b"\xb4\x81"  # well-known header, short-integer value
        + b"\xafx-wap-application:syncml.dm\x00"
        + b"X-Custom\x00hello\x00"  # application header
        + b"\x8e\x02\x01\x02"  # well-known header, short-length value
    )
    push = parse_wsp_push(_push(headers))
    assert push.application_id == "x-wap-application:syncml.dm"
    assert push.is_dm_notification
    assert push.headers == (
        WspHeader(name=0x34, value=b"\x81"),
        WspHeader(name="X-Custom", value=b"hello\x00"),
        WspHeader(name=0x0E, value=b"\x02\x01\x02"),
    )


def test_eight_bit_header_text_is_tolerated() -> None:
    push = parse_wsp_push(_push(b"\xc4\xaf\x87X-N\xe4me\x00v\xff\x00"))
    assert push.headers == (WspHeader(name="X-N\u00e4me", value=b"v\xff\x00"),)
    assert push.is_dm_notification


def test_unknown_content_type_code_and_missing_app_id() -> None:
    push = parse_wsp_push(_push(b"\xae"))
    assert push.content_type == "0x2E"
    assert push.application_id is None
    assert not push.is_dm_notification


def test_long_headers_use_multi_octet_uintvar() -> None:
    headers = b"\xc4\xaf\x87" + b"X-Pad\x00" + b"a" * 200 + b"\x00"
    pdu = bytes([1, 6]) + bytes([0x81, len(headers) - 128]) + headers + b"body"
    push = parse_wsp_push(pdu)
    assert push.body == b"body"
    assert push.headers[0].name == "X-Pad"


@pytest.mark.parametrize(
    ("pdu", "reason"),
    [
        (b"", "wsp.truncated"),
        (b"\x01", "wsp.truncated"),
        (b"\x01\x07\x03\xc4\xaf\x87", "wsp.pdu-type"),
        (b"\x01\x06", "wsp.truncated"),
        (b"\x01\x06\x05\xc4\xaf\x87", "wsp.headers-length"),
        (b"\x01\x06\x00body", "wsp.content-type"),
        (b"\x01\x06\x02\xc4\xaf", "wsp.truncated"),
        (b"\x01\x06\x03\xc4\xaf\x00", "wsp.application-id"),
        (b"\x01\x06\x05\xc4\xaf\x87\xaf\x87", "wsp.application-id"),
        (b"\x01\x06\x04\xc4\x8e\x05\x01", "wsp.truncated"),
        (b"\x01\x06\x02\xc4\x00", "wsp.header"),
        (b"\x01\x06\x03abc", "wsp.truncated"),
        (b"\x01\x06\x03ab\xff\x00", "wsp.truncated"),
        (b"\x01\x06\x02\x01\x00", "wsp.content-type"),
        (b"\x01\x06\x00", "wsp.content-type"),
        (b"\x01\x06\x9f\xff\xff\xff\x7f", "wsp.uintvar"),
        (b"\x01\x06\x80\x80\x80\x80\x80\x01", "wsp.uintvar"),
    ],
)
def test_strict_lengths(pdu: bytes, reason: str) -> None:
    with pytest.raises(MalformedMessageError) as info:
        parse_wsp_push(pdu)
    assert info.value.reason == reason


@pytest.mark.parametrize(
    ("pdu", "reason"),
    [
        (b"\x07\x05\x04\x0b\x84\xc0\x02\x01\x06\x03\xc4\xaf\x87", "wsp.truncated"),
        (b"\x05\x05\x03\x0b\x84\xc0\x01\x06\x03\xc4\xaf\x87", "sms.udh"),
        (b"\x04\x04\x01\x0b\x84\x01\x06\x03\xc4\xaf\x87", "sms.udh"),
    ],
)
def test_udh_errors(pdu: bytes, reason: str) -> None:
    with pytest.raises(MalformedMessageError) as info:
        parse_wsp_push(pdu, sms_udh=True)
    assert info.value.reason == reason


def test_udh_other_ies_and_8bit_ports() -> None:
    # Concatenation IE (00, len 3) then 8-bit port addressing (04, len 2).
    udh = b"\x09\x00\x03\x2a\x02\x01\x04\x02\x10\x20"
    push = parse_wsp_push(udh + build_wsp_push(b"x"), sms_udh=True)
    assert push.sms_ports == SmsPorts(destination=0x10, originator=0x20)


def test_size_limit() -> None:
    with pytest.raises(MalformedMessageError) as info:
        parse_wsp_push(build_wsp_push(b"x" * 100), limits=Limits(max_message_size=50))
    assert info.value.reason == "limit.message-size"


def test_build_rejects_bad_values() -> None:
    with pytest.raises(InvalidValueError):
        build_wsp_push(b"", transaction_id=256)
    with pytest.raises(InvalidValueError):
        SmsPorts(destination=70000)


@given(
    body=st.binary(max_size=300),
    tid=st.integers(0, 255),
    ports=st.none()
    | st.builds(SmsPorts, destination=st.integers(0, 0xFFFF), originator=st.integers(0, 0xFFFF)),
)
def test_build_parse_round_trip(body: bytes, tid: int, ports: SmsPorts | None) -> None:
    push = parse_wsp_push(
        build_wsp_push(body, transaction_id=tid, sms_ports=ports), sms_udh=ports is not None
    )
    assert (push.transaction_id, push.body, push.sms_ports) == (tid, body, ports)
    assert push.is_dm_notification
    assert push.headers == ()


@given(st.binary(max_size=200), st.booleans())
def test_parse_only_raises_malformed(data: bytes, udh: bool) -> None:
    with contextlib.suppress(MalformedMessageError):
        parse_wsp_push(data, sms_udh=udh)


# --- Wireshark cross-check ------------------------------------------------------------------


@pytest.mark.interop
@pytest.mark.skipif(
    shutil.which("tshark") is None or shutil.which("text2pcap") is None,
    reason="tshark/text2pcap not installed",
)
def test_wireshark_decodes_our_push(tmp_path: Path) -> None:
    pdu = build_wsp_push(PKG0)
    dump = tmp_path / "push.txt"
    dump.write_text(
        "".join(
            f"{offset:06x} {pdu[offset : offset + 16].hex(' ')}\n"
            for offset in range(0, len(pdu), 16)
        )
    )
    pcap = tmp_path / "push.pcap"
    # -u: wrap each packet in dummy Ethernet/IPv4/UDP headers, source 9200 -> port 2948.
    subprocess.run(
        ["text2pcap", "-q", "-u", "9200,2948", str(dump), str(pcap)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    result = subprocess.run(
        ["tshark", "-r", str(pcap), "-V"],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = result.stdout
    assert "Wireless Session Protocol" in out
    assert "PDU Type: Push (0x06)" in out
    assert "Content-Type: application/vnd.syncml.notification" in out
    assert "x-wap-application:syncml.dm" in out
    assert "(42 bytes)" in out  # the whole Package 0 is the body


@pytest.mark.parametrize(
    ("headers", "app_id"),
    [
        (b"\xc4\xaf\x02\x00\x07", 7),  # long-integer application id
        (b"\xc4\x7f\x01\xaf\x87", 7),  # shift-delimiter + page before the header
        (b"\xc4\x02\xaf\x87", 7),  # short-cut shift
        (b"\x7fapplication/vnd.syncml.notification\x00\xaf\x87", 7),  # quoted text
    ],
)
def test_more_header_encodings(headers: bytes, app_id: int) -> None:
    push = parse_wsp_push(_push(headers))
    assert push.application_id == app_id
    assert push.content_type == NOTIFICATION_CONTENT_TYPE


def test_general_form_errors() -> None:
    for headers, reason in ((b"\x00", "wsp.content-type"), (b"\x02\x00\x44", "wsp.content-type")):
        with pytest.raises(MalformedMessageError) as info:
            parse_wsp_push(_push(headers))
        assert info.value.reason == reason


@given(st.integers(0, 0xFFFFFFFF))
def test_uintvar_round_trip(value: int) -> None:
    from dmproto.notification.wsp import _Reader

    # Test-side encoder (WSP §8.1.2: 7 bits per octet, MSB first, continuation bit).
    groups = [value & 0x7F]
    while value >> 7 * len(groups):
        groups.append(0x80 | (value >> 7 * len(groups)) & 0x7F)
    encoded = bytes(reversed(groups))
    assert len(encoded) <= 5
    reader = _Reader(encoded)
    assert reader.uintvar() == value
    assert reader.remaining() == 0
