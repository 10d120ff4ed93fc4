"""The HTTP binding of OMA DM, as pure functions and values (OMA-TS-SyncML_HTTPBinding-V1_2).

One DM message travels as one HTTP exchange: the DM client (device) POSTs each of
its messages, and the body of the HTTP response is the server's next message. This
module knows the header fields, media types and status rules of that mapping; it
does no I/O, so every adapter (blocking, asyncio, trio, an ASGI or WSGI app) uses
the same rules:

* :func:`request_headers` / :func:`response_headers` — the header fields of an
  outgoing message (Content-Type, Content-Length, Accept, ``x-syncml-hmac``...).
* :func:`encoding_of` — media type normalisation, with body sniffing for peers that
  send the Data Sync types or ``application/octet-stream`` (docs/conformance.md#tolerances).
* :func:`message_headers` — the transport headers a session needs from a received
  HTTP message (``x-syncml-hmac``, OMA-TS-DM_Security-V1_2_1 §5.1).
* :func:`check_status` — anything but HTTP 200 ends the session (OMA-TS-SyncML_HTTPBinding-V1_2).
* :func:`check_content_length` and :class:`BodyLimiter` — bodies are capped by the
  configured message size before they are read.
* :func:`parse_url` — where a request goes (server URL, then RespURI).
* :func:`routing_key` — which session a request belongs to (RespURI token, or
  SessionID + device id from the SyncHdr).

Errors raised here: :class:`HttpStatusError` (``http.status``),
:class:`dmproto.errors.MalformedMessageError` with reasons ``http.body-too-large``,
``http.content-length``, ``http.media-type``; :class:`dmproto.errors.InvalidValueError`
(``http.url``) for an unusable URL given by the application.
"""

from __future__ import annotations

import attrs

from ..codec import Encoding, decode_header, detect_encoding
from ..errors import InvalidValueError, MalformedMessageError, RemoteProtocolError
from ..headers import Headers, header_value
from ..limits import DEFAULT_LIMITS, Limits
from ..security import PeerCertificate

__all__ = [
    "ACCEPT",
    "DM_WBXML",
    "DM_XML",
    "HMAC_HEADER",
    "BodyLimiter",
    "HttpRequest",
    "HttpResponse",
    "HttpStatusError",
    "RoutingKey",
    "Url",
    "check_content_length",
    "check_status",
    "content_type",
    "encoding_of",
    "error_response",
    "header_value",
    "message_headers",
    "parse_url",
    "request_headers",
    "response_headers",
    "routing_key",
]

HeaderList = tuple[tuple[str, str], ...]

# OMA-TS-DM_RepPro-V1_2_1 §4.1; OMA-TS-SyncML_HTTPBinding-V1_2: the DM media types; XML carries
# charset=UTF-8 (IANA: strongly recommended).
DM_XML = "application/vnd.syncml.dm+xml"
DM_WBXML = "application/vnd.syncml.dm+wbxml"
# OMA-TS-SyncML_HTTPBinding-V1_2: Accept lists the DM types the sender can parse.
ACCEPT = f"{DM_XML}, {DM_WBXML}"
# OMA-TS-DM_Security-V1_2_1 §5.1: the integrity header, in requests and responses.
HMAC_HEADER = "x-syncml-hmac"

# docs/conformance.md#tolerances (libdmclient sample client): the Data Sync types and octet-stream
# are seen in the field; the body is then sniffed.
_SNIFFED_TYPES = frozenset(
    {
        "application/vnd.syncml+xml",
        "application/vnd.syncml+wbxml",
        "application/octet-stream",
        "",
    }
)
_DM_TYPES = {DM_XML: Encoding.XML, DM_WBXML: Encoding.WBXML}
# Transport headers a session consumes (OMA-TS-DM_Security-V1_2_1 §5.1).
_SESSION_HEADERS = frozenset({HMAC_HEADER})


