"""Session-test helpers that only dmproto's own tests need: hand-written wire
messages and transcript checks. The pair, configurations and deterministic
randomness are public in :mod:`dmproto.testing`."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any

import attrs

from dmproto.bindings.client import ClientDriver
from dmproto.bindings.steps import Deliver, Send
from dmproto.codec.model import Alert, Results, Status
from dmproto.codes import AlertCode
from dmproto.security import PeerCertificate
from dmproto.session import ClientSession, ServerSession
from dmproto.session import events as ev
from dmproto.testing import DEVICE_ID, SERVER_URI, Pair, ok_answer, transcript_messages


def wire_msg(
    body: str,
    msg_id: int = 1,
    *,
    to_server: bool = False,
    final: bool = True,
    extra: str = "",
    hdr_code: int | None = 212,
    session_id: str = "1",
) -> bytes:
    """A hand-written XML message of session ``1`` between DEVICE_ID and SERVER_URI:
    SyncHdr (+ *extra* header elements), the Status for the peer's SyncHdr (MsgRef 1,
    *hdr_code*; omitted when None), *body*, and Final."""
    target, source = (SERVER_URI, DEVICE_ID) if to_server else (DEVICE_ID, SERVER_URI)
    status = (
        "<Status><CmdID>1</CmdID><MsgRef>1</MsgRef><CmdRef>0</CmdRef><Cmd>SyncHdr</Cmd>"
        f"<Data>{hdr_code}</Data></Status>"
        if hdr_code is not None
        else ""
    )
    return (
        '<SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto>'
        f"<SessionID>{session_id}</SessionID><MsgID>{msg_id}</MsgID><Target><LocURI>{target}"
        f"</LocURI></Target><Source><LocURI>{source}</LocURI></Source>{extra}</SyncHdr><SyncBody>"
        + status
        + body
        + ("<Final/>" if final else "")
        + "</SyncBody></SyncML>"
    ).encode()


def assert_alerts_answered_next(pair: Pair) -> None:
    """OMA-TS-DM_Protocol-V1_2_1 §2.1: every Alert gets its Status in the receiver's next
    message."""
    msgs = transcript_messages(pair)
    for (d1, m1), (d2, m2) in itertools.pairwise(msgs):
        assert d1 != d2
        answered = {(s.msg_ref, s.cmd_ref) for s in m2.commands if isinstance(s, Status)}
        for command in m1.commands:
            if isinstance(command, Alert) and command.code == AlertCode.NEXT_MESSAGE:
                assert (m1.header.msg_id, command.cmd_id) in answered, (d2, m2.header.msg_id)


def assert_statuses_first(pair: Pair) -> None:
    """No Status after a large-object chunk or after one of our own commands."""
    for _, msg in transcript_messages(pair):
        seen_other = False
        for command in msg.commands:
            chunk = isinstance(command, Results) and command.items[-1].more_data
            if isinstance(command, Status):
                assert not seen_other, [c.name for c in msg.commands]
            elif chunk or not isinstance(command, Results):
                seen_other = True


def results_with_their_status(pair: Pair) -> bool:
    """Every Results travels in the message holding the Status of its Get."""
    for _, msg in transcript_messages(pair):
        statuses = {(s.msg_ref, s.cmd_ref) for s in msg.commands if isinstance(s, Status)}
        for command in msg.commands:
            if isinstance(command, Results) and (command.msg_ref, command.cmd_ref) not in statuses:
                return False
    return True


__all__ = [
    "assert_alerts_answered_next",
    "assert_statuses_first",
    "results_with_their_status",
    "run_over_endpoint",
    "wire_msg",
]


def run_over_endpoint(
    endpoint: Any,
    client: ClientSession,
    app: Callable[[ServerSession, ev.ServerSessionEvent], None],
    *,
    now: float = 0.0,
    certificates: Sequence[PeerCertificate | None] = (None,),
    max_steps: int = 60,
) -> ev.SessionEnded | None:
    """Run *client* against a ``ServerEndpoint`` in memory (its path must be the
    client's server URI path) until the client's session ends; the n-th request
    carries ``certificates[n]`` as its verified TLS client certificate (the last
    one repeats). Returns the client's ``SessionEnded``."""
    driver = ClientDriver(client)
    sent = 0
    for _ in range(max_steps):
        step = driver.poll(now)
        if isinstance(step, Deliver):
            if isinstance(step.event, ev.CommandReceived):
                client.respond(step.event.handle, ok_answer(step.event))
        elif isinstance(step, Send):
            cert = certificates[min(sent, len(certificates) - 1)]
            sent += 1
            request = attrs.evolve(step.request, peer_certificate=cert)
            driver.handle_response(endpoint.handle(request, app, lambda: now), now)
        else:
            return step.ended
    raise AssertionError("the session did not end")
