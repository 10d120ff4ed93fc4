"""Every phase and every transition of a DM session, for both roles, as tables.

Like h11's ``_state.py``: everything that decides *where* a session is lives in
this module, and nothing here knows whether it plays the local or the remote side,
nor how a message is built or read. ``client.py``/``server.py``/``_core.py`` apply
the protocol rules to messages and report what happened as an :class:`Input`;
:func:`transition` (through :meth:`Machine.process`) answers with the next
:class:`Phase` and the :class:`Obligation` the caller must then carry out. No other
code sets a phase.

The one difference between the roles is transport, not DM: over HTTP
(OMA-TS-SyncML_HTTPBinding-V1_2 §5) the client opens every exchange
and the server only answers a request. So a client may send its abort at any time,
while a server that aborts while waiting has to wait for the device's next message
(:data:`INITIATOR_ONLY` / :data:`RESPONDER_ONLY` hold those entries).

The phases are role-neutral: what differs between a client and a server is which
outcomes their rules report (only a server holds a message for an account,
asks for the next package or closes with a last package: HOLD, PACKAGE_DONE,
ANSWER_LAST; only a client asks the application to answer commands: ASK_APP), so
some phases are reached by one role only.

Package state (whether each side's current package is closed by Final,
OMA-TS-DM_Protocol-V1_2_1 §2.1 "Multiple Messages In Package") and how far each
side's credentials got (:class:`Proof`, OMA-TS-DM_Security-V1_2_1 §5.1) are kept
here too, as :class:`Machine` fields changed only by its methods.

``python -m dmproto.session > docs/session-states.md`` regenerates the
Mermaid diagrams drawn from these tables (:func:`mermaid`); a test checks that the
committed file is current.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

import attrs

from ..errors import LocalProtocolError, RemoteProtocolError

__all__ = [
    "APPLICATION_CALLS",
    "DUE",
    "INITIAL",
    "INITIATOR_ONLY",
    "PROOF_AFTER",
    "RESPONDER_ONLY",
    "TRANSITIONS",
    "WAITING_FOR",
    "Due",
    "Input",
    "Machine",
    "Obligation",
    "Phase",
    "Proof",
    "Role",
    "Step",
    "WaitingFor",
    "mermaid",
    "transition",
]


class Role(enum.Enum):
    """Which end of the HTTP exchange (only who may send unprompted differs)."""

    CLIENT = "client"  #: opens every exchange (the device)
    SERVER = "server"  #: answers each request (the DM server)


class Phase(enum.Enum):
    """Where a session is (``ClientSession.phase`` / ``ServerSession.phase``)."""

    #: Our message is due: ``messages_to_send()`` hands it out.
    SENDING = "sending"
    #: Our message went out; the peer's next one is awaited.
    WAIT_PEER = "wait-peer"
    #: (Inside ``receive_message``/``supply_account`` only) a peer message is being
    #: processed; the rules report what it amounted to.
    RECEIVING = "receiving"
    #: Our answer waits for the application to answer the commands it was handed
    #: (client: ``CommandReceived`` → ``respond``).
    WAIT_ANSWERS = "wait-answers"
    #: The peer's first message is held until the application names its account
    #: (server: ``AccountRequested`` → ``supply_account`` / ``reject_device``).
    WAIT_ACCOUNT = "wait-account"
    #: The peer's package is complete and answered: the application decides the
    #: next package or the end (server: ``PackageCompleted`` → ``close_package`` /
    #: ``end_session``).
    WAIT_PACKAGE = "wait-package"
    #: The end is decided; our last package is still (partly) to be handed out.
    CLOSING = "closing"
    #: Our last package is split: the peer's next message (Alert 1222) is awaited
    #: before its next part.
    CLOSING_WAIT_PEER = "closing-wait-peer"
    #: Ended while closing (inactivity timeout), but the answer already decided
    #: still goes out.
    LAST_ANSWER = "last-answer"
    #: An abort message (Alert 1223) is to be handed out.
    ABORTING = "aborting"
    #: The abort answering the peer's protocol error is to be handed out (another
    #: ``abort()`` is a no-op).
    ERROR_ABORTING = "error-aborting"
    #: Server: aborted while waiting; the abort answers the device's next message.
    ABORT_WAIT_PEER = "abort-wait-peer"
    #: The peer broke the protocol: ended, but ``abort()`` may still answer it once.
    ERROR = "error"
    #: Over; nothing more is sent.
    ENDED = "ended"


class Proof(enum.Enum):
    """How far one side's credentials got (OMA-TS-DM_Security-V1_2_1 §5.1)."""

    #: Not accepted yet: credentials go with every message; a challenge is answered.
    PENDING = "pending"
    #: Accepted (200) at least once: credentials still go out, and a new challenge
    #: now ends the session (§5.1: a failure after acceptance terminates).
    ACCEPTED = "accepted"
    #: 212 (authentication accepted): no more credentials this session.
    AUTHENTICATED = "authenticated"


