"""Package 0: the server-alerted management session trigger
(OMA-TS-DM_Notification-V1_2_1 §6.1, §6.2).

Layout, big-endian (network order) throughout::

    offset 0   16 octets  digest = H(B64(H(server-id:password)):nonce:B64(H(trigger)))
    offset 16   8 octets  header word: version(10) ui-mode(2) initiator(1)
                          future-use(27) session-id(16) server-id-length(8)
    offset 24   n octets  server identifier (UTF-8, no terminator)
    offset 24+n rest      vendor-specific body

``trigger`` is everything after the digest. Every field is read and written from the
one 64-bit word, so the old bugs cannot come back: no byte-swapped session ids
(libdmclient's extra ``ntohs``), no server ids cut short, a one-octet length that is
checked against the remaining input, and a digest only over bytes we hold.

Reasons raised: ``limit.message-size``, ``pkg0.truncated``, ``pkg0.version``,
``pkg0.server-id-length``, ``pkg0.server-id-encoding``, ``pkg0.session-id``.
"""

from __future__ import annotations

import enum
import re
import struct

import attrs

from ..codec.guard import check_message_size
from ..errors import InvalidValueError, MalformedMessageError
from ..limits import DEFAULT_LIMITS, Limits
from ..security.auth import NoncePolicy, NonceUsed, nested_digest, nonce_candidates
from ..security.hashing import MD5_SIZE, constant_time_equal

__all__ = [
    "DEFAULT_ACCEPTED_VERSIONS",
    "MAX_SERVER_ID_OCTETS",
    "NOTIFICATION_CONTENT_TYPE",
    "NOTIFICATION_VERSION",
    "Initiator",
    "Notification",
    "UIMode",
    "build_notification",
    "encode_notification",
    "notification_digest",
    "parse_notification",
    "session_id_from_text",
    "session_id_to_text",
    "verify_notification",
]

#: MIME type of Package 0 (OMA-TS-DM_Notification-V1_2_1 §6.2; WSP well-known code 0x44).
NOTIFICATION_CONTENT_TYPE = "application/vnd.syncml.notification"

# OMA-TS-DM_Notification-V1_2_1 §6.2 (§6.2.2.6): conforming messages carry version
# '0000001011' (decimal 11, "1.1"); the DM 1.3 value is UNCONFIRMED, so receivers accept a set.
NOTIFICATION_VERSION = 11
DEFAULT_ACCEPTED_VERSIONS = frozenset({11, 12})

_HEADER = struct.Struct(">Q")
_HEADER_OFFSET = MD5_SIZE
_SERVER_ID_OFFSET = MD5_SIZE + _HEADER.size
_ZERO_DIGEST = bytes(MD5_SIZE)

# OMA-TS-DM_Notification-V1_2_1 §6.2 masks on the big-endian 64-bit word (libdmclient package0.c):
# field -> (shift, bits)
_VERSION = (54, 10)
_UI_MODE = (52, 2)
_INITIATOR = (51, 1)
_RESERVED = (24, 27)
_SESSION_ID = (8, 16)
_ID_LENGTH = (0, 8)

# OMA-TS-DM_Notification-V1_2_1 §6.2: the server identifier length is one octet.
MAX_SERVER_ID_OCTETS = 255


def _field(word: int, spec: tuple[int, int]) -> int:
    shift, bits = spec
    return (word >> shift) & ((1 << bits) - 1)


def _put(value: int, spec: tuple[int, int]) -> int:
    shift, _bits = spec
    return value << shift


class UIMode(enum.IntEnum):
    """Server's recommendation for user involvement (OMA-TS-DM_Notification-V1_2_1 §6.2 ui-mode)."""

    NOT_SPECIFIED = 0
    BACKGROUND = 1
    INFORMATIVE = 2
    USER_INTERACTION = 3


class Initiator(enum.IntEnum):
    """Who asked for the session (OMA-TS-DM_Notification-V1_2_1 §6.2 initiator)."""

    CLIENT = 0
    SERVER = 1


