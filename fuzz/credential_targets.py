"""Fuzz targets for the credential decoders: Basic and MD5 Cred data.

Cred Data arrives as text from the message (OMA-TS-DM_Security-V1_2_1 §5.1); the
decoders must answer "not these credentials" (False / None) for anything that is
not well-formed base64 of the right thing, and never raise. Each target also checks
the positive direction: credentials built from the input verify against the Cred
data computed for them, and against nothing else.
"""

from __future__ import annotations

from collections.abc import Callable

from dmproto.security import (
    Credentials,
    basic_credential,
    basic_username,
    md5_credential,
    verify_basic,
    verify_md5,
)

__all__ = ["TARGETS", "basic_cred", "md5_cred"]

_KNOWN = Credentials(username="dev", password="pw")
_KNOWN_DIGEST = Credentials.digest_of("dev", "pw")


def _split(data: bytes) -> tuple[str, str, bytes]:
    """Three parts of the input: a user name (no ``:``), a password, a nonce."""
    text = data.decode("utf-8", "replace")
    user, _, rest = text.partition("\x00")
    password, _, nonce = rest.partition("\x00")
    return user.replace(":", ""), password, nonce.encode("utf-8")


def basic_cred(data: bytes) -> None:
    """Basic: arbitrary text never verifies by accident; built credentials verify."""
    text = data.decode("latin-1")
    name = basic_username(text)
    assert name is None or ":" not in name
    # Arbitrary text verifies only when it carries "dev:pw" (so its user name is "dev").
    for creds in (_KNOWN, _KNOWN_DIGEST):
        assert not verify_basic(text, creds) or name == "dev", text
    user, password, _ = _split(data)
    creds = Credentials(username=user, password=password)
    cred = basic_credential(creds)
    assert basic_username(cred) == user
    assert verify_basic(cred, creds)
    assert verify_basic(cred, Credentials.digest_of(user, password))
    assert not verify_basic(cred, Credentials(username=user + "x", password=password))


def md5_cred(data: bytes) -> None:
    """MD5: arbitrary text never raises; built credentials verify, for their nonce only."""
    verify_md5(data.decode("latin-1"), _KNOWN, data[:16])
    user, password, nonce = _split(data)
    creds = Credentials(username=user, password=password)
    cred = md5_credential(creds, nonce)
    assert verify_md5(cred, creds, nonce) is not None
    assert verify_md5(cred, Credentials.digest_of(user, password), nonce) is not None
    assert verify_md5(cred, creds, nonce + b"x") is None


TARGETS: dict[str, Callable[[bytes], None]] = {
    "basic_cred": basic_cred,
    "md5_cred": md5_cred,
}