#: Our proof after the peer's Status for our SyncHdr: 200 or 212 (a challenge
#: leaves PENDING as it is and terminates otherwise, see ``_handshake``).
PROOF_AFTER: Mapping[tuple[Proof, bool], Proof] = {
    (Proof.PENDING, False): Proof.ACCEPTED,
    (Proof.PENDING, True): Proof.AUTHENTICATED,
    (Proof.ACCEPTED, False): Proof.ACCEPTED,
    (Proof.ACCEPTED, True): Proof.AUTHENTICATED,
    (Proof.AUTHENTICATED, False): Proof.AUTHENTICATED,
    (Proof.AUTHENTICATED, True): Proof.AUTHENTICATED,
}


class WaitingFor(enum.Enum):
    """Whose move it is (``phase`` in one word, for driver loops)."""

    PEER = "peer"  #: a message from the peer (``receive_message``)
    APPLICATION = "application"  #: an application call (see the phase)
    SEND = "send"  #: the caller: ``messages_to_send()`` has a message
    NOTHING = "nothing"  #: the session is over


class Due(enum.Enum):
    """What ``messages_to_send()`` produces in a phase."""

    NOTHING = "nothing"
    MESSAGE = "message"  #: our answer / package (Statuses first)
    ABORT = "abort"  #: Alert 1223 with the Statuses already answered, Final


class Input(enum.Enum):
    """What happened, as reported to the machine."""

    # The peer.
    RECEIVED = "received"  #: a message from the peer arrived
    PEER_ERROR = "peer-error"  #: it broke the protocol (RemoteProtocolError)
    # What the message processed in RECEIVING amounted to (reported by the rules).
    ANSWER = "answer"  #: an answer is owed, nothing for the application
    ASK_APP = "ask-app"  #: an answer is owed once the application answered commands
    HOLD = "hold"  #: the peer's first message, held until its account is known
    PACKAGE_DONE = "package-done"  #: its package is complete and every Status is in
    ANSWER_LAST = "answer-last"  #: answer, then end (auth failure, peer abort)
    PEER_END = "peer-end"  #: the session is over, nothing to answer
    # The application.
    ACCOUNT = "account"  #: supply_account
    REJECT = "reject"  #: reject_device
    ANSWERED = "answered"  #: every command handed out has its answer (respond)
    CLOSE_PACKAGE = "close-package"  #: close_package with commands queued
    END_SESSION = "end-session"  #: end_session (or close_package with nothing queued)
    ABORT = "abort"  #: abort
    TIMEOUT = "timeout"  #: handle_timer after the inactivity deadline
    # Our messages.
    SENT = "sent"  #: a message was handed out; nothing of our package is left
    SENT_PART = "sent-part"  #: a message was handed out; our package continues
    STALLED = "stalled"  #: no progress possible (MaxMsgSize too small): abort


class Obligation(enum.Enum):
    """What the caller must do after a transition."""

    NONE = "none"
    PROCESS = "process"  #: process the peer's message (then report its outcome)
    NOTE = "note"  #: only record the peer's MsgID (an abort answers it)
    IGNORE = "ignore"  #: drop the input (the session has ended)
    END = "end"  #: end the session now (SessionEnded)


@attrs.frozen
class Step:
    """One table entry: the next phase and what the caller must do."""

    phase: Phase
    obligation: Obligation = Obligation.NONE


P, In, Ob = Phase, Input, Obligation

#: Phases where a message of ours is owed to the peer (a new message from the
#: peer there is out of turn: over HTTP each request gets exactly one response,
#: OMA-TS-SyncML_HTTPBinding-V1_2 §5).
_OUR_TURN = (P.SENDING, P.WAIT_ANSWERS, P.WAIT_ACCOUNT, P.WAIT_PACKAGE, P.CLOSING)
#: Phases after the end (SessionEnded queued).
_OVER = (P.LAST_ANSWER, P.ABORTING, P.ERROR_ABORTING, P.ABORT_WAIT_PEER, P.ERROR, P.ENDED)
#: Application decisions, which are no-ops after the end (their events may still
#: be queued behind SessionEnded).
_DECISIONS = (In.ACCOUNT, In.REJECT, In.ANSWERED, In.CLOSE_PACKAGE, In.END_SESSION)


