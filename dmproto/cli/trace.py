"""``--trace DIR`` of ``dmproto serve`` and ``dmproto device``: every message as files.

Message *n* (numbered from 1 in the order the tool saw them, requests and responses
alike) is written as ``NNNN-in.*`` (received) or ``NNNN-out.*`` (sent):

* ``.http`` — the request line or status line and the HTTP header fields;
* ``.xml`` — an XML body as it travelled, or ``.wbxml`` — a WBXML body as it
  travelled plus ``.wbxml.xml``, its decoded XML form;
* any other non-empty body (an HTTP error text): ``.bin``.

Unless ``show_credentials`` is set, secrets are redacted: the SyncHdr ``Cred`` Data
(OMA-TS-DM_Security-V1_2_1 §5.1: for Basic it is the password, merely base64-encoded)
is overwritten with ``*`` of the same length, as text and as base64 (so a WBXML body
stays well formed), and the ``mac=`` of an ``x-syncml-hmac`` header (§5.3) and any
``Authorization`` header are replaced by ``<redacted>``.
"""

from __future__ import annotations

import base64
import enum
import re
import threading
from pathlib import Path

from ..bindings.http import HttpRequest, HttpResponse, encoding_of, header_value
from ..codec import Encoding, decode_header
from ..codec.wbxml import parse_wbxml
from ..codec.xml import serialize_xml
from ..errors import DMError

__all__ = ["Trace", "TraceSide"]

_REDACTED = "<redacted>"
_MAC = re.compile(r"(mac\s*=\s*)[^,\s]+", re.IGNORECASE)


class TraceSide(enum.Enum):
    """Which end of the HTTP exchange the tracing tool is."""

    CLIENT = "client"  #: requests are sent ("out"), responses received ("in")
    SERVER = "server"  #: requests are received ("in"), responses sent ("out")


def _headers_text(first_line: str, headers: tuple[tuple[str, str], ...], show: bool) -> str:
    lines = [first_line]
    for name, value in headers:
        if not show and name.lower() == "authorization":
            value = _REDACTED
        elif not show and name.lower() == "x-syncml-hmac":
            value = _MAC.sub(r"\g<1>" + _REDACTED, value)  # the mac= part is the digest
        lines.append(f"{name}: {value}")
    return "\n".join(lines) + "\n"


def _cred_needles(body: bytes, encoding: Encoding) -> tuple[bytes, ...]:
    """The bytes of the SyncHdr Cred Data as they appear in ``body`` (and as base64)."""
    try:
        cred = decode_header(body, encoding=encoding).cred  # a bad command must not unmask it
    except DMError:
        return ()
    if cred is None or cred.data is None:
        return ()
    raw = cred.data.encode("utf-8") if isinstance(cred.data, str) else bytes(cred.data)
    return (raw, base64.b64encode(raw)) if raw else ()


def _blank(data: bytes, needles: tuple[bytes, ...]) -> bytes:
    # Same length, so WBXML string and opaque lengths stay right.
    for needle in needles:
        data = data.replace(needle, b"*" * len(needle))
    return data


class Trace:
    """``on_message`` observer writing ``NNNN-in``/``NNNN-out`` files (thread-safe).

    Called with ``(request, None)`` when a request is known and ``(request,
    response)`` when its response is; a request is written once, however often it
    is passed.
    """

    def __init__(self, directory: Path, *, side: TraceSide, show_credentials: bool = False):
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.show_credentials = show_credentials
        self._request_dir, self._response_dir = (
            ("out", "in") if side is TraceSide.CLIENT else ("in", "out")
        )
        self._count = 0
        self._lock = threading.Lock()
        self._last: HttpRequest | None = None

    def __call__(self, request: HttpRequest, response: HttpResponse | None) -> None:
        with self._lock:
            if request is not self._last:
                self._last = request
                self._write(
                    self._request_dir,
                    f"{request.method} {request.target} HTTP/1.1",
                    request.headers,
                    request.body,
                )
            if response is not None:
                self._write(
                    self._response_dir,
                    f"HTTP/1.1 {response.status}",
                    response.headers,
                    response.body,
                )

    def _write(
        self, direction: str, first: str, headers: tuple[tuple[str, str], ...], body: bytes
    ) -> None:
        self._count += 1
        stem = self.directory / f"{self._count:04d}-{direction}"
        show = self.show_credentials
        stem.with_suffix(".http").write_text(_headers_text(first, headers, show), encoding="utf-8")
        if not body:
            return
        try:
            encoding = encoding_of(header_value(headers, "content-type"), body)
        except DMError:
            stem.with_suffix(".bin").write_bytes(body)
            return
        needles = () if show else _cred_needles(body, encoding)
        if encoding is Encoding.XML:
            stem.with_suffix(".xml").write_bytes(_blank(body, needles))
            return
        stem.with_suffix(".wbxml").write_bytes(_blank(body, needles))
        try:
            decoded = serialize_xml(parse_wbxml(body).root, indent="  ")
        except DMError as exc:
            decoded = f"<!-- not decodable: {exc} -->\n".encode()
        Path(f"{stem}.wbxml.xml").write_bytes(_blank(decoded, needles))
