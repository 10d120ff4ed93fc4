"""WAP Push framing of Package 0: the connectionless WSP Push PDU
(OMA-TS-DM_Notification-V1_2_1 §6.3).

What we write (WAP-230 WSP §8.2.4.1, OMA-TS-DM_Notification-V1_2_1 §6.3)::

    [SMS user-data header: 06 05 04 <dst port> <src port>]   optional,
    OMA-TS-DM_Notification-V1_2_1 §6.3 example <transaction id>   1 octet
    06                 PDU type Push
    <headers length>   uintvar: content type + headers
    C4                 content type 0x44 | 0x80  application/vnd.syncml.notification
    AF 87              X-WAP-Application-ID (0x2F | 0x80) = 0x07 | 0x80  x-wap-application:syncml.dm
    <body>             Package 0

Reading is tolerant of what other senders write — textual or general-form content
types, a textual application id, extra headers (skipped by the generic WSP value
rules, kept raw in :attr:`WspPush.headers`) — and strict about every length:
nothing may run past the headers region or the PDU.

Reasons raised: ``limit.message-size``, ``wsp.truncated``, ``wsp.pdu-type``,
``wsp.uintvar``, ``wsp.content-type``, ``wsp.header``,
``wsp.application-id``, ``wsp.headers-length``, ``sms.udh``.
"""

from __future__ import annotations

import attrs

from ..codec.guard import check_message_size
from ..errors import InvalidValueError, MalformedMessageError
from ..limits import DEFAULT_LIMITS, Limits
from .package0 import NOTIFICATION_CONTENT_TYPE

__all__ = [
    "DM_PUSH_PORT",
    "SYNCML_DM_APPLICATION_ID",
    "SYNCML_DM_APPLICATION_URI",
    "SmsPorts",
    "WspHeader",
    "WspPush",
    "build_wsp_push",
    "parse_wsp_push",
]

#: OMA-TS-DM_Notification-V1_2_1 §6.3: the non-secure WAP push port the DM client listens on.
DM_PUSH_PORT = 2948
#: OMA-TS-DM_Notification-V1_2_1 §6.3: X-WAP-Application-ID code 0x07 =
#: ``x-wap-application:syncml.dm``.
SYNCML_DM_APPLICATION_ID = 0x07
SYNCML_DM_APPLICATION_URI = "x-wap-application:syncml.dm"

_PDU_PUSH = 0x06  # WSP PDU type Push (connectionless)
_X_WAP_APPLICATION_ID = 0x2F  # WSP well-known header field code
# OMA-TS-DM_Notification-V1_2_1 §6.3: content type MUST be the binary code 0x44
_NOTIFICATION_CODE = 0x44
_SHORT_INTEGER = 0x80
_LENGTH_QUOTE = 31  # WSP: Value-length 31 = a uintvar length follows
_TEXT_QUOTE = 0x7F  # WSP: Quote before text starting with an octet >= 128
_MAX_UINTVAR_OCTETS = 5  # WSP §8.1.2: uintvar values are at most 32 bits
_UDH_PORTS_16 = 0x05  # SMS IE: application port addressing, 16-bit ports
_UDH_PORTS_8 = 0x04  # SMS IE: application port addressing, 8-bit ports

# WSP well-known content types dmproto cares about (OMNA / AOSP WspTypeDecoder).
_CONTENT_TYPES = {
    0x42: "application/vnd.syncml.dm+wbxml",
    0x43: "application/vnd.syncml.dm+xml",
    _NOTIFICATION_CODE: NOTIFICATION_CONTENT_TYPE,
}


