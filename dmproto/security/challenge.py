"""Challenges: the ``Chal`` of a SyncHdr Status, as a small value (OMA-TS-DM_Security-V1_2_1 §5.1;
OMA-TS-DM_Protocol-V1_2_1 §2.4).

``<Chal><Meta><Type>syncml:auth-md5</Type><Format>b64</Format><NextNonce>…</NextNonce>
</Meta></Chal>`` — for md5 and MAC the NextNonce Format MUST be b64; we always write
b64 and read leniently.

Reasons raised: ``auth.unknown-scheme``, ``chal.missing-type``, ``chal.nonce-format``,
``nonce.base64``.
"""

from __future__ import annotations

import attrs

from ..codec.model import Chal, Meta
from ..errors import MalformedMessageError
from .auth import AuthScheme
from .nonce import decode_nonce, encode_nonce

__all__ = ["Challenge"]

# NextNonce formats read as the literal text octets instead of base64 (lenient:
# OMA-TS-DM_Security-V1_2_1 §5.1; OMA-TS-DM_Protocol-V1_2_1 §2.4 says MUST be b64, but a peer
# writing "chr" means what it says).
_TEXT_FORMATS = frozenset({"chr", "bin"})


@attrs.frozen(kw_only=True)
class Challenge:
    """An authentication challenge: the scheme asked for and the next nonce (octets)."""

    scheme: AuthScheme
    next_nonce: bytes | None = None

    def to_chal(self) -> Chal:
        """The model ``Chal`` (Format always ``b64``, OMA-TS-DM_Security-V1_2_1 §5.1;
        OMA-TS-DM_Protocol-V1_2_1 §2.4)."""
        nonce = None if self.next_nonce is None else encode_nonce(self.next_nonce)
        return Chal(meta=Meta(type=self.scheme.value, format="b64", next_nonce=nonce))

    @classmethod
    def from_chal(cls, chal: Chal) -> Challenge:
        """Read a received ``Chal``; a missing Format means b64.

        Raises:
            MalformedMessageError: unknown scheme, missing Type, undecodable nonce.
        """
        meta = chal.meta
        if meta.type is None:
            raise MalformedMessageError("chal.missing-type", "Chal without Meta/Type")
        scheme = AuthScheme.from_meta_type(meta.type)
        if meta.next_nonce is None:
            return cls(scheme=scheme)
        fmt = (meta.format or "b64").strip().casefold()
        if fmt == "b64":
            nonce = decode_nonce(meta.next_nonce)
        elif fmt in _TEXT_FORMATS:
            nonce = meta.next_nonce.encode("utf-8", "surrogatepass")
        else:
            raise MalformedMessageError("chal.nonce-format", "unsupported NextNonce Format")
        return cls(scheme=scheme, next_nonce=nonce)
