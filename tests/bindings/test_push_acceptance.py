"""Package 0 over the HTTP binding and UDP: acceptance with the stored or the reset
nonce, and every refusal (OMA-TS-DM_Notification-V1_2_1 §6.1, §6.2, §6.3)."""

from __future__ import annotations

import pytest

from dmproto.bindings import http
from dmproto.bindings.http import parse_url
from dmproto.bindings.push import (
    PushAccepted,
    PushIgnored,
    PushIgnoredReason,
    PushKind,
    ServerSecret,
    accept_push,
    answer_push_request,
    check_push,
    is_push_request,
    push_datagram,
    push_request,
)
from dmproto.errors import MalformedMessageError
from dmproto.notification import NOTIFICATION_CONTENT_TYPE, build_notification
from dmproto.security import NonceUsed

SECRET = ServerSecret(password="srvpw", nonce=b"\x01\x02\x03\x04")


def _package0(*, password: str = SECRET.password, nonce: bytes = b"\x01\x02\x03\x04") -> bytes:
    return build_notification(server_id="srv", password=password, nonce=nonce, session_id=7)


def _lookup(server_id: str) -> ServerSecret | None:
    return SECRET if server_id == "srv" else None


# ---- Package 0 (OMA-TS-DM_Notification-V1_2_1 §6.1, §6.2, §6.3)
# -------------------------------------------------


def test_push_datagram_round_trips_and_verifies_with_stored_nonce() -> None:
    accepted = accept_push(push_datagram(_package0(), transaction_id=9), PushKind.WSP, _lookup)
    assert accepted is not None and accepted.nonce_used is NonceUsed.STORED
    assert accepted.notification.server_id == "srv" and accepted.notification.session_id == 7


def test_push_reset_nonce_is_accepted_and_bad_digest_or_unknown_server_ignored() -> None:
    reset = accept_push(_package0(nonce=b"\x00\x00\x00\x00"), PushKind.RAW, _lookup)
    assert reset is not None and reset.nonce_used is NonceUsed.RESET
    # OMA-TS-DM_Notification-V1_2_1 §6.1, §6.2: a wrong digest is ignored, not an error
    assert accept_push(_package0(password="wrong"), PushKind.RAW, _lookup) is None
    assert accept_push(_package0(), PushKind.RAW, lambda _sid: None) is None


def test_push_for_another_application_is_ignored() -> None:
    pdu = bytearray(push_datagram(_package0()))
    # OMA-TS-DM_Notification-V1_2_1 §6.3: X-WAP-Application-ID other than 0x07 is not for the DM
    # client
    pdu[5] = 0x80 | 0x02
    assert accept_push(bytes(pdu), PushKind.WSP, _lookup) is None


def test_check_push_says_why_a_push_is_ignored() -> None:
    bad = check_push(_package0(password="wrong"), PushKind.RAW, _lookup)
    assert bad == PushIgnored(reason=PushIgnoredReason.BAD_DIGEST, server_id="srv")
    unknown = check_push(_package0(), PushKind.RAW, lambda _sid: None)
    assert unknown == PushIgnored(reason=PushIgnoredReason.UNKNOWN_SERVER, server_id="srv")
    pdu = bytearray(push_datagram(_package0()))
    pdu[5] = 0x80 | 0x02
    other = check_push(bytes(pdu), PushKind.WSP, _lookup)
    assert other == PushIgnored(reason=PushIgnoredReason.NOT_FOR_DM)
    assert isinstance(check_push(_package0(), PushKind.RAW, _lookup), PushAccepted)
    heard: list[PushIgnored] = []
    request = push_request(parse_url("http://127.0.0.1:9/push"), _package0(password="wrong"))
    response, accepted = answer_push_request(request, _lookup, on_ignored=heard.append)
    assert response.status == 200 and accepted is None and heard == [bad]


def test_push_garbage_raises_malformed() -> None:
    with pytest.raises(MalformedMessageError):
        accept_push(b"\x01", PushKind.WSP, _lookup)


def test_answer_push_request_statuses() -> None:
    url = http.parse_url("http://10.0.0.2:8080/push")
    good = push_request(url, _package0())
    assert is_push_request(good.headers)
    response, accepted = answer_push_request(good, _lookup)
    assert response.status == 200 and accepted is not None
    # an ignored push is answered 200 too (nothing is revealed), with no result
    bad = push_request(url, _package0(password="wrong"))
    response, accepted = answer_push_request(bad, _lookup)
    assert response.status == 200 and accepted is None
    get = http.HttpRequest(method="GET", target="/push", headers=good.headers, body=b"")
    assert answer_push_request(get, _lookup)[0].status == 405
    wrong_type = http.HttpRequest(
        method="POST", target="/push", headers=(("Content-Type", "text/plain"),), body=good.body
    )
    assert not is_push_request(wrong_type.headers)
    assert answer_push_request(wrong_type, _lookup)[0].status == 415
    short = http.HttpRequest(
        method="POST",
        target="/push",
        headers=(("Content-Type", NOTIFICATION_CONTENT_TYPE),),
        body=b"\x00",
    )
    response, accepted = answer_push_request(short, _lookup)
    assert response.status == 400 and accepted is None