class HttpStatusError(RemoteProtocolError):
    """The peer answered with an HTTP status other than 200 (OMA-TS-SyncML_HTTPBinding-V1_2).

    DM carries every protocol-level result, authentication failures included, in an
    HTTP 200 response; any other status is a transport failure that ends the session.

    Attributes:
        http_status: the HTTP status code received.
    """

    def __init__(self, http_status: int, detail: str = ""):
        self.http_status = http_status
        super().__init__("http.status", detail or f"peer answered HTTP {http_status}, not 200")

    def __reduce__(self) -> tuple[object, ...]:
        return (HttpStatusError, (self.http_status, self.detail))


def _header_tuple(headers: Headers) -> HeaderList:
    return tuple((str(name), str(value)) for name, value in headers)


@attrs.frozen(kw_only=True)
class HttpRequest:
    """One whole HTTP request as the binding sees it (framing is the adapter's job).

    Attributes:
        method: the request method (``"POST"`` for every DM message).
        target: the request target (path and query).
        headers: header fields in order, names as received.
        body: the whole body.
        peer_certificate: the client certificate the adapter's TLS layer verified
            on the connection that carried the request (``None``: plain HTTP, or
            TLS without a client certificate). Only an adapter sets it; see
            ``docs/adapters.md``, "Certificate-authenticated devices".
    """

    method: str
    target: str
    headers: HeaderList = attrs.field(converter=_header_tuple)
    body: bytes = attrs.field(repr=lambda b: f"<{len(b)} bytes>")
    peer_certificate: PeerCertificate | None = None


@attrs.frozen(kw_only=True)
class HttpResponse:
    """One whole HTTP response: status, header fields, body."""

    status: int
    headers: HeaderList = attrs.field(converter=_header_tuple)
    body: bytes = attrs.field(default=b"", repr=lambda b: f"<{len(b)} bytes>")


