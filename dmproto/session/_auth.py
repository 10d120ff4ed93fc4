"""Authentication handshakes: building our credentials, checking the peer's.

OMA-TS-DM_Security-V1_2_1 §5.1; OMA-TS-DM_Protocol-V1_2_1 §2.4: application-layer credentials
travel only in SyncHdr/Cred (basic, md5) or in the ``x-syncml-hmac`` transport header (HMAC);
challenges only in the SyncHdr Status (401 invalid / 407 missing) with a Chal carrying a fresh
NextNonce. The primitives are :mod:`dmproto.security`; this module only decides which to use.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence

from ..codec.model import Chal, Cred, Meta, SyncHdr
from ..errors import MalformedMessageError
from ..headers import header_value
from ..security import (
    HMAC_HEADER,
    AuthScheme,
    Challenge,
    Credentials,
    NoncePolicy,
    NonceUsed,
    basic_credential,
    basic_username,
    build_hmac_header,
    format_hmac_header,
    md5_credential,
    parse_hmac_header,
    verify_basic,
    verify_mac,
    verify_md5,
)
from .events import UsernameSource

__all__ = [
    "Verdict",
    "account_name",
    "build_cred",
    "challenge",
    "hmac_headers",
    "verify_peer",
]


class Verdict(enum.Enum):
    """Result of checking the peer's credentials for one message."""

    OK = "ok"
    #: OMA-TS-DM_Security-V1_2_1 §5.1; OMA-TS-DM_Protocol-V1_2_1 §2.4: answer 407 + Chal
    MISSING = "missing"
    #: OMA-TS-DM_Security-V1_2_1 §5.1; OMA-TS-DM_Protocol-V1_2_1 §2.4: answer 401 + Chal
    INVALID = "invalid"
    #: OMA-TS-DM_Security-V1_2_1 §5.1: another type than the one asked for
    WRONG_SCHEME = "wrong-scheme"


def build_cred(scheme: AuthScheme | None, creds: Credentials | None, nonce: bytes) -> Cred | None:
    """SyncHdr Cred for *scheme* (OMA-TS-DM_Security-V1_2_1 §5.1); None for HMAC (transport header)
    or no auth."""
    if scheme is None or creds is None or scheme is AuthScheme.HMAC:
        return None
    data = basic_credential(creds) if scheme is AuthScheme.BASIC else md5_credential(creds, nonce)
    # OMA-TS-DM_Security-V1_2_1 §5.1: Meta Type = scheme, Format b64 (MUST for md5).
    return Cred(meta=Meta(type=scheme.value, format="b64"), data=data)


def hmac_headers(
    scheme: AuthScheme | None, creds: Credentials | None, nonce: bytes, body: bytes
) -> tuple[tuple[str, str], ...]:
    """OMA-TS-DM_Security-V1_2_1 §5.1: the ``x-syncml-hmac`` header over the exact body, when HMAC
    is used."""
    if scheme is not AuthScheme.HMAC or creds is None:
        return ()
    return ((HMAC_HEADER, format_hmac_header(build_hmac_header(creds, nonce, body))),)


def challenge(scheme: AuthScheme, nonce: bytes) -> Chal:
    """A Chal for *scheme*; basic carries no NextNonce (OMA-TS-DM_Security-V1_2_1 §5.1;
    OMA-TS-DM_Protocol-V1_2_1 §2.4)."""
    return Challenge(
        scheme=scheme, next_nonce=None if scheme is AuthScheme.BASIC else nonce
    ).to_chal()


def hmac_username(headers: Sequence[tuple[str, str]]) -> str | None:
    """The username of a well-formed x-syncml-hmac header, else None."""
    value = header_value(headers, HMAC_HEADER)
    if value is None:
        return None
    try:
        return parse_hmac_header(value).username
    except MalformedMessageError:
        return None


def account_name(header: SyncHdr, headers: Sequence[tuple[str, str]]) -> tuple[str, UsernameSource]:
    """The account name a device's Package 1 asks for, and where it was read.

    OMA-TS-DM_Security-V1_2_1 §5.1: a Basic Cred carries ``B64(user:password)``,
    so its user name is the one the credential is checked against (LocName may be
    absent or differ). An MD5 Cred carries only a digest: its sender names the
    user in SyncHdr Source LocName; with HMAC the transport header names it too.
    Without any of these only the device id (Source LocURI) is left.
    """
    cred = header.cred
    if cred is not None and cred_scheme(cred) is AuthScheme.BASIC:
        name = basic_username(cred.data)
        if name is not None:
            return name, UsernameSource.CREDENTIAL
    if header.source.loc_name:
        return header.source.loc_name, UsernameSource.LOC_NAME
    name = hmac_username(headers)
    if name is not None:
        return name, UsernameSource.HMAC_HEADER
    return header.source.loc_uri, UsernameSource.DEVICE_ID


def cred_scheme(cred: Cred) -> AuthScheme | None:
    """The scheme a Cred names (SyncML default Type: basic); None if unknown."""
    text = cred.meta.type if cred.meta is not None and cred.meta.type else AuthScheme.BASIC.value
    try:
        return AuthScheme.from_meta_type(text)
    except MalformedMessageError:
        return None


def verify_peer(
    *,
    expected: AuthScheme,
    creds: Credentials,
    nonce: bytes,
    header: SyncHdr,
    headers: Sequence[tuple[str, str]],
    body: bytes,
    policy: NoncePolicy,
) -> tuple[Verdict, NonceUsed | None]:
    """Check the peer's credentials for one message against what we require."""
    mac_text = header_value(headers, HMAC_HEADER)
    if expected is AuthScheme.HMAC:
        if mac_text is None:
            return (Verdict.WRONG_SCHEME if header.cred is not None else Verdict.MISSING), None
        try:
            mac = parse_hmac_header(mac_text)
        except MalformedMessageError:
            return Verdict.INVALID, None
        used = verify_mac(mac.mac, creds, nonce, body, policy=policy)
        if used is None or mac.username != creds.username:
            return Verdict.INVALID, None
        return Verdict.OK, used
    if header.cred is None:
        return (Verdict.WRONG_SCHEME if mac_text is not None else Verdict.MISSING), None
    scheme = cred_scheme(header.cred)
    if scheme is None:
        return Verdict.INVALID, None
    if scheme is not expected:
        return Verdict.WRONG_SCHEME, None
    if scheme is AuthScheme.BASIC:
        return (Verdict.OK if verify_basic(header.cred.data, creds) else Verdict.INVALID), None
    used = verify_md5(header.cred.data, creds, nonce, policy=policy)
    if used is None:
        return Verdict.INVALID, None
    return Verdict.OK, used
