"""Authentication state shared by both roles (OMA-TS-DM_Security-V1_2_1 §5.1;
OMA-TS-DM_Protocol-V1_2_1 §2.4).

:class:`Handshake` is mixed into :class:`~._core.Endpoint`: it checks the peer's
credentials for each message (setting our SyncHdr Status: 212/200, or 401/407 with a
Chal carrying a fresh NextNonce) and reads the peer's Status for our SyncHdr (212,
200, or a challenge we must answer with the requested scheme).
"""

from __future__ import annotations

import enum

from ..codec.model import Message, Status
from ..codes import StatusCode
from ..security import RESET_NONCE, AuthScheme, Challenge, NoncePolicy, NonceUsed, new_nonce
from . import _auth
from ._auth import Verdict
from ._machine import Proof
from ._state import State
from .config import ClientConfig, ServerConfig
from .events import Event, NonceChanged, NonceRole, PeerAuthenticated

__all__ = ["Handshake", "PeerCheck"]


class PeerCheck(enum.Enum):
    """What checking the peer's credentials for one message decided."""

    OK = "ok"
    CHALLENGED = "challenged"  #: our SyncHdr Status is 401/407 + Chal
    #: OMA-TS-DM_Security-V1_2_1 §5.1: wrong scheme after a challenge / retries exhausted
    TERMINATE = "terminate"


