"""Nonces: wire form, generation and the reset nonce (OMA-TS-DM_Security-V1_2_1 §5.1;
OMA-TS-DM_Protocol-V1_2_1 §2.4; OMA-TS-DM_Notification-V1_2_1 §6.1, §6.2).

A nonce is an octet string. On the wire (``Chal/Meta/NextNonce``, Format ``b64``)
it travels base64-encoded; every hash uses the *decoded* octets (OMA-TS-DM_Security-V1_2_1 §5.1, as
libdmclient and the Motorola engine do). Randomness is injected: dmproto never
reads a random source itself (CONTRIBUTING.md#no-clock-no-randomness-no-io).
"""

from __future__ import annotations

import enum
from collections.abc import Callable

from ..errors import InvalidValueError
from ._base64 import b64decode_lenient, b64encode_text

__all__ = [
    "DEFAULT_NONCE_SIZE",
    "RESET_NONCE",
    "NonceRole",
    "decode_nonce",
    "encode_nonce",
    "new_nonce",
]

# OMA-TS-DM_Notification-V1_2_1 §6.1, §6.2: after a failed digest check the
# client retries with the special nonce 0x00000000 — four zero *octets* (not the ASCII text
# "0x00000000" libdmclient uses, which never matches a conforming server).
RESET_NONCE = b"\x00\x00\x00\x00"

# OMA-TS-DM_Security-V1_2_1 §5.1; OMA-TS-DM_Protocol-V1_2_1 §2.4: nonces are RECOMMENDED to be at
# least 128 bits (16 random octets).
DEFAULT_NONCE_SIZE = 16


class NonceRole(enum.Enum):
    """Which of the two nonces kept per DM account (OMA-TS-DM_Security-V1_2_1 §5.1;
    OMA-TS-DM_Protocol-V1_2_1 §2.4 storage: DMAcc AppAuth levels); a session's
    ``NonceChanged`` event names it."""

    #: The nonce the *client* uses to build its credentials (CLCRED AAuthData),
    #: issued by the server in a Chal.
    CLIENT = "client"
    #: The nonce the *server* uses to build its credentials (SRVCRED AAuthData),
    #: issued by the client in a Chal; also keys the Package 0 digest.
    SERVER = "server"


def encode_nonce(nonce: bytes) -> str:
    """The wire (NextNonce, Format b64) form of *nonce* (OMA-TS-DM_Security-V1_2_1 §5.1;
    OMA-TS-DM_Protocol-V1_2_1 §2.4)."""
    return b64encode_text(nonce)


def decode_nonce(text: str) -> bytes:
    """Decode a NextNonce / AAuthData base64 text into the nonce octets.

    Lenient of whitespace and missing padding.

    Raises:
        MalformedMessageError: ``nonce.base64`` when the text is not base64.
    """
    return b64decode_lenient(text, reason="nonce.base64")


def new_nonce(random_bytes: Callable[[int], bytes], size: int = DEFAULT_NONCE_SIZE) -> bytes:
    """A fresh nonce of *size* octets taken from the injected *random_bytes* source.

    OMA-TS-DM_Security-V1_2_1 §5.1; OMA-TS-DM_Protocol-V1_2_1 §2.4: a new, unpredictable nonce per
    session (per message with HMAC).

    Raises:
        InvalidValueError: if *size* < 1 or the source returns the wrong length.
    """
    if size < 1:
        raise InvalidValueError("nonce.size", "nonce size must be at least 1 octet")
    value = random_bytes(size)
    if not isinstance(value, bytes) or len(value) != size:
        raise InvalidValueError("nonce.source", "random source returned the wrong number of octets")
    return value