def _common() -> dict[Phase, dict[Input, Step]]:
    table: dict[Phase, dict[Input, Step]] = {phase: {} for phase in Phase}
    for phase in (*_OUR_TURN, P.WAIT_PEER, P.CLOSING_WAIT_PEER):
        # OMA-TS-DM_Protocol-V1_2_1 "Session Abort": the application may abort
        # at any time; the session ends at once, the abort message follows.
        table[phase][In.ABORT] = Step(P.ABORTING, Ob.END)
        # A session without traffic for the inactivity timeout ends.
        table[phase][In.TIMEOUT] = Step(P.ENDED, Ob.END)
    for phase in (*_OUR_TURN, P.RECEIVING):
        table[phase][In.PEER_ERROR] = Step(P.ERROR, Ob.END)
    for phase in (P.SENDING, P.CLOSING):
        table[phase][In.STALLED] = Step(P.ABORTING, Ob.END)
    for phase in _OVER:
        table[phase][In.TIMEOUT] = Step(phase, Ob.IGNORE)
        for decision in _DECISIONS:
            table[phase][decision] = Step(phase, Ob.IGNORE)
    # The one abort answering a peer's protocol error (OMA-TS-DM_Protocol-V1_2_1
    # "Session Abort"); asking for it again changes nothing.
    table[P.ERROR][In.ABORT] = Step(P.ERROR_ABORTING)
    table[P.ERROR_ABORTING][In.ABORT] = Step(P.ERROR_ABORTING, Ob.IGNORE)
    # OMA-TS-DM_Protocol-V1_2_1 "Session Abort": after the end any message is
    # ignored; a pending abort answers it (an abort already owed: out of turn).
    for phase in (P.LAST_ANSWER, P.ERROR, P.ENDED):
        table[phase][In.RECEIVED] = Step(phase, Ob.IGNORE)
    table[P.ABORT_WAIT_PEER][In.RECEIVED] = Step(P.ABORTING, Ob.NOTE)
    for phase in (P.ABORTING, P.ERROR_ABORTING):
        table[phase][In.PEER_ERROR] = Step(phase)
        table[phase][In.STALLED] = Step(phase)  # the abort itself is cut to fit
        table[phase][In.SENT] = Step(P.ENDED)
        table[phase][In.SENT_PART] = Step(P.ENDED)

    table[P.WAIT_PEER][In.RECEIVED] = Step(P.RECEIVING, Ob.PROCESS)
    table[P.CLOSING_WAIT_PEER][In.RECEIVED] = Step(P.CLOSING, Ob.PROCESS)
    table[P.RECEIVING].update(
        {
            In.ANSWER: Step(P.SENDING),
            In.ASK_APP: Step(P.WAIT_ANSWERS),
            In.HOLD: Step(P.WAIT_ACCOUNT),
            In.PACKAGE_DONE: Step(P.WAIT_PACKAGE),
            In.ANSWER_LAST: Step(P.CLOSING),
            In.PEER_END: Step(P.ENDED, Ob.END),
        }
    )
    # While closing, a processed message (the peer's 1222 for the rest of our last
    # package, or its abort) changes nothing: the last package goes on.
    table[P.CLOSING][In.TIMEOUT] = Step(P.LAST_ANSWER, Ob.END)
    table[P.LAST_ANSWER][In.SENT] = Step(P.ENDED)
    table[P.LAST_ANSWER][In.SENT_PART] = Step(P.ENDED)
    table[P.LAST_ANSWER][In.STALLED] = Step(P.ABORTING)
    table[P.CLOSING][In.ANSWER] = Step(P.CLOSING)
    table[P.CLOSING][In.ANSWER_LAST] = Step(P.CLOSING)

    table[P.SENDING][In.SENT] = Step(P.WAIT_PEER)
    table[P.SENDING][In.SENT_PART] = Step(P.WAIT_PEER)
    table[P.CLOSING][In.SENT] = Step(P.ENDED, Ob.END)
    table[P.CLOSING][In.SENT_PART] = Step(P.CLOSING_WAIT_PEER)

    table[P.WAIT_ANSWERS][In.ANSWERED] = Step(P.SENDING)
    table[P.WAIT_ACCOUNT][In.ACCOUNT] = Step(P.RECEIVING, Ob.PROCESS)
    table[P.WAIT_ACCOUNT][In.REJECT] = Step(P.CLOSING)
    table[P.WAIT_PACKAGE][In.CLOSE_PACKAGE] = Step(P.SENDING)
    # OMA-TS-DM_Protocol-V1_2_1 "Package 2/4": a server package holding only
    # Statuses and Final closes the session.
    table[P.WAIT_PACKAGE][In.END_SESSION] = Step(P.CLOSING)
    return table