class Handshake:
    """Authentication steps over the session's ``_s`` and ``_config``."""

    _s: State
    _config: ClientConfig | ServerConfig
    _our_nonce_role: NonceRole

    def _emit(self, event: Event) -> None:
        self._s.events.append(event)

    def _hdr_status(
        self, message: Message, code: int, chal_scheme: AuthScheme | None = None
    ) -> None:
        """OMA-TS-DM_RepPro-V1_2_1 §4.1.6: the SyncHdr Status (CmdRef 0), first in our next message;
        with a Chal (fresh NextNonce) when *chal_scheme* is given (OMA-TS-DM_Security-V1_2_1 §5.1;
        OMA-TS-DM_Protocol-V1_2_1 §2.4)."""
        header = message.header
        chal = None
        if chal_scheme is not None:
            nonce = b""
            if chal_scheme is not AuthScheme.BASIC:
                # OMA-TS-DM_Security-V1_2_1 §5.1: a basic Chal carries no NextNonce,
                # so nothing is issued (nor reported to be persisted).
                nonce = new_nonce(self._config.random_bytes)
                self._s.issued_nonce = nonce
            chal = _auth.challenge(chal_scheme, nonce)
        self._s.hdr_status = Status(
            cmd_id=None,
            msg_ref=header.msg_id,
            cmd_ref="0",
            cmd="SyncHdr",
            code=code,
            target_refs=(header.target.loc_uri,),
            source_refs=(header.source.loc_uri,),
            chal=chal,
        )

    def _authenticate_peer(
        self, message: Message, body: bytes, headers: list[tuple[str, str]]
    ) -> PeerCheck:
        """Check the peer's Cred / HMAC header and set our SyncHdr Status."""
        s = self._s
        by_certificate = self._check_certificate(message)
        if by_certificate is not None:
            return by_certificate
        if s.peer_scheme is None or s.peer_creds is None:
            # No application-layer authentication configured (transport-level only).
            s.trusted = True
            if s.machine.proved():
                self._emit(PeerAuthenticated(scheme=None))
            self._hdr_status(message, StatusCode.OK)
            return PeerCheck.OK
        if s.machine.peer_proved and s.peer_scheme is not AuthScheme.HMAC:
            # OMA-TS-DM_Security-V1_2_1 §5.1; OMA-TS-DM_Protocol-V1_2_1 §2.4: 212 was given: no
            # more credentials needed this session.
            self._hdr_status(message, StatusCode.OK)
            return PeerCheck.OK
        verdict, used = _auth.verify_peer(
            expected=s.peer_scheme,
            creds=s.peer_creds,
            nonce=s.peer_nonce,
            header=message.header,
            headers=headers,
            body=body,
            policy=NoncePolicy(try_reset=s.try_reset),
        )
        if verdict is Verdict.OK:
            first = s.machine.proved()
            s.trusted = True
            s.challenged = None
            if used is NonceUsed.RESET:
                # OMA-TS-DM_Notification-V1_2_1 §6.1, §6.2: the peer resynchronised with the reset
                # nonce; our own credentials use it too until fresh nonces are exchanged.
                s.nonce = RESET_NONCE
            if first:
                self._emit(PeerAuthenticated(scheme=s.peer_scheme.value))
            hmac = s.peer_scheme is AuthScheme.HMAC
            # OMA-TS-DM_RepPro-V1_2_1 §4.1.6: 212 once (md5/basic), 200 per message with HMAC.
            code = StatusCode.AUTHENTICATION_ACCEPTED if first and not hmac else StatusCode.OK
            # OMA-TS-DM_Security-V1_2_1 §5.1; OMA-TS-DM_Protocol-V1_2_1 §2.4: a fresh NextNonce for
            # the next session (md5) or the next message (HMAC); basic has none.
            fresh = s.peer_scheme is not AuthScheme.BASIC and (first or hmac)
            self._hdr_status(message, code, s.peer_scheme if fresh else None)
            return PeerCheck.OK
        if s.machine.peer_proved:
            # OMA-TS-DM_Security-V1_2_1 §5.1: once authenticated, a message failing HMAC ends the
            # session.
            self._hdr_status(message, StatusCode.INVALID_CREDENTIALS)
            return PeerCheck.TERMINATE
        if verdict is Verdict.WRONG_SCHEME and s.challenged is not None:
            # OMA-TS-DM_Security-V1_2_1 §5.1: a challenge answered with another type ⇒ terminate.
            self._hdr_status(message, StatusCode.INVALID_CREDENTIALS)
            return PeerCheck.TERMINATE
        s.peer_attempts += 1
        if s.peer_attempts > self._config.max_auth_attempts:
            self._hdr_status(message, StatusCode.INVALID_CREDENTIALS)
            return PeerCheck.TERMINATE
        s.challenged = s.peer_scheme
        # OMA-TS-DM_Security-V1_2_1 §5.1; OMA-TS-DM_Protocol-V1_2_1 §2.4: 407 when credentials are
        # missing, 401 when refused; with a Chal carrying a fresh nonce (also resynchronises a
        # stale one).
        code = (
            StatusCode.MISSING_CREDENTIALS
            if verdict is Verdict.MISSING
            else StatusCode.INVALID_CREDENTIALS
        )
        self._hdr_status(message, code, s.peer_scheme)
        return PeerCheck.CHALLENGED

    def _check_certificate(self, message: Message) -> PeerCheck | None:
        """The TLS client certificate rule; ``None`` when the credentials decide.

        OMA-TS-DM_Security-V1_2_1 §5.1 lets the transport layer authenticate the
        device: an account with a certificate fingerprint (``Account.certificate``)
        is authenticated by a message carrying that verified certificate, with no
        Cred (SyncHdr Status 200, as for transport-level authentication). Another
        certificate is refused outright (401, no Chal, the session ends); no
        certificate leaves the decision to the account's credentials, and without
        any the device is refused the same way.
        """
        s = self._s
        required = s.peer_cert_required
        if required is None:
            return None
        cert = s.peer_certificate
        if cert is None and s.peer_creds is not None:
            return None
        if cert is None or cert.fingerprint != required:
            self._hdr_status(message, StatusCode.INVALID_CREDENTIALS)
            return PeerCheck.TERMINATE
        s.trusted = True
        if s.machine.proved():
            self._emit(PeerAuthenticated(scheme=None, certificate=cert))
        self._hdr_status(message, StatusCode.OK)
        return PeerCheck.OK

    def _read_our_auth(self, hdr: Status | None) -> PeerCheck:
        """The peer's Status for our SyncHdr: OK, CHALLENGED (answer with the
        requested scheme) or TERMINATE (refused / retries exhausted)."""
        s = self._s
        if hdr is None:
            return PeerCheck.OK
        chal = Challenge.from_chal(hdr.chal) if hdr.chal is not None else None
        if hdr.code in (StatusCode.INVALID_CREDENTIALS, StatusCode.MISSING_CREDENTIALS):
            # OMA-TS-DM_Security-V1_2_1 §5.1: the peer refused our credentials and
            # challenged us (e.g. our stored nonce is stale after a device reset). We
            # answer with its NextNonce at once (the server also sends the refused
            # commands again: not executed), at most max_auth_attempts times.
            s.attempts += 1
            if (
                chal is None
                or s.creds is None
                or s.machine.ours is not Proof.PENDING
                or s.attempts > self._config.max_auth_attempts
            ):
                # OMA-TS-DM_Security-V1_2_1 §5.1: a failure after we were accepted ends the session.
                return PeerCheck.TERMINATE
            # OMA-TS-DM_Security-V1_2_1 §5.1: answer with the requested type (before we were
            # accepted).
            s.scheme = chal.scheme
            if chal.next_nonce is not None:
                self._take_nonce(chal.next_nonce)
            return PeerCheck.CHALLENGED
        if hdr.code >= 300:
            return PeerCheck.TERMINATE
        # OMA-TS-DM_Security-V1_2_1 §5.1; OMA-TS-DM_Protocol-V1_2_1 §2.4: 212 ⇒ no more credentials
        # this session.
        s.machine.accepted(hdr.code == StatusCode.AUTHENTICATION_ACCEPTED)
        if chal is not None and chal.next_nonce is not None:
            self._take_nonce(chal.next_nonce)
        return PeerCheck.OK

    def _take_nonce(self, nonce: bytes) -> None:
        # OMA-TS-DM_Security-V1_2_1 §5.1; OMA-TS-DM_Protocol-V1_2_1 §2.4: use the latest nonce;
        # persist it only from an authenticated peer.
        s = self._s
        s.nonce = nonce
        if s.trusted:
            self._emit(NonceChanged(role=self._our_nonce_role, nonce=nonce))
