"""The whole mutable state of one session, as one snapshot-able record.

Everything a session knows lives in :class:`State`: data (ids, queues, ledgers,
credentials, the events not yet handed out) plus its :class:`~._machine.Machine`,
the only place that says where the session is (phase, package and authentication
progress). :mod:`.snapshot` writes it with an explicit schema (named keys per
record), so a session can resume in another process mid-package.
"""

from __future__ import annotations

import attrs

from ..codec import Encoding
from ..codec.model import Command, Item, Message, Meta, Status
from ..security import AuthScheme, Credentials, PeerCertificate
from ._ledger import Answer, SentRef, Tracked
from ._machine import Machine
from ._packaging import Unit
from .events import EndReason, Event

__all__ = ["HeldMessage", "LoIn", "State"]


@attrs.define(kw_only=True)
class LoIn:
    """A large object being reassembled (OMA-TS-DM_Protocol-V1_2_1 §2.2)."""

    name: str
    target: str | None
    source: str | None
    #: The first chunk's command (item data removed) and its item Meta.
    command: Command
    meta: Meta | None
    parts: list[str | bytes] = attrs.field(factory=list)
    received: int = 0
    total: int = 0
    #: Server: the handle whose Results these are (completion waits for them).
    handle: int | None = None
    path: str = ""


@attrs.define(kw_only=True)
class HeldMessage:
    """Server: Package 1 kept while the application looks up the account."""

    message: Message
    body: bytes
    headers: list[tuple[str, str]]


@attrs.define(kw_only=True)
class State:
    """Everything one session knows (see the module docstring)."""

    role: str
    session_id: str
    encoding: Encoding
    #: Where the session is (phase, package state): changed only by ``_machine``.
    machine: Machine
    next_msg_id: int = 1
    next_handle: int = 1
    next_lo_id: int = 1
    last_peer_msg_id: int = 0
    peer_msg_ref: str = ""
    #: Consecutive messages of ours that made no progress (see ``_core.MAX_STALLS``).
    stalls: int = 0
    #: Statuses still owed after our last message, and whether the peer's last
    #: message held only Statuses and Alert 1222 (no-progress detection).
    backlog: int = 0
    peer_idle: bool = False
    peer_max_msg: int | None = None
    peer_max_obj: int | None = None
    url: str | None = None
    deadline: float | None = None
    events: list[Event] = attrs.field(factory=list)
    hdr_status: Status | None = None
    answers: list[Answer] = attrs.field(factory=list)
    out: list[Unit] = attrs.field(factory=list)
    queued: list[Unit] = attrs.field(factory=list)
    tracked: dict[int, Tracked] = attrs.field(factory=dict)
    sent: dict[str, SentRef] = attrs.field(factory=dict)
    lo_in: LoIn | None = None
    ended: EndReason | None = None
    #: Why the session ends once its last package is out (phase CLOSING), set by
    #: the rules while processing the message that decides it.
    end_after_send: EndReason | None = None
    # Our credentials towards the peer (OMA-TS-DM_Security-V1_2_1 §5.1;
    # OMA-TS-DM_Protocol-V1_2_1 §2.4).
    creds: Credentials | None = None
    scheme: AuthScheme | None = None
    nonce: bytes = b""
    attempts: int = 0
    # What we require of the peer.
    peer_creds: Credentials | None = None
    peer_scheme: AuthScheme | None = None
    peer_nonce: bytes = b""
    peer_attempts: int = 0
    challenged: AuthScheme | None = None
    #: Nonce in the Chal of our pending SyncHdr Status; it replaces ``peer_nonce``
    #: (and is reported with NonceChanged) only when that message is handed out.
    issued_nonce: bytes | None = None
    try_reset: bool = False
    #: Whether nonces from the peer may be persisted (OMA-TS-DM_Security-V1_2_1 §5.1;
    #: OMA-TS-DM_Protocol-V1_2_1 §2.4: not from an unauthenticated peer).
    trusted: bool = False
    #: The fingerprint of the TLS client certificate that authenticates the peer
    #: (the account's), and the certificate the current message came with.
    peer_cert_required: str | None = None
    peer_certificate: PeerCertificate | None = None
    # Client.
    alert_code: int = 1201
    #: The server's current package held a management command so far
    #: (OMA-TS-DM_Protocol-V1_2_1 §2.3: a package without any ends the session).
    peer_commands: bool = False
    initial: list[Command] = attrs.field(factory=list)
    # Server.
    device_id: str | None = None
    #: The account name ``AccountRequested`` asked for.
    username: str | None = None
    held: HeldMessage | None = None
    account_known: bool = False
    package: int = 1
    dev_info: tuple[Item, ...] = ()
