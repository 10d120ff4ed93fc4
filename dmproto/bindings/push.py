"""Package 0 delivery (SPEC §5.3), as pure functions: what to send, what to accept.

Server side: :func:`push_datagram` wraps a Package 0 in a connectionless WSP Push
PDU (content type 0x44, X-WAP-Application-ID 0x07) for UDP port 2948;
:func:`push_request` wraps it in an HTTP POST. Device side: :func:`accept_push`
parses a received datagram or HTTP body and verifies the digest with the stored
server nonce, then the reset nonce (SPEC §5.2), so the adapter can start the
server-initiated session with ``ClientSession.from_notification``.
"""

from __future__ import annotations

import enum
from collections.abc import Callable

import attrs

from ..errors import MalformedMessageError
from ..limits import DEFAULT_LIMITS, Limits
from ..notification import (
    NOTIFICATION_CONTENT_TYPE,
    Notification,
    build_wsp_push,
    parse_notification,
    parse_wsp_push,
    verify_notification,
)
from ..security import NonceUsed
from .http import HttpRequest, HttpResponse, Url, check_content_length, error_response, header_value

__all__ = [
    "PushAccepted",
    "PushIgnored",
    "PushIgnoredReason",
    "PushKind",
    "ServerSecret",
    "accept_push",
    "answer_push_request",
    "check_push",
    "is_push_request",
    "push_datagram",
    "push_request",
]


class PushKind(enum.Enum):
    """How a Package 0 arrived."""

    WSP = "wsp"  #: a WSP Push PDU (UDP datagram, SPEC §5.3)
    RAW = "raw"  #: the bare Package 0 bytes (HTTP POST body)


@attrs.frozen(kw_only=True)
class ServerSecret:
    """What a device stores about a server to verify its Package 0 (SPEC §5.2).

    ``password`` is the SRVCRED AAuthSecret, ``nonce`` the SRVCRED AAuthData.
    """

    password: str = attrs.field(repr=False)
    nonce: bytes = attrs.field(default=b"", repr=False)


@attrs.frozen(kw_only=True)
class PushAccepted:
    """A verified Package 0 and the nonce that verified it."""

    notification: Notification
    nonce_used: NonceUsed


class PushIgnoredReason(enum.Enum):
    """Why a received Package 0 is ignored (SPEC §5.2: silently, towards the sender)."""

    NOT_FOR_DM = "not a DM notification"  #: a WSP push for another application
    UNKNOWN_SERVER = "unknown server id"  #: no account for its ServerID
    BAD_DIGEST = "digest does not verify"  #: neither the stored nor the reset nonce


@attrs.frozen(kw_only=True)
class PushIgnored:
    """A Package 0 the device ignores, and why (for logs; the sender is never told)."""

    reason: PushIgnoredReason
    server_id: str | None = None


def push_datagram(package0: bytes, *, transaction_id: int = 1) -> bytes:
    """The UDP datagram carrying ``package0`` (SPEC §5.3 WAP Push over UDP)."""
    return build_wsp_push(package0, transaction_id=transaction_id)


def push_request(url: Url, package0: bytes) -> HttpRequest:
    """An HTTP POST carrying ``package0`` (content type ``application/vnd.syncml.notification``)."""
    headers = (
        ("Host", url.host_header),
        ("Content-Type", NOTIFICATION_CONTENT_TYPE),
        ("Content-Length", str(len(package0))),
    )
    return HttpRequest(method="POST", target=url.target, headers=headers, body=package0)


def check_push(
    data: bytes,
    kind: PushKind,
    lookup: Callable[[str], ServerSecret | None],
    *,
    limits: Limits = DEFAULT_LIMITS,
) -> PushAccepted | PushIgnored:
    """Parse and verify a received Package 0: accepted, or ignored and why.

    ``lookup(server_id)`` returns the stored secret for that server, or ``None`` for
    a server the device has no account for.

    Raises:
        MalformedMessageError: the bytes are not a WSP push / Package 0.
    """
    body = data
    if kind is PushKind.WSP:
        push = parse_wsp_push(data, limits=limits)
        # SPEC §5.3: a non-WAP device checks app id + MIME type before routing.
        if not push.is_dm_notification:
            return PushIgnored(reason=PushIgnoredReason.NOT_FOR_DM)
        body = push.body
    notification = parse_notification(body, limits=limits)
    server_id = notification.server_id
    secret = lookup(server_id)
    if secret is None:
        return PushIgnored(reason=PushIgnoredReason.UNKNOWN_SERVER, server_id=server_id)
    # SPEC §5.2: stored server nonce first, then the reset nonce 0x00000000.
    used = verify_notification(
        notification, password=secret.password, nonce=secret.nonce, limits=limits
    )
    if used is None:
        return PushIgnored(reason=PushIgnoredReason.BAD_DIGEST, server_id=server_id)
    return PushAccepted(notification=notification, nonce_used=used)


def accept_push(
    data: bytes,
    kind: PushKind,
    lookup: Callable[[str], ServerSecret | None],
    *,
    limits: Limits = DEFAULT_LIMITS,
) -> PushAccepted | None:
    """Parse and verify a received Package 0 (:func:`check_push` without the reason).

    Returns ``None`` when the push must be ignored (not for the DM client, unknown
    server, digest mismatch: SPEC §5.2).

    Raises:
        MalformedMessageError: the bytes are not a WSP push / Package 0.
    """
    checked = check_push(data, kind, lookup, limits=limits)
    return checked if isinstance(checked, PushAccepted) else None


def is_push_request(headers: tuple[tuple[str, str], ...]) -> bool:
    """Whether an HTTP request carries a Package 0 (its content type)."""
    value = header_value(headers, "content-type") or ""
    return value.split(";", 1)[0].strip().lower() == NOTIFICATION_CONTENT_TYPE


def answer_push_request(
    request: HttpRequest,
    lookup: Callable[[str], ServerSecret | None],
    *,
    limits: Limits = DEFAULT_LIMITS,
    on_ignored: Callable[[PushIgnored], None] | None = None,
) -> tuple[HttpResponse, PushAccepted | None]:
    """Device side of Package 0 over HTTP: the response to write and the verified push.

    A verified or ignored (unknown server, bad digest: SPEC §5.2 says ignore) push is
    answered 200 without telling which (``on_ignored`` hears why, for a log); a
    request that is not a Package 0 gets 405/415/400.
    """
    if request.method != "POST":
        return error_response(405, "Package 0 is POSTed"), None
    if not is_push_request(request.headers):
        return error_response(415, f"expected {NOTIFICATION_CONTENT_TYPE}"), None
    try:
        check_content_length(request.headers, limits.max_message_size)
        checked = check_push(request.body, PushKind.RAW, lookup, limits=limits)
    except MalformedMessageError as exc:
        return error_response(exc.status_hint or 400, str(exc)), None
    accepted = checked if isinstance(checked, PushAccepted) else None
    if isinstance(checked, PushIgnored) and on_ignored is not None:
        on_ignored(checked)
    ok = HttpResponse(status=200, headers=(("Content-Length", "0"),), body=b"")
    return ok, accepted
