"""A session ends once: a single ``SessionEnded``, with the first reason, whatever
the application and the peer do afterwards.

The session code relies on the transition tables for this (``_end`` asserts it
instead of checking): no step that ends the session (``Obligation.END``) is reachable
from a phase after the end.
"""

from __future__ import annotations

import pytest

from dmproto.errors import LocalProtocolError, RemoteProtocolError
from dmproto.session import Phase, ServerSession, SessionState
from dmproto.session import events as ev
from dmproto.session._machine import INITIAL, TRANSITIONS, Obligation, Role
from dmproto.testing import server_config

XML = "application/vnd.syncml.dm+xml"


def _phases_after_the_end(role: Role) -> set[Phase]:
    """Every phase a step that ends the session leads to, and all reachable from those."""
    table = TRANSITIONS[role]
    after = {
        step.phase
        for steps in table.values()
        for step in steps.values()
        if step.obligation is Obligation.END
    }
    frontier = list(after)
    while frontier:
        for step in table[frontier.pop()].values():
            if step.phase not in after:
                after.add(step.phase)
                frontier.append(step.phase)
    return after


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_no_step_after_the_end_ends_the_session_again(role: Role) -> None:
    after = _phases_after_the_end(role)
    assert Phase.ENDED in after and INITIAL[role] not in after
    again = [
        (phase, event)
        for phase in after
        for event, step in TRANSITIONS[role][phase].items()
        if step.obligation is Obligation.END
    ]
    assert again == []


def test_everything_after_a_peer_error_leaves_one_session_ended() -> None:
    server = ServerSession(server_config())
    with pytest.raises(RemoteProtocolError):
        server.receive_message(b"<SyncML>", media_type=XML, now=0.0)
    server.abort()  # the one abort answering the error
    assert len(server.messages_to_send(1.0)) == 1
    server.handle_timer(10_000.0)
    server.receive_message(b"<SyncML>", media_type=XML, now=2.0)  # ignored after the end
    with pytest.raises(LocalProtocolError):
        server.abort()
    ended = []
    while (event := server.next_event()) is not None:
        if isinstance(event, ev.SessionEnded):
            ended.append(event)
    assert [e.reason for e in ended] == [ev.EndReason.PROTOCOL_ERROR]
    assert (server.state, server.end_reason) == (SessionState.FINISHED, ev.EndReason.PROTOCOL_ERROR)
