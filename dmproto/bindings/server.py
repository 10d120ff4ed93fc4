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
import math
from collections.abc import Callable
from typing import Any, Protocol

import attrs

from ..codec import decode_message
from ..codec.model import Message
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
from .claims import Busy, Claimed, Reply, SessionClaims, StoreUnavailable, body_digest, same_message
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
    token_of,
)
from .lockout import KeyKind, Lockout, LockoutPolicy
from .steps import Deliver, Respond, ServerStep

__all__ = ["Exchange", "Observer", "ServerEndpoint", "SessionStore", "retry_later"]


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
    #: The lease on the session's row when the endpoint shares its sessions
    #: (``claims``); None for a request no row was made for (it did not decode).
    claimed: Claimed | None = None
    #: The last answer, for a device that sends the same message again.
    reply: Reply | None = None


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
        if not messages:
            response = error_response(500, "the DM session produced no message")
        else:
            out = messages[0]
            response = HttpResponse(
                status=200,
                headers=response_headers(out.body, out.media_type, out.headers),
                body=out.body,
            )
        self._closed = True
        self._entry.busy = False
        response = self._endpoint._conclude(self._entry, self._request, response, now)
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
        self._closed = True
        self._entry.busy = False
        if self._endpoint.claims is not None:
            # Shared sessions: nothing of this exchange is kept; the session stays
            # as last committed (a later request, or its expiry, continues it).
            self._endpoint._unclaim(self._entry)
            return
        if self.session.state is SessionState.ACTIVE:
            self.session.abort()
            self.session.messages_to_send(now)
        self._endpoint._settle(self._entry)


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
        claims: a store several processes share (:mod:`dmproto.bindings.claims`):
            no session stays in this process between two requests; each request
            claims its session with a lease, and commits the new snapshot with the
            answer (re-sent messages get that answer again). Excludes ``store``;
            ``max_sessions`` then bounds the requests in progress here.
        purge_interval: with ``claims``, how often (seconds) :meth:`expire` asks the
            store to delete abandoned sessions.
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
        claims: SessionClaims | None = None,
        purge_interval: float = 10.0,
    ):
        if store is not None and claims is not None:
            raise ValueError("give a SessionStore or SessionClaims, not both")
        self.claims = claims
        self.purge_interval = purge_interval
        self._next_purge = -math.inf
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
            route, decoded = self._routing_key(request)
            if self.claims is not None:
                entry = self._claim_route(request, route, self.claims)
            else:
                entry = self._route(request, route)
        except _Refused as refused:
            return refused.response
        except RemoteProtocolError as exc:
            return error_response(exc.status_hint or 400, str(exc))
        except StoreUnavailable:
            return retry_later("the session store is unavailable")
        if isinstance(entry, HttpResponse):
            return entry  # a re-sent message's committed answer
        if (
            self.claims is None
            and entry.reply is not None
            and same_message(request, entry.reply, self.config.limits, by_msg_id=False)
        ):
            # The device sent the message we answered last again (its HTTP
            # exchange failed): the same answer, nothing processed twice.
            return entry.reply.response
        if entry.busy:
            # OMA-TS-SyncML_HTTPBinding-V1_2: one exchange at a time per session; a concurrent
            # request is refused.
            return error_response(409, "a request of this session is in progress")
        entry.busy = True
        exchange = Exchange(self, entry, request)
        if self.on_message is not None:
            self.on_message(request, None, entry.session)
        try:
            if decoded is not None and entry.session.config.limits is self.config.limits:
                # Decoded once, to route it (or refused by that decode): the session
                # does not decode it again.
                entry.session._receive_routed(
                    request.body,
                    decoded,
                    media_type=encoding.media_type,
                    headers=message_headers(request.headers),
                    now=now,
                    peer_certificate=request.peer_certificate,
                )
            else:
                entry.session.receive_message(
                    request.body,
                    media_type=encoding.media_type,
                    headers=message_headers(request.headers),
                    now=now,
                    peer_certificate=request.peer_certificate,
                )
        except RemoteProtocolError as exc:
            if (
                entry.claimed is not None
                and entry.reply is not None
                and exc.reason == "session.msg-id"
                and same_message(request, entry.reply, self.config.limits, by_msg_id=True)
            ):
                # A rebuilt re-send (same MsgID, other bytes): the restored session
                # it reached is thrown away, the committed answer goes out again.
                entry.busy = False
                self._unclaim(entry)
                return self._observe(request, entry.reply.response, entry.session)
            # A refused message ends the session itself (PROTOCOL_ERROR); the device
            # still gets a DM answer, not an HTTP error: the SyncHdr Status saying
            # why and Alert 1223 with Final (OMA-TS-DM_Protocol-V1_2_1 "Session
            # Abort"), built by poll().
            with contextlib.suppress(DMError):
                entry.session.abort()
        return exchange

    def _routing_key(
        self, request: HttpRequest
    ) -> tuple[RoutingKey | None, Message | MalformedMessageError | None]:
        """The request's routing key; None for a message without a token whose
        document or SyncHdr does not decode (a fresh session answers it with a DM abort,
        see ``open``).

        A message without a token (a device's Package 1, or a device that does not
        follow RespURI) is decoded whole here, and that decode is the one its session
        uses (returned second): a DM message is decoded once. Only when the whole
        message does not decode is its SyncHdr read alone, so it still reaches its
        session, which then refuses it with a DM answer; the decode's error is
        returned second then, so the session does not parse the body a third time.
        """
        decoded: Message | MalformedMessageError | None = None
        if token_of(request, TOKEN_PARAM) is None:
            try:
                message = decode_message(request.body, limits=self.config.limits)
            except MalformedMessageError as exc:
                decoded = exc
            else:
                header = message.header
                return RoutingKey(
                    session_id=header.session_id, device_id=header.source.loc_uri
                ), message
        try:
            return routing_key(request, param=TOKEN_PARAM, limits=self.config.limits), decoded
        except MalformedMessageError:
            return None, decoded

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

    def _claim_route(
        self, request: HttpRequest, route: RoutingKey | None, claims: SessionClaims
    ) -> _Entry | HttpResponse:
        """Claim the request's session from the shared store (``claims``); the
        committed answer when the request re-sends the message it answered."""
        if route is None:
            # Unreadable: answered by a fresh session that gets no row.
            return self._new_entry(request, ("", ""), keyed=False)
        key = (route.session_id or "", route.device_id or "")
        token = route.token if route.token is not None else claims.find(key)
        got = claims.claim(token) if token is not None else None
        if got is None:
            if route.token is not None:
                raise _Refused(error_response(404, "unknown or expired DM session"))
            token = self.config.random_bytes(12).hex()
            return self._claimed_entry(request, claims.create(token, key), None)
        if isinstance(got, Busy):
            # Another request of the session is being answered, maybe by another
            # process: the device may send this one again shortly.
            raise _Refused(retry_later("a request of this session is in progress", got.retry_after))
        if got.reply is not None and same_message(
            request, got.reply, self.config.limits, by_msg_id=got.snapshot is None
        ):
            # The device sent the message answered last again (its HTTP exchange
            # failed): the same answer, from whichever process, nothing done twice.
            claims.release(got)
            return got.reply.response
        if got.snapshot is not None:
            try:
                session = ServerSession.restore(
                    got.snapshot, config=self._config_for(request, got.token)
                )
            except DMError:
                claims.release(got)
                raise _Refused(error_response(404, "unknown or expired DM session")) from None
            return self._claimed_entry(request, got, session)
        if got.auth_retries is None:
            claims.release(got)
            raise _Refused(error_response(404, "unknown or expired DM session"))
        # The device tries again after an authentication failure: see _retry.
        return self._claimed_entry(request, got, None)

    def _claimed_entry(
        self, request: HttpRequest, got: Claimed, session: ServerSession | None
    ) -> _Entry:
        if len(self._by_token) >= self.max_sessions:
            assert self.claims is not None
            self.claims.release(got)
            raise _Refused(error_response(503, "too many concurrent DM requests"))
        entry = _Entry(
            session=session or ServerSession(self._config_for(request, got.token)),
            token=got.token,
            key=got.key,
            retries=got.auth_retries or 0,
            claimed=got,
            reply=got.reply if session is not None else None,
        )
        self._by_token[entry.token] = entry
        return entry

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

    def _conclude(
        self, entry: _Entry, request: HttpRequest, response: HttpResponse, now: float
    ) -> HttpResponse:
        """Keep (or forget) the session once its exchange is over; the response to
        send, which a lost lease or an unreachable store turns into a 503."""
        reply = None
        if response.status == 200:
            reply = Reply(
                msg_id=entry.session.peer_msg_id,
                digest=body_digest(request.body),
                response=response,
            )
        if self.claims is not None:
            return self._commit(self.claims, entry, reply, now) or response
        entry.reply = reply
        self._settle(entry)
        return response

    def _settle(self, entry: _Entry) -> None:
        """Save a session still active, forget an ended one (this process's table)."""
        if entry.session.state is not SessionState.ACTIVE:
            self._forget(entry)
        else:
            self._save(entry)

    def _commit(
        self, claims: SessionClaims, entry: _Entry, reply: Reply | None, now: float
    ) -> HttpResponse | None:
        """Commit a shared session; a response replacing the one built, or None."""
        self._by_token.pop(entry.token, None)
        if entry.claimed is None or reply is None:
            self._unclaim(entry)  # nothing to keep: unreadable, or no answer built
            return None
        session = entry.session
        if session.state is SessionState.ACTIVE:
            timer = session.get_timer()
            expires_in = self.config.inactivity_timeout if timer is None else timer - now
            retries: int | None = entry.retries
        else:
            # Ended: only the last answer is kept, for a re-send, as long as the
            # device might still send one.
            expires_in = self.config.inactivity_timeout
            retries = self._retries_left(entry)
        try:
            kept = claims.commit(
                entry.claimed, session, reply, expires_in=max(expires_in, 0.0), auth_retries=retries
            )
        except StoreUnavailable:
            return retry_later("the session store is unavailable")
        if not kept:
            # Our lease ran out and another request took the session over: this
            # answer must not go out (the device re-sends; the new owner answers).
            return retry_later("the session was taken over; send the message again")
        return None

    def _unclaim(self, entry: _Entry) -> None:
        """Give a shared session back unchanged (replayed answer, failed exchange)."""
        self._by_token.pop(entry.token, None)
        if entry.claimed is not None:
            assert self.claims is not None  # only shared sessions are claimed
            with contextlib.suppress(StoreUnavailable):  # the lease then just expires
                self.claims.release(entry.claimed)

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
        if self.claims is not None:
            return self._next_purge
        timers = [t for e in self._by_token.values() if (t := e.session.get_timer()) is not None]
        return min(timers, default=None)

    def expire(self, now: float) -> list[ServerSession]:
        """Fire due session timers; returns the sessions that ended (drain their
        events to the handler: they hold ``SessionEnded(TIMED_OUT)``)."""
        if self.claims is not None:
            # Shared sessions are not in memory: their store deletes the abandoned
            # ones (whichever process notices first).
            if now >= self._next_purge:
                self._next_purge = now + self.purge_interval
                with contextlib.suppress(StoreUnavailable):
                    self.claims.purge()
            return []
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

    def _retries_left(self, entry: _Entry) -> int | None:
        """How many authentication retries the ended session's device made, when it
        may make another (see ``_retry``); None when it may not."""
        if entry.session.end_reason not in _RETRYABLE:
            return None
        if entry.retries + 1 >= self.config.max_auth_attempts:
            return None
        return entry.retries + 1

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
        retries = self._retries_left(entry)
        if retries is None:
            return
        while len(self._failed) >= 2 * self.max_sessions:
            del self._failed[next(iter(self._failed))]  # the oldest
        self._failed[entry.token] = (entry.key, retries)
        if entry.key != ("", ""):
            self._failed[entry.key] = (entry.key, retries)


class _Refused(Exception):
    def __init__(self, response: HttpResponse):
        self.response = response


def retry_later(text: str, seconds: float = 1.0) -> HttpResponse:
    """HTTP 503 with ``Retry-After`` (whole seconds, at least 1; RFC 9110 §10.2.3): the
    message was not processed, and sending it again later is safe."""
    response = error_response(503, text)
    after = str(max(1, math.ceil(seconds)))
    return attrs.evolve(response, headers=(*response.headers, ("Retry-After", after)))


def _host(request: HttpRequest) -> str:
    host = header_value(request.headers, "host") or "localhost"
    # The Host header is only echoed into our own RespURI; keep it a plain authority.
    return "".join(c for c in host if c.isalnum() or c in ".-:[]")[:255] or "localhost"
