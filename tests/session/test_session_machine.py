"""The session state machine: every (phase, input) pair of both roles (h2's style:
the product of phases x inputs, each a defined transition or the documented error),
the generated diagram, and ``phase``/``waiting_for`` seen through the public API."""

from __future__ import annotations

import itertools

import pytest
from datapaths import DOCS

from dmproto.codec.model import Get, Item, Location
from dmproto.errors import LocalProtocolError, RemoteProtocolError
from dmproto.outcome import CommandOutcome
from dmproto.session import ClientSession, Phase, ServerSession, SessionState, WaitingFor
from dmproto.session import events as ev
from dmproto.session._machine import Input, Machine, Obligation, Role, Step, mermaid, transition
from dmproto.testing import Pair, account, client_config, server_config

# The expected table, written out independently of the module's construction.
# "PHASE inputs... -> NEXT [obligation]"; a "client:"/"server:" prefix limits a line
# to one role. Every pair not listed must raise the documented error.
EXPECTED = """
SENDING sent sent-part -> WAIT_PEER
SENDING abort stalled -> ABORTING end
SENDING timeout -> ENDED end
SENDING peer-error -> ERROR end
WAIT_PEER received -> RECEIVING process
WAIT_PEER timeout -> ENDED end
client: WAIT_PEER abort -> ABORTING end
server: WAIT_PEER abort -> ABORT_WAIT_PEER end
RECEIVING answer -> SENDING
RECEIVING ask-app -> WAIT_ANSWERS
RECEIVING hold -> WAIT_ACCOUNT
RECEIVING package-done -> WAIT_PACKAGE
RECEIVING answer-last -> CLOSING
RECEIVING peer-end -> ENDED end
RECEIVING peer-error -> ERROR end
WAIT_ANSWERS answered -> SENDING
WAIT_ANSWERS abort -> ABORTING end
WAIT_ANSWERS timeout -> ENDED end
WAIT_ANSWERS peer-error -> ERROR end
WAIT_ACCOUNT account -> RECEIVING process
WAIT_ACCOUNT reject -> CLOSING
WAIT_ACCOUNT abort -> ABORTING end
WAIT_ACCOUNT timeout -> ENDED end
WAIT_ACCOUNT peer-error -> ERROR end
WAIT_PACKAGE close-package -> SENDING
WAIT_PACKAGE end-session -> CLOSING
WAIT_PACKAGE abort -> ABORTING end
WAIT_PACKAGE timeout -> ENDED end
WAIT_PACKAGE peer-error -> ERROR end
CLOSING answer answer-last -> CLOSING
CLOSING sent -> ENDED end
CLOSING sent-part -> CLOSING_WAIT_PEER
CLOSING abort stalled -> ABORTING end
CLOSING timeout -> LAST_ANSWER end
CLOSING peer-error -> ERROR end
CLOSING_WAIT_PEER received -> CLOSING process
CLOSING_WAIT_PEER timeout -> ENDED end
client: CLOSING_WAIT_PEER abort -> ABORTING end
server: CLOSING_WAIT_PEER abort -> ABORT_WAIT_PEER end
LAST_ANSWER sent sent-part -> ENDED
LAST_ANSWER stalled -> ABORTING
LAST_ANSWER received timeout account reject answered close-package end-session -> LAST_ANSWER ignore
ABORTING sent sent-part -> ENDED
ABORTING peer-error stalled -> ABORTING
ABORTING timeout account reject answered close-package end-session -> ABORTING ignore
client: ABORTING received -> ABORTING note
ERROR_ABORTING sent sent-part -> ENDED
ERROR_ABORTING peer-error stalled -> ERROR_ABORTING
ERROR_ABORTING abort timeout account reject answered -> ERROR_ABORTING ignore
ERROR_ABORTING close-package end-session -> ERROR_ABORTING ignore
client: ERROR_ABORTING received -> ERROR_ABORTING note
ABORT_WAIT_PEER received -> ABORTING note
ABORT_WAIT_PEER timeout account reject answered close-package end-session -> ABORT_WAIT_PEER ignore
ERROR abort -> ERROR_ABORTING
ERROR received timeout account reject answered close-package end-session -> ERROR ignore
ENDED received timeout account reject answered close-package end-session -> ENDED ignore
"""

APPLICATION = {"account", "reject", "answered", "close-package", "end-session", "timeout"}


