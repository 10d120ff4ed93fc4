"""The DM client session (device side): OMA-TS-DM_Protocol-V1_2_1 §2.3;
OMA-TS-DM_Security-V1_2_1 §5.1.

Package 1 (Alert 1200/1201, DevInfo, credentials) goes out on the first
``messages_to_send``; every server message is answered with a SyncHdr Status
first, then a Status (and Results) for each command, once the application has
answered every command it was handed (``respond``). Authentication (OMA-TS-DM_Security-V1_2_1 §5.1;
OMA-TS-DM_Protocol-V1_2_1 §2.4): stored credentials and nonce in Package 1; on a 401/407 challenge
Package 1 is sent again (next MsgID, to RespURI) with the requested scheme; 212 ends client
authentication for the session; with HMAC every message carries the MAC header.
The server is authenticated from its SyncHdr Cred or HMAC header and challenged
when that fails.
"""

from __future__ import annotations

from typing import Any

import attrs

from ..codec.model import (
    Add,
    Alert,
    Atomic,
    Command,
    Copy,
    Delete,
    Exec,
    Get,
    Message,
    Replace,
    Results,
    Status,
)
from ..codec.model import (
    Sequence as SequenceCmd,
)
from ..codes import AlertCode, StatusCode
from ..errors import LocalProtocolError
from ..notification import Notification
from ..outcome import CommandOutcome
from ..security import RESET_NONCE, NonceUsed
from ._core import Endpoint, Outcome
from ._handshake import PeerCheck
from ._machine import Input, Machine, Role
from ._packaging import Unit
from ._state import State
from .config import ClientConfig
from .events import ClientSessionEvent, CommandReceived, EndReason, NonceRole
from .ui import UI_ALERT_CODES, parse_ui_alert

__all__ = ["ClientSession"]

#: Commands a server may send that the application executes (OMA-TS-DM_RepPro-V1_2_1 §4.1 matrix).
_MANAGEMENT = (Add, Replace, Delete, Copy, Get, Exec, Atomic, SequenceCmd)


