"""A DM server endpoint over HTTP, without I/O: routing requests to sessions.

One :class:`ServerEndpoint` serves many concurrent device sessions. Each request is
routed to its session by the RespURI token the endpoint handed out (a query
parameter, OMA-TS-SyncML_HTTPBinding-V1_2) or, for a device that does not follow RespURI, by
SessionID and device id peeked from the SyncHdr (OMA-TS-DM_RepPro-V1_2_1 §4.1.1); a Package 1 opens
a new session. The adapter loop, identical in every adapter except for the waiting::

    step = endpoint.open(request, now)       # HttpResponse (refused) or Exchange
    if isinstance(step, Exchange):
        while isinstance(s := step.poll(now), Deliver):
            handler(step.session, s.event)    # may be awaited; queues commands
        response = s.response
    write(response)

If the handler is cancelled or fails, the adapter calls ``exchange.abandon()``: the
session is aborted and forgotten, never left half-applied.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any, Protocol

import attrs

from ..errors import DMError, MalformedMessageError, RemoteProtocolError
from ..session import ServerConfig, ServerSession, SessionState
from ..session.events import (
    AccountRequested,
    CredentialsRefused,
    EndReason,
    PeerAuthenticated,
    ServerSessionEvent,
    SessionEnded,
)
from .http import (
    HttpRequest,
    HttpResponse,
    RoutingKey,
    check_content_length,
    encoding_of,
    error_response,
    header_value,
    message_headers,
    response_headers,
    routing_key,
)
from .lockout import KeyKind, Lockout, LockoutPolicy
from .steps import Deliver, Respond, ServerStep

__all__ = ["Exchange", "Observer", "ServerEndpoint", "SessionStore"]


class SessionStore(Protocol):
    """Persistence of server session snapshots (the scale-out path).

    ``key`` is ``(SessionID, device id)``; snapshots are JSON-serialisable dicts.
    """

    def save(self, token: str, key: tuple[str, str], snapshot: dict[str, Any]) -> None:
        """Store (or replace) the snapshot of the session with this token."""

    def load(self, token: str) -> tuple[tuple[str, str], dict[str, Any]] | None:
        """The key and snapshot saved for this token, or ``None``."""

    def delete(self, token: str) -> None:
        """Forget the session (it ended)."""


#: ``on_message(request, response, session)`` observer type: called once with
#: ``response=None`` when a request reached its session (before the handler sees its
#: events) and once with the response written for it.
Observer = Callable[[HttpRequest, "HttpResponse | None", "ServerSession | None"], None]

#: Query parameter carrying the session token in the RespURI we hand out.
TOKEN_PARAM = "s"  # noqa: S105 (a parameter name, not a secret)


@attrs.define
class _Entry:
    session: ServerSession
    token: str
    key: tuple[str, str]
    busy: bool = False
    #: Earlier sessions of this device (same token or SessionID) that ended in an
    #: authentication failure (see ``ServerEndpoint._retry``).
    retries: int = 0


#: How a session must have ended for the device's retry to open a new one.
_RETRYABLE = frozenset({EndReason.AUTHENTICATION_FAILED, EndReason.REJECTED})


class Exchange:
    """One HTTP request being answered by one session."""

    def __init__(self, endpoint: ServerEndpoint, entry: _Entry, request: HttpRequest):
        self._endpoint = endpoint
        self._entry = entry
        self._request = request
        self._built: HttpResponse | None = None
        self._closed = False
        #: The endpoint refused the device itself (its account or id is locked).
        self._locked_out = False

    @property
    def session(self) -> ServerSession:
        """The session the request was routed to."""
        return self._entry.session

    @property
    def token(self) -> str:
        """The session's routing token (the ``s`` parameter of its RespURI)."""
        return self._entry.token

    def poll(self, now: float) -> ServerStep:
        """The next event for the handler, or the HTTP response once all are handled.

        Events the session emits while building the response (``SessionEnded`` after
        the last package) are delivered before the response is handed out.
        """
        event = self.session.next_event()
        if event is not None:
            if self._screen(event, now):
                return self.poll(now)
            return Deliver(event=event)
        if self._built is None:
            self._built = self._response(now)
            return self.poll(now)
        return Respond(response=self._built)

    def _screen(self, event: ServerSessionEvent, now: float) -> bool:
        """The lockout's view of the events passing to the handler (see
        :mod:`.lockout`); True when the endpoint answered the event itself."""
        lockout = self._endpoint.lockout
        if lockout is None:
            return False
        session = self.session
        cert = self._request.peer_certificate
        if cert is not None:
            # A verified certificate is the identity throttled: password guessing
            # by others cannot lock a certificate-authenticated device out.
            keys = [(KeyKind.CERTIFICATE, cert.fingerprint)]
        else:
            keys = [(KeyKind.DEVICE, session.device_id or "")]
            if session.username is not None:
                keys.append((KeyKind.ACCOUNT, session.username))
        if isinstance(event, AccountRequested):
            if lockout.locked_until(keys, now) is not None:
                # Refused before any credential is checked, the right one too:
                # SyncHdr Status 401 without a Chal, 401 for every command, and
                # the end (docs/reliability.md, "Password guessing").
                self._locked_out = True
                session.reject_device()
                return True
        elif isinstance(event, CredentialsRefused):
            lockout.failed(keys, now)
        elif isinstance(event, PeerAuthenticated):
            lockout.succeeded(keys)
        elif (
            isinstance(event, SessionEnded)
            and event.reason is EndReason.REJECTED
            and not self._locked_out
        ):
            lockout.failed(keys, now)  # the application refused the device
        return False

    def _response(self, now: float) -> HttpResponse:
        session = self.session
        messages = session.messages_to_send(now)
        if not messages and session.state is SessionState.ACTIVE:
            # The application did not answer AccountRequested/PackageCompleted; the
            # server owes one message per device message, so the session is aborted.
            session.abort()
            messages = session.messages_to_send(now)
        self._finish()
        if not messages:
            response = error_response(500, "the DM session produced no message")
        else:
            out = messages[0]
            response = HttpResponse(
                status=200,
                headers=response_headers(out.body, out.media_type, out.headers),
                body=out.body,
            )
        self._endpoint._observe(self._request, response, session)
        return response

    def abandon(self, now: float) -> None:
        """The handler failed or was cancelled: abort the session and forget it.

        Once the response is built the session is already settled (saved, or
        forgotten if it ended): abandoning then changes nothing, so a late call can
        neither leave an ended session in the table nor disturb a later exchange.
        """
        if self._closed:
            return
        if self.session.state is SessionState.ACTIVE:
            self.session.abort()
            self.session.messages_to_send(now)
        self._finish()

    def _finish(self) -> None:
        # Called once per exchange: by _response (guarded by _built) or abandon.
        self._closed = True
        self._entry.busy = False
        if self.session.state is not SessionState.ACTIVE:
            self._endpoint._forget(self._entry)
        else:
            self._endpoint._save(self._entry)