#: Entries where the side that opens exchanges (the HTTP client) differs.
INITIATOR_ONLY: Mapping[tuple[Phase, Input], Step] = {
    # The client may POST its abort at once.
    (P.WAIT_PEER, In.ABORT): Step(P.ABORTING, Ob.END),
    (P.CLOSING_WAIT_PEER, In.ABORT): Step(P.ABORTING, Ob.END),
    # A late answer to our last request: the pending abort answers it.
    (P.ABORTING, In.RECEIVED): Step(P.ABORTING, Ob.NOTE),
    (P.ERROR_ABORTING, In.RECEIVED): Step(P.ERROR_ABORTING, Ob.NOTE),
}
#: Entries where the side that only answers (the HTTP server) differs.
RESPONDER_ONLY: Mapping[tuple[Phase, Input], Step] = {
    # The server can only answer: its abort waits for the device's next message.
    (P.WAIT_PEER, In.ABORT): Step(P.ABORT_WAIT_PEER, Ob.END),
    (P.CLOSING_WAIT_PEER, In.ABORT): Step(P.ABORT_WAIT_PEER, Ob.END),
}


def _tables() -> dict[Role, dict[Phase, dict[Input, Step]]]:
    tables = {}
    for role, overlay in ((Role.CLIENT, INITIATOR_ONLY), (Role.SERVER, RESPONDER_ONLY)):
        table = _common()
        for (phase, event), step in overlay.items():
            table[phase][event] = step
        tables[role] = table
    return tables


#: role → phase → input → step. A pair missing here is an error (see :func:`transition`).
TRANSITIONS: Mapping[Role, Mapping[Phase, Mapping[Input, Step]]] = _tables()

#: Where each role starts: the client sends Package 1, the server waits for it.
INITIAL: Mapping[Role, Phase] = {Role.CLIENT: P.SENDING, Role.SERVER: P.WAIT_PEER}

WAITING_FOR: Mapping[Phase, WaitingFor] = {
    P.SENDING: WaitingFor.SEND,
    P.WAIT_PEER: WaitingFor.PEER,
    P.RECEIVING: WaitingFor.PEER,
    P.WAIT_ANSWERS: WaitingFor.APPLICATION,
    P.WAIT_ACCOUNT: WaitingFor.APPLICATION,
    P.WAIT_PACKAGE: WaitingFor.APPLICATION,
    P.CLOSING: WaitingFor.SEND,
    P.CLOSING_WAIT_PEER: WaitingFor.PEER,
    P.LAST_ANSWER: WaitingFor.SEND,
    P.ABORTING: WaitingFor.SEND,
    P.ERROR_ABORTING: WaitingFor.SEND,
    P.ABORT_WAIT_PEER: WaitingFor.PEER,
    P.ERROR: WaitingFor.NOTHING,
    P.ENDED: WaitingFor.NOTHING,
}

#: What each phase owes the peer (``SEND`` phases owe something).
DUE: Mapping[Phase, Due] = {
    phase: (
        Due.ABORT
        if phase in (P.ABORTING, P.ERROR_ABORTING)
        else Due.MESSAGE
        if WAITING_FOR[phase] is WaitingFor.SEND
        else Due.NOTHING
    )
    for phase in Phase
}

#: Application inputs, by the call that reports them (a missing entry is the
#: application's misuse).
APPLICATION_CALLS: Mapping[Input, str] = {
    In.ACCOUNT: "supply_account",
    In.REJECT: "reject_device",
    In.ANSWERED: "respond",
    In.CLOSE_PACKAGE: "close_package",
    In.END_SESSION: "end_session",
    In.ABORT: "abort",
    In.TIMEOUT: "handle_timer",
}


