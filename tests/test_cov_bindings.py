"""Edge paths of the HTTP bindings, driven through their public API in memory.

Package 0 acceptance and refusal (OMA-TS-DM_Notification-V1_2_1 §6.1, §6.2, §6.3), the server
endpoint's refusals, abandonment, store restore failures and timer expiry, and the client
driver's order and URL errors (OMA-TS-SyncML_HTTPBinding-V1_2).
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from dmproto.bindings import http
from dmproto.bindings.client import ClientDriver
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
from dmproto.bindings.server import ServerEndpoint
from dmproto.bindings.steps import Deliver, Done, Respond, Send
from dmproto.codec import decode_message
from dmproto.errors import LocalProtocolError, MalformedMessageError
from dmproto.notification import NOTIFICATION_CONTENT_TYPE, build_notification
from dmproto.security import NonceUsed
from dmproto.session import (
    ClientSession,
    ServerConfig,
    ServerSession,
    SessionState,
)
from dmproto.session import events as ev
from dmproto.testing import MinimalServerApp, tree_device

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


# ---- server endpoint ---------------------------------------------------------------


_app = MinimalServerApp()


def _silent(session: ServerSession, event: ev.Event) -> None:
    """An application that never answers AccountRequested."""


def _client(dev_id: str = "IMEI:1", server_uri: str = "http://127.0.0.1:9/dm") -> ClientSession:
    return tree_device(server_uri, dev_id=dev_id, mod="Unit", random_bytes=os.urandom).session


def _endpoint(**kw: Any) -> ServerEndpoint:
    config = ServerConfig(random_bytes=os.urandom, server_uri="srv", inactivity_timeout=5.0)
    return ServerEndpoint(config, **kw)


def _first(dev_id: str = "IMEI:1") -> http.HttpRequest:
    step = ClientDriver(_client(dev_id)).poll(0.0)
    assert isinstance(step, Send)
    return step.request


def _ended(session: ServerSession) -> list[ev.SessionEnded]:
    out = []
    while (event := session.next_event()) is not None:
        if isinstance(event, ev.SessionEnded):
            out.append(event)
    return out


def test_endpoint_refuses_wrong_path_and_method() -> None:
    seen: list[int | None] = []
    endpoint = _endpoint(
        on_message=lambda req, resp, s: seen.append(None if resp is None else resp.status)
    )
    request = _first()
    elsewhere = http.HttpRequest(
        method="POST", target="/other", headers=request.headers, body=request.body
    )
    assert endpoint.handle(elsewhere, _app, lambda: 0.0).status == 404
    get = http.HttpRequest(method="GET", target="/dm", headers=request.headers, body=b"")
    assert endpoint.handle(get, _app, lambda: 0.0).status == 405
    assert seen == [404, 405] and len(endpoint) == 0 and endpoint.sessions() == []


def test_endpoint_aborts_a_session_the_application_does_not_answer() -> None:
    endpoint = _endpoint()
    response = endpoint.handle(_first(), _silent, lambda: 0.0)
    # the server owes one message per device message: an abort (OMA-TS-SyncML_HTTPBinding-V1_2),
    # session gone
    assert response.status == 200 and b"<Alert>" in response.body
    assert len(endpoint) == 0


def test_endpoint_aborts_on_a_bad_message_routed_by_token() -> None:
    endpoint = _endpoint()
    request = _first()
    opened = endpoint.open(request, 0.0)
    assert not isinstance(opened, http.HttpResponse)
    while isinstance(step := opened.poll(0.0), Deliver):
        _app(opened.session, step.event)
    assert isinstance(step, Respond) and step.response.status == 200 and len(endpoint) == 1
    # routed by its RespURI token without decoding, then refused by the session:
    # the session is aborted (the abort message is the response), never half-applied
    junk = http.HttpRequest(
        method="POST", target=f"/dm?s={opened.token}", headers=request.headers, body=b"<SyncML/>"
    )
    again = endpoint.open(junk, 0.0)
    assert not isinstance(again, http.HttpResponse)
    assert again.session is opened.session
    assert again.session.state is not SessionState.ACTIVE
    ends = []
    while isinstance(step := again.poll(0.0), Deliver):
        ends.append(step.event)
    # an unreadable message is still answered in DM: SyncHdr Status 400 + Alert 1223
    assert isinstance(step, Respond) and step.response.status == 200
    answer = decode_message(step.response.body)
    assert answer.final and [c.name for c in answer.commands] == ["Status", "Alert"]
    assert [e.reason for e in ends if isinstance(e, ev.SessionEnded)] == [
        ev.EndReason.PROTOCOL_ERROR
    ]
    assert len(endpoint) == 0


def test_handler_failure_abandons_the_session_and_propagates() -> None:
    endpoint = _endpoint()

    def boom(session: ServerSession, event: ev.Event) -> None:
        raise RuntimeError("handler bug")

    with pytest.raises(RuntimeError):
        endpoint.handle(_first(), boom, lambda: 0.0)
    assert len(endpoint) == 0


def test_abandon_after_the_response_changes_nothing() -> None:
    endpoint = _endpoint()
    opened = endpoint.open(_first(), 0.0)
    assert not isinstance(opened, http.HttpResponse)
    while isinstance(step := opened.poll(0.0), Deliver):
        _app(opened.session, step.event)
    assert isinstance(step, Respond) and len(endpoint) == 1
    # the response is built and the session saved: a late abandon() neither aborts
    # it nor leaves an ended session behind in the endpoint
    opened.abandon(0.0)
    assert opened.session.state is SessionState.ACTIVE and len(endpoint) == 1
    assert opened.poll(0.0) == step


def test_handler_failing_on_the_abort_events_forgets_the_session() -> None:
    endpoint = _endpoint()
    request = _first()
    opened = endpoint.open(request, 0.0)
    assert not isinstance(opened, http.HttpResponse)
    while isinstance(step := opened.poll(0.0), Deliver):
        _app(opened.session, step.event)
    # the RespURI handed out carries the token
    assert f"?s={opened.token}".encode() in step.response.body
    junk = http.HttpRequest(
        method="POST", target=f"/dm?s={opened.token}", headers=request.headers, body=b"<SyncML/>"
    )

    def boom(session: ServerSession, event: ev.Event) -> None:
        raise RuntimeError("handler bug")

    with pytest.raises(RuntimeError):
        endpoint.handle(junk, boom, lambda: 0.0)
    assert len(endpoint) == 0
    assert endpoint.handle(junk, _app, lambda: 0.0).status == 404


class _Store:
    def __init__(self) -> None:
        self.data: dict[str, tuple[tuple[str, str], dict[str, Any]]] = {}
        self.deleted: list[str] = []

    def save(self, token: str, key: tuple[str, str], snapshot: dict[str, Any]) -> None:
        self.data[token] = (key, json.loads(json.dumps(snapshot)))

    def load(self, token: str) -> tuple[tuple[str, str], dict[str, Any]] | None:
        return self.data.get(token)

    def delete(self, token: str) -> None:
        self.deleted.append(token)
        self.data.pop(token, None)


def _tokened(request: http.HttpRequest, token: str) -> http.HttpRequest:
    return http.HttpRequest(
        method="POST", target=f"/dm?s={token}", headers=request.headers, body=request.body
    )


def test_store_unknown_and_corrupt_snapshots_are_404() -> None:
    store = _Store()
    endpoint = _endpoint(store=store)
    request = _first()
    assert endpoint.handle(_tokened(request, "absent"), _app, lambda: 0.0).status == 404
    store.data["bad"] = (("1", "IMEI:1"), {"garbage": True})
    assert endpoint.handle(_tokened(request, "bad"), _app, lambda: 0.0).status == 404
    # a snapshot that cannot be restored is deleted from the store
    assert "bad" not in store.data and "bad" in store.deleted


def test_store_saves_active_sessions_and_deletes_expired_ones() -> None:
    store = _Store()
    endpoint = _endpoint(store=store)
    assert endpoint.handle(_first(), _app, lambda: 0.0).status == 200
    [token] = list(store.data)
    deadline = endpoint.next_deadline()
    assert deadline is not None
    [ended] = endpoint.expire(deadline + 1)
    assert [e.reason for e in _ended(ended)] == [ev.EndReason.TIMED_OUT]
    assert store.data == {} and token in store.deleted and len(endpoint) == 0


def test_expire_skips_busy_sessions() -> None:
    endpoint = _endpoint()
    opened = endpoint.open(_first(), 0.0)
    assert not isinstance(opened, http.HttpResponse)
    assert endpoint.expire(1e9) == [] and len(endpoint) == 1
    opened.abandon(0.0)
    assert len(endpoint) == 0


# ---- client driver (OMA-TS-SyncML_HTTPBinding-V1_2)
# -------------------------------------------------------


def test_driver_refuses_to_poll_while_a_response_is_due() -> None:
    driver = ClientDriver(_client())
    assert isinstance(driver.poll(0.0), Send)
    with pytest.raises(LocalProtocolError) as info:
        driver.poll(0.0)
    assert info.value.reason == "binding.order"
    driver.fail(0.0)
    assert driver.session.state is not SessionState.ACTIVE


def test_driver_aborts_on_a_non_dm_response_body() -> None:
    driver = ClientDriver(_client())
    assert isinstance(driver.poll(0.0), Send)
    junk = http.HttpResponse(status=200, headers=(("Content-Type", "text/html"),), body=b"<p/>")
    with pytest.raises(MalformedMessageError) as info:
        driver.handle_response(junk, 0.0)
    assert info.value.status_hint == 415
    while isinstance(step := driver.poll(0.0), Deliver):
        pass
    assert isinstance(step, Done) and driver.ended is not None
    assert driver.ended.reason is not ev.EndReason.COMPLETED


def test_forgetting_a_session_keeps_a_newer_one_with_the_same_key() -> None:
    store = _Store()
    endpoint, other = _endpoint(store=store), _endpoint(store=store)
    request = _first()
    # the same device + SessionID opened on two workers: two tokens, one key
    assert endpoint.handle(request, _app, lambda: 0.0).status == 200
    assert other.handle(request, _app, lambda: 0.0).status == 200
    [mine] = endpoint.sessions()
    _mine_token, theirs = list(store.data)  # saved in this order
    # the other worker's session is restored here (taking over the key), then ends
    junk = http.HttpRequest(
        method="POST", target=f"/dm?s={theirs}", headers=request.headers, body=b"<SyncML/>"
    )
    response = endpoint.handle(junk, _app, lambda: 0.0)
    assert response.status == 200 and theirs not in store.data  # a DM abort
    assert endpoint.sessions() == [mine]
    # expiring the older session does not trip over the key the newer one released
    deadline = endpoint.next_deadline()
    assert deadline is not None
    assert endpoint.expire(deadline + 1) == [mine] and len(endpoint) == 0


def test_driver_times_out_when_the_server_goes_quiet() -> None:
    driver = ClientDriver(_client())
    step = driver.poll(0.0)
    assert isinstance(step, Send)
    driver.handle_response(_endpoint().handle(step.request, _app, lambda: 0.0), 0.0)
    reasons = []
    while not isinstance(step := driver.poll(1e9), Done):
        if isinstance(step, Deliver) and isinstance(step.event, ev.SessionEnded):
            reasons.append(step.event.reason)
        assert not isinstance(step, Send)  # the device holds its unanswered command
    assert reasons == [ev.EndReason.TIMED_OUT] and step.ended is not None


def _uri_less_client() -> ClientSession:
    return _client("IMEI:u", server_uri="")


def test_driver_posts_to_its_server_url_when_the_session_has_none() -> None:
    step = ClientDriver(_uri_less_client(), server_url="http://10.1.1.1:81/mgmt").poll(0.0)
    assert isinstance(step, Send)
    assert (step.url.host, step.url.port, step.request.target) == ("10.1.1.1", 81, "/mgmt")
    with pytest.raises(LocalProtocolError) as info:
        ClientDriver(_uri_less_client()).poll(0.0)
    assert info.value.reason == "binding.url"


def test_driver_fail_after_the_end_is_harmless() -> None:
    driver = ClientDriver(_client())
    assert isinstance(driver.poll(0.0), Send)
    driver.fail(0.0)
    driver.fail(0.0)  # e.g. the adapter's cleanup after handle_response already failed
    while isinstance(step := driver.poll(0.0), Deliver):
        pass
    assert isinstance(step, Done) and driver.ended is not None
    assert driver.ended.reason is ev.EndReason.ABORTED