def expected_table() -> dict[tuple[Role, Phase, Input], Step]:
    table: dict[tuple[Role, Phase, Input], Step] = {}
    for line in EXPECTED.strip().splitlines():
        roles = list(Role)
        if line.startswith(("client:", "server:")):
            prefix, line = line.split(":", 1)
            roles = [Role(prefix)]
        left, right = line.split("->")
        phase, *inputs = left.split()
        target, *obligation = right.split()
        step = Step(Phase[target], Obligation(obligation[0]) if obligation else Obligation.NONE)
        for role, name in itertools.product(roles, inputs):
            key = (role, Phase[phase], Input(name))
            assert key not in table, f"listed twice: {key}"
            table[key] = step
    return table


EXPECTED_TABLE = expected_table()


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
@pytest.mark.parametrize("phase", list(Phase), ids=lambda p: p.name)
def test_every_phase_input_pair(role: Role, phase: Phase) -> None:
    for event in Input:
        machine = Machine(role=role, phase=phase)
        expected = EXPECTED_TABLE.get((role, phase, event))
        if expected is not None:
            assert machine.process(event) is expected.obligation, (phase, event)
            assert machine.phase is expected.phase, (phase, event)
            continue
        if event is Input.RECEIVED:
            # a peer message while our answer is owed
            error: type[Exception] = RemoteProtocolError
            reason = "session.out-of-turn"
        elif event is Input.ABORT:
            error, reason = LocalProtocolError, "session.finished"
        elif event.value in APPLICATION:
            error, reason = LocalProtocolError, "session.state"
        else:
            error, reason = LocalProtocolError, "session.machine"
        with pytest.raises(error) as info:
            machine.process(event)
        assert info.value.reason == reason  # type: ignore[attr-defined]
        assert machine.phase is phase  # an error moves nothing
        with pytest.raises(error):
            transition(role, phase, event)


def test_every_phase_is_reachable_and_can_end() -> None:
    for role in Role:
        seen = {Machine.start(role).phase}
        frontier = list(seen)
        while frontier:
            phase = frontier.pop()
            for (r, p, _), step in EXPECTED_TABLE.items():
                if r is role and p is phase and step.phase not in seen:
                    seen.add(step.phase)
                    frontier.append(step.phase)
        # (in the table; the client's rules never report HOLD/PACKAGE_DONE, so
        # WAIT_ACCOUNT/WAIT_PACKAGE stay server phases in practice). A client's
        # abort never waits: it may send at any time.
        only_server = {Phase.ABORT_WAIT_PEER} if role is Role.CLIENT else set()
        assert seen == set(Phase) - only_server, role
        for phase in Phase:
            # from every phase, a timeout/abort/sending path leads to ENDED
            assert _leads_to_end(role, phase), phase


def _leads_to_end(role: Role, start: Phase) -> bool:
    seen, frontier = {start}, [start]
    while frontier:
        phase = frontier.pop()
        if phase is Phase.ENDED:
            return True
        for (r, p, _), step in EXPECTED_TABLE.items():
            if r is role and p is phase and step.phase not in seen:
                seen.add(step.phase)
                frontier.append(step.phase)
    return False


def test_state_diagram_is_generated_from_the_tables() -> None:
    # Regenerate with: python -m dmproto.session > docs/session-states.md
    assert (DOCS / "session-states.md").read_text(encoding="utf-8") == mermaid()


def test_state_diagram_draws_every_non_ignored_transition() -> None:
    text = mermaid()
    client = text.split("## Client")[1].split("## Server")[0]
    server = text.split("## Server")[1]
    assert "WAIT_PEER --> ABORTING: abort / end" in client
    assert "WAIT_PEER --> ABORT_WAIT_PEER: abort / end" in server
    for (role, phase, event), step in EXPECTED_TABLE.items():
        if step.obligation is Obligation.IGNORE:
            continue
        part = client if role is Role.CLIENT else server
        edge = f"    {phase.name} --> {step.phase.name}: "
        lines = [line for line in part.splitlines() if line.startswith(edge)]
        assert any(event.value in line.split(": ", 1)[1] for line in lines), (role, phase, event)


# ------------------------------------------------------------ public API


def where(session: ClientSession | ServerSession) -> tuple[Phase, WaitingFor]:
    return session.phase, session.waiting_for


