"""Sessions shared by several server processes: the store protocol with leases.

A :class:`~dmproto.bindings.server.ServerEndpoint` given a :class:`SessionClaims`
store keeps no session in memory between two requests. Each request *claims* its
session — the store hands out the last committed snapshot together with a lease,
and refuses a second claim while the lease runs — and the endpoint *commits* the
new snapshot with the answer it sends, or *releases* the lease unchanged. A worker
that dies while holding a lease blocks the session only until the lease expires;
the next request then continues from the last committed snapshot, so nothing the
dead worker did half-way survives (the store commits the application's own writes
of the exchange in the same transaction; see ``docs/scaling.md``).

The committed answer is kept with the session (:class:`Reply`): a device that sends
the same message again (same SessionID and MsgID, e.g. after an HTTP timeout) gets
that answer once more, from whichever process, and nothing is executed twice
(OMA-TS-DM_RepPro-V1_2_1 §4.1.1: MsgID identifies a message within the session).
An ended session keeps its last answer until it expires for the same reason.

Stores raise :class:`StoreUnavailable` when the database cannot be reached; the
device then gets HTTP 503 with ``Retry-After`` and may send the same message again.
"""

from __future__ import annotations

import hashlib
from typing import Any, Protocol

import attrs

from ..codec import decode_header
from ..errors import DMError
from ..limits import Limits
from ..session import ServerSession
from .http import HttpRequest, HttpResponse

__all__ = ["Busy", "Claimed", "Reply", "SessionClaims", "StoreUnavailable", "body_digest"]


class StoreUnavailable(Exception):
    """The session store cannot be reached or failed; the request may be retried."""


@attrs.frozen(kw_only=True)
class Reply:
    """The answer committed for one device message.

    ``msg_id`` is the MsgID of the device message it answered, ``digest`` the
    SHA-256 of that message's body: a request with the same body, or with the same
    MsgID, is a re-send and gets ``response`` again.
    """

    msg_id: int
    digest: bytes = attrs.field(repr=False)
    response: HttpResponse


def body_digest(body: bytes) -> bytes:
    """The digest a :class:`Reply` keeps of the message it answered."""
    return hashlib.sha256(body).digest()


def same_message(request: HttpRequest, reply: Reply, limits: Limits, *, by_msg_id: bool) -> bool:
    """Whether ``request`` re-sends the message ``reply`` answered.

    The same bytes always are. With ``by_msg_id`` (called once the session refused the
    request's MsgID as repeated, so the header is known to decode) the same MsgID is
    too: a device may rebuild the message it re-sends (OMA-TS-DM_RepPro-V1_2_1 §4.1.1).
    """
    if body_digest(request.body) == reply.digest:
        return True
    if not by_msg_id:
        return False
    try:
        return int(decode_header(request.body, limits=limits).msg_id) == reply.msg_id
    except (DMError, ValueError):
        return False


@attrs.frozen(kw_only=True)
class Claimed:
    """A session claimed for one request.

    ``snapshot`` is ``None`` when the session has ended: only its last ``reply`` is
    kept (for re-sends). ``auth_retries`` counts the sessions under this token that
    ended in an authentication failure before (OMA-TS-DM_Security-V1_2_1
    "Authentication": a refused device may try again, a bounded number of times); on
    an ended session it is ``None`` unless the device may start over under the same
    token. ``lease`` is the store's proof of the claim, handed back to
    :meth:`SessionClaims.commit` and :meth:`SessionClaims.release`.
    """

    token: str
    key: tuple[str, str]
    snapshot: dict[str, Any] | None = attrs.field(repr=False)
    reply: Reply | None = None
    auth_retries: int | None = 0
    lease: str = attrs.field(repr=False)


@attrs.frozen(kw_only=True)
class Busy:
    """Another process holds the session's lease: retry after ``retry_after`` seconds."""

    retry_after: float


class SessionClaims(Protocol):
    """A session store with claim semantics (see the module documentation).

    ``key`` is ``(SessionID, device id)``. Every method may raise
    :class:`StoreUnavailable`. Leases expire after a time the store chooses
    (configurable in real stores); a commit or release with an expired lease that
    another claim has replaced fails (``commit`` returns False) and changes nothing.
    """

    def claim(self, token: str) -> Claimed | Busy | None:
        """Lease the session with this token; None when there is none (or it expired)."""

    def find(self, key: tuple[str, str]) -> str | None:
        """The token of the newest unexpired session with this key, if any."""

    def create(self, token: str, key: tuple[str, str]) -> Claimed:
        """Register a new session (no snapshot yet) and lease it."""

    def commit(
        self,
        claimed: Claimed,
        session: ServerSession,
        reply: Reply,
        *,
        expires_in: float,
        auth_retries: int | None = 0,
    ) -> bool:
        """Store the session's snapshot (or, once it ended, only the reply) and the
        reply, together with whatever the application wrote for this session during
        the exchange, in one transaction, and release the lease.

        ``expires_in`` (seconds) is when the session counts as abandoned (its
        inactivity timeout) or, once ended, when its last reply is forgotten.
        ``auth_retries`` is kept with the session (see :class:`Claimed`): a count
        for an active one, a count or ``None`` for an ended one. Returns False — and
        stores nothing — when the lease was lost to another claim.
        """

    def release(self, claimed: Claimed) -> None:
        """Give the lease back without changing the session (the exchange failed)."""

    def purge(self) -> list[tuple[str, tuple[str, str]]]:
        """Delete the sessions past their expiry whose lease is not held (abandoned by
        their devices, or ended and kept only for re-sends); returns ``(token, key)``
        of each deleted session that had not ended. Any process may call it."""
