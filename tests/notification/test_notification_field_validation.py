"""Field validation at the edges of Package 0 and its carriers: fields a notification
cannot encode, WSP Shift-Delimiter and lengths past the end, empty parameters in the
bootstrap Content-Type."""

from __future__ import annotations

import pytest

from dmproto.errors import InvalidValueError, MalformedMessageError
from dmproto.notification import NOTIFICATION_CONTENT_TYPE, build_notification, parse_wsp_push
from dmproto.security.bootstrap import SecurityMethod, parse_bootstrap_content_type


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"server_id": "\ud800"}, "pkg0.server-id"),  # lone surrogate: no UTF-8 form
        ({"vendor_data": "cafe"}, "pkg0.vendor-data"),  # text, not octets
    ],
)
def test_build_refuses_unencodable_fields(fields: dict[str, object], reason: str) -> None:
    args: dict[str, object] = {
        "server_id": "srv",
        "password": "p",
        "nonce": b"n",
        "session_id": 1,
        **fields,
    }
    with pytest.raises(InvalidValueError) as info:
        build_notification(**args)  # type: ignore[arg-type]
    assert info.value.reason == reason


def test_shift_delimiter_is_skipped() -> None:
    # Content-Type 0x44, then Shift-delimiter (0x7F) + header code page 1.
    push = parse_wsp_push(b"\x01\x06\x03\xc4\x7f\x01body")
    assert push.content_type == NOTIFICATION_CONTENT_TYPE
    assert (push.headers, push.body) == ((), b"body")


@pytest.mark.parametrize(
    "pdu",
    [
        b"\x01\x06\x03\x02\x05\x01",  # Long-integer content type of 5 octets, 1 present
        b"\x01\x06\x02\xc4\x7f",  # Shift-delimiter without its page
    ],
)
def test_lengths_past_the_end_are_truncated(pdu: bytes) -> None:
    with pytest.raises(MalformedMessageError) as info:
        parse_wsp_push(pdu)
    assert info.value.reason == "wsp.truncated"
    assert isinstance(info.value.position, int) and info.value.position <= len(pdu)


def test_bootstrap_content_type_skips_empty_parameters() -> None:
    parsed = parse_bootstrap_content_type(
        "application/vnd.syncml.dm+wbxml; ; SEC=NETWORKID;; MAC=" + "AB" * 20 + ";"
    )
    assert parsed.method is SecurityMethod.NETWORKID
    assert parsed.mac == "ab" * 20