class ServerEndpoint:
    """Routes DM requests to server sessions (pure; used by every adapter and app).

    Args:
        config: the template of every session's configuration; ``resp_uri`` is set
            per session to ``<scheme>://<host><path>?s=<token>``.
        path: the URL path DM requests are POSTed to.
        public_url: the externally visible base (``https://dm.example.com``) used
            in RespURIs; by default it is built from ``scheme`` and the request's
            Host header.
        scheme: ``"http"`` or ``"https"`` (what the adapter serves).
        max_sessions: concurrent sessions; more Package 1s are refused with 503.
        on_message: called for every request with ``response=None`` once it reached
            its session, then with its response and the session (``None`` when
            refused) — for access logs, transcripts and persisting
            ``session.snapshot()``; it must not raise.
        store: where session snapshots go after every exchange, so a restarted
            server (or another worker sharing the store) continues a session from
            its RespURI token; ``None`` keeps sessions in this process only.
        lockout: how failed authentications lock an account name or device id
            for a while (:mod:`dmproto.bindings.lockout`; the table is kept in
            this process); ``None`` turns the lockout off.
    """

    def __init__(
        self,
        config: ServerConfig,
        *,
        path: str = "/dm",
        public_url: str | None = None,
        scheme: str = "http",
        max_sessions: int = 10_000,
        on_message: Observer | None = None,
        store: SessionStore | None = None,
        lockout: LockoutPolicy | None = LockoutPolicy(),  # noqa: B008 (frozen value)
    ):
        self.config = config
        #: The failure table (``None``: lockout off).
        self.lockout = Lockout(lockout) if lockout is not None else None
        self.on_message = on_message
        self.store = store
        self.path = path
        self.public_url = public_url.rstrip("/") if public_url else None
        self.scheme = scheme
        self.max_sessions = max_sessions
        self._by_token: dict[str, _Entry] = {}
        self._by_key: dict[tuple[str, str], _Entry] = {}
        #: Sessions that ended in an authentication failure, by token and by key:
        #: how many did so far (see ``_retry``).
        self._failed: dict[str | tuple[str, str], tuple[tuple[str, str], int]] = {}

    @property
    def max_body(self) -> int:
        """Largest request body the adapter may read."""
        return self.config.limits.max_message_size

    def __len__(self) -> int:
        return len(self._by_token)

    def sessions(self) -> list[ServerSession]:
        """The sessions currently open."""
        return [entry.session for entry in self._by_token.values()]

    def _observe(
        self, request: HttpRequest, response: HttpResponse, session: ServerSession | None
    ) -> HttpResponse:
        if self.on_message is not None:
            self.on_message(request, response, session)
        return response

    def open(self, request: HttpRequest, now: float) -> Exchange | HttpResponse:
        """Route ``request`` and feed it to its session.

        Returns an :class:`Exchange` to pump, or an error response when the request
        cannot reach a session (405, 404, 409, 413, 415, 400, 503). A body the
        session refuses (it does not decode, or breaks a protocol rule) still gets
        an Exchange: its response is the session's DM abort, in HTTP 200.
        """
        opened = self._open(request, now)
        if isinstance(opened, HttpResponse):
            return self._observe(request, opened, None)
        return opened

    def _open(self, request: HttpRequest, now: float) -> Exchange | HttpResponse:
        path = request.target.partition("?")[0]
        if path != self.path:
            return error_response(404, "no DM endpoint at this path")
        if request.method != "POST":
            return error_response(405, "DM messages are POSTed")
        try:
            check_content_length(request.headers, self.max_body)
            encoding = encoding_of(header_value(request.headers, "content-type"), request.body)
            entry = self._route(request, self._routing_key(request))
        except _Refused as refused:
            return refused.response
        except RemoteProtocolError as exc:
            return error_response(exc.status_hint or 400, str(exc))
        if entry.busy:
            # OMA-TS-SyncML_HTTPBinding-V1_2: one exchange at a time per session; a concurrent
            # request is refused.
            return error_response(409, "a request of this session is in progress")
        entry.busy = True
        exchange = Exchange(self, entry, request)
        if self.on_message is not None:
            self.on_message(request, None, entry.session)
        try:
            entry.session.receive_message(
                request.body,
                media_type=encoding.media_type,
                headers=message_headers(request.headers),
                now=now,
                peer_certificate=request.peer_certificate,
            )
        except RemoteProtocolError:
            # A refused message ends the session itself (PROTOCOL_ERROR); the device
            # still gets a DM answer, not an HTTP error: the SyncHdr Status saying
            # why and Alert 1223 with Final (OMA-TS-DM_Protocol-V1_2_1 "Session
            # Abort"), built by poll().
            with contextlib.suppress(DMError):
                entry.session.abort()
        return exchange

    def _routing_key(self, request: HttpRequest) -> RoutingKey | None:
        """The request's routing key; None for a message without a token whose
        document or SyncHdr does not decode (a fresh session answers it with a DM abort,
        see ``open``)."""
        try:
            return routing_key(request, param=TOKEN_PARAM, limits=self.config.limits)
        except MalformedMessageError:
            return None

    def _route(self, request: HttpRequest, route: RoutingKey | None) -> _Entry:
        if route is None:
            # Unreadable: no key to find it by, nor to file it under.
            return self._new_entry(request, ("", ""), keyed=False)
        if route.token is not None:
            entry = self._by_token.get(route.token) or self._restore(request, route.token)
            if entry is not None:
                return entry
            failed = self._failed.pop(route.token, None)
            if failed is None:
                raise _Refused(error_response(404, "unknown or expired DM session"))
            key, retries = failed
            self._failed.pop(key, None)
            return self._new_entry(
                request, key, keyed=key != ("", ""), token=route.token, retries=retries
            )
        # OMA-TS-DM_RepPro-V1_2_1 §4.1.1: SessionID + device (SyncHdr Source/LocURI) identify a
        # session.
        key = (route.session_id or "", route.device_id or "")
        entry = self._by_key.get(key)
        if entry is not None:
            return entry
        _, retries = self._failed.pop(key, (key, 0))
        return self._new_entry(request, key, keyed=True, retries=retries)

    def _new_entry(
        self,
        request: HttpRequest,
        key: tuple[str, str],
        *,
        keyed: bool,
        token: str | None = None,
        retries: int = 0,
    ) -> _Entry:
        if len(self._by_token) >= self.max_sessions:
            raise _Refused(error_response(503, "too many concurrent DM sessions"))
        token = token or self.config.random_bytes(12).hex()
        entry = _Entry(
            session=ServerSession(self._config_for(request, token)),
            token=token,
            key=key,
            retries=retries,
        )
        self._by_token[entry.token] = entry
        if keyed:
            self._by_key[entry.key] = entry
        return entry

    def _config_for(self, request: HttpRequest, token: str) -> ServerConfig:
        base = self.public_url or f"{self.scheme}://{_host(request)}"
        return attrs.evolve(self.config, resp_uri=f"{base}{self.path}?{TOKEN_PARAM}={token}")

    def _remember(self, entry: _Entry) -> None:
        self._by_token[entry.token] = entry
        self._by_key[entry.key] = entry

    def _restore(self, request: HttpRequest, token: str) -> _Entry | None:
        """A session another worker (or an earlier run) saved in the store."""
        if self.store is None or len(self._by_token) >= self.max_sessions:
            return None
        saved = self.store.load(token)
        if saved is None:
            return None
        key, snapshot = saved
        try:
            session = ServerSession.restore(snapshot, config=self._config_for(request, token))
        except DMError:
            self.store.delete(token)
            return None
        entry = _Entry(session=session, token=token, key=key)
        self._remember(entry)
        return entry

    def _save(self, entry: _Entry) -> None:
        # Only active sessions are saved; an ended one is deleted by _forget.
        if self.store is not None:
            self.store.save(entry.token, entry.key, entry.session.snapshot())

    def handle(
        self,
        request: HttpRequest,
        handler: Callable[[ServerSession, ServerSessionEvent], None],
        clock: Callable[[], float],
    ) -> HttpResponse:
        """Answer ``request`` in one call with a plain (non-async) ``handler``.

        For single-threaded embeddings (a WSGI or ASGI app, a test): route, deliver
        every event to ``handler(session, event)``, return the response. If the
        handler raises, the session is abandoned and the error propagates.
        """
        opened = self.open(request, clock())
        if isinstance(opened, HttpResponse):
            return opened
        try:
            while isinstance(step := opened.poll(clock()), Deliver):
                handler(opened.session, step.event)
        except BaseException:
            opened.abandon(clock())
            raise
        return step.response

    def next_deadline(self) -> float | None:
        """The earliest session timer, for the adapter's housekeeping sleep."""
        timers = [t for e in self._by_token.values() if (t := e.session.get_timer()) is not None]
        return min(timers, default=None)

    def expire(self, now: float) -> list[ServerSession]:
        """Fire due session timers; returns the sessions that ended (drain their
        events to the handler: they hold ``SessionEnded(TIMED_OUT)``)."""
        ended = []
        for entry in list(self._by_token.values()):
            timer = entry.session.get_timer()
            if entry.busy or timer is None or timer > now:
                continue
            # The deadline has passed, so handle_timer ends the session (TIMED_OUT).
            entry.session.handle_timer(now)
            self._forget(entry)
            ended.append(entry.session)
        return ended

    def _forget(self, entry: _Entry) -> None:
        if self.store is not None:
            self.store.delete(entry.token)
        self._by_token.pop(entry.token, None)
        if self._by_key.get(entry.key) is entry:
            del self._by_key[entry.key]
        self._retry(entry)

    def _retry(self, entry: _Entry) -> None:
        """Let the device retry after an authentication failure.

        OMA-TS-DM_Security-V1_2_1 "Authentication": a client whose credentials were
        refused may send them again, a bounded number of times. The refused session
        has ended (unknown account, or wrong credentials too often), but the
        device's retry — same SessionID, new credentials, to the RespURI it was
        given — opens a new session (a new ``AccountRequested``) instead of meeting
        an HTTP 404, up to ``max_auth_attempts`` times per device session (kept in
        this process only).
        """
        if entry.session.end_reason not in _RETRYABLE:
            return
        if entry.retries + 1 >= self.config.max_auth_attempts:
            return
        while len(self._failed) >= 2 * self.max_sessions:
            del self._failed[next(iter(self._failed))]  # the oldest
        self._failed[entry.token] = (entry.key, entry.retries + 1)
        if entry.key != ("", ""):
            self._failed[entry.key] = (entry.key, entry.retries + 1)


class _Refused(Exception):
    def __init__(self, response: HttpResponse):
        self.response = response


def _host(request: HttpRequest) -> str:
    host = header_value(request.headers, "host") or "localhost"
    # The Host header is only echoed into our own RespURI; keep it a plain authority.
    return "".join(c for c in host if c.isalnum() or c in ".-:[]")[:255] or "localhost"
