"""A server request is routed by its SyncHdr (issue 12), and the endpoint decodes a
message once: the decode that routes a message without a RespURI token is the one its
session uses."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest

import dmproto.codec
from dmproto.bindings import http
from dmproto.bindings.server import ServerEndpoint
from dmproto.codec import Encoding
from dmproto.codec.model import Alert, Status
from dmproto.errors import MalformedMessageError
from dmproto.session import ClientSession
from dmproto.session import events as ev
from dmproto.testing import (
    MinimalServerApp,
    account,
    client_config,
    ok_answer,
    seeded_random,
    server_config,
)

HEADER = (
    '<SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr><VerDTD>1.2</VerDTD>'
    "<VerProto>DM/1.2</VerProto><SessionID>5A</SessionID><MsgID>2</MsgID>"
    "<Target><LocURI>https://dm.example/dm</LocURI></Target>"
    "<Source><LocURI>IMEI:42</LocURI></Source></SyncHdr>"
)


def request(body: str) -> http.HttpRequest:
    return http.HttpRequest(method="POST", target="/dm", headers=(), body=body.encode())


def test_a_malformed_command_does_not_stop_routing_to_its_session() -> None:
    # The session it reaches refuses the message (and answers with an abort); routing
    # by the header keeps that answer in the device's own session.
    body = HEADER + "<SyncBody><Alert><CmdID>1</CmdID><Data>x</Data></Alert></SyncBody></SyncML>"
    key = http.routing_key(request(body))
    assert key == http.RoutingKey(session_id="5A", device_id="IMEI:42")


@pytest.mark.parametrize(
    "body",
    [
        "<SyncML><SyncBody/></SyncML>",  # no SyncHdr
        HEADER.replace("<SessionID>5A</SessionID>", "") + "<SyncBody/></SyncML>",
        HEADER + "<SyncBody>",  # not well-formed
    ],
    ids=["no-header", "no-session-id", "truncated"],
)
def test_an_unreadable_header_still_has_no_route(body: str) -> None:
    with pytest.raises(MalformedMessageError):
        http.routing_key(request(body))


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Count the codec's parses of a whole document (both encodings, hot path)."""
    parsed: list[str] = []
    for name in ("parse_tree", "parse_wbxml_tree"):
        real: Callable[..., Any] = getattr(dmproto.codec, name)

        def counted(*args: Any, _real: Callable[..., Any] = real, **kwargs: Any) -> Any:
            parsed.append(_real.__name__)
            return _real(*args, **kwargs)

        monkeypatch.setattr(dmproto.codec, name, counted)
    return parsed


def _post(endpoint: ServerEndpoint, body: bytes, media_type: str, target: str) -> http.HttpResponse:
    request = http.HttpRequest(
        method="POST",
        target=target,
        headers=(("Host", "dm.example"), ("Content-Type", media_type)),
        body=body,
    )
    return endpoint.handle(request, MinimalServerApp(account=account()), lambda: 0.0)


@pytest.mark.parametrize("encoding", [Encoding.XML, Encoding.WBXML])
@pytest.mark.parametrize("follows_resp_uri", [True, False])
def test_each_message_is_parsed_once_by_the_server(
    monkeypatch: pytest.MonkeyPatch, encoding: Encoding, follows_resp_uri: bool
) -> None:
    endpoint = ServerEndpoint(server_config(random_bytes=seeded_random(5), encoding=encoding))
    client = ClientSession(client_config(encoding=encoding))
    parsed = _counting(monkeypatch)
    server_parses = 0
    answered = 0
    while (outgoing := client.messages_to_send(0.0)) and answered < 4:
        (message,) = outgoing
        url = urlsplit(message.url or "")
        target = f"{url.path}?{url.query}" if follows_resp_uri and url.query else "/dm"
        before = len(parsed)
        response = _post(endpoint, message.body, message.media_type, target)
        server_parses += len(parsed) - before
        assert response.status == 200, response.body
        answered += 1
        client.receive_message(
            response.body, media_type=dict(response.headers)["Content-Type"], now=0.0
        )
        while (event := client.next_event()) is not None:
            if isinstance(event, ev.CommandReceived):
                client.respond(event.handle, ok_answer(event))
    assert answered == 2  # Package 1 and Package 3: the server ended after the Get
    assert server_parses == answered, parsed


def test_a_message_whose_body_does_not_decode_still_reaches_its_session() -> None:
    # The routing decode fails on the body, so the SyncHdr is read alone: the request
    # goes to the session of its SessionID and device, which answers with a DM abort.
    endpoint = ServerEndpoint(server_config(random_bytes=seeded_random(6)))
    client = ClientSession(client_config())
    (package1,) = client.messages_to_send(0.0)
    assert _post(endpoint, package1.body, package1.media_type, "/dm").status == 200
    assert len(endpoint) == 1
    broken = package1.body.replace(
        b"<Final/>", b"<Alert><CmdID>9</CmdID><Data>x</Data></Alert><Final/>"
    )
    assert broken != package1.body
    response = _post(endpoint, broken, package1.media_type, "/dm")
    assert response.status == 200
    assert b"1223" in response.body  # Alert 1223: the session aborted
    assert len(endpoint) == 0  # the device's one session ended; no second one was opened


@pytest.mark.parametrize("damage", ["bad-command", "truncated"])
def test_a_body_that_does_not_decode_is_parsed_twice_not_three_times(
    monkeypatch: pytest.MonkeyPatch, damage: str
) -> None:
    # Hostile input costs the server two parses: the routing decode, whose error the
    # session re-raises, and the SyncHdr read alone that routes the body. (The
    # session parsing the body again made it three.)
    endpoint = ServerEndpoint(server_config(random_bytes=seeded_random(7)))
    client = ClientSession(client_config())
    (package1,) = client.messages_to_send(0.0)
    if damage == "bad-command":
        body = package1.body.replace(
            b"<Final/>", b"<Alert><CmdID>9</CmdID><Data>x</Data></Alert><Final/>"
        )
    else:
        body = package1.body[:-20]
    parsed = _counting(monkeypatch)
    response = _post(endpoint, body, package1.media_type, "/dm")
    assert parsed == ["parse_tree", "parse_tree"]
    assert response.status == 200
    answer = dmproto.codec.decode_message(response.body)
    # The DM answer is unchanged: the SyncHdr Status refuses the message (400), then
    # the abort (Alert 1223).
    header_status, abort = answer.commands
    assert isinstance(header_status, Status) and header_status.cmd == "SyncHdr"
    assert header_status.code == 400
    assert isinstance(abort, Alert) and abort.code == 1223
