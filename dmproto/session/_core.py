"""Machinery shared by both roles: receive shell, ledger, large objects, sending.

:class:`Endpoint` owns a :class:`~._state.State` and implements everything that is
the same for client and server; ``client.py``/``server.py`` add the role rules
(``_process``, ``_addresses``, ``_ready``). Where the session is — its phase — is
decided only by :mod:`._machine`: this code reports each input with :meth:`_step`
and carries out the obligation the machine answers. Errors: anything the peer did wrong is a
:class:`RemoteProtocolError` raised from ``receive_message`` (the session is then
finished, but ``abort()`` can still produce one abort message); misuse by the
application is a :class:`LocalProtocolError`.
"""

from __future__ import annotations

import abc
import re
from collections.abc import Sequence
from typing import Any, ClassVar

import attrs

from ..codec import Encoding, decode_message, detect_encoding
from ..codec.model import (
    Alert,
    Command,
    Item,
    ItemCommand,
    Location,
    Message,
    Meta,
    Results,
    Status,
    SyncHdr,
)
from ..codes import AlertCode, StatusCode
from ..errors import LocalProtocolError, RemoteProtocolError
from ..outcome import CommandOutcome, OutcomeNote
from ..security import AuthScheme
from . import _auth
from ._b64 import b64_unit
from ._handshake import Handshake
from ._ledger import (
    Answer,
    SentRef,
    Tracked,
    check_shape,
    ref_of,
    status_commands,
    uniform_outcome,
)
from ._machine import Due, Input, Obligation, Phase, Proof, WaitingFor
from ._packaging import Assembly, Unit, assemble, data_size, join_data, plain, statuses_first
from ._state import LoIn, State
from ._types import OutgoingMessage, SessionState
from .config import MIN_MSG_SIZE, ClientConfig, ServerConfig
from .events import (
    NO_PROGRESS,
    CommandCompleted,
    EndReason,
    Event,
    NonceChanged,
    NonceRole,
    SessionEnded,
)
from .snapshot import read as read_snapshot
from .snapshot import write as write_snapshot

__all__ = ["Endpoint", "Outcome"]

#: Consecutive messages without progress tolerated before that end (a message
#: holding only the SyncHdr Status is normal once, e.g. after a challenge).
MAX_STALLS = 3


@attrs.frozen
class Outcome:
    """What one processed peer message amounted to (reported to the machine);
    *reason*/*detail* say why when it ends the session."""

    event: Input
    reason: EndReason | None = None
    detail: str = ""


