"""A server request is routed by its SyncHdr alone (issue 12): the body is decoded once,
by the session the request reaches."""

from __future__ import annotations

import pytest

from dmproto.bindings import http
from dmproto.errors import MalformedMessageError

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
