"""What a ``ServerEndpoint`` remembers of refused devices, so that they may retry.

OMA-TS-DM_Security-V1_2_1 "Authentication": a device whose credentials were refused
may send them again, a bounded number of times; its retry (to the RespURI it was
given, or with the same SessionID and device id) opens a new session. The endpoint
remembers refusals by RespURI token and by (SessionID, device id): at most about
twice ``max_sessions`` of them, forgetting the oldest first, and never under the
empty key of a device that named neither (another such device is not its retry).
"""

from __future__ import annotations

from sessionkit import wire_msg

from dmproto.bindings import http
from dmproto.bindings.server import ServerEndpoint
from dmproto.codec import decode_message
from dmproto.codec.model import Status
from dmproto.session import ServerSession
from dmproto.session import events as ev
from dmproto.testing import DEVICE_ID, seeded_random, server_config

XML = "application/vnd.syncml.dm+xml"


def _refuse_everyone(session: ServerSession, event: ev.Event) -> None:
    if isinstance(event, ev.AccountRequested):
        session.reject_device()


def _package1(msg_id: int, device_id: str, session_id: str = "1") -> bytes:
    body = "<Alert><CmdID>1</CmdID><Data>1201</Data></Alert>"
    message = wire_msg(body, msg_id, to_server=True, hdr_code=None, session_id=session_id)
    return message.replace(
        f"<LocURI>{DEVICE_ID}</LocURI>".encode(),
        f"<LocURI>{device_id}</LocURI><LocName>nobody</LocName>".encode(),
    )


def _post(endpoint: ServerEndpoint, body: bytes, target: str = "/dm") -> tuple[int, str]:
    """POST *body*; (SyncHdr Status code, RespURI target to retry at), or
    (HTTP status, "") when no session answered."""
    request = http.HttpRequest(
        method="POST",
        target=target,
        headers=(("Host", "dm.example"), ("Content-Type", XML)),
        body=body,
    )
    response = endpoint.handle(request, _refuse_everyone, lambda: 0.0)
    if response.status != 200:
        return response.status, ""
    message = decode_message(response.body)
    [hdr] = [c for c in message.commands if isinstance(c, Status) and c.cmd_ref == "0"]
    assert message.header.resp_uri is not None
    return hdr.code, http.parse_url(message.header.resp_uri).target


def _endpoint(max_sessions: int = 10) -> ServerEndpoint:
    config = server_config(random_bytes=seeded_random(7))
    return ServerEndpoint(config, max_sessions=max_sessions)


def test_the_oldest_refusals_are_forgotten_first() -> None:
    endpoint = _endpoint(max_sessions=1)
    code_a, retry_a = _post(endpoint, _package1(1, "IMEI:A"))
    code_b, retry_b = _post(endpoint, _package1(1, "IMEI:B"))
    assert (code_a, code_b) == (401, 401)
    # Room for two refusals: B's pushed out the oldest entry, A's token.
    assert _post(endpoint, _package1(2, "IMEI:A"), retry_a) == (404, "")
    assert _post(endpoint, _package1(2, "IMEI:B"), retry_b)[0] == 401  # a new session


def _attempts(endpoint: ServerEndpoint, session_id: str, device_id: str) -> list[int]:
    """A device that retries at its RespURI until the endpoint stops answering."""
    codes, target = [], "/dm"
    for msg_id in range(1, 6):
        code, target = _post(endpoint, _package1(msg_id, device_id, session_id), target)
        codes.append(code)
        if not target:
            break
    return codes


def test_each_device_gets_its_own_retries() -> None:
    # max_auth_attempts (3) refused sessions, then the session is unknown (404).
    endpoint = _endpoint()
    assert _attempts(endpoint, "1", "IMEI:A") == [401, 401, 401, 404]
    assert _attempts(endpoint, "1", "IMEI:B") == [401, 401, 401, 404]


def test_devices_naming_no_session_nor_device_do_not_share_retries() -> None:
    # Neither SessionID nor Source/LocURI: the refusal is kept by token only, so a
    # second such device starts with all its attempts (it is not the first's retry).
    endpoint = _endpoint()
    code, retry = _post(endpoint, _package1(1, "", session_id=""))
    assert code == 401
    assert _attempts(endpoint, "", "") == [401, 401, 401, 404]
    # and the first device's own retry still reaches a session
    assert _post(endpoint, _package1(2, "", session_id=""), retry)[0] == 401