class Endpoint(Handshake, abc.ABC):
    """Base of :class:`ClientSession` and :class:`ServerSession`."""

    _role: ClassVar[str] = ""
    #: The HTTP server side: it only answers, and sends no new commands while the
    #: peer's package is open (OMA-TS-DM_Protocol-V1_2_1 §2.1).
    _responder: ClassVar[bool] = False
    _peer_nonce_role: ClassVar[NonceRole]
    _config: ClientConfig | ServerConfig
    _s: State

    # ------------------------------------------------------------------ public

    @property
    def state(self) -> SessionState:
        """``ACTIVE`` until the session ended (``SessionEnded`` queued)."""
        return SessionState.FINISHED if self._s.ended is not None else SessionState.ACTIVE

    @property
    def end_reason(self) -> EndReason | None:
        """Why the session ended (as in its ``SessionEnded``), None while active."""
        return self._s.ended

    @property
    def phase(self) -> Phase:
        """Where the session is (see ``docs/session-states.md``)."""
        return self._s.machine.phase

    @property
    def waiting_for(self) -> WaitingFor:
        """Whose move it is: ``PEER`` (``receive_message``), ``APPLICATION`` (an
        application call the phase names), ``SEND`` (``messages_to_send()`` has a
        message) or ``NOTHING`` (the session is over)."""
        return self._s.machine.waiting_for

    @property
    def session_id(self) -> str:
        """The SessionID shared by every message of this session
        (OMA-TS-DM_RepPro-V1_2_1 §4.1.1)."""
        return self._s.session_id

    @property
    def peer_msg_id(self) -> int:
        """The MsgID of the last message accepted from the peer (0 before the first;
        OMA-TS-DM_RepPro-V1_2_1 §4.1.1)."""
        return self._s.last_peer_msg_id

    @property
    def pending_commands(self) -> int:
        """Commands whose answer is outstanding: on a client, handed-out commands
        not yet ``respond``-ed (why ``messages_to_send`` returns nothing); on a
        server, queued commands without their ``CommandCompleted`` yet."""
        return self._pending()

    def _pop_event(self) -> Event | None:
        """The next event, or None (each role's ``next_event`` narrows the type)."""
        if not self._s.events:
            return None
        return self._s.events.pop(0)

    def get_timer(self) -> float | None:
        """When ``handle_timer`` should be called next (inactivity deadline)."""
        if self._s.ended is not None:
            return None
        return self._s.deadline

    def handle_timer(self, now: float) -> None:
        """End the session with ``TIMED_OUT`` once the inactivity deadline passed."""
        s = self._s
        if s.deadline is not None and now >= s.deadline:
            detail = "no message within the inactivity timeout"
            self._step(Input.TIMEOUT, EndReason.TIMED_OUT, detail)

    def abort(self) -> None:
        """Queue a session abort (Alert 1223, OMA-TS-DM_Protocol-V1_2_1 §2.3;
        OMA-TS-DM_RepPro-V1_2_1 §4.2) and end the session.

        Raises:
            LocalProtocolError: ``session.finished`` when the session already ended
                (except after a peer protocol error: one abort message is allowed).
        """
        self._step(Input.ABORT, EndReason.ABORTED, "aborted by the application")

    def snapshot(self) -> dict[str, Any]:
        """Versioned, JSON-serialisable state (format: ``docs/session-api.md``,
        "Snapshots"); see :meth:`restore`."""
        return write_snapshot(self._role, self._s)

    @classmethod
    def _restore_state(cls, snapshot: dict[str, Any]) -> State:
        return read_snapshot(snapshot, cls._role)

    def receive_message(
        self,
        body: bytes,
        *,
        media_type: str,
        headers: Sequence[tuple[str, str]] = (),
        now: float,
    ) -> None:
        """Feed one whole message from the peer.

        ``media_type`` is the type the message was carried with (the HTTP
        Content-Type, parameters and case ignored; ``OutgoingMessage.media_type``
        on the sending side): ``application/vnd.syncml.dm+xml`` or ``+wbxml``. The
        body must be in the encoding it names (the IANA registrations of the two DM
        media types: each is one encoding), and a message that cannot be read at
        all is answered in it.

        Raises:
            RemoteProtocolError: malformed message (``MalformedMessageError``), a
                body contradicting ``media_type`` or a media type that is not a DM
                one (``message.media-type``, status hint 415), or a protocol
                violation; the session is finished afterwards (``abort()`` may
                still produce an abort message).
        """
        s = self._s
        message: Message | None = None
        try:
            # (out of turn: RemoteProtocolError; after the end: ignored)
            obligation = self._step(Input.RECEIVED)
            if obligation is Obligation.IGNORE:
                return
            declared = _declared_encoding(media_type)
            if declared is None:
                raise RemoteProtocolError(
                    "message.media-type",
                    f"not a DM media type: {media_type[:80]!r}",
                    status_hint=415,
                )
            message = self._decode(body)
            if detect_encoding(body) is not declared:
                # IANA registrations of the DM media types: each names one encoding.
                raise RemoteProtocolError(
                    "message.media-type",
                    f"a {declared.value.upper()} media type on a message that is not",
                    status_hint=415,
                )
            self._check_header(message.header)
            if obligation is Obligation.NOTE:
                s.peer_msg_ref = message.header.msg_id  # the pending abort answers it
                return
            s.deadline = now + self._config.inactivity_timeout
            s.peer_idle = all(_idle(command) for command in message.commands)
            self._report(self._process(message, body, list(headers)))
        except RemoteProtocolError as exc:
            self._step(Input.PEER_ERROR, EndReason.PROTOCOL_ERROR, exc.reason)
            self._error_status(
                message.header if message is not None else None, body, media_type, exc
            )
            raise

    def _decode(self, body: bytes) -> Message:
        return decode_message(body, limits=self._config.limits)

    def messages_to_send(self, now: float) -> list[OutgoingMessage]:
        """Messages to transmit now (usually zero or one). Client: the next message
        to POST (to ``url``), or ``[]`` while waiting for the server or for
        ``respond()`` on a handed-out command. Server: the one answer to the device's
        message, or ``[]`` while waiting for the application."""
        s = self._s
        due = s.machine.due
        if due is Due.ABORT:
            # OMA-TS-DM_Protocol-V1_2_1 §2.3; OMA-TS-DM_RepPro-V1_2_1 §4.2: the abort MAY carry
            # Statuses for executed commands, MUST Final.
            s.out = [
                *self._answers_to_units(only_answered=True),
                Unit(command=Alert(cmd_id=None, code=AlertCode.SESSION_ABORT)),
            ]
            return [self._send(now, final=True, truncate=True)]
        if due is Due.NOTHING:
            return []
        self._ready()
        return [self._send(now, final=s.machine.peer_final)]

    # ------------------------------------------------------------ the machine

    def _step(self, event: Input, reason: EndReason | None = None, detail: str = "") -> Obligation:
        """Report *event* to the machine and end the session when it says so."""
        obligation = self._s.machine.process(event)
        if obligation is Obligation.END:
            assert reason is not None
            self._end(reason, detail)
        return obligation

    def _report(self, outcome: Outcome) -> None:
        self._step(outcome.event, outcome.reason, outcome.detail)

    def _error_status(
        self, header: SyncHdr | None, body: bytes, media_type: str, exc: RemoteProtocolError
    ) -> None:
        """The SyncHdr Status an abort after a peer protocol error carries.

        OMA-TS-DM_Protocol-V1_2_1 "Session Abort": the abort answers the peer's
        message; its SyncHdr Status says why (400, or the error's own 4xx/5xx
        code). A message that did not decode is answered from what can still be
        read of its SyncHdr (SessionID, MsgID, Source), else from the session.
        """
        s = self._s
        code = exc.status_hint if exc.status_hint and exc.status_hint >= 400 else 400
        if header is not None:
            session_id: str | None = header.session_id
            msg_id: str | None = header.msg_id
            target: str | None = header.target.loc_uri
            source: str | None = header.source.loc_uri
        else:
            session_id, msg_id, source = _peek_header(body)
            target = None
        msg_ref = msg_id or str(s.last_peer_msg_id + 1)
        if not s.session_id:
            # The server's first message: answer in its session and encoding.
            s.session_id = session_id or "0"
            if self._config.encoding is None:
                # (the media type it was sent with: the body may not tell)
                s.encoding = _declared_encoding(media_type) or s.encoding
        self._peer_source(source)
        s.issued_nonce = None  # a Chal in the replaced Status never reaches the peer
        s.hdr_status = Status(
            cmd_id=None,
            msg_ref=msg_ref,
            cmd_ref="0",
            cmd="SyncHdr",
            code=code,
            target_refs=(target,) if target else (),
            source_refs=(source,) if source else (),
        )

    def _peer_source(self, source: str | None) -> None:
        """Hook: the Source/LocURI of a peer message refused as a protocol error."""

    # ------------------------------------------------------------ role hooks

    @abc.abstractmethod
    def _process(self, message: Message, body: bytes, headers: list[tuple[str, str]]) -> Outcome:
        """Handle one decoded peer message (its header already checked)."""

    @abc.abstractmethod
    def _addresses(self) -> tuple[str, str, str | None]:
        """(Target LocURI, Source LocURI, RespURI) of our SyncHdr."""

    @abc.abstractmethod
    def _ready(self) -> None:
        """Our message is due: merge the answers into ``out``."""

    @abc.abstractmethod
    def _pending(self) -> int:
        """See :attr:`pending_commands`."""

    # ------------------------------------------------------------ helpers

    def _pending_with_answers(self) -> list[Unit]:
        """Our pending units with the new answers merged in, Statuses first
        (OMA-TS-DM_Protocol-V1_2_1 §2.1, see :func:`statuses_first`); a stale Alert 1222 is dropped
        (it only belongs right after a non-final peer message)."""
        pending = [
            u
            for u in self._s.out
            if not (isinstance(u.command, Alert) and u.command.code == AlertCode.NEXT_MESSAGE)
        ]
        return statuses_first(pending, self._answers_to_units())

    def _ask_next_message(self) -> None:
        """OMA-TS-DM_Protocol-V1_2_1 §2.1: while the peer's package is open and we have no command
        of our own to send, ask for its next message with Alert 1222."""
        s = self._s
        if not s.machine.peer_final and all(
            isinstance(u.command, Status | Results) or self._holds(u) for u in s.out
        ):
            s.out.append(Unit(command=Alert(cmd_id=None, code=AlertCode.NEXT_MESSAGE)))

    def _holds(self, unit: Unit) -> bool:
        """Whether *unit* waits until the peer's package is closed (a server's own
        commands while the device sends a multi-message package, OMA-TS-DM_Protocol-
        V1_2_1 §2.1: the Next-Message answer holds only Statuses and Alert 1222)."""
        return self._responder and not self._s.machine.peer_final and unit.handle is not None

    def _end(self, reason: EndReason, detail: str = "") -> None:
        s = self._s
        # The machine ends a session once: no END step follows the end
        # (tests/session/test_session_ends_once.py checks the tables).
        assert s.ended is None
        s.ended = reason
        # Queued commands that never left complete locally (OMA-TS-SyncML_RepPro-V1_2 status codes
        # 215).
        for unit in [*s.queued, *s.out]:
            if unit.handle is not None and unit.handle in s.tracked:
                self._complete(unit.handle, CommandOutcome(code=StatusCode.NOT_EXECUTED))
        s.queued.clear()
        # No data lost: what was sent but never answered is listed (outcome unknown).
        unanswered = sorted(s.tracked)
        s.tracked.clear()
        s.sent.clear()
        self._emit(SessionEnded(reason=reason, detail=detail, unanswered=unanswered))

    def _new_handle(self) -> int:
        handle = self._s.next_handle
        self._s.next_handle += 1
        return handle

    def _nonce_changed(self, role: NonceRole, nonce: bytes) -> None:
        self._emit(NonceChanged(role=role, nonce=nonce))

    def _check_header(self, header: SyncHdr) -> None:
        """SessionID and MsgID rules (OMA-TS-DM_RepPro-V1_2_1 §4.1.1), peer limits
        (OMA-TS-DM_Protocol-V1_2_1 §2.1; OMA-TS-DM_RepPro-V1_2_1 §4.1.3)."""
        s = self._s
        if s.session_id and header.session_id != s.session_id:
            raise RemoteProtocolError("session.session-id", "SessionID differs from the session's")
        try:
            msg_id = int(header.msg_id)
        except ValueError:
            raise RemoteProtocolError("session.msg-id", "MsgID is not a number") from None
        # OMA-TS-DM_RepPro-V1_2_1 §4.1.1: MsgID increases by one per message in each direction; a
        # repeated or older MsgID is a duplicate.
        if msg_id <= s.last_peer_msg_id:
            raise RemoteProtocolError("session.msg-id", "MsgID repeated or out of order")
        s.last_peer_msg_id = msg_id
        meta = header.meta
        if meta is not None:
            if meta.max_msg_size is not None:
                s.peer_max_msg = max(meta.max_msg_size, MIN_MSG_SIZE)
            if meta.max_obj_size is not None:
                s.peer_max_obj = max(meta.max_obj_size, 1)

    def _auto(self, command: Command, msg_ref: str, code: int) -> None:
        """Answer a command ourselves (the spec fixes the answer)."""
        ref = ref_of(command, msg_ref)
        self._s.answers.append(Answer(ref=ref, outcome=uniform_outcome(ref, code)))

    def _ask(self, command: Command, msg_ref: str) -> int:
        """Register a command the application must answer; returns its handle."""
        handle = self._new_handle()
        self._s.answers.append(Answer(ref=ref_of(command, msg_ref), handle=handle))
        return handle

    def _answer(self, handle: int, outcome: CommandOutcome) -> None:
        if self._s.ended is not None:
            return  # the session ended meanwhile; nothing will be sent
        for answer in self._s.answers:
            if answer.handle == handle:
                if answer.outcome is not None:
                    raise LocalProtocolError(
                        "session.answered", f"handle {handle} already answered"
                    )
                check_shape(answer.ref, outcome)
                answer.outcome = outcome
                return
        raise LocalProtocolError("session.handle", f"no pending command with handle {handle}")

    def _unanswered(self) -> bool:
        return any(answer.outcome is None for answer in self._s.answers)

    def _answers_to_units(self, *, only_answered: bool = False) -> list[Unit]:
        units: list[Unit] = []
        for answer in self._s.answers:
            if answer.outcome is None:
                assert only_answered
                continue
            for command in status_commands(answer.ref, self._limit_results(answer.outcome)):
                units.append(Unit(command=command))
        self._s.answers.clear()
        return units

    def _limit_results(self, outcome: CommandOutcome) -> CommandOutcome:
        """OMA-TS-DM_Protocol-V1_2_1 §2.1, §2.2; OMA-TS-DM_RepPro-V1_2_1 §4.1.3: never send an
        object over the peer's MaxObjSize (416)."""
        limit = self._s.peer_max_obj
        if limit is None or not any(data_size(i.data) > limit for i in outcome.results):
            return outcome
        return attrs.evolve(outcome, code=StatusCode.REQUESTED_SIZE_TOO_BIG, results=())

    # ------------------------------------------------------------ large objects

    def _intake(self, command: Command, msg_ref: str) -> Command | None:
        """Large-object reassembly (OMA-TS-DM_Protocol-V1_2_1 §2.2). Returns the command to
        process, or None when it was a chunk (answered 213/411/416/424 here)."""
        s = self._s
        single = (
            command
            if isinstance(command, ItemCommand | Results) and len(command.items) == 1
            else None
        )
        lo = s.lo_in
        if lo is not None:
            if single is not None and _lo_key(single) == (lo.name, lo.target, lo.source):
                item = single.items[0]
                data = plain(item.data)
                if data:
                    # (empty chunks add nothing: a hostile stream of them stays O(1))
                    lo.parts.append(data)
                    lo.received += data_size(data)
                if lo.received > self._max_obj():
                    s.lo_in = None
                    self._auto(command, msg_ref, StatusCode.REQUESTED_SIZE_TOO_BIG)
                    return None
                if item.more_data:
                    self._auto(command, msg_ref, StatusCode.CHUNKED_ITEM_ACCEPTED)
                    return None
                s.lo_in = None
                if lo.received != lo.total:
                    # OMA-TS-DM_Protocol-V1_2_1 §2.2: size mismatch ⇒ 424, MUST NOT commit.
                    self._lo_failed(lo, StatusCode.SIZE_MISMATCH)
                    self._auto(command, msg_ref, StatusCode.SIZE_MISMATCH)
                    return None
                whole = attrs.evolve(item, data=join_data(lo.parts), meta=lo.meta, more_data=False)
                return attrs.evolve(single, items=(whole,))
            # OMA-TS-DM_Protocol-V1_2_1 §2.2: a new command before the last chunk ⇒ Alert 1225, no
            # commit.
            s.lo_in = None
            self._lo_failed(lo, StatusCode.NOT_EXECUTED)
            self._alert_no_end_of_data(lo)
        if single is None or not single.items[0].more_data:
            return command
        item = single.items[0]
        size = item.meta.size if item.meta is not None else None
        if size is None and single.meta is not None:
            size = single.meta.size
        if size is None:
            # OMA-TS-DM_Protocol-V1_2_1 §2.2: 411
            self._auto(command, msg_ref, StatusCode.SIZE_REQUIRED)
            return None
        if size > self._max_obj():
            # OMA-TS-DM_Protocol-V1_2_1 §2.2: 416
            self._auto(command, msg_ref, StatusCode.REQUESTED_SIZE_TOO_BIG)
            return None
        data = plain(item.data)
        meta = attrs.evolve(item.meta, size=None) if item.meta is not None else None
        name, target, source = _lo_key(single)
        s.lo_in = LoIn(
            name=name,
            target=target,
            source=source,
            command=attrs.evolve(single, items=(attrs.evolve(item, data=None, more_data=False),)),
            meta=meta,
            parts=[data] if data is not None else [],
            received=data_size(data),
            total=size,
        )
        self._lo_started(s.lo_in, single)
        self._auto(command, msg_ref, StatusCode.CHUNKED_ITEM_ACCEPTED)
        return None

    def _max_obj(self) -> int:
        limit = self._config.limits.max_data_size
        if self._config.max_obj_size is not None:
            limit = min(limit, self._config.max_obj_size)
        return limit

    def _lo_started(self, lo: LoIn, command: Command) -> None:
        """Hook: the server links Results chunks to the handle awaiting them."""

    def _lo_failed(self, lo: LoIn, code: int) -> None:
        """Hook: the server records a failed Results reassembly."""

    def _alert_no_end_of_data(self, lo: LoIn) -> None:
        item = Item(
            target=Location(loc_uri=lo.source) if lo.source else None,
            source=Location(loc_uri=lo.target) if lo.target else None,
        )
        alert = Alert(cmd_id=None, code=AlertCode.NO_END_OF_DATA, items=(item,))
        self._s.out.append(Unit(command=alert))

    def _drop_lo_out(self, lo_id: int | None = None) -> None:
        """Stop sending a chunked object (peer refused a chunk or sent 1225)."""
        self._s.out = [
            unit
            for unit in self._s.out
            if unit.lo_id is None or (lo_id is not None and unit.lo_id != lo_id)
        ]

    # ------------------------------------------------------------ ledger in

    def _on_status(self, status: Status) -> None:
        """Correlate a Status with what we sent (OMA-TS-DM_RepPro-V1_2_1 §4.1.1 MsgRef/CmdRef)."""
        s = self._s
        key = f"{status.msg_ref}:{status.cmd_ref}"
        sent = s.sent.get(key)
        if sent is None:
            return
        if sent.lo_id is not None or sent.handle is None:
            del s.sent[key]
        if sent.lo_id is not None and status.code == StatusCode.CHUNKED_ITEM_ACCEPTED:
            return
        code = status.code
        tracked = s.tracked.get(sent.handle) if sent.handle is not None else None
        if sent.lo_id is not None:
            # OMA-TS-DM_Protocol-V1_2_1 "Large Object Handling": the receiver accepts
            # each non-final chunk with 213; any other answer ends the object — no
            # further chunk is sent, and the command failed whatever the code said
            # (a 200 here means the peer kept only part of the object).
            self._drop_lo_out(sent.lo_id)
            if tracked is not None:
                tracked.notes[sent.path] = (OutcomeNote.LARGE_OBJECT_NOT_DELIVERED, code)
            if code < 300:
                code = StatusCode.COMMAND_FAILED
        if tracked is not None:
            tracked.codes[sent.path] = code
            tracked.status_items[sent.path] = status.items

    def _complete_tracked(self) -> None:
        s = self._s
        done: set[int] = set()
        for handle in list(s.tracked):
            tracked = s.tracked[handle]
            if tracked.complete() and (s.lo_in is None or s.lo_in.handle != handle):
                done.add(handle)
                self._complete(handle, tracked.outcome())
        if done:
            s.sent = {k: v for k, v in s.sent.items() if v.handle not in done}

    def _enqueue(self, command: Command) -> int:
        """Queue an application command; after the end it completes with 215."""
        unit = self._track(command)
        assert unit.handle is not None
        if self._s.ended is not None:
            self._complete(unit.handle, CommandOutcome(code=StatusCode.NOT_EXECUTED))
        else:
            self._s.queued.append(unit)
        return unit.handle

    def _complete(self, handle: int, outcome: CommandOutcome) -> None:
        """Report a tracked command's outcome (with the command, as queued) and
        forget it."""
        tracked = self._s.tracked.pop(handle)
        self._emit(CommandCompleted(handle=handle, command=tracked.command, outcome=outcome))

    def _track(self, command: Command) -> Unit:
        handle = self._new_handle()
        self._s.tracked[handle] = Tracked(handle=handle, command=command)
        return Unit(command=command, handle=handle)

    def _oversize(self, unit: Unit) -> bool:
        limit = self._s.peer_max_obj
        command = unit.command
        if limit is None or not isinstance(command, ItemCommand):
            return False
        return any(data_size(item.data) > limit for item in command.items)

    # ------------------------------------------------------------ sending

    def _send(self, now: float, *, final: bool, truncate: bool = False) -> OutgoingMessage:
        s = self._s
        config = self._config
        if s.encoding is Encoding.XML:
            # OMA-TS-DM_TND-V1_2 §8.3.7.2: binary values over XML as base64 text, Meta Format b64.
            s.out = [b64_unit(unit) for unit in s.out]
        units = [unit for unit in s.out if not self._holds(unit)]
        held = [unit for unit in s.out if self._holds(unit)]
        header = self._header()
        lead: list[Command] = [s.hdr_status] if s.hdr_status is not None else []
        # OMA-TS-DM_RepPro-V1_2_1 §4.1.6: an auth-failure answer holds only Statuses; it is never
        # split. An abort is one Final message too (OMA-TS-DM_Protocol-V1_2_1 §2.3;
        # OMA-TS-DM_RepPro-V1_2_1 §4.2); what does not fit is dropped.
        truncate = truncate or (s.hdr_status is not None and s.hdr_status.code in (401, 407))
        assembly = assemble(
            header,
            lead,
            units,
            limit=s.peer_max_msg,
            encoding=s.encoding,
            final=final or truncate,
            next_lo_id=s.next_lo_id,
            truncate=truncate,
            fresh_ref=s.peer_msg_ref,
            chal_recurs=s.peer_scheme is AuthScheme.HMAC,
            close=self._responder,
        )
        backlog = sum(isinstance(u.command, Status) for u in assembly.rest)
        s.stalls = s.stalls + 1 if self._stalled(assembly, backlog) else 0
        s.backlog = backlog
        if s.stalls > MAX_STALLS:
            # OMA-TS-DM_Protocol-V1_2_1 §2.1; OMA-TS-DM_RepPro-V1_2_1 §4.1.3: the peer's MaxMsgSize
            # leaves no room for anything but the Statuses of a Next-Message exchange, which would
            # repeat for ever. End with an abort (OMA-TS-DM_Protocol-V1_2_1 §2.3;
            # OMA-TS-DM_RepPro-V1_2_1 §4.2), without the SyncHdr Status if both do not fit.
            self._step(Input.STALLED, EndReason.PROTOCOL_ERROR, NO_PROGRESS)
            s.out = [Unit(command=Alert(cmd_id=None, code=AlertCode.SESSION_ABORT))]
            trial = assemble(
                header,
                lead,
                s.out,
                limit=s.peer_max_msg,
                encoding=s.encoding,
                final=True,
                next_lo_id=s.next_lo_id,
                truncate=True,
            )
            if not trial.taken:
                s.hdr_status = None
            return self._send(now, final=True, truncate=True)
        msg_id = header.msg_id
        for unit in assembly.rejected:
            # OMA-TS-DM_Protocol-V1_2_1 §2.1, §2.3; OMA-TS-DM_RepPro-V1_2_1 §4.1.3: too large for
            # the peer's MaxMsgSize ⇒ 413, not sent (only tracked commands are ever rejected).
            assert unit.handle is not None
            self._complete(unit.handle, CommandOutcome(code=StatusCode.REQUEST_ENTITY_TOO_LARGE))
        for taken in assembly.taken:
            if taken.partial and taken.unit.lo_id == s.next_lo_id:
                s.next_lo_id += 1
            if taken.unit.handle is None and not taken.partial:
                continue
            for path, cmd_id in taken.ids:
                s.sent[f"{msg_id}:{cmd_id}"] = SentRef(
                    handle=taken.unit.handle,
                    path=path,
                    lo_id=taken.unit.lo_id if taken.partial else None,
                )
        s.out = [*assembly.rest, *held]
        s.machine.sent(assembly.message.final)
        s.next_msg_id += 1
        s.hdr_status = None
        s.deadline = now + config.inactivity_timeout
        headers = _auth.hmac_headers(s.scheme, s.creds, s.nonce, assembly.body)
        if s.issued_nonce is not None:
            # OMA-TS-DM_Security-V1_2_1 §5.1; OMA-TS-DM_Protocol-V1_2_1 §2.4: the nonce we issued
            # is the one the peer must use next.
            s.peer_nonce, s.issued_nonce = s.issued_nonce, None
            self._nonce_changed(self._peer_nonce_role, s.peer_nonce)
        # CLOSING ends only once everything owed went out (a split last package
        # continues after the peer's next message).
        self._step(Input.SENT_PART if s.out else Input.SENT, s.end_after_send)
        return OutgoingMessage(
            body=assembly.body,
            media_type=s.encoding.media_type,
            headers=headers,
            url=s.url,
        )

    def _stalled(self, assembly: Assembly, backlog: int) -> bool:
        """An empty exchange: the peer's message held only Statuses and Alert 1222,
        and ours holds only Statuses, leaves something of ours unsent and no fewer
        Statuses owed than after our previous message (a Next-Message ping-pong
        that would repeat for ever)."""
        s = self._s
        return (
            s.peer_idle
            and bool(assembly.rest)
            and backlog >= s.backlog
            and all(isinstance(t.unit.command, Status) for t in assembly.taken)
        )

    def _header(self) -> SyncHdr:
        """Our SyncHdr for the next message (OMA-TS-DM_Protocol-V1_2_1 §2.3)."""
        s = self._s
        target, source, resp_uri = self._addresses()
        # OMA-TS-DM_Security-V1_2_1 §5.1; OMA-TS-DM_Protocol-V1_2_1 §2.4: Cred until the peer
        # answered 212; OMA-TS-DM_Protocol-V1_2_1 §2.3: Source LocName = the auth user name.
        cred = (
            None
            if s.machine.ours is Proof.AUTHENTICATED
            else _auth.build_cred(s.scheme, s.creds, s.nonce)
        )
        name = s.creds.username if s.creds is not None and s.scheme is not None else None
        return SyncHdr(
            ver_proto=self._config.ver_proto,
            session_id=s.session_id,
            msg_id=str(s.next_msg_id),
            target=Location(loc_uri=target),
            source=Location(loc_uri=source, loc_name=name),
            resp_uri=resp_uri,
            cred=cred,
            meta=self._meta(),
        )

    def _meta(self) -> Meta:
        # OMA-TS-DM_Protocol-V1_2_1 §2.1; OMA-TS-DM_RepPro-V1_2_1 §4.1.3: advertise MaxMsgSize (and
        # MaxObjSize) in every SyncHdr.
        return Meta(max_msg_size=self._config.max_msg_size, max_obj_size=self._config.max_obj_size)