def _check_port(_inst: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 0xFFFF:
        raise InvalidValueError("wsp.port", f"{attribute.name} must be 0..65535")


@attrs.frozen(kw_only=True)
class SmsPorts:
    """SMS application port addressing (user-data header IE 0x05,
    OMA-TS-DM_Notification-V1_2_1 §6.3 example)."""

    destination: int = attrs.field(default=DM_PUSH_PORT, validator=_check_port)
    #: Sender-chosen; 0xC002 as in the OMA-TS-DM_Notification-V1_2_1 §6.3 example.
    originator: int = attrs.field(default=0xC002, validator=_check_port)


@attrs.frozen(kw_only=True)
class WspHeader:
    """A push header other than content type and application id, kept undecoded.

    ``name`` is the well-known field code (``int``) or the application header name
    (``str``); ``value`` holds the value octets as on the wire (length prefix and
    terminator included).
    """

    name: int | str
    value: bytes


@attrs.frozen(kw_only=True)
class WspPush:
    """A decoded WSP Push PDU.

    ``content_type`` is the MIME type; a well-known code not in dmproto's table reads
    as ``"0xNN"``. ``application_id`` is the numeric code, the URI text, or None
    when the PDU has no X-WAP-Application-ID.
    """

    transaction_id: int
    content_type: str
    application_id: int | str | None
    headers: tuple[WspHeader, ...] = ()
    body: bytes = attrs.field(repr=lambda v: f"<{len(v)} octets>")
    sms_ports: SmsPorts | None = None

    @property
    def is_dm_notification(self) -> bool:
        """Whether this push is for the DM client (OMA-TS-DM_Notification-V1_2_1 §6.3: app id +
        MIME type)."""
        return self.content_type == NOTIFICATION_CONTENT_TYPE and self.application_id in (
            SYNCML_DM_APPLICATION_ID,
            SYNCML_DM_APPLICATION_URI,
        )


# ----------------------------------------------------------------------------- writing


def _sms_udh(ports: SmsPorts) -> bytes:
    ie = bytes([_UDH_PORTS_16, 4]) + ports.destination.to_bytes(2, "big")
    ie += ports.originator.to_bytes(2, "big")
    return bytes([len(ie)]) + ie


def build_wsp_push(
    body: bytes, *, transaction_id: int = 1, sms_ports: SmsPorts | None = None
) -> bytes:
    """A Push PDU carrying Package 0 *body* (OMA-TS-DM_Notification-V1_2_1 §6.3), optionally behind
    an SMS user-data header with port addressing.

    Raises:
        InvalidValueError: *transaction_id* not 0..255.
    """
    if isinstance(transaction_id, bool) or not 0 <= transaction_id <= 0xFF:
        raise InvalidValueError("wsp.transaction-id", "transaction id must be 0..255")
    # OMA-TS-DM_Notification-V1_2_1 §6.3: binary content type 0x44 and application id 0x07, never
    # text.
    headers = bytes(
        [
            _SHORT_INTEGER | _NOTIFICATION_CODE,
            _SHORT_INTEGER | _X_WAP_APPLICATION_ID,
            _SHORT_INTEGER | SYNCML_DM_APPLICATION_ID,
        ]
    )
    # WSP §8.1.2: HeadersLen is a uintvar; a value below 128 is one octet.
    pdu = bytes([transaction_id, _PDU_PUSH, len(headers)]) + headers + body
    return pdu if sms_ports is None else _sms_udh(sms_ports) + pdu


# ----------------------------------------------------------------------------- reading


class _Reader:
    """Bounded cursor; ``end`` is exclusive and never exceeds the buffer."""

    def __init__(self, data: bytes, start: int = 0, end: int | None = None) -> None:
        self.data = data
        self.pos = start
        self.end = len(data) if end is None else end

    def fail(self, reason: str, detail: str) -> MalformedMessageError:
        return MalformedMessageError(reason, detail, position=self.pos)

    def remaining(self) -> int:
        return self.end - self.pos

    def byte(self) -> int:
        if self.pos >= self.end:
            raise self.fail("wsp.truncated", "unexpected end of data")
        value = self.data[self.pos]
        self.pos += 1
        return value

    def peek(self) -> int:
        if self.pos >= self.end:
            raise self.fail("wsp.truncated", "unexpected end of data")
        return self.data[self.pos]

    def take(self, count: int) -> bytes:
        if count > self.remaining():
            raise self.fail("wsp.truncated", "length runs past the end")
        value = self.data[self.pos : self.pos + count]
        self.pos += count
        return value

    def sub(self, count: int) -> _Reader:
        """A reader over the next *count* octets; this reader skips past them."""
        if count > self.remaining():
            raise self.fail("wsp.truncated", "length runs past the end")
        inner = _Reader(self.data, self.pos, self.pos + count)
        self.pos += count
        return inner

    def uintvar(self) -> int:
        value = 0
        for _ in range(_MAX_UINTVAR_OCTETS):
            octet = self.byte()
            value = (value << 7) | (octet & 0x7F)
            if not octet & 0x80:
                if value > 0xFFFFFFFF:
                    raise self.fail("wsp.uintvar", "uintvar exceeds 32 bits")
                return value
        raise self.fail("wsp.uintvar", "uintvar longer than 5 octets")

    def value_length(self) -> int:
        """WSP Value-length: Short-length (0..30) or Length-quote + uintvar."""
        first = self.byte()
        return self.uintvar() if first == _LENGTH_QUOTE else first

    def text(self) -> str:
        """WSP Text-string / Token-text: optional Quote, octets up to NUL.

        Decoded as ISO-8859-1 so that any octet string is readable (WSP texts are
        US-ASCII in practice; a stray 8-bit header must not make the push unreadable).
        """
        if self.peek() == _TEXT_QUOTE:
            self.pos += 1
        terminator = self.data.find(b"\x00", self.pos, self.end)
        if terminator < 0:
            raise self.fail("wsp.truncated", "text without its NUL terminator")
        raw = self.data[self.pos : terminator]
        self.pos = terminator + 1
        return raw.decode("latin-1")


def _well_known_type(code: int) -> str:
    return _CONTENT_TYPES.get(code, f"0x{code:02X}")


def _media_type(reader: _Reader) -> str:
    """Media-type inside Content-general-form: Integer-value or Extension-media."""
    first = reader.peek()
    if first >= _SHORT_INTEGER:
        return _well_known_type(reader.byte() & 0x7F)
    if first < _LENGTH_QUOTE:  # Long-integer: Short-length Multi-octet-integer
        count = reader.byte()
        if count == 0:
            raise reader.fail("wsp.content-type", "empty long integer")
        return _well_known_type(int.from_bytes(reader.take(count), "big"))
    return reader.text()


def _content_type(reader: _Reader) -> str:
    """WSP §8.4.2.24 Content-type-value: Constrained-media or Content-general-form."""
    first = reader.peek()
    if first >= _SHORT_INTEGER:
        return _well_known_type(reader.byte() & 0x7F)
    if first > _LENGTH_QUOTE:  # Extension-media: textual type (tolerated)
        return reader.text()
    general = reader.sub(reader.value_length())  # parameters after the type are ignored
    if general.remaining() == 0:
        raise general.fail("wsp.content-type", "empty content type")
    return _media_type(general)


def _field_value(reader: _Reader) -> bytes:
    """Skip one well-known header value by the generic WSP §8.4.1.2 rules; return its octets."""
    start = reader.pos
    first = reader.peek()
    if first >= _SHORT_INTEGER:
        reader.pos += 1
    elif first <= _LENGTH_QUOTE:
        reader.sub(reader.value_length())
    else:
        reader.text()
    return bytes(reader.data[start : reader.pos])


def _application_id(raw: bytes, position: int) -> int | str:
    """X-WAP-Application-ID value: Integer-value or Uri-value."""
    first = raw[0]
    if first >= _SHORT_INTEGER:
        return first & 0x7F
    if 0 < first < _LENGTH_QUOTE:  # Long-integer
        return int.from_bytes(raw[1:], "big")
    if first > _LENGTH_QUOTE:
        return _Reader(raw).text()
    raise MalformedMessageError(
        "wsp.application-id", "application id is neither integer nor URI", position=position
    )


def _headers(reader: _Reader) -> tuple[int | str | None, tuple[WspHeader, ...]]:
    app_id: int | str | None = None
    seen_app_id = False
    others: list[WspHeader] = []
    while reader.remaining():
        start = reader.pos
        first = reader.peek()
        if first >= _SHORT_INTEGER:
            reader.pos += 1
            raw = _field_value(reader)
            if first & 0x7F == _X_WAP_APPLICATION_ID:
                if seen_app_id:
                    raise MalformedMessageError(
                        "wsp.application-id", "application id given twice", position=start
                    )
                seen_app_id = True
                app_id = _application_id(raw, start + 1)
            else:
                others.append(WspHeader(name=first & 0x7F, value=raw))
        elif first == _TEXT_QUOTE:  # Shift-delimiter + page: switch header code page
            reader.take(2)
        elif first < 0x20:
            if first == 0:
                raise reader.fail("wsp.header", "NUL where a header field name was expected")
            reader.pos += 1  # Short-cut-shift-delimiter
        else:  # Application-header: Token-text Application-specific-value
            name = reader.text()
            value_start = reader.pos
            reader.text()
            others.append(WspHeader(name=name, value=bytes(reader.data[value_start : reader.pos])))
    return app_id, tuple(others)


def _sms_ports(reader: _Reader) -> SmsPorts | None:
    """Walk the SMS user-data header; return its port addressing IE, if any."""
    udh = reader.sub(reader.byte())
    ports = None
    while udh.remaining():
        iei = udh.byte()
        data = udh.sub(udh.byte())
        if iei == _UDH_PORTS_16:
            if data.remaining() != 4:
                raise data.fail("sms.udh", "16-bit port IE must be 4 octets")
            ports = SmsPorts(
                destination=int.from_bytes(data.take(2), "big"),
                originator=int.from_bytes(data.take(2), "big"),
            )
        elif iei == _UDH_PORTS_8:
            if data.remaining() != 2:
                raise data.fail("sms.udh", "8-bit port IE must be 2 octets")
            ports = SmsPorts(destination=data.byte(), originator=data.byte())
    return ports


def parse_wsp_push(
    pdu: bytes, *, sms_udh: bool = False, limits: Limits = DEFAULT_LIMITS
) -> WspPush:
    """Decode a connectionless WSP Push PDU (behind an SMS user-data header when
    *sms_udh*). The body is returned as is; parse it with
    :func:`~dmproto.notification.parse_notification`.

    Raises:
        MalformedMessageError: ``wsp.*`` / ``sms.udh`` / ``limit.message-size``.
    """
    check_message_size(len(pdu), limits, "push PDU")
    reader = _Reader(bytes(pdu))
    ports = _sms_ports(reader) if sms_udh else None
    transaction_id = reader.byte()
    pdu_type = reader.byte()
    if pdu_type != _PDU_PUSH:
        raise MalformedMessageError(
            "wsp.pdu-type", f"PDU type 0x{pdu_type:02X} is not Push", position=reader.pos - 1
        )
    headers_length = reader.uintvar()
    if headers_length > reader.remaining():
        raise reader.fail("wsp.headers-length", "headers length runs past the end")
    headers = reader.sub(headers_length)
    if headers.remaining() == 0:
        raise headers.fail("wsp.content-type", "no content type")
    content_type = _content_type(headers)
    app_id, others = _headers(headers)
    return WspPush(
        transaction_id=transaction_id,
        content_type=content_type,
        application_id=app_id,
        headers=others,
        body=reader.take(reader.remaining()),
        sms_ports=ports,
    )
