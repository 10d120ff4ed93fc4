"""The DM server session: OMA-TS-DM_Protocol-V1_2_1 §2.1, §2.2, §2.3;
OMA-TS-DM_RepPro-V1_2_1 §4.1.3, §4.1.6, §4.2; OMA-TS-DM_Security-V1_2_1 §5.1.

Package 1 is held until the application supplies the device's account
(``AccountRequested`` → ``supply_account``); the device is then authenticated
(challenge 401/407 with a fresh NextNonce, 212, or HMAC per message) and reported
(``DeviceConnected``, client events, generic alerts). Each device message gets
exactly one response. When the device's package is complete and every command sent
has its Status, ``PackageCompleted`` asks the application for the next package
(``queue`` + ``close_package``) or the end (``end_session``: a Status-only
package).
"""

from __future__ import annotations

from collections.abc import Sequence as Seq
from typing import Any

from ..codec import Encoding, detect_encoding
from ..codec.model import (
    Add,
    Alert,
    Atomic,
    Command,
    Copy,
    Delete,
    Exec,
    Get,
    Item,
    Message,
    Replace,
    Results,
    Sequence,
    Status,
)
from ..codes import AlertCode, StatusCode
from ..errors import LocalProtocolError, MalformedMessageError, RemoteProtocolError
from ..outcome import CommandOutcome, OutcomeNote
from ..security import AuthScheme, PeerCertificate
from . import _auth
from ._core import Endpoint, Outcome
from ._handshake import PeerCheck
from ._ledger import ROOT, Tracked, child_commands
from ._machine import Input, Machine, Obligation, Role
from ._packaging import Unit
from ._state import HeldMessage, LoIn, State
from .config import Account, ServerConfig
from .events import (
    AccountRequested,
    ClientEventReceived,
    CredentialsRefused,
    DeviceConnected,
    EndReason,
    GenericAlertReceived,
    NonceRole,
    PackageCompleted,
    ServerSessionEvent,
)
from .ui import UI_ALERT_CODES

__all__ = ["ServerSession"]

#: What a server may queue (OMA-TS-DM_RepPro-V1_2_1 §4.1 server→client matrix; UI alerts).
_QUEUEABLE = (Add, Replace, Delete, Copy, Get, Exec, Atomic, Sequence, Alert)


