"""``dmproto serve --trace DIR``: every message received and sent, as files.

Message *n* (numbered from 1 in the order the server saw them, requests and
responses alike) is written as ``NNNN-in.*`` (received) or ``NNNN-out.*`` (sent):

* ``.http`` — the request line or status line and the HTTP header fields;
* ``.xml`` — an XML body as it travelled, or ``.wbxml`` — a WBXML body as it
  travelled plus ``.wbxml.xml``, its decoded XML form (``dmproto decode``'s output);
* other bodies (HTTP errors): ``.txt``.

Unless ``show_credentials`` is set, secrets are redacted: the SyncHdr ``Cred``
Data (OMA-TS-DM_Security-V1_2_1 §5.1) is overwritten with ``*`` of the same length
(so a WBXML body stays well formed), and the ``mac=`` of an ``x-syncml-hmac``
header (§5.3) and any ``Authorization`` header are replaced by ``<redacted>``.
"""

from __future__ import annotations

import threading
from pathlib import Path

from ..bindings.http import HttpRequest, HttpResponse, encoding_of, header_value
from ..codec import Encoding, decode_message, encode_message
from ..errors import DMError

__all__ = ["Tracer"]

_SECRET_HEADERS = ("authorization", "x-syncml-hmac")


def _redact_headers(headers: tuple[tuple[str, str], ...]) -> list[tuple[str, str]]:
    out = []
    for name, value in headers:
        if name.lower() == "x-syncml-hmac":
            value = ", ".join(
                "mac=<redacted>" if part.strip().lower().startswith("mac=") else part.strip()
                for part in value.split(",")
            )
        elif name.lower() in _SECRET_HEADERS:
            value = "<redacted>"
        out.append((name, value))
    return out


def _redact_body(body: bytes, encoding: Encoding) -> bytes:
    try:
        message = decode_message(body, encoding=encoding)
    except DMError:
        return body
    cred = message.header.cred
    if cred is None or not cred.data:
        return body
    secret = cred.data.encode("utf-8")
    return body.replace(secret, b"*" * len(secret))


class Tracer:
    """Writes each observed message into a directory (thread-safe)."""

    def __init__(self, directory: str, *, show_credentials: bool = False):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.show_credentials = show_credentials
        self._count = 0
        self._lock = threading.Lock()
        self._last: HttpRequest | None = None

    def observe(self, request: HttpRequest, response: HttpResponse | None) -> None:
        """``on_message`` observer part: a request once, then its response."""
        with self._lock:
            if request is not self._last:  # refused requests come only with a response
                self._last = request
                first = f"{request.method} {request.target} HTTP/1.1"
                self._write("in", first, request.headers, request.body)
            if response is not None:
                self._write("out", f"HTTP/1.1 {response.status}", response.headers,
                            response.body)

    def _write(self, direction: str, first: str, headers: tuple[tuple[str, str], ...],
               body: bytes) -> None:
        self._count += 1
        stem = self.directory / f"{self._count:04d}-{direction}"
        shown = list(headers) if self.show_credentials else _redact_headers(headers)
        head = first + "\n" + "".join(f"{name}: {value}\n" for name, value in shown)
        stem.with_suffix(".http").write_text(head, encoding="utf-8")
        ctype = header_value(headers, "content-type")
        try:
            encoding = encoding_of(ctype, body)
        except DMError:
            stem.with_suffix(".txt").write_bytes(body)
            return
        if not self.show_credentials:
            body = _redact_body(body, encoding)
        if encoding is Encoding.XML:
            stem.with_suffix(".xml").write_bytes(body)
            return
        stem.with_suffix(".wbxml").write_bytes(body)
        try:
            xml = encode_message(decode_message(body, encoding=encoding), Encoding.XML)
        except DMError as exc:
            xml = f"<!-- not decodable: {exc} -->\n".encode()
        Path(f"{stem}.wbxml.xml").write_bytes(xml)