def _range_check(name: str, value: int, bits: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < (1 << bits):
        raise InvalidValueError("pkg0.field-range", f"{name} must fit in {bits} bits")


def _check_version(_inst: object, _attr: object, value: int) -> None:
    _range_check("version", value, _VERSION[1])


def _check_session_id(_inst: object, _attr: object, value: int) -> None:
    _range_check("session_id", value, _SESSION_ID[1])


def _check_reserved(_inst: object, _attr: object, value: int) -> None:
    _range_check("reserved", value, _RESERVED[1])


def _check_server_id(_inst: object, _attr: object, value: str) -> None:
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:
        raise InvalidValueError("pkg0.server-id", "server_id is not encodable as UTF-8") from None
    # OMA-TS-DM_Notification-V1_2_1 §6.2: 8-bit length identifier; "minimum valid length 24 + 1".
    if not 1 <= size <= MAX_SERVER_ID_OCTETS:
        raise InvalidValueError("pkg0.server-id", "server_id must be 1..255 UTF-8 octets")


def _check_bytes(_inst: object, _attr: object, value: bytes) -> None:
    if not isinstance(value, bytes):
        raise InvalidValueError("pkg0.vendor-data", "vendor_data must be bytes")


def _hex(value: bytes) -> str:
    return value.hex()


def _to_ui_mode(value: int) -> UIMode:
    _range_check("ui_mode", value, _UI_MODE[1])
    return UIMode(value)


def _to_initiator(value: int) -> Initiator:
    _range_check("initiator", value, _INITIATOR[1])
    return Initiator(value)


def _check_digest(_inst: object, _attr: object, value: bytes) -> None:
    if not isinstance(value, bytes) or len(value) != MD5_SIZE:
        raise InvalidValueError("pkg0.digest", "digest must be 16 octets")


@attrs.frozen(kw_only=True)
class Notification:
    """Every field of a Package 0 (OMA-TS-DM_Notification-V1_2_1 §6.2). Build with
    :func:`build_notification`."""

    version: int = attrs.field(default=NOTIFICATION_VERSION, validator=_check_version)
    ui_mode: UIMode = attrs.field(converter=_to_ui_mode)
    initiator: Initiator = attrs.field(converter=_to_initiator)
    session_id: int = attrs.field(validator=_check_session_id)
    server_id: str = attrs.field(validator=_check_server_id)
    vendor_data: bytes = attrs.field(default=b"", validator=_check_bytes, repr=_hex)
    digest: bytes = attrs.field(default=_ZERO_DIGEST, validator=_check_digest, repr=_hex)
    #: The 27 future-use bits: zero when we build, kept as received when parsing.
    reserved: int = attrs.field(default=0, validator=_check_reserved)

    @property
    def session_id_text(self) -> str:
        """The SessionID the client must use in Package 1 (OMA-TS-DM_Notification-V1_2_1 §6.2
        sessionid)."""
        return session_id_to_text(self.session_id)

    @property
    def trigger(self) -> bytes:
        """The digested bytes: header word, server identifier, vendor body
        (OMA-TS-DM_Notification-V1_2_1 §6.1, §6.2)."""
        server_id = self.server_id.encode("utf-8")
        word = (
            _put(self.version, _VERSION)
            | _put(int(self.ui_mode), _UI_MODE)
            | _put(int(self.initiator), _INITIATOR)
            | _put(self.reserved, _RESERVED)
            | _put(self.session_id, _SESSION_ID)
            | _put(len(server_id), _ID_LENGTH)
        )
        return _HEADER.pack(word) + server_id + self.vendor_data


def session_id_to_text(value: int) -> str:
    """OMA-TS-DM_Notification-V1_2_1 §6.2 / Notification 6.2.2.10: uppercase hex, no leading zeros
    (0x00AB -> "AB")."""
    _range_check("session id", value, _SESSION_ID[1])
    return f"{value:X}"


_SESSION_ID_TEXT = re.compile(r"[0-9A-Fa-f]{1,4}")


def session_id_from_text(text: str) -> int:
    """Inverse of :func:`session_id_to_text`; lenient of case and leading zeros.

    Raises:
        MalformedMessageError: ``pkg0.session-id`` unless 1–4 hex digits.
    """
    if not _SESSION_ID_TEXT.fullmatch(text):
        raise MalformedMessageError("pkg0.session-id", "SessionID is not 1-4 hex digits")
    return int(text, 16)


def notification_digest(trigger: bytes, *, server_id: str, password: str, nonce: bytes) -> bytes:
    """``H(B64(H(server-id:password)):nonce:B64(H(trigger)))``, 16 raw octets
    (OMA-TS-DM_Notification-V1_2_1 §6.1, §6.2)."""
    return nested_digest(server_id, password, nonce, trigger)


def encode_notification(notification: Notification) -> bytes:
    """The wire bytes of *notification* exactly as it stands (digest included)."""
    return notification.digest + notification.trigger


def build_notification(
    *,
    server_id: str,
    password: str,
    nonce: bytes,
    session_id: int,
    ui_mode: UIMode = UIMode.NOT_SPECIFIED,
    initiator: Initiator = Initiator.SERVER,
    version: int = NOTIFICATION_VERSION,
    vendor_data: bytes = b"",
) -> bytes:
    """A signed Package 0 (OMA-TS-DM_Notification-V1_2_1 §6.1, §6.2;
    OMA-TS-DM_Notification-V1_2_1 §6.2).

    *password* is the SRVCRED AAuthSecret and *nonce* the server nonce (SRVCRED
    AAuthData) as octets. Future-use bits are zero.

    Raises:
        InvalidValueError: a field is out of range (server id 1..255 UTF-8 octets,
            session id 0..0xFFFF, version 0..1023).
    """
    unsigned = Notification(
        version=version,
        ui_mode=ui_mode,
        initiator=initiator,
        session_id=session_id,
        server_id=server_id,
        vendor_data=vendor_data,
    )
    trigger = unsigned.trigger
    digest = notification_digest(trigger, server_id=server_id, password=password, nonce=nonce)
    return digest + trigger


def parse_notification(
    data: bytes,
    *,
    accepted_versions: frozenset[int] = DEFAULT_ACCEPTED_VERSIONS,
    limits: Limits = DEFAULT_LIMITS,
) -> Notification:
    """Read every field of a Package 0 without verifying the digest.

    Raises:
        MalformedMessageError: ``pkg0.*`` / ``limit.message-size`` for anything that is
            not a well-formed Package 0 of an accepted version.
    """
    check_message_size(len(data), limits, "Package 0")
    if len(data) < _SERVER_ID_OFFSET:
        raise MalformedMessageError(
            "pkg0.truncated", "shorter than digest + header", position=len(data)
        )
    (word,) = _HEADER.unpack_from(data, _HEADER_OFFSET)
    version = _field(word, _VERSION)
    if version not in accepted_versions:
        raise MalformedMessageError(
            "pkg0.version", f"unsupported notification version {version}", position=16
        )
    id_length = _field(word, _ID_LENGTH)
    id_end = _SERVER_ID_OFFSET + id_length
    # OMA-TS-DM_Notification-V1_2_1 §6.2: minimum valid length is 24 + 1 (a non-empty server
    # identifier).
    if id_length == 0:
        raise MalformedMessageError("pkg0.server-id-length", "empty server identifier", position=23)
    if id_end > len(data):
        raise MalformedMessageError(
            "pkg0.truncated", "server identifier runs past the end", position=len(data)
        )
    try:
        server_id = bytes(data[_SERVER_ID_OFFSET:id_end]).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedMessageError(
            "pkg0.server-id-encoding",
            "server identifier is not UTF-8",
            position=_SERVER_ID_OFFSET + exc.start,
        ) from None
    return Notification(
        version=version,
        ui_mode=UIMode(_field(word, _UI_MODE)),
        initiator=Initiator(_field(word, _INITIATOR)),
        reserved=_field(word, _RESERVED),
        session_id=_field(word, _SESSION_ID),
        server_id=server_id,
        vendor_data=bytes(data[id_end:]),
        digest=bytes(data[:MD5_SIZE]),
    )


def verify_notification(
    notification: bytes | Notification,
    *,
    password: str,
    nonce: bytes,
    try_reset: bool = True,
    try_b64_text: bool = False,
    accepted_versions: frozenset[int] = DEFAULT_ACCEPTED_VERSIONS,
    limits: Limits = DEFAULT_LIMITS,
) -> NonceUsed | None:
    """Check the digest with the stored nonce, then (OMA-TS-DM_Notification-V1_2_1 §6.1, §6.2) the
    reset nonce.

    Returns which nonce matched (:class:`~dmproto.security.NonceUsed` ``STORED``,
    ``RESET``, or ``B64_TEXT`` when *try_b64_text* — the Motorola engine's retry with
    the undecoded base64 text), or None when the notification must be ignored. The
    server identifier inside the message is the digest's username
    (OMA-TS-DM_Notification-V1_2_1 §6.1, §6.2).

    Raises:
        MalformedMessageError: *notification* is bytes that do not parse.
    """
    if not isinstance(notification, Notification):
        notification = parse_notification(
            notification, accepted_versions=accepted_versions, limits=limits
        )
    policy = NoncePolicy(try_b64_text=try_b64_text, try_reset=try_reset)
    trigger = notification.trigger
    for used, candidate in nonce_candidates(nonce, policy):
        expected = notification_digest(
            trigger, server_id=notification.server_id, password=password, nonce=candidate
        )
        if constant_time_equal(expected, notification.digest):
            return used
    return None
