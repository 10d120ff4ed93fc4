"""Session configuration: what the application knows before a session starts.

Nothing here is persisted by the session; nonces that change during a session are
reported with :class:`~dmproto.session.events.NonceChanged` so the application can
store them (DMAcc AppAuth AAuthData, OMA-TS-DM_Security-V1_2_1 §5.1;
OMA-TS-DM_Protocol-V1_2_1 §2.4).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

import attrs

from ..codec import Encoding
from ..codec.model import Alert, Item
from ..errors import InvalidValueError
from ..limits import DEFAULT_LIMITS, Limits
from ..security.auth import AuthScheme, Credentials
from ..security.certificate import normalize_fingerprint

__all__ = [
    "MIN_MSG_SIZE",
    "MIN_WORKABLE_MSG_SIZE",
    "Account",
    "ClientConfig",
    "ServerConfig",
    "min_msg_size",
]

#: The smallest MaxMsgSize we take from a peer (a smaller one is raised to this):
#: below it a SyncHdr plus one Status does not fit.
MIN_MSG_SIZE = 512

#: The smallest ``max_msg_size`` we advertise, per encoding of the messages it
#: bounds (OMA-TS-DM_Protocol-V1_2_1 §2.1; OMA-TS-DM_RepPro-V1_2_1 §4.1.3): measured
#: (``tests/session/test_session_sizes.py``) as the smallest size at which a session with
#: MD5 both ways, stale nonces both ways, Results and a large object in both directions and
#: an Atomic completes, rounded up to a multiple of 64. Below it the SyncHdr (Cred), the
#: SyncHdr Status (Chal) and the Statuses of a Next-Message exchange leave no room for
#: commands.
MIN_WORKABLE_MSG_SIZE: Mapping[Encoding, int] = MappingProxyType(
    {Encoding.XML: 1024, Encoding.WBXML: 512}
)


def min_msg_size(encoding: Encoding | None) -> int:
    """The smallest ``max_msg_size`` accepted for messages in *encoding* (None:
    not known in advance, e.g. what a device posts to a server: the largest)."""
    if encoding is None:
        return max(MIN_WORKABLE_MSG_SIZE.values())
    return MIN_WORKABLE_MSG_SIZE[encoding]


def _msg_size(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    # A client's MaxMsgSize bounds the server's answers, in the client's encoding;
    # a server's bounds what devices post, in an encoding not known in advance.
    encoding = instance.encoding if isinstance(instance, ClientConfig) else None
    floor = min_msg_size(encoding)
    if value < floor:
        raise InvalidValueError("session.config", f"{attribute.name} must be >= {floor}")


def _positive(instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if not value > 0:
        raise InvalidValueError("session.config", f"{attribute.name} must be positive")


@attrs.frozen(kw_only=True)
class _Common:
    #: The only source of randomness (nonces, session ids); adapters pass the
    #: operating system's random source.
    random_bytes: Callable[[int], bytes] = attrs.field(repr=False)
    #: MaxMsgSize we advertise in every SyncHdr (OMA-TS-DM_Protocol-V1_2_1 §2.1;
    #: OMA-TS-DM_RepPro-V1_2_1 §4.1.3).
    max_msg_size: int = attrs.field(default=16 * 1024, validator=_msg_size)
    #: MaxObjSize we advertise (largest reassembled large object we accept), or None.
    max_obj_size: int | None = 1024 * 1024
    #: Bounds on every received message.
    limits: Limits = DEFAULT_LIMITS
    #: Seconds without a peer message before ``handle_timer`` ends the session.
    inactivity_timeout: float = attrs.field(default=300.0, validator=_positive)
    #: VerProto written in our SyncHdr (``DM/1.2`` or ``DM/1.3``).
    ver_proto: str = "DM/1.2"
    #: How often a challenge may be answered before the session fails.
    max_auth_attempts: int = attrs.field(default=3, validator=_positive)


@attrs.frozen(kw_only=True)
class ClientConfig(_Common):
    """A device's DM account and session settings.

    Credentials (OMA-TS-DM_Security-V1_2_1 §5.1; OMA-TS-DM_Protocol-V1_2_1 §2.4):
    ``credentials``/``client_nonce`` are DMAcc CLCRED (how we authenticate to the server; the nonce
    the server last gave us); ``server_credentials``/``server_nonce`` are SRVCRED (how the server
    must authenticate to us; the nonce we last gave it). ``server_credentials=None``
    means the server is authenticated at the transport layer (TLS) only.
    """

    server_uri: str
    device_id: str
    #: DevInfo Replace Items (Source/LocURI ``./DevInfo/DevId`` ...; OMA-TS-DM_Protocol-V1_2_1 §2.3
    #: item 3).
    dev_info: tuple[Item, ...]
    credentials: Credentials | None = None
    #: Scheme used in Package 1 before any challenge (DMAcc AAuthPref); None = no Cred.
    auth_scheme: AuthScheme | None = AuthScheme.MD5
    client_nonce: bytes = attrs.field(default=b"", repr=False)
    server_credentials: Credentials | None = None
    #: Scheme we challenge the server with when its credentials are missing/wrong.
    server_auth_scheme: AuthScheme = AuthScheme.MD5
    server_nonce: bytes = attrs.field(default=b"", repr=False)
    #: Message encoding we send (the server follows it).
    encoding: Encoding = Encoding.XML
    #: Client alerts (1224/1226) sent in Package 1.
    initial_alerts: tuple[Alert, ...] = ()
    #: SessionID of a client-initiated session; generated from random_bytes if None.
    session_id: str | None = None

    def __attrs_post_init__(self) -> None:
        _check_sendable(self.auth_scheme, self.credentials, "credentials")


@attrs.frozen(kw_only=True)
class Account:
    """What the server application knows about one device (from its own store).

    ``credentials``/``client_nonce``: how the device must authenticate (its CLCRED
    and the nonce we last issued to it); ``None`` credentials = no application-layer
    authentication of the device (transport-level only). ``server_credentials``/
    ``server_nonce``: how we authenticate to the device (its SRVCRED and the nonce
    it last issued to us); ``None`` = send no server Cred.

    ``certificate``: the SHA-256 fingerprint of the TLS client certificate that
    authenticates this device (``PeerCertificate.fingerprint``; colons and upper
    case accepted). A request carrying that verified certificate authenticates
    the device without any Cred; one carrying another certificate is refused;
    one carrying none falls back to ``credentials`` (refused when there are
    none). See ``docs/adapters.md``, "Certificate-authenticated devices".
    """

    credentials: Credentials | None = None
    #: Scheme we require; a device using another one is challenged with this one.
    auth_scheme: AuthScheme = AuthScheme.MD5
    client_nonce: bytes = attrs.field(default=b"", repr=False)
    server_credentials: Credentials | None = None
    server_auth_scheme: AuthScheme = AuthScheme.MD5
    server_nonce: bytes = attrs.field(default=b"", repr=False)
    #: Accept the reset nonce 0x00000000 (OMA-TS-DM_Notification-V1_2_1 §6.1, §6.2
    #: resynchronisation after a Package 0 the device verified with it).
    accept_reset_nonce: bool = True
    certificate: str | None = attrs.field(
        default=None, converter=attrs.converters.optional(normalize_fingerprint)
    )

    def __attrs_post_init__(self) -> None:
        _check_sendable(self.server_auth_scheme, self.server_credentials, "server_credentials")


def _check_sendable(scheme: AuthScheme | None, creds: Credentials | None, name: str) -> None:
    """Credentials we *send* with Basic need the password: Basic carries
    ``B64(username ":" password)`` itself (OMA-TS-DM_Security-V1_2_1 §5.1), which a
    stored ``md5_digest`` cannot produce. Verifying needs only the digest."""
    if scheme is AuthScheme.BASIC and creds is not None and creds.password is None:
        raise InvalidValueError("session.config", f"{name}: Basic needs the password itself")


@attrs.frozen(kw_only=True)
class ServerConfig(_Common):
    """Server session settings."""

    #: Our URI, written as SyncHdr Source/LocURI.
    server_uri: str
    #: RespURI handed to the device (session routing URL chosen by the adapter).
    resp_uri: str | None = None
    #: Encoding we answer in; None = follow the device.
    encoding: Encoding | None = None
    #: Generic Alert Meta Types we accept (others get 415); None = accept all.
    generic_alert_types: frozenset[str] | None = None
    #: Tolerance (on by default): a device that answers every command inside an
    #: Atomic but sends no Status for the Atomic itself (OMA-TS-DM_RepPro-V1_2_1
    #: "Atomic" requires one) does not end the session; the Atomic completes with
    #: its worst inner code and ``OutcomeNote.STATUS_MISSING``. False: the missing
    #: Status is a protocol error (``session.missing-status``).
    tolerate_missing_atomic_status: bool = True