class ClientSession(Endpoint):
    """Client role state machine; see ``docs/session-api.md``."""

    _role = "client"
    _our_nonce_role = NonceRole.CLIENT
    _peer_nonce_role = NonceRole.SERVER
    _config: ClientConfig

    def __init__(self, config: ClientConfig, *, _state: State | None = None) -> None:
        self._config = config
        if _state is not None:
            self._s = _state
            return
        session_id = config.session_id
        if session_id is None:
            # OMA-TS-DM_Protocol-V1_2_1 §2.3: client-generated, unique for that client.
            session_id = format(int.from_bytes(config.random_bytes(2), "big") or 1, "X")
        self._s = State(
            role=self._role,
            session_id=session_id,
            encoding=config.encoding,
            machine=Machine.start(Role.CLIENT),
            url=config.server_uri,
            creds=config.credentials,
            scheme=config.auth_scheme if config.credentials is not None else None,
            nonce=config.client_nonce,
            peer_creds=config.server_credentials,
            peer_scheme=config.server_auth_scheme if config.server_credentials else None,
            peer_nonce=config.server_nonce,
            trusted=config.server_credentials is None,
            initial=list(config.initial_alerts),
        )
        self._s.out = self._package1()

    @classmethod
    def from_notification(
        cls, notification: Notification, nonce_used: NonceUsed | None, *, config: ClientConfig
    ) -> ClientSession:
        """Start a server-initiated session from a verified Package 0.

        OMA-TS-DM_Protocol-V1_2_1 §2.3: Alert 1200 and SessionID = the notification's session id as
        uppercase hex. OMA-TS-DM_Notification-V1_2_1 §6.1, §6.2: if the notification verified only
        with the reset nonce, Package 1 credentials use the reset nonce, the server is expected to
        use it too, and both sides then issue fresh nonces.
        """
        session = cls(attrs.evolve(config, session_id=notification.session_id_text))
        s = session._s
        s.alert_code = AlertCode.SERVER_INITIATED_MGMT
        if nonce_used is NonceUsed.RESET:
            s.nonce = RESET_NONCE
            s.try_reset = True
        s.out = session._package1()
        return session

    @classmethod
    def restore(cls, snapshot: dict[str, Any], *, config: ClientConfig) -> ClientSession:
        """Rebuild a session from :meth:`snapshot` output (another process is fine)."""
        return cls(config, _state=cls._restore_state(snapshot))

    def next_event(self) -> ClientSessionEvent | None:
        """The next event, or None. State advances as events are handed out."""
        event = self._pop_event()
        assert event is None or isinstance(event, ClientSessionEvent)
        return event

    # ------------------------------------------------------------ app input

    def respond(self, handle: int, outcome: CommandOutcome) -> None:
        """Answer the command handed out as ``CommandReceived(handle, ...)``.

        Raises:
            LocalProtocolError: unknown/answered handle, or children not matching.
                After the session ended this is a no-op.
        """
        self._answer(handle, outcome)
        if self._s.ended is None and not self._unanswered():
            self._step(Input.ANSWERED)

    def queue(self, command: Command) -> int:
        """Queue a client alert (1224/1226, see :mod:`dmproto.session.alerts`) for
        the next message; returns its handle. The server's Status comes back as
        ``CommandCompleted(handle, command, outcome)``.

        Raises:
            LocalProtocolError: ``session.alert``: not a client alert (a DM client
                sends only Alert, the DevInfo Replace, Status and Results: the
                OMA-TS-DM_RepPro-V1_2_1 command support tables). After the session
                ended the alert completes at once with 215.
        """
        if not isinstance(command, Alert) or command.code not in (
            AlertCode.CLIENT_EVENT,
            AlertCode.GENERIC_ALERT,
        ):
            raise LocalProtocolError("session.alert", "clients send only alerts 1224/1226")
        return self._enqueue(command)

    # ------------------------------------------------------------ role hooks

    def _package1(self) -> list[Unit]:
        """OMA-TS-DM_Protocol-V1_2_1 §2.3: Alert 1200/1201, the DevInfo Replace, client alerts."""
        s = self._s
        units = [Unit(command=Alert(cmd_id=None, code=s.alert_code))]
        units.append(Unit(command=Replace(cmd_id=None, items=self._config.dev_info)))
        units.extend(Unit(command=alert) for alert in s.initial)
        return units

    def _addresses(self) -> tuple[str, str, str | None]:
        return self._config.server_uri, self._config.device_id, None

    def _pending(self) -> int:
        return sum(1 for answer in self._s.answers if answer.outcome is None)

    def _ready(self) -> None:
        s = self._s
        # Statuses first, then the rest of our package, then newly queued alerts.
        s.out = [*self._pending_with_answers(), *s.queued]
        s.queued = []
        self._ask_next_message()

    def _process(self, message: Message, body: bytes, headers: list[tuple[str, str]]) -> Outcome:
        s = self._s
        header = message.header
        s.peer_msg_ref = header.msg_id
        if s.machine.peer_message(message.final):
            s.peer_commands = False  # this message starts a new server package
        if header.resp_uri:
            s.url = header.resp_uri  # OMA-TS-DM_RepPro-V1_2_1 §4.1.1: next message goes to RespURI
        commands = list(message.commands)
        hdr = next((c for c in commands if isinstance(c, Status) and c.cmd_ref == "0"), None)
        peer = self._authenticate_peer(message, body, headers)
        if peer is PeerCheck.TERMINATE:
            return _auth_failed("server authentication failed")
        ours = self._read_our_auth(hdr)
        # OMA-TS-DM_Protocol-V1_2_1 "Session Abort": an abort ends the session as an
        # abort, whatever its SyncHdr Status says (after a protocol error of ours
        # it says why: 400).
        if ours is PeerCheck.TERMINATE and not any(_is_abort(c) for c in commands):
            return _auth_failed(f"server refused our credentials ({hdr.code if hdr else 0})")
        challenged = ours is PeerCheck.CHALLENGED
        peer_ok = peer is PeerCheck.OK
        management = [c for c in commands if not isinstance(c, Status | Results)]
        s.peer_commands = s.peer_commands or bool(management)
        if challenged:
            # OMA-TS-DM_Protocol-V1_2_1 §2.3: revert to Package 1 (next MsgID, to RespURI, new
            # credentials); the server's auth-failure message holds only Statuses.
            s.out = self._package1()
            return Outcome(Input.ANSWER)
        if not peer_ok:
            if message.final and not s.peer_commands:
                # OMA-TS-DM_Protocol-V1_2_1 §2.3: never challenge with a SyncHdr-Status-only
                # package. Only the package's final outcome counts: a message without Final is a
                # partial package (OMA-TS-DM_Protocol-V1_2_1 §2.1: answered, the rest asked with
                # 1222), e.g. one holding only the SyncHdr Status under a small MaxMsgSize.
                return _auth_failed("server not authenticated")
            code = s.hdr_status.code if s.hdr_status is not None else 401
            for refused in management:
                self._auto(refused, header.msg_id, code)
            return Outcome(Input.ANSWER)
        for command in commands:
            if isinstance(command, Status):
                if command.cmd_ref != "0":
                    self._on_status(command)
                continue
            if isinstance(command, Results):
                continue  # servers send no Results in DM; nothing to answer
            if self._dispatch(command, header.msg_id):
                return Outcome(Input.PEER_END, EndReason.ABORTED_BY_PEER, "server sent Alert 1223")
        self._complete_tracked()
        if message.final and not management and s.lo_in is None and not s.out:
            # OMA-TS-DM_Protocol-V1_2_1 §2.3: a server package with no command and no challenge
            # ends the session; the client sends nothing (so no nonce is issued either).
            s.issued_nonce = None
            s.hdr_status = None
            s.answers.clear()
            return Outcome(Input.PEER_END, EndReason.COMPLETED)
        return Outcome(Input.ASK_APP if self._unanswered() else Input.ANSWER)

    def _dispatch(self, command: Command, msg_ref: str) -> bool:
        """Handle one server command; True when it ends the session (1223)."""
        if not command.cmd_id:
            self._auto(command, msg_ref, StatusCode.BAD_REQUEST)  # missing CmdID ⇒ 400
            return False
        if isinstance(command, Alert):
            return self._alert(command, msg_ref)
        if not isinstance(command, _MANAGEMENT):
            # OMA-TS-DM_RepPro-V1_2_1 §4.1; OMA-TS-SyncML_RepPro-V1_2 DTD: commands DM does not use
            # ⇒ 406.
            self._auto(command, msg_ref, StatusCode.OPTIONAL_FEATURE_NOT_SUPPORTED)
            return False
        whole = self._intake(command, msg_ref)
        if whole is not None:
            handle = self._ask(whole, msg_ref)
            self._emit(CommandReceived(handle=handle, command=whole))
        return False

    def _alert(self, alert: Alert, msg_ref: str) -> bool:
        s = self._s
        code = alert.code
        if code == AlertCode.SESSION_ABORT:
            # OMA-TS-DM_Protocol-V1_2_1 §2.3; OMA-TS-DM_RepPro-V1_2_1 §4.2: a client receiving 1223
            # SHOULD NOT respond. The abort MAY carry Statuses for our alerts: report those before
            # the end.
            s.answers.clear()
            self._complete_tracked()
            return True
        if code == AlertCode.NEXT_MESSAGE:
            self._auto(alert, msg_ref, StatusCode.OK)
        elif code == AlertCode.NO_END_OF_DATA:
            self._drop_lo_out()
            self._auto(alert, msg_ref, StatusCode.OK)
        elif code in UI_ALERT_CODES:
            request = parse_ui_alert(alert)
            if request is None:
                # OMA-TS-DM_RepPro-V1_2_1 §4.2
                self._auto(alert, msg_ref, StatusCode.INCOMPLETE_COMMAND)
            else:
                handle = self._ask(alert, msg_ref)
                self._emit(CommandReceived(handle=handle, command=alert, ui=request))
        else:
            self._auto(alert, msg_ref, StatusCode.OPTIONAL_FEATURE_NOT_SUPPORTED)
        return False


def _auth_failed(detail: str) -> Outcome:
    # OMA-TS-DM_Security-V1_2_1 §5.1: the client just stops; nothing more is sent.
    return Outcome(Input.PEER_END, EndReason.AUTHENTICATION_FAILED, detail)


def _is_abort(command: Command) -> bool:
    return isinstance(command, Alert) and command.code == AlertCode.SESSION_ABORT