def test_client_waits_for_the_application_to_answer_a_command() -> None:
    pair = Pair.make(packages=[[Get(cmd_id=None, items=(Item(target=Location(loc_uri="./a")),))]])
    client, server = pair.client, pair.server
    assert (client.phase, client.waiting_for) == (Phase.SENDING, WaitingFor.SEND)
    assert (server.phase, server.waiting_for) == (Phase.WAIT_PEER, WaitingFor.PEER)
    (pkg1,) = client.messages_to_send(1.0)
    assert (client.phase, client.waiting_for) == (Phase.WAIT_PEER, WaitingFor.PEER)
    server.receive_message(pkg1.body, media_type=pkg1.media_type, now=1.0)
    assert (server.phase, server.waiting_for) == (Phase.WAIT_ACCOUNT, WaitingFor.APPLICATION)
    assert server.messages_to_send(1.0) == []
    server.supply_account(account())
    assert (server.phase, server.waiting_for) == (Phase.WAIT_PACKAGE, WaitingFor.APPLICATION)
    assert server.messages_to_send(1.0) == []
    server.queue(Get(cmd_id=None, items=(Item(target=Location(loc_uri="./a")),)))
    server.close_package()
    assert (server.phase, server.waiting_for) == (Phase.SENDING, WaitingFor.SEND)
    (pkg2,) = server.messages_to_send(1.0)
    assert server.waiting_for is WaitingFor.PEER
    client.receive_message(pkg2.body, media_type=pkg2.media_type, now=2.0)
    # The driver forgot to answer the Get: this is why nothing is sent.
    assert (client.phase, client.waiting_for) == (Phase.WAIT_ANSWERS, WaitingFor.APPLICATION)
    assert client.messages_to_send(2.0) == []
    received = [e for e in iter(client.next_event, None) if isinstance(e, ev.CommandReceived)]
    client.respond(received[0].handle, CommandOutcome(code=200, results=(Item(data="v"),)))
    assert (client.phase, client.waiting_for) == (Phase.SENDING, WaitingFor.SEND)
    assert len(client.messages_to_send(3.0)) == 1


def test_ended_sessions_wait_for_nothing() -> None:
    pair = Pair.make().run()
    for session in (pair.client, pair.server):
        assert session.state is SessionState.FINISHED
        assert (session.phase, session.waiting_for) == (Phase.ENDED, WaitingFor.NOTHING)


def test_server_end_session_closes_then_ends() -> None:
    client, server = ClientSession(client_config()), ServerSession(server_config())
    (pkg1,) = client.messages_to_send(1.0)
    server.receive_message(pkg1.body, media_type=pkg1.media_type, now=1.0)
    server.supply_account(account())
    assert server.phase is Phase.WAIT_PACKAGE
    server.end_session()
    assert (server.phase, server.waiting_for) == (Phase.CLOSING, WaitingFor.SEND)
    assert len(server.messages_to_send(5.0)) == 1
    assert (server.phase, server.waiting_for) == (Phase.ENDED, WaitingFor.NOTHING)


def test_abort_phases() -> None:
    client = ClientSession(client_config())
    client.messages_to_send(0.0)
    client.abort()
    assert (client.phase, client.waiting_for) == (Phase.ABORTING, WaitingFor.SEND)
    assert len(client.messages_to_send(1.0)) == 1
    assert client.phase is Phase.ENDED
    server = ServerSession(server_config())
    server.abort()  # nothing to answer yet: the abort answers the next message
    assert (server.phase, server.waiting_for) == (Phase.ABORT_WAIT_PEER, WaitingFor.PEER)
    assert server.messages_to_send(1.0) == []


def test_peer_error_then_one_abort() -> None:
    server = ServerSession(server_config())
    with pytest.raises(RemoteProtocolError):
        server.receive_message(b"<SyncML>", media_type="application/vnd.syncml.dm+xml", now=0.0)
    assert (server.phase, server.waiting_for) == (Phase.ERROR, WaitingFor.NOTHING)
    server.abort()
    server.abort()
    assert where(server) == (Phase.ERROR_ABORTING, WaitingFor.SEND)
    assert len(server.messages_to_send(1.0)) == 1
    assert where(server) == (Phase.ENDED, WaitingFor.NOTHING)
    with pytest.raises(LocalProtocolError) as info:
        server.abort()
    assert info.value.reason == "session.finished"


def test_application_call_in_the_wrong_phase_names_it() -> None:
    server = ServerSession(server_config())
    with pytest.raises(LocalProtocolError) as info:
        server.end_session()
    assert info.value.reason == "session.state"
    assert "end_session() is not expected in phase wait-peer" in str(info.value)