def transition(role: Role, phase: Phase, event: Input) -> Step:
    """The table entry for (*role*, *phase*, *event*).

    Raises:
        RemoteProtocolError: ``session.out-of-turn`` for RECEIVED where none is
            defined (a message while our answer is pending).
        LocalProtocolError: ``session.finished`` for ABORT after the end,
            ``session.state`` for another application input in the wrong phase,
            ``session.machine`` for any other undefined pair (a bug in the rules).
    """
    step = TRANSITIONS[role][phase].get(event)
    if step is not None:
        return step
    if event is In.RECEIVED:
        raise RemoteProtocolError(
            "session.out-of-turn", "a message arrived while our answer is pending"
        )
    if event is In.ABORT:
        raise LocalProtocolError("session.finished", "the session has ended")
    call = APPLICATION_CALLS.get(event)
    if call is not None:
        raise LocalProtocolError(
            "session.state", f"{call}() is not expected in phase {phase.value}"
        )
    raise LocalProtocolError("session.machine", f"no transition for {event.value} in {phase.value}")


@attrs.define(kw_only=True)
class Machine:
    """One session's position: its phase and both sides' package state."""

    role: Role
    phase: Phase
    #: The peer's current package is closed (its Final arrived).
    peer_final: bool = True
    #: Our last message carried Final (our package is closed).
    our_closed: bool = True
    #: How far our credentials got with the peer.
    ours: Proof = Proof.PENDING
    #: Whether the peer proved who it is (or no proof is required of it).
    peer_proved: bool = False

    @classmethod
    def start(cls, role: Role) -> Machine:
        return cls(role=role, phase=INITIAL[role])

    @property
    def waiting_for(self) -> WaitingFor:
        return WAITING_FOR[self.phase]

    @property
    def due(self) -> Due:
        return DUE[self.phase]

    def check(self, event: Input) -> Obligation:
        """What *event* would oblige, without moving (errors: :func:`transition`)."""
        return transition(self.role, self.phase, event).obligation

    def process(self, event: Input) -> Obligation:
        """Move on *event*; returns what the caller must do (errors: :func:`transition`)."""
        step = transition(self.role, self.phase, event)
        self.phase = step.phase
        return step.obligation

    def peer_message(self, final: bool) -> bool:
        """A peer message with (or without) Final was taken; returns whether it
        starts a new peer package. OMA-TS-DM_Protocol-V1_2_1 "Multiple Messages In
        Package": a package ends with the message carrying Final; a message without
        it after our package closed opens a new multi-message peer package."""
        new = self.peer_final
        if final:
            self.peer_final = True
        elif self.our_closed:
            self.peer_final = False
        return new

    def sent(self, final: bool) -> None:
        """Our message went out with (or without) Final."""
        self.our_closed = final

    def accepted(self, authenticated: bool) -> None:
        """The peer answered our SyncHdr 200 (*authenticated* False) or 212."""
        self.ours = PROOF_AFTER[self.ours, authenticated]

    def proved(self) -> bool:
        """The peer proved who it is; returns whether this is the first time."""
        first = not self.peer_proved
        self.peer_proved = True
        return first


# ------------------------------------------------------------------ diagram


def mermaid() -> str:
    """``docs/session-states.md``: one Mermaid state diagram per role, from the tables."""
    lines = [
        "# Session states",
        "",
        "Generated from the tables in `dmproto/session/_machine.py`:",
        "`python -m dmproto.session > docs/session-states.md`;",
        "do not edit (a test checks it matches the tables). Every phase x input pair not",
        'drawn is an error (see docs/session-api.md, "Phases"). Edges to the same phase',
        "that only ignore the input after the end are left out.",
    ]
    for role in Role:
        lines += ["", f"## {role.value.capitalize()}", "", "```mermaid", "stateDiagram-v2"]
        lines.append(f"    [*] --> {_node(INITIAL[role])}")
        for phase in Phase:
            edges: dict[Step, list[str]] = {}
            for event, step in TRANSITIONS[role][phase].items():
                if step.obligation is Ob.IGNORE:
                    continue
                edges.setdefault(step, []).append(event.value)
            for step, events in edges.items():
                label = ", ".join(events)
                if step.obligation is not Ob.NONE:
                    label += f" / {step.obligation.value}"
                lines.append(f"    {_node(phase)} --> {_node(step.phase)}: {label}")
        lines.append(f"    {_node(P.ENDED)} --> [*]")
        lines.append("```")
    lines += ["", "| phase | waiting for | `messages_to_send()` gives |", "|---|---|---|"]
    lines += [f"| `{p.name}` | `{WAITING_FOR[p].name}` | {DUE[p].value} |" for p in Phase]
    return "\n".join(lines) + "\n"


def _node(phase: Phase) -> str:
    return phase.name