def _declared_encoding(media_type: str) -> Encoding | None:
    """The encoding a DM media type names (parameters and case ignored), else None."""
    base = media_type.split(";", 1)[0].strip().lower()
    return next((e for e in Encoding if e.media_type == base), None)


def _idle(command: Command) -> bool:
    """A command that only keeps a Next-Message exchange going (OMA-TS-DM_Protocol-V1_2_1 §2.1)."""
    return isinstance(command, Status) or (
        isinstance(command, Alert) and command.code == AlertCode.NEXT_MESSAGE
    )


#: SyncHdr fields read leniently from a message that did not decode (XML only;
#: bounded: the SyncHdr is at the start of the message).
_PEEK_SESSION = re.compile(rb"<SessionID>\s*([^<>\s]{1,64})\s*</SessionID>")
_PEEK_MSG = re.compile(rb"<MsgID>\s*([0-9]{1,9})\s*</MsgID>")
_PEEK_SOURCE = re.compile(rb"<Source>\s*<LocURI>\s*([^<>\s]{1,255})\s*</LocURI>")


def _peek_header(body: bytes) -> tuple[str | None, str | None, str | None]:
    """SessionID, MsgID and Source/LocURI of an undecodable XML SyncHdr, if readable."""
    head = body[:4096].split(b"<SyncBody", 1)[0]
    found: list[str | None] = []
    for pattern in (_PEEK_SESSION, _PEEK_MSG, _PEEK_SOURCE):
        match = pattern.search(head)
        text = match.group(1).decode("utf-8", "replace") if match else ""
        found.append(text if text.isprintable() and text else None)
    return found[0], found[1], found[2]


def _lo_key(command: ItemCommand | Results) -> tuple[str, str | None, str | None]:
    item = command.items[0]
    return (
        command.name,
        item.target.loc_uri if item.target is not None else None,
        item.source.loc_uri if item.source is not None else None,
    )