class ServerSession(Endpoint):
    """Server role state machine; see ``docs/session-api.md``."""

    _role = "server"
    _responder = True
    _our_nonce_role = NonceRole.SERVER
    _peer_nonce_role = NonceRole.CLIENT
    _config: ServerConfig

    def __init__(self, config: ServerConfig, *, _state: State | None = None) -> None:
        self._config = config
        if _state is not None:
            self._s = _state
            return
        self._s = State(
            role=self._role,
            session_id="",
            encoding=config.encoding if config.encoding is not None else Encoding.XML,
            machine=Machine.start(Role.SERVER),
        )

    @classmethod
    def restore(cls, snapshot: dict[str, Any], *, config: ServerConfig) -> ServerSession:
        """Rebuild a session from :meth:`snapshot` output (another process is fine)."""
        return cls(config, _state=cls._restore_state(snapshot))

    @property
    def config(self) -> ServerConfig:
        """The configuration the session was made (or restored) with; an endpoint
        sets its ``resp_uri``, which carries the session's routing token."""
        return self._config

    @property
    def device_id(self) -> str | None:
        """The device's SyncHdr Source/LocURI once Package 1 arrived."""
        return self._s.device_id

    @property
    def username(self) -> str | None:
        """The account name ``AccountRequested`` asked for (once Package 1 arrived)."""
        return self._s.username

    def receive_message(
        self,
        body: bytes,
        *,
        media_type: str,
        headers: Seq[tuple[str, str]] = (),
        now: float,
        peer_certificate: PeerCertificate | None = None,
    ) -> None:
        """Feed one whole message from the device (see ``Endpoint.receive_message``).

        ``peer_certificate``: the TLS client certificate the transport verified for
        this message (``HttpRequest.peer_certificate``), or ``None``. It is shown
        in ``AccountRequested`` and checked against ``Account.certificate``.
        """
        self._s.peer_certificate = peer_certificate
        super().receive_message(body, media_type=media_type, headers=headers, now=now)

    #: ``(body, decoded)``: a body the endpoint already decoded to route it, and the
    #: message or the decode's error (:meth:`_receive_routed`), so it is not decoded
    #: a second time.
    _routed: tuple[bytes, Message | MalformedMessageError] | None = None

    def _receive_routed(
        self,
        body: bytes,
        decoded: Message | MalformedMessageError,
        *,
        media_type: str,
        headers: Seq[tuple[str, str]] = (),
        now: float,
        peer_certificate: PeerCertificate | None = None,
    ) -> None:
        """:meth:`receive_message` for a body the caller decoded already: *decoded* must
        be what ``decode_message(body, limits=self.config.limits)`` returned, or the
        ``MalformedMessageError`` it raised (the server endpoint's routing decode,
        ``dmproto/bindings/server.py``)."""
        self._routed = (body, decoded)
        try:
            self.receive_message(
                body,
                media_type=media_type,
                headers=headers,
                now=now,
                peer_certificate=peer_certificate,
            )
        finally:
            self._routed = None

    def _decode(self, body: bytes) -> Message:
        routed, self._routed = self._routed, None
        if routed is None or routed[0] is not body:
            return super()._decode(body)
        decoded = routed[1]
        if isinstance(decoded, MalformedMessageError):
            # The same error a decode here would raise (same body, same limits).
            raise decoded.with_traceback(None)
        return decoded

    def next_event(self) -> ServerSessionEvent | None:
        """The next event, or None. State advances as events are handed out."""
        event = self._pop_event()
        assert event is None or isinstance(event, ServerSessionEvent)
        return event

    # ------------------------------------------------------------ app input

    def supply_account(self, account: Account) -> None:
        """The device's account, answering ``AccountRequested``.

        Raises:
            LocalProtocolError: ``session.state``: no account was requested. After
                the session ended this is a no-op (SessionEnded follows in the events).
        """
        s = self._s
        if self._step(Input.ACCOUNT) is Obligation.IGNORE:
            return
        s.peer_creds = account.credentials
        s.peer_scheme = account.auth_scheme if account.credentials is not None else None
        s.peer_nonce = account.client_nonce
        s.try_reset = account.accept_reset_nonce
        s.creds = account.server_credentials
        s.scheme = account.server_auth_scheme if account.server_credentials else None
        s.nonce = account.server_nonce
        s.peer_cert_required = account.certificate
        s.account_known = True
        held, s.held = s.held, None
        assert held is not None
        self._report(self._handle(held.message, held.body, held.headers))

    def reject_device(self) -> None:
        """Refuse the device: 401 for its SyncHdr and commands, then the end.

        Raises:
            LocalProtocolError: ``session.state``: no account was requested.
        """
        s = self._s
        if self._step(Input.REJECT) is Obligation.IGNORE:
            return
        held, s.held = s.held, None
        assert held is not None
        self._hdr_status(held.message, StatusCode.INVALID_CREDENTIALS)
        self._refuse(held.message, StatusCode.INVALID_CREDENTIALS)
        s.end_after_send = EndReason.REJECTED

    def queue(self, command: Command) -> int:
        """Queue a command for the next package; returns its handle.

        CmdIDs are assigned when sent (leave ``cmd_id`` unset). The device's answer
        comes back as ``CommandCompleted(handle, command, outcome)``.

        Raises:
            LocalProtocolError: the command is not one a server sends
                (Add/Replace/Delete/Copy/Get/Exec/Atomic/Sequence, UI Alert
                1100–1104). After the session ended the command completes at once
                with 215 (events may still be queued behind ``SessionEnded``).
        """
        if not isinstance(command, _QUEUEABLE) or (
            isinstance(command, Alert) and command.code not in UI_ALERT_CODES
        ):
            raise LocalProtocolError("session.command", "not a command a server sends")
        return self._enqueue(command)

    def close_package(self) -> None:
        """The application's turn is over: the commands queued since
        ``PackageCompleted`` form the next package, which ``messages_to_send()``
        then hands out (split over several messages if needed). With nothing
        queued this is :meth:`end_session`.

        Raises:
            LocalProtocolError: ``session.state``: not waiting for the application.
        """
        s = self._s
        if s.machine.check(Input.CLOSE_PACKAGE) is Obligation.IGNORE:
            return
        units: list[Unit] = []
        for unit in s.queued:
            if self._oversize(unit):
                # OMA-TS-DM_Protocol-V1_2_1 §2.1; OMA-TS-DM_RepPro-V1_2_1 §4.1.3: never send an
                # object over the device's MaxObjSize.
                assert unit.handle is not None
                self._complete(unit.handle, CommandOutcome(code=StatusCode.REQUESTED_SIZE_TOO_BIG))
            else:
                units.append(unit)
        s.queued = []
        if not units:
            self.end_session()
            return
        self._step(Input.CLOSE_PACKAGE)
        s.out = units
        s.package += 1

    def end_session(self) -> None:
        """Answer the device's package with Statuses only, which ends the session
        (OMA-TS-DM_Protocol-V1_2_1 §2.3 "OMA DM Protocol Packages": a server
        package holding only Statuses and Final closes the session);
        ``SessionEnded(COMPLETED)`` follows once ``messages_to_send()`` handed
        that package out.

        Raises:
            LocalProtocolError: ``session.state``: not waiting for the application.
        """
        if self._step(Input.END_SESSION) is not Obligation.IGNORE:
            self._s.end_after_send = EndReason.COMPLETED

    # ------------------------------------------------------------ role hooks

    def _pending(self) -> int:
        return len(self._s.tracked)

    def _addresses(self) -> tuple[str, str, str | None]:
        return self._s.device_id or "", self._config.server_uri, self._config.resp_uri

    def _ready(self) -> None:
        s = self._s
        s.out = self._pending_with_answers()
        if s.end_after_send is None:
            # OMA-TS-DM_Protocol-V1_2_1 §2.1: "Next Message" response — SyncHdr Status + Alert 1222.
            self._ask_next_message()

    def _peer_source(self, source: str | None) -> None:
        if self._s.device_id is None:
            self._s.device_id = source  # our abort's SyncHdr Target, when readable

    def _terminate_auth(self, detail: str) -> None:
        # OMA-TS-DM_Security-V1_2_1 §5.1: terminate; the device still gets its (Status-only)
        # response.
        self._s.end_after_send = EndReason.AUTHENTICATION_FAILED

    def _process(self, message: Message, body: bytes, headers: list[tuple[str, str]]) -> Outcome:
        s = self._s
        header = message.header
        if self._config.encoding is None:
            s.encoding = detect_encoding(body)  # follow the device
        if not s.session_id:
            s.session_id = header.session_id
        if s.device_id is None:
            s.device_id = header.source.loc_uri
        elif header.source.loc_uri != s.device_id:
            raise RemoteProtocolError("session.device", "another device in this session")
        s.peer_msg_ref = header.msg_id
        s.machine.peer_message(message.final)
        if not s.account_known:
            s.held = HeldMessage(message=message, body=body, headers=headers)
            scheme = None
            if header.cred is not None:
                found = _auth.cred_scheme(header.cred)
                scheme = found.value if found is not None else None
            elif _auth.hmac_username(headers) is not None:
                scheme = AuthScheme.HMAC.value
            s.username, source = _auth.account_name(header, headers)
            self._emit(
                AccountRequested(
                    device_id=s.device_id,
                    username=s.username,
                    username_source=source,
                    scheme=scheme,
                    certificate=s.peer_certificate,
                )
            )
            return Outcome(Input.HOLD)
        return self._handle(message, body, headers)

    def _refuse(self, message: Message, code: int) -> None:
        """OMA-TS-DM_RepPro-V1_2_1 §4.1.6: after an auth failure, only Statuses (one per
        command)."""
        for command in message.commands:
            if not isinstance(command, Status | Results):
                self._auto(command, message.header.msg_id, code)

    def _handle(self, message: Message, body: bytes, headers: list[tuple[str, str]]) -> Outcome:
        s = self._s
        msg_ref = message.header.msg_id
        first = not s.machine.peer_proved
        check = self._authenticate_peer(message, body, headers)
        if check is not PeerCheck.OK:
            if check is PeerCheck.TERMINATE:
                self._terminate_auth("device authentication failed")
            code = s.hdr_status.code if s.hdr_status is not None else 401
            if code == StatusCode.INVALID_CREDENTIALS:
                # Counted by ServerEndpoint's lockout (docs/reliability.md).
                self._emit(
                    CredentialsRefused(device_id=s.device_id or "", username=s.username or "")
                )
            self._refuse(message, code)
            return self._answer_outcome()
        if first:
            self._connected(message)
        hdr = next(
            (c for c in message.commands if isinstance(c, Status) and c.cmd_ref == "0"), None
        )
        ours = self._read_our_auth(hdr)
        if ours is PeerCheck.TERMINATE:
            self._terminate_auth("device refused our credentials")
        for command in message.commands:
            if isinstance(command, Status):
                if command.cmd_ref != "0":
                    self._on_status(command)
            elif isinstance(command, Results):
                self._on_results(command, msg_ref)
            else:
                self._dispatch(command, msg_ref)
        if ours is PeerCheck.CHALLENGED and s.end_after_send is None:
            self._resend_refused()
        if message.final:
            # Results may trail their Status into a later message of the package.
            self._tolerate_missing_atomic_status()
            self._complete_tracked()
        return self._after_message()

    def _connected(self, message: Message) -> None:
        s = self._s
        dev_info: list[Item] = []
        for command in message.commands:
            if isinstance(command, Replace):
                dev_info.extend(command.items)
            elif isinstance(command, Alert) and command.code in (
                AlertCode.SERVER_INITIATED_MGMT,
                AlertCode.CLIENT_INITIATED_MGMT,
            ):
                s.alert_code = command.code
        s.dev_info = tuple(dev_info)
        self._emit(
            DeviceConnected(
                device_id=s.device_id or "",
                session_id=s.session_id,
                alert_code=s.alert_code,
                dev_info=s.dev_info,
            )
        )

    def _dispatch(self, command: Command, msg_ref: str) -> None:
        s = self._s
        if not command.cmd_id:
            self._auto(command, msg_ref, StatusCode.BAD_REQUEST)
            return
        if isinstance(command, Replace):
            self._auto(command, msg_ref, StatusCode.OK)  # DevInfo (OMA-TS-DM_Protocol-V1_2_1 §2.3)
            return
        if not isinstance(command, Alert):
            # OMA-TS-DM_RepPro-V1_2_1 §4.1: clients send only Replace (DevInfo), Results, Alert.
            self._auto(command, msg_ref, StatusCode.OPTIONAL_FEATURE_NOT_SUPPORTED)
            return
        code = command.code
        if code == AlertCode.GENERIC_ALERT:
            self._auto(command, msg_ref, self._generic_alert_code(command))
            self._emit(
                GenericAlertReceived(
                    alert=command, correlator=command.correlator, items=command.items
                )
            )
        elif code == AlertCode.CLIENT_EVENT:
            self._auto(command, msg_ref, StatusCode.OK)
            self._emit(ClientEventReceived(alert=command, items=command.items))
        elif code == AlertCode.SESSION_ABORT:
            # OMA-TS-DM_Protocol-V1_2_1 §2.3; OMA-TS-DM_RepPro-V1_2_1 §4.2: answer with Statuses
            # (Alert and SyncHdr), no new commands.
            self._auto(command, msg_ref, StatusCode.OK)
            s.out = []
            s.end_after_send = EndReason.ABORTED_BY_PEER
        elif code == AlertCode.NO_END_OF_DATA:
            self._drop_lo_out()
            self._auto(command, msg_ref, StatusCode.OK)
        elif code in (
            AlertCode.NEXT_MESSAGE,
            AlertCode.SERVER_INITIATED_MGMT,
            AlertCode.CLIENT_INITIATED_MGMT,
        ):
            self._auto(command, msg_ref, StatusCode.OK)
        else:
            self._auto(command, msg_ref, StatusCode.OPTIONAL_FEATURE_NOT_SUPPORTED)

    def _generic_alert_code(self, alert: Alert) -> int:
        """OMA-TS-DM_RepPro-V1_2_1 §4.2: 200 on success, 415 for an unsupported Type."""
        accepted = self._config.generic_alert_types
        if accepted is None:
            return StatusCode.OK
        for item in alert.items:
            kind = item.meta.type if item.meta is not None else None
            if kind is None or kind.strip() not in accepted:
                return StatusCode.UNSUPPORTED_MEDIA_TYPE
        return StatusCode.OK

    def _on_results(self, results: Results, msg_ref: str) -> None:
        """Attach Results to the Get they answer (large ones reassembled;
        OMA-TS-DM_RepPro-V1_2_1 §4.1.6: no Status for Results unless it is not 200)."""
        whole = self._intake(results, msg_ref)
        if not isinstance(whole, Results):
            return
        found = self._results_target(results)
        if found is None:
            return
        handle, path = found
        self._s.tracked[handle].results.setdefault(path, []).extend(whole.items)

    def _results_target(self, results: Results) -> tuple[int, str] | None:
        s = self._s
        # OMA-TS-DM_Protocol-V1_2_1 §2.6.2 tolerance: MsgRef may be missing; then it is our last
        # message.
        msg_ref = results.msg_ref or str(s.next_msg_id - 1)
        sent = s.sent.get(f"{msg_ref}:{results.cmd_ref}")
        if sent is not None and sent.handle in s.tracked:
            assert sent.handle is not None
            return sent.handle, sent.path
        return None

    def _lo_started(self, lo: LoIn, command: Command) -> None:
        assert isinstance(command, Results)  # a server reassembles only Results
        found = self._results_target(command)
        if found is not None:
            lo.handle, lo.path = found

    def _lo_failed(self, lo: LoIn, code: int) -> None:
        # OMA-TS-DM_Protocol-V1_2_1 §2.2: reassembled Results failed (424 / interrupted): report
        # that code.
        if lo.handle in self._s.tracked:
            self._s.tracked[lo.handle].codes[lo.path] = code

    def _resend_refused(self) -> None:
        """OMA-TS-DM_Security-V1_2_1 §5.1; OMA-TS-DM_Protocol-V1_2_1 §2.4: the device challenged
        us; send the refused commands again with new credentials (their 401/407 Statuses are not
        reported)."""
        s = self._s
        again: list[Unit] = []
        in_flight = {sent.handle for sent in s.sent.values()}
        for handle, tracked in list(s.tracked.items()):
            refused = tracked.codes.get(ROOT) in (
                StatusCode.INVALID_CREDENTIALS,
                StatusCode.MISSING_CREDENTIALS,
            )
            if refused or (handle in in_flight and ROOT not in tracked.codes):
                s.sent = {k: v for k, v in s.sent.items() if v.handle != handle}
                tracked.codes.clear()
                tracked.status_items.clear()
                again.append(Unit(command=tracked.command, handle=handle))
        s.out = [*again, *s.out]

    def _tolerate_missing_atomic_status(self) -> None:
        """OMA-TS-DM_RepPro-V1_2_1 "Atomic": the Atomic gets a Status of its own, yet
        many devices answer only the commands inside it. Once the device's package
        is closed no Status can follow, so with the tolerance on (the default,
        ``ServerConfig.tolerate_missing_atomic_status``) such an Atomic completes
        with its worst inner code, noted ``OutcomeNote.STATUS_MISSING``."""
        s = self._s
        if not self._config.tolerate_missing_atomic_status:
            return
        in_flight = {sent.handle for sent in s.sent.values()}
        for handle, tracked in s.tracked.items():
            if handle in in_flight:
                _fill_atomic_status(tracked, tracked.command, ROOT)

    def _answer_outcome(self) -> Outcome:
        """An answer is owed; the last one when the end was decided meanwhile."""
        if self._s.end_after_send is not None:
            return Outcome(Input.ANSWER_LAST)
        return Outcome(Input.ANSWER)

    def _after_message(self) -> Outcome:
        """After a device message: ask the application for the next package when
        the device's package is complete and nothing of ours is outstanding."""
        s = self._s
        if s.end_after_send is not None or not s.machine.peer_final or s.out:
            return self._answer_outcome()
        # Every Status is in (a large object refused mid-way ends with a device
        # message that has no Final: it answered our chunk message).
        self._tolerate_missing_atomic_status()
        self._complete_tracked()
        if any(sent.handle in s.tracked for sent in s.sent.values()):
            # OMA-TS-DM_RepPro-V1_2_1 §4.1.6: the device closed its package without a Status we
            # need.
            raise RemoteProtocolError(
                "session.missing-status", "the device's package lacks a Status", status_hint=400
            )
        self._emit(PackageCompleted(package=s.package))
        return Outcome(Input.PACKAGE_DONE)


def _fill_atomic_status(tracked: Tracked, command: Command, path: str) -> int | None:
    """The code of *command* at *path*, giving an Atomic whose every inner command
    was answered its worst inner code when its own Status is missing; None while
    anything else is missing (then nothing is filled in above it)."""
    inner = [
        _fill_atomic_status(tracked, child, f"{path}.{index}")
        for index, child in enumerate(child_commands(command))
    ]
    if path in tracked.codes:
        return tracked.codes[path]
    if not isinstance(command, Atomic) or not inner or None in inner:
        return None
    worst = max(code for code in inner if code is not None)
    tracked.codes[path] = worst
    tracked.notes[path] = (OutcomeNote.STATUS_MISSING, None)
    return worst
