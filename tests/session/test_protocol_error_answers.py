"""A peer that breaks a protocol rule gets a DM answer, not an HTTP error.

OMA-TS-DM_Protocol-V1_2_1 "Session Abort": the session ends with Alert 1223 (with
Final), its SyncHdr Status saying why (400). The server answers the device's request
with that message in an HTTP 200 — whether the message did not decode (malformed
XML, a NUL byte, not SyncML at all) or broke a session rule (no Status for an Atomic,
the tolerance switched off) — and its application gets ``SessionEnded(PROTOCOL_ERROR,
reason)``; HTTP 5xx is left for genuine internal failures. The client role does the
same towards a broken server. And a device whose credentials were refused may retry
(OMA-TS-DM_Security-V1_2_1): its retry reaches a session again instead of HTTP 404.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest
from dmproto_sync import DMServer, HttpClient
from sessionkit import wire_msg

from dmproto.bindings import http
from dmproto.bindings.client import ClientDriver
from dmproto.bindings.server import ServerEndpoint
from dmproto.bindings.steps import Deliver, Done, Send
from dmproto.codec import decode_message
from dmproto.codec.model import Alert, Atomic, Item, Location, Message, Replace, Status
from dmproto.codes import AlertCode
from dmproto.security import AuthScheme, Credentials
from dmproto.session import Account, ClientSession, ServerConfig, ServerSession
from dmproto.session import events as ev
from dmproto.testing import DEVICE_ID, client_config, seeded_random, server_config

XML = "application/vnd.syncml.dm+xml"
Post = Callable[[http.HttpRequest], http.HttpResponse]

PACKAGE1 = wire_msg(
    "<Alert><CmdID>1</CmdID><Data>1201</Data></Alert>", 1, to_server=True, hdr_code=None
)


class App:
    """The server application: no device authentication, one Atomic, then the end."""

    def __init__(self) -> None:
        self.events: list[ev.Event] = []

    def __call__(self, session: ServerSession, event: ev.Event) -> None:
        self.events.append(event)
        if isinstance(event, ev.AccountRequested):
            session.supply_account(Account(credentials=None))
        elif isinstance(event, ev.PackageCompleted) and event.package == 1:
            session.queue(
                Atomic(
                    cmd_id=None,
                    commands=(
                        Replace(
                            cmd_id=None, items=(Item(target=Location(loc_uri="./a"), data="1"),)
                        ),
                        Replace(
                            cmd_id=None, items=(Item(target=Location(loc_uri="./b"), data="2"),)
                        ),
                    ),
                )
            )
            session.close_package()
        elif isinstance(event, ev.PackageCompleted):
            session.end_session()

    def ended(self) -> ev.SessionEnded:
        [ended] = [e for e in self.events if isinstance(e, ev.SessionEnded)]
        return ended


def _config(**changes: object) -> ServerConfig:
    return server_config(tolerate_missing_atomic_status=False, **changes)


def _request(body: bytes, target: str = "/dm") -> http.HttpRequest:
    return http.HttpRequest(
        method="POST",
        target=target,
        headers=(("Host", "127.0.0.1"), ("Content-Type", XML), ("Content-Length", str(len(body)))),
        body=body,
    )


@pytest.fixture(params=["endpoint", "sync-adapter"])
def serve(request: pytest.FixtureRequest) -> Iterator[Callable[[App], Post]]:
    """``serve(app)`` → ``post(request)``: through ServerEndpoint.handle, or over
    loopback HTTP to a real dmproto_sync DMServer."""
    servers: list[DMServer] = []

    def start(app: App) -> Post:
        if request.param == "endpoint":
            endpoint = ServerEndpoint(_config())
            return lambda r: endpoint.handle(r, app, lambda: 0.0)
        server = DMServer(app, config=_config(random_bytes=os.urandom)).start()
        servers.append(server)
        url = http.parse_url(server.url)

        def post(r: http.HttpRequest) -> http.HttpResponse:
            with HttpClient(max_body=1 << 20, timeout=5) as client:
                response: http.HttpResponse = client.exchange(url, r)
            return response

        return post

    yield start
    for server in servers:
        server.close()


def _package2(post: Post) -> tuple[Message, str]:
    """Package 1 posted; the server's Package 2 (with the Atomic) and the RespURI
    target to post the rest of the session to."""
    response = post(_request(PACKAGE1))
    assert response.status == 200
    message = decode_message(response.body)
    assert message.header.resp_uri is not None
    return message, http.parse_url(message.header.resp_uri).target


def assert_dm_abort(response: http.HttpResponse, *, msg_ref: str, session_id: str = "1") -> None:
    """HTTP 200 with a decodable DM message: SyncHdr Status 400 answering *msg_ref*,
    Alert 1223, Final."""
    assert response.status == 200, response.body
    assert http.header_value(
        response.headers,
        "content-type",
    ).startswith(XML)  # type: ignore[union-attr]
    message = decode_message(response.body)
    assert message.final
    assert message.header.session_id == session_id
    [hdr, alert] = message.commands
    assert isinstance(hdr, Status) and (hdr.cmd_ref, hdr.cmd, hdr.code) == ("0", "SyncHdr", 400)
    assert hdr.msg_ref == msg_ref
    assert isinstance(alert, Alert) and alert.code == AlertCode.SESSION_ABORT


def _package3(package2: Message, *, atomic_status: bool) -> bytes:
    """The device's answer: Statuses for the Atomic's children (and, when asked, for
    the Atomic itself)."""
    [atomic] = [c for c in package2.commands if isinstance(c, Atomic)]
    refs = [c.cmd_id for c in atomic.commands]
    if atomic_status:
        refs.insert(0, atomic.cmd_id)
    statuses = "".join(
        f"<Status><CmdID>{n}</CmdID><MsgRef>1</MsgRef><CmdRef>{ref}</CmdRef>"
        f"<Cmd>Replace</Cmd><Data>200</Data></Status>"
        for n, ref in enumerate(refs, start=2)
    )
    return wire_msg(statuses, 2, to_server=True, hdr_code=200)


BROKEN = {
    "malformed-xml": lambda good: good.replace(b"</SyncBody>", b"</SyncBod>"),
    "nul-byte": lambda good: good.replace(b"<Final/>", b"<Final/>\x00"),
    "missing-atomic-status": None,
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_a_broken_device_message_is_answered_with_a_dm_abort(
    serve: Callable[[App], Post], case: str
) -> None:
    app = App()
    post = serve(app)
    package2, target = _package2(post)
    breaking = BROKEN[case]
    body = (
        _package3(package2, atomic_status=False)
        if breaking is None
        else breaking(_package3(package2, atomic_status=True))
    )
    assert_dm_abort(post(_request(body, target)), msg_ref="2")
    ended = app.ended()
    assert ended.reason is ev.EndReason.PROTOCOL_ERROR and ended.detail
    # the session is gone: a later message meets no session
    assert post(_request(body, target)).status == 404


def test_the_same_device_message_unbroken_completes(serve: Callable[[App], Post]) -> None:
    app = App()
    post = serve(app)
    package2, target = _package2(post)
    response = post(_request(_package3(package2, atomic_status=True), target))
    assert response.status == 200
    assert app.ended().reason is ev.EndReason.COMPLETED


@pytest.mark.parametrize("body", [b"<not-syncml/>", b"\x00garbage", PACKAGE1[:-40]])
def test_an_unreadable_first_message_is_answered_with_a_dm_abort(
    serve: Callable[[App], Post], body: bytes
) -> None:
    app = App()
    response = serve(app)(_request(body))
    readable = body.startswith(b"<SyncML")
    # SessionID and MsgID from what could be read, else a minimal SyncHdr
    assert_dm_abort(response, msg_ref="1", session_id="1" if readable else "0")
    target = decode_message(response.body).header.target.loc_uri
    assert target == (DEVICE_ID if readable else "")
    assert app.ended().reason is ev.EndReason.PROTOCOL_ERROR


def test_the_client_aborts_towards_a_broken_server() -> None:
    driver = ClientDriver(ClientSession(client_config(credentials=None, server_credentials=None)))
    step = driver.poll(0.0)
    assert isinstance(step, Send)
    broken = wire_msg("<Status><CmdID>2", 1, hdr_code=200)  # cut short
    driver.handle_response(
        http.HttpResponse(status=200, headers=(("Content-Type", XML),), body=broken), 1.0
    )
    events = []
    while isinstance(step := driver.poll(1.0), Deliver):
        events.append(step.event)
    # the abort goes to the server: SyncHdr Status 400, Alert 1223, Final
    assert isinstance(step, Send)
    assert_dm_abort(
        http.HttpResponse(status=200, headers=(("Content-Type", XML),), body=step.request.body),
        msg_ref="1",
    )
    # whatever the server answers to it is ignored, and the session is over
    driver.handle_response(http.error_response(404, "gone"), 2.0)
    while isinstance(step := driver.poll(2.0), Deliver):
        events.append(step.event)
    assert isinstance(step, Done)
    [ended] = [e for e in events if isinstance(e, ev.SessionEnded)]
    assert ended.reason is ev.EndReason.PROTOCOL_ERROR


# -- retries after a failed authentication ------------------------------------------


class Accounts:
    """Knows only the account "Bruce2" (MD5)."""

    def __init__(self) -> None:
        self.events: list[ev.Event] = []

    def __call__(self, session: ServerSession, event: ev.Event) -> None:
        self.events.append(event)
        if isinstance(event, ev.AccountRequested):
            if event.username != "Bruce2":
                session.reject_device()
            else:
                session.supply_account(
                    Account(
                        credentials=Credentials(username="Bruce2", password="OhBehave"),
                        auth_scheme=AuthScheme.MD5,
                    )
                )


def _hello(msg_id: int, name: str) -> bytes:
    # Package 1 again (same SessionID), naming the account in Source/LocName
    body = "<Alert><CmdID>1</CmdID><Data>1201</Data></Alert>"
    return wire_msg(body, msg_id, to_server=True, hdr_code=None).replace(
        f"<LocURI>{DEVICE_ID}</LocURI>".encode(),
        f"<LocURI>{DEVICE_ID}</LocURI><LocName>{name}</LocName>".encode(),
    )


def _hdr_status(response: http.HttpResponse) -> Status:
    assert response.status == 200
    message = decode_message(response.body)
    [hdr] = [c for c in message.commands if isinstance(c, Status) and c.cmd_ref == "0"]
    return hdr


def test_a_refused_device_may_retry_with_other_credentials(
    serve: Callable[[App], Post],
) -> None:
    accounts = Accounts()
    post = serve(accounts)  # type: ignore[arg-type]
    first = post(_request(_hello(1, "nobody")))
    assert _hdr_status(first).code == 401  # unknown account: refused, session over
    resp_uri = decode_message(first.body).header.resp_uri
    assert resp_uri is not None
    target = http.parse_url(resp_uri).target
    # the retry, to the RespURI it was given, reaches a session: a DM answer with a
    # challenge for the account it now names (not HTTP 404)
    retry = _hdr_status(post(_request(_hello(2, "Bruce2"), target)))
    assert retry.code == 407 and retry.chal is not None
    requested = [e.username for e in accounts.events if isinstance(e, ev.AccountRequested)]
    assert requested == ["nobody", "Bruce2"]


def test_retries_after_refusals_are_bounded() -> None:
    accounts = Accounts()
    endpoint = ServerEndpoint(server_config(random_bytes=seeded_random(5)))
    target = "/dm"
    codes = []
    for msg_id in range(1, 6):
        response = endpoint.handle(
            _request(_hello(msg_id, "nobody"), target), accounts, lambda: 0.0
        )
        if response.status != 200:
            codes.append(response.status)
            break
        codes.append(_hdr_status(response).code)
        resp_uri = decode_message(response.body).header.resp_uri
        assert resp_uri is not None
        target = http.parse_url(resp_uri).target
    # max_auth_attempts (3) refused sessions, then the device's session is unknown
    assert codes == [401, 401, 401, 404]
    assert len(endpoint) == 0
