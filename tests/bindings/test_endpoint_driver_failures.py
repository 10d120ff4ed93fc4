"""The server endpoint and the client driver when things go wrong, through their public
API in memory: refusals, abandonment, store restore failures, timer expiry, and the
driver's order and URL errors (OMA-TS-SyncML_HTTPBinding-V1_2)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from bindingkit import first_request, make_device, make_endpoint

from dmproto.bindings import http
from dmproto.bindings.client import ClientDriver
from dmproto.bindings.steps import Deliver, Done, Respond, Send
from dmproto.codec import decode_message
from dmproto.errors import LocalProtocolError, MalformedMessageError
from dmproto.session import (
    ServerSession,
    SessionState,
)
from dmproto.session import events as ev
from dmproto.testing import MinimalServerApp

# ---- server endpoint ---------------------------------------------------------------


_app = MinimalServerApp()


def _silent(session: ServerSession, event: ev.Event) -> None:
    """An application that never answers AccountRequested."""


def _ended(session: ServerSession) -> list[ev.SessionEnded]:
    out = []
    while (event := session.next_event()) is not None:
        if isinstance(event, ev.SessionEnded):
            out.append(event)
    return out


def test_endpoint_refuses_wrong_path_and_method() -> None:
    seen: list[int | None] = []
    endpoint = make_endpoint(
        on_message=lambda req, resp, s: seen.append(None if resp is None else resp.status)
    )
    request = first_request()
    elsewhere = http.HttpRequest(
        method="POST", target="/other", headers=request.headers, body=request.body
    )
    assert endpoint.handle(elsewhere, _app, lambda: 0.0).status == 404
    get = http.HttpRequest(method="GET", target="/dm", headers=request.headers, body=b"")
    assert endpoint.handle(get, _app, lambda: 0.0).status == 405
    assert seen == [404, 405] and len(endpoint) == 0 and endpoint.sessions() == []


def test_endpoint_aborts_a_session_the_application_does_not_answer() -> None:
    endpoint = make_endpoint()
    response = endpoint.handle(first_request(), _silent, lambda: 0.0)
    # the server owes one message per device message: an abort (OMA-TS-SyncML_HTTPBinding-V1_2),
    # session gone
    assert response.status == 200 and b"<Alert>" in response.body
    assert len(endpoint) == 0


def test_endpoint_aborts_on_a_bad_message_routed_by_token() -> None:
    endpoint = make_endpoint()
    request = first_request()
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
    endpoint = make_endpoint()

    def boom(session: ServerSession, event: ev.Event) -> None:
        raise RuntimeError("handler bug")

    with pytest.raises(RuntimeError):
        endpoint.handle(first_request(), boom, lambda: 0.0)
    assert len(endpoint) == 0


def test_abandon_after_the_response_changes_nothing() -> None:
    endpoint = make_endpoint()
    opened = endpoint.open(first_request(), 0.0)
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
    endpoint = make_endpoint()
    request = first_request()
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
    endpoint = make_endpoint(store=store)
    request = first_request()
    assert endpoint.handle(_tokened(request, "absent"), _app, lambda: 0.0).status == 404
    store.data["bad"] = (("1", "IMEI:1"), {"garbage": True})
    assert endpoint.handle(_tokened(request, "bad"), _app, lambda: 0.0).status == 404
    # a snapshot that cannot be restored is deleted from the store
    assert "bad" not in store.data and "bad" in store.deleted


def test_store_saves_active_sessions_and_deletes_expired_ones() -> None:
    store = _Store()
    endpoint = make_endpoint(store=store)
    assert endpoint.handle(first_request(), _app, lambda: 0.0).status == 200
    [token] = list(store.data)
    deadline = endpoint.next_deadline()
    assert deadline is not None
    [ended] = endpoint.expire(deadline + 1)
    assert [e.reason for e in _ended(ended)] == [ev.EndReason.TIMED_OUT]
    assert store.data == {} and token in store.deleted and len(endpoint) == 0


def test_expire_skips_busy_sessions() -> None:
    endpoint = make_endpoint()
    opened = endpoint.open(first_request(), 0.0)
    assert not isinstance(opened, http.HttpResponse)
    assert endpoint.expire(1e9) == [] and len(endpoint) == 1
    opened.abandon(0.0)
    assert len(endpoint) == 0


# ---- client driver (OMA-TS-SyncML_HTTPBinding-V1_2)
# -------------------------------------------------------


def test_driver_refuses_to_poll_while_a_response_is_due() -> None:
    driver = ClientDriver(make_device().session)
    assert isinstance(driver.poll(0.0), Send)
    with pytest.raises(LocalProtocolError) as info:
        driver.poll(0.0)
    assert info.value.reason == "binding.order"
    driver.fail(0.0)
    assert driver.session.state is not SessionState.ACTIVE


def test_driver_aborts_on_a_non_dm_response_body() -> None:
    driver = ClientDriver(make_device().session)
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
    endpoint, other = make_endpoint(store=store), make_endpoint(store=store)
    request = first_request()
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
    driver = ClientDriver(make_device().session)
    step = driver.poll(0.0)
    assert isinstance(step, Send)
    driver.handle_response(make_endpoint().handle(step.request, _app, lambda: 0.0), 0.0)
    reasons = []
    while not isinstance(step := driver.poll(1e9), Done):
        if isinstance(step, Deliver) and isinstance(step.event, ev.SessionEnded):
            reasons.append(step.event.reason)
        assert not isinstance(step, Send)  # the device holds its unanswered command
    assert reasons == [ev.EndReason.TIMED_OUT] and step.ended is not None


def test_driver_posts_to_its_server_url_when_the_session_has_none() -> None:
    step = ClientDriver(
        make_device("IMEI:u", server_uri="").session, server_url="http://10.1.1.1:81/mgmt"
    ).poll(0.0)
    assert isinstance(step, Send)
    assert (step.url.host, step.url.port, step.request.target) == ("10.1.1.1", 81, "/mgmt")
    with pytest.raises(LocalProtocolError) as info:
        ClientDriver(make_device("IMEI:u", server_uri="").session).poll(0.0)
    assert info.value.reason == "binding.url"


def test_driver_fail_after_the_end_is_harmless() -> None:
    driver = ClientDriver(make_device().session)
    assert isinstance(driver.poll(0.0), Send)
    driver.fail(0.0)
    driver.fail(0.0)  # e.g. the adapter's cleanup after handle_response already failed
    while isinstance(step := driver.poll(0.0), Deliver):
        pass
    assert isinstance(step, Done) and driver.ended is not None
    assert driver.ended.reason is ev.EndReason.ABORTED
