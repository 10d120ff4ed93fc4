"""Events a session hands to the application (``next_event()``).

Every event is an attrs frozen, keyword-only value. Naming follows
CONTRIBUTING.md#events-are-frozen-values:
facts only the machine can observe are past participles (``CommandReceived``,
``SessionEnded``). Secret-bearing fields (nonces) are hidden from ``repr``.

Which role emits what is part of the type:

* :class:`ClientSessionEvent` — what ``ClientSession.next_event()`` returns:
  :class:`CommandReceived` (client only) and the shared events;
* :class:`ServerSessionEvent` — what ``ServerSession.next_event()`` returns:
  :class:`AccountRequested`, :class:`CredentialsRefused`, :class:`DeviceConnected`,
  :class:`PackageCompleted`, :class:`GenericAlertReceived`,
  :class:`ClientEventReceived` (server only) and the shared events;
* shared by both roles (subclasses of both bases): :class:`CommandCompleted`,
  :class:`NonceChanged`, :class:`PeerAuthenticated`, :class:`SessionEnded`.

Handles are small ``int`` values chosen by the session: the client numbers each
received server command it hands out (answer with ``respond(handle, outcome)``);
both roles number the commands the application queued (``queue``) and report
their outcome with :class:`CommandCompleted`, which also carries the command.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import final

import attrs

from ..codec.model import Alert, Command, Item
from ..outcome import CommandOutcome
from ..security import PeerCertificate
from ..security.nonce import NonceRole  # re-exported: NonceChanged.role
from .ui import UiRequest

__all__ = [
    "NO_PROGRESS",
    "AccountRequested",
    "ClientEventReceived",
    "ClientSessionEvent",
    "CommandCompleted",
    "CommandReceived",
    "CredentialsRefused",
    "DeviceConnected",
    "EndReason",
    "Event",
    "GenericAlertReceived",
    "NonceChanged",
    "NonceRole",
    "PackageCompleted",
    "PeerAuthenticated",
    "SessionEnded",
    "UsernameSource",
]


class UsernameSource(enum.Enum):
    """Where ``AccountRequested.username`` was read from (Package 1)."""

    #: The user name inside a ``syncml:auth-basic`` Cred (``B64(user:password)``,
    #: OMA-TS-DM_Security-V1_2_1 §5.1): the name the credential is checked against.
    CREDENTIAL = "credential"
    #: The SyncHdr Source LocName, where the sender of an MD5 Cred puts its user
    #: name (OMA-TS-DM_Security-V1_2_1 §5.1): a digest does not reveal it.
    LOC_NAME = "loc-name"
    #: The ``username`` of the ``x-syncml-hmac`` transport header (HMAC, no LocName).
    HMAC_HEADER = "hmac-header"
    #: Nothing named a user: ``username`` is the device id (SyncHdr Source LocURI).
    DEVICE_ID = "device-id"


#: ``SessionEnded.detail`` (reason ``PROTOCOL_ERROR``) when the peer's MaxMsgSize
#: leaves room for nothing but the Statuses of a Next-Message exchange
#: (OMA-TS-DM_Protocol-V1_2_1 §2.1; OMA-TS-DM_RepPro-V1_2_1 §4.1.3): after a few such empty
#: exchanges the session aborts instead of repeating them.
NO_PROGRESS = "session.no-progress"


class EndReason(enum.Enum):
    """Why a session ended."""

    #: normal end (OMA-TS-DM_Protocol-V1_2_1 §2.3: server package with nothing to do)
    COMPLETED = "completed"
    ABORTED_BY_PEER = "aborted-by-peer"  #: Alert 1223 received
    ABORTED = "aborted"  #: our application called ``abort()``
    TIMED_OUT = "timed-out"  #: inactivity deadline passed (``handle_timer``)
    AUTHENTICATION_FAILED = "authentication-failed"  #: retries exhausted / wrong scheme
    REJECTED = "rejected"  #: server application refused the device (``reject_device``)
    PROTOCOL_ERROR = "protocol-error"  #: the peer violated the protocol


def _handles(values: Iterable[int]) -> tuple[int, ...]:
    return tuple(values)


class Event:
    """Base class of every session event."""

    __slots__ = ()


class ClientSessionEvent(Event):
    """An event ``ClientSession.next_event()`` can return."""

    __slots__ = ()


class ServerSessionEvent(Event):
    """An event ``ServerSession.next_event()`` can return."""

    __slots__ = ()


# ---------------------------------------------------------------- both roles


@final
@attrs.frozen(kw_only=True)
class CommandCompleted(ClientSessionEvent, ServerSessionEvent):
    """The peer answered ``command``, which our application queued (``handle`` is
    what ``queue`` returned; ``command`` is the command exactly as queued, so an
    application needs no handle-to-command map of its own).

    Server: the device's Status (``outcome.code``), Results (``outcome.results``,
    large objects reassembled), Status Items (UI input, ``outcome.status_items``)
    and, for Atomic/Sequence, one child outcome per child. Client: the server's
    Status for a queued alert. A command that could not be sent at all completes
    locally with 416 (object over the peer's MaxObjSize), 413 (never fits the
    peer's MaxMsgSize) or 215 (session ended first). One sent but never answered
    is listed in ``SessionEnded.unanswered`` instead.
    """

    handle: int
    command: Command
    outcome: CommandOutcome


@final
@attrs.frozen(kw_only=True)
class NonceChanged(ClientSessionEvent, ServerSessionEvent):
    """A nonce the application must persist changed (the core stores nothing)."""

    role: NonceRole
    nonce: bytes = attrs.field(repr=False)


@final
@attrs.frozen(kw_only=True)
class PeerAuthenticated(ClientSessionEvent, ServerSessionEvent):
    """The peer proved its identity (``scheme`` is the AuthScheme value, or
    ``None`` when no credentials were checked: the account asks for no
    application-layer authentication, or the device was authenticated by its TLS
    client certificate, which is then ``certificate``)."""

    scheme: str | None
    certificate: PeerCertificate | None = None


@final
@attrs.frozen(kw_only=True)
class SessionEnded(ClientSessionEvent, ServerSessionEvent):
    """The session is over; nothing more will be sent except what is already queued
    (an abort message, or the server's last Status-only package).

    ``unanswered``: handles of commands the application queued (``queue``) that
    were sent but never answered — the peer may or may not have executed them.
    Every handle ends in exactly one ``CommandCompleted`` or in this tuple
    (commands that never left complete with 215 before this event).
    """

    reason: EndReason
    detail: str = ""
    unanswered: tuple[int, ...] = attrs.field(default=(), converter=_handles)


# ---------------------------------------------------------------- client only


@final
@attrs.frozen(kw_only=True)
class CommandReceived(ClientSessionEvent):
    """(Client) A server command for the application to execute.

    ``command`` is the model command as received (Get, Add, Replace, Delete, Copy,
    Exec — with its ``correlator`` —, Atomic and Sequence with their children, or a
    UI Alert 1100–1104). Large objects arrive reassembled. For UI alerts ``ui`` holds
    the parsed options and texts. Answer with ``respond(handle, CommandOutcome)``;
    for Atomic/Sequence give one child outcome per child, in order.
    """

    handle: int
    command: Command
    ui: UiRequest | None = None


# ---------------------------------------------------------------- server only


@final
@attrs.frozen(kw_only=True)
class AccountRequested(ServerSessionEvent):
    """(Server) Package 1 arrived from ``device_id``: look up the account called
    ``username`` and call ``supply_account(account)`` or ``reject_device()``.

    ``username_source`` says where the name was read: the Basic credential itself
    (it names its user), else the SyncHdr Source LocName (MD5, HMAC), else the HMAC
    header's username, else the device id (``username == device_id``). ``scheme``
    is the Cred Meta Type received (``None`` when the device sent no credentials).

    ``certificate`` is the TLS client certificate the adapter verified for the
    request (``None`` without one): a device that sends no Cred may be identified
    by it — look the account up by ``certificate.fingerprint`` and supply an
    ``Account(certificate=...)`` (see ``docs/adapters.md``).
    """

    device_id: str
    username: str
    username_source: UsernameSource
    scheme: str | None
    certificate: PeerCertificate | None = None


@final
@attrs.frozen(kw_only=True)
class CredentialsRefused(ServerSessionEvent):
    """(Server) The device's credentials for the account ``username`` (the name
    ``AccountRequested`` asked for) were refused: a wrong password, digest or MAC,
    another scheme than the one asked for, or too many attempts (the SyncHdr
    Status is 401, OMA-TS-DM_Security-V1_2_1 §5.1). Credentials that are merely
    missing (407) are not reported. ``ServerEndpoint`` counts these events for
    its lockout (``docs/reliability.md``, "Password guessing")."""

    device_id: str
    username: str


@final
@attrs.frozen(kw_only=True)
class DeviceConnected(ServerSessionEvent):
    """(Server) The device is authenticated; Package 1 content follows."""

    device_id: str
    session_id: str
    #: 1200 (server-initiated) or 1201 (client-initiated).
    alert_code: int
    #: DevInfo Replace Items (Source/LocURI ``./DevInfo/...``).
    dev_info: tuple[Item, ...]


@final
@attrs.frozen(kw_only=True)
class GenericAlertReceived(ServerSessionEvent):
    """(Server) A Generic Alert 1226 (OMA-TS-DM_RepPro-V1_2_1 §4.2), already answered 200 (or
    415)."""

    alert: Alert
    correlator: str | None
    items: tuple[Item, ...]


@final
@attrs.frozen(kw_only=True)
class ClientEventReceived(ServerSessionEvent):
    """(Server) A Client Event Alert 1224, already answered 200."""

    alert: Alert
    items: tuple[Item, ...]


@final
@attrs.frozen(kw_only=True)
class PackageCompleted(ServerSessionEvent):
    """(Server) The device's package is complete and every command sent so far has
    its Status. Queue commands and call ``close_package()``, or call
    ``end_session()``; until then ``messages_to_send()`` returns nothing."""

    package: int