def error_response(status: int, text: str) -> HttpResponse:
    """A short plain-text response for a transport-level failure (400, 405, 413, 415...).

    OMA-TS-SyncML_HTTPBinding-V1_2: DM-level outcomes travel inside HTTP 200 responses; a non-200
    status tells the client that its message was not processed at all.
    """
    body = (text.replace("\r", " ").replace("\n", " ")[:200] + "\n").encode()
    return HttpResponse(
        status=status,
        headers=(("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))),
        body=body,
    )


@attrs.frozen(kw_only=True)
class Url:
    """A parsed ``http``/``https`` URL: where to connect and what to ask for.

    Attributes:
        scheme: ``"http"`` or ``"https"``.
        host: host name or address (IPv6 without brackets).
        port: TCP port (80/443 when the URL has none).
        target: the request target (path and query), at least ``"/"``.
    """

    scheme: str
    host: str
    port: int
    target: str

    @property
    def tls(self) -> bool:
        """Whether the connection uses TLS (``https``)."""
        return self.scheme == "https"

    @property
    def host_header(self) -> str:
        """The Host header value for this URL."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.tls else 80
        return host if self.port == default else f"{host}:{self.port}"

    @property
    def origin(self) -> tuple[str, str, int]:
        """``(scheme, host, port)``: requests with the same origin may share a connection."""
        return (self.scheme, self.host, self.port)


def parse_url(url: str, *, base: Url | None = None) -> Url:
    """Parse the server URL or a RespURI (``scheme://host[:port][/path][?query]``).

    OMA-TS-SyncML_HTTPBinding-V1_2: the next request goes to RespURI when the server gave one. A
    relative RespURI (a path, e.g. ``/dm?s=token``) is resolved against ``base``. User info
    and fragments are not allowed.

    Raises:
        InvalidValueError: ``http.url`` when the URL is not an absolute http(s) URL
            (or a path with a ``base``).
    """
    text = url.strip()
    if base is not None and text.startswith("/"):
        return attrs.evolve(base, target=_target(text))
    scheme, sep, rest = text.partition("://")
    scheme = scheme.lower()
    if not sep or scheme not in ("http", "https"):
        raise InvalidValueError("http.url", "URL must be absolute http:// or https://")
    cut = min((i for i in (rest.find("/"), rest.find("?")) if i >= 0), default=len(rest))
    authority, target = rest[:cut], _target(rest[cut:] or "/")
    host, port_text = _split_authority(authority)
    default = 443 if scheme == "https" else 80
    if port_text:
        if not port_text.isascii() or not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise InvalidValueError("http.url", "URL port must be 1..65535")
        port = int(port_text)
    else:
        port = default
    return Url(scheme=scheme, host=host, port=port, target=target)


def _target(text: str) -> str:
    if "#" in text or any(ord(c) <= 32 or ord(c) == 127 for c in text):
        raise InvalidValueError("http.url", "URL path contains a fragment or a control character")
    return text if text.startswith("/") else f"/{text}"


def _split_authority(authority: str) -> tuple[str, str]:
    if "@" in authority:
        raise InvalidValueError("http.url", "user information in URLs is not supported")
    if authority.startswith("["):
        host, sep, rest = authority[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise InvalidValueError("http.url", "malformed IPv6 address in URL")
        port_text = rest[1:]
    else:
        host, _, port_text = authority.partition(":")
    if not host or any(c in host for c in "/?# ") or not host.isprintable():
        raise InvalidValueError("http.url", "URL has no usable host")
    return host.lower(), port_text


def content_type(encoding: Encoding) -> str:
    """The Content-Type of a DM message in ``encoding`` (OMA-TS-SyncML_HTTPBinding-V1_2: charset
    for XML)."""
    if encoding is Encoding.XML:
        return f"{DM_XML}; charset=UTF-8"
    return DM_WBXML


def encoding_of(media_type: str | None, body: bytes) -> Encoding:
    """Normalise a received Content-Type to the message's encoding.

    Parameters (``charset``, ``verproto``, ``verdtd``) and case are ignored. The DM
    types are taken at their word; the Data Sync types, ``application/octet-stream``
    and a missing type are sniffed from the body (docs/conformance.md#tolerances: some clients use
    them).

    Raises:
        MalformedMessageError: ``http.media-type`` (status hint 415) for any other
            type, or ``detect.unknown`` when a sniffed body is neither XML nor WBXML.
    """
    base = (media_type or "").split(";", 1)[0].strip().lower()
    known = _DM_TYPES.get(base)
    if known is not None:
        return known
    if base in _SNIFFED_TYPES:
        return detect_encoding(body)
    raise MalformedMessageError(
        "http.media-type",
        f"unsupported media type {base[:80]!r}; expected {DM_XML} or {DM_WBXML}",
        status_hint=415,
    )


def _outgoing_headers(body: bytes, media_type: str, extra: Headers) -> list[tuple[str, str]]:
    headers = [
        ("Content-Type", media_type),
        ("Content-Length", str(len(body))),
        # OMA-TS-SyncML_HTTPBinding-V1_2: responses are per-session; caches must not keep them.
        ("Cache-Control", "no-store"),
    ]
    headers.extend((name, value) for name, value in extra if name.lower() in _SESSION_HEADERS)
    return headers


def request_headers(
    url: Url,
    body: bytes,
    media_type: str,
    session_headers: Headers = (),
    *,
    user_agent: str = "dmproto",
) -> HeaderList:
    """The header fields of the POST carrying one client message (OMA-TS-SyncML_HTTPBinding-V1_2).

    ``media_type`` is the session's OutgoingMessage media type; ``session_headers``
    the OutgoingMessage headers (only ``x-syncml-hmac`` is passed through).
    """
    headers = [("Host", url.host_header), ("User-Agent", user_agent), ("Accept", ACCEPT)]
    headers.append(("Accept-Charset", "utf-8"))
    headers.extend(_outgoing_headers(body, media_type, session_headers))
    return tuple(headers)


def response_headers(body: bytes, media_type: str, session_headers: Headers = ()) -> HeaderList:
    """The header fields of the HTTP 200 response carrying one server message
    (OMA-TS-SyncML_HTTPBinding-V1_2)."""
    return tuple(_outgoing_headers(body, media_type, session_headers))


def message_headers(headers: Headers) -> HeaderList:
    """The transport headers of a received message that the session consumes.

    OMA-TS-DM_Security-V1_2_1 §5.1: ``x-syncml-hmac`` arrives in requests and responses; names are
    lower-cased so sessions can compare them directly.
    """
    return tuple(
        (name.lower(), value) for name, value in headers if name.lower() in _SESSION_HEADERS
    )


def check_status(http_status: int) -> None:
    """Accept only HTTP 200 (OMA-TS-SyncML_HTTPBinding-V1_2: non-200 is a transport failure ending
    the session).

    Raises:
        HttpStatusError: for every other status.
    """
    if http_status != 200:
        raise HttpStatusError(http_status)


def _too_large(size: int, limit: int) -> MalformedMessageError:
    return MalformedMessageError(
        "http.body-too-large",
        f"HTTP body of {size} bytes exceeds the message size limit of {limit}",
        position=limit,
        status_hint=413,
    )


def check_content_length(headers: Headers, limit: int) -> int | None:
    """Check a declared Content-Length against ``limit`` before reading the body.

    Returns the declared length, or ``None`` when there is none (chunked bodies:
    count them with :class:`BodyLimiter`).

    Raises:
        MalformedMessageError: ``http.content-length`` when the value is not a
            decimal number; ``http.body-too-large`` (413) when it exceeds ``limit``.
    """
    raw = header_value(headers, "content-length")
    if raw is None:
        return None
    text = raw.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        raise MalformedMessageError("http.content-length", "invalid Content-Length")
    declared = int(text)
    if declared > limit:
        raise _too_large(declared, limit)
    return declared


class BodyLimiter:
    """Collects an HTTP body chunk by chunk and refuses to grow past ``limit``.

    For bodies without Content-Length (chunked transfer coding) the size is only known
    while reading: each chunk is counted before it is kept.
    """

    def __init__(self, limit: int):
        self.limit = limit
        self._chunks: list[bytes] = []
        self._size = 0

    @property
    def size(self) -> int:
        """Bytes collected so far."""
        return self._size

    def feed(self, chunk: bytes) -> None:
        """Add one chunk.

        Raises:
            MalformedMessageError: ``http.body-too-large`` when the body would
                exceed the limit (nothing more is kept).
        """
        if self._size + len(chunk) > self.limit:
            raise _too_large(self._size + len(chunk), self.limit)
        self._size += len(chunk)
        self._chunks.append(chunk)

    def body(self) -> bytes:
        """The whole body collected so far."""
        return b"".join(self._chunks)


@attrs.frozen(kw_only=True)
class RoutingKey:
    """What identifies the session a request belongs to (server side).

    ``token`` is the RespURI token the server handed out (query parameter), when the
    device followed RespURI; otherwise ``session_id`` and ``device_id`` come from the
    SyncHdr (SessionID, Source/LocURI: OMA-TS-DM_RepPro-V1_2_1 §4.1.1).
    """

    token: str | None = None
    session_id: str | None = None
    device_id: str | None = None


def token_of(request: HttpRequest, param: str = "s") -> str | None:
    """The ``param`` token of the request target's query (the RespURI the server
    handed out), or None."""
    _, _, query = request.target.partition("?")
    for part in query.split("&"):
        name, _, value = part.partition("=")
        if name == param and value:
            return value
    return None


def routing_key(
    request: HttpRequest, *, param: str = "s", limits: Limits = DEFAULT_LIMITS
) -> RoutingKey:
    """The routing key of a DM request: the ``param`` token of the target's query,
    else SessionID + device id peeked from the message header (only the SyncHdr is
    built: the session the request reaches decodes the body once).

    Raises:
        MalformedMessageError: no token and the body is not a readable DM document or
            has no readable SyncHdr.
    """
    token = token_of(request, param)
    if token is not None:
        return RoutingKey(token=token)
    header = decode_header(request.body, limits=limits)
    return RoutingKey(session_id=header.session_id, device_id=header.source.loc_uri)
