"""The ``x-syncml-hmac`` transport header (OMA-TS-DM_Security-V1_2_1 §5.1;
OMA-TS-SyncML_HTTPBinding-V1_2).

Grammar (RFC 2616 ``#rule``)::

    syncml-hmac       = #syncml-hmac-param
    syncml-hmac-param = ( algorithm | username | mac )
    algorithm         = "algorithm" "=" ( "MD5" | token )      ; optional, default MD5
    username          = "username" "=" quoted-string          ; MUST
    mac               = "mac" "=" base64-string               ; MUST

Reading is lenient where peers differ harmlessly (parameters in any order, names in
any case, empty list elements, unknown parameters ignored, quoted or bare values)
and strict otherwise. Writing produces exactly the Motorola engine's form
``algorithm=MD5, username="<name>", mac=<b64>``.

Reasons raised: ``hmac-header.too-long``, ``hmac-header.syntax``,
``hmac-header.unterminated-quote``, ``hmac-header.control-char``,
``hmac-header.duplicate``, ``hmac-header.empty-value``,
``hmac-header.missing-username``, ``hmac-header.missing-mac``.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

from ..errors import InvalidValueError, MalformedMessageError
from .auth import Credentials, compute_mac

__all__ = [
    "HMAC_HEADER",
    "MAX_HMAC_HEADER_LENGTH",
    "HmacHeader",
    "build_hmac_header",
    "format_hmac_header",
    "parse_hmac_header",
]

#: The HTTP header name (lowercase; HTTP header names are case-insensitive).
HMAC_HEADER = "x-syncml-hmac"

#: Longest header value accepted; real values are ~80 characters plus the username.
MAX_HMAC_HEADER_LENGTH = 4096

# RFC 2616 §2.2: separators and whitespace are not token characters.
_SEPARATORS = frozenset('()<>@,;:\\"/[]?={} \t')
_LWS = frozenset(" \t\r\n")


def _is_ctl(ch: str) -> bool:
    return ord(ch) < 32 or ord(ch) == 127


def _is_token_char(ch: str) -> bool:
    return 32 < ord(ch) < 127 and ch not in _SEPARATORS


def _is_bare_value_char(ch: str) -> bool:
    # base64-string needs '=', '/', '+' which are not token characters.
    return 32 < ord(ch) < 127 and ch not in ',"'


@attrs.frozen(kw_only=True)
class HmacHeader:
    """A parsed ``x-syncml-hmac`` value: sender's username, mac, algorithm name."""

    username: str
    mac: str
    algorithm: str = "MD5"


class _Scanner:
    """Cursor over a header value; every failure is a MalformedMessageError."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, reason: str, detail: str) -> MalformedMessageError:
        return MalformedMessageError(reason, detail, position=self.pos)

    def at_end(self) -> bool:
        return self.pos >= len(self.text)

    def peek(self) -> str:
        return self.text[self.pos]

    def skip_lws(self) -> None:
        while not self.at_end() and self.peek() in _LWS:
            self.pos += 1

    def take_while(self, pred: Callable[[str], bool]) -> str:
        start = self.pos
        while not self.at_end() and pred(self.peek()):
            self.pos += 1
        return self.text[start : self.pos]

    def quoted_string(self) -> str:
        # RFC 2616 §2.2: quoted-string = <"> *(qdtext | quoted-pair) <">
        self.pos += 1  # opening quote
        out: list[str] = []
        while True:
            if self.at_end():
                raise self.fail("hmac-header.unterminated-quote", "unterminated quoted-string")
            ch = self.peek()
            if ch == '"':
                self.pos += 1
                return "".join(out)
            if ch == "\\":
                self.pos += 1
                if self.at_end():
                    raise self.fail("hmac-header.unterminated-quote", "dangling escape")
                ch = self.peek()
            elif _is_ctl(ch) and ch != "\t":
                raise self.fail("hmac-header.control-char", "control character in quoted-string")
            out.append(ch)
            self.pos += 1

    def value(self) -> str:
        if not self.at_end() and self.peek() == '"':
            return self.quoted_string()
        bare = self.take_while(_is_bare_value_char)
        if not bare:
            raise self.fail("hmac-header.empty-value", "parameter without a value")
        return bare


def _parse_params(text: str) -> dict[str, str]:
    scan = _Scanner(text)
    params: dict[str, str] = {}
    while True:
        scan.skip_lws()
        if scan.at_end():
            return params
        if scan.peek() == ",":  # RFC 2616 #rule: empty list elements are allowed
            scan.pos += 1
            continue
        name = scan.take_while(_is_token_char).lower()
        if not name:
            raise scan.fail("hmac-header.syntax", "expected a parameter name")
        scan.skip_lws()
        if scan.at_end() or scan.peek() != "=":
            raise scan.fail("hmac-header.syntax", "expected '=' after the parameter name")
        scan.pos += 1
        scan.skip_lws()
        value = scan.value()
        scan.skip_lws()
        if not scan.at_end() and scan.peek() != ",":
            raise scan.fail("hmac-header.syntax", "expected ',' between parameters")
        if name in params:
            raise scan.fail("hmac-header.duplicate", "parameter given twice")
        params[name] = value


def parse_hmac_header(value: str) -> HmacHeader:
    """Parse an ``x-syncml-hmac`` header value.

    Raises:
        MalformedMessageError: ``hmac-header.*`` for anything not matching
        OMA-TS-DM_Security-V1_2_1 §5.1.
    """
    if len(value) > MAX_HMAC_HEADER_LENGTH:
        raise MalformedMessageError("hmac-header.too-long", "x-syncml-hmac value too long")
    params = _parse_params(value)
    # OMA-TS-DM_Security-V1_2_1 §5.1: username and mac MUST be present; algorithm defaults to MD5.
    if "username" not in params:
        raise MalformedMessageError("hmac-header.missing-username", "no username parameter")
    if "mac" not in params:
        raise MalformedMessageError("hmac-header.missing-mac", "no mac parameter")
    if not params["mac"]:
        raise MalformedMessageError("hmac-header.empty-value", "empty mac")
    algorithm = params.get("algorithm", "MD5")
    if not algorithm:
        raise MalformedMessageError("hmac-header.empty-value", "empty algorithm")
    return HmacHeader(username=params["username"], mac=params["mac"], algorithm=algorithm)


def _quote(text: str) -> str:
    if any(_is_ctl(ch) and ch != "\t" for ch in text):
        raise InvalidValueError("hmac-header.control-char", "username contains a control char")
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def format_hmac_header(header: HmacHeader) -> str:
    """``algorithm=MD5, username="...", mac=...`` (OMA-TS-DM_Security-V1_2_1 §5.1, Motorola engine
    form).

    Raises:
        InvalidValueError: algorithm not a token, mac not a bare base64 value, or a
            control character in the username.
    """
    if not header.algorithm or not all(map(_is_token_char, header.algorithm)):
        raise InvalidValueError("hmac-header.algorithm", "algorithm must be an HTTP token")
    if not header.mac or not all(map(_is_bare_value_char, header.mac)):
        raise InvalidValueError("hmac-header.mac", "mac must be base64 text")
    return f"algorithm={header.algorithm}, username={_quote(header.username)}, mac={header.mac}"


def build_hmac_header(creds: Credentials, nonce: bytes, body: bytes) -> HmacHeader:
    """The header a sender attaches to *body* (OMA-TS-DM_Security-V1_2_1 §5.1: username = its
    LocName)."""
    return HmacHeader(username=creds.username, mac=compute_mac(creds, nonce, body))
