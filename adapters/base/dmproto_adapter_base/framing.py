"""HTTP/1.1 framing with h11 for whole DM messages, without I/O.

Both classes are driven the same way by every adapter: feed the bytes you read,
ask for the next step, write the bytes you are given. They add to h11 what DM needs:
bodies capped by the configured message size before they are read (Content-Length
first, chunked bodies counted while reading — OMA-TS-SyncML_HTTPBinding-V1_2), keep-alive, and a
clean answer (400/413/431) to a broken or oversized request instead of an exception.
"""

from __future__ import annotations

import enum

import attrs
import h11

from dmproto.bindings.http import (
    BodyLimiter,
    HttpRequest,
    HttpResponse,
    check_content_length,
    error_response,
)
from dmproto.errors import MalformedMessageError, RemoteProtocolError
from dmproto.security import PeerCertificate

__all__ = [
    "ClientFraming",
    "NeedData",
    "ReadBudget",
    "Reject",
    "ServerFraming",
    "StaleConnection",
]

#: Largest request/status line plus header block accepted, in bytes (431 beyond).
MAX_HEAD = 16 * 1024


def _check_head(head: h11.Request | h11.Response, headers: list[tuple[str, str]]) -> None:
    """Refuse a head over ``MAX_HEAD`` that arrived whole in one read.

    h11 caps only a head still incomplete (``max_incomplete_event_size``); one
    that came complete in a single read is measured here (the line and each
    ``name: value``, without the line ends h11 has stripped).

    Raises:
        MalformedMessageError: ``http.head-too-large`` (431).
    """
    line = len(head.target) if isinstance(head, h11.Request) else len(head.reason)
    size = line + sum(len(name) + len(value) + 2 for name, value in headers)
    if size > MAX_HEAD:
        raise MalformedMessageError(
            "http.head-too-large",
            f"HTTP head of {size} bytes exceeds {MAX_HEAD}",
            status_hint=431,
        )


class NeedData(enum.Enum):
    """Nothing complete yet: read more bytes (or the peer closed cleanly: CLOSED)."""

    MORE = "more"
    CLOSED = "closed"


@attrs.frozen(kw_only=True)
class Reject:
    """The request cannot be served: write ``data`` and close the connection."""

    data: bytes
    reason: str


class StaleConnection(Exception):
    """A kept-alive connection was closed by the server before it read the request.

    Nothing of the request was processed, so it is safe to send it again on a new
    connection (RFC 9112 §9.3.1: a client may retry an idempotent-safe request whose
    connection closed before any response byte arrived).
    """


def _pairs(headers: list[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
    return [(k.decode("latin-1"), v.decode("latin-1")) for k, v in headers]


def _encode_headers(headers: tuple[tuple[str, str], ...]) -> list[tuple[bytes, bytes]]:
    return [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]


class _Framing:
    """What both directions share: an h11 connection, whole incoming messages with
    bodies capped before they are read, whole outgoing messages."""

    def __init__(self, role: type[h11.CLIENT] | type[h11.SERVER], max_body: int):
        self._conn = h11.Connection(role, max_incomplete_event_size=MAX_HEAD)
        self._max_body = max_body
        self._head: h11.Request | h11.Response | None = None
        self._headers: list[tuple[str, str]] = []
        self._body: BodyLimiter | None = None

    def _next_whole(
        self,
    ) -> tuple[h11.Request | h11.Response, list[tuple[str, str]], bytes] | NeedData:
        """Absorb h11 events until a whole message (head, headers, body) or NeedData.

        Raises:
            h11.RemoteProtocolError: broken HTTP, or an incomplete head over ``MAX_HEAD``.
            MalformedMessageError: ``http.head-too-large``, ``http.content-length``,
                ``http.body-too-large``.
        """
        while True:
            event = self._conn.next_event()
            if event is h11.NEED_DATA:
                return NeedData.MORE
            if isinstance(event, h11.ConnectionClosed):
                return NeedData.CLOSED
            if isinstance(event, (h11.Request, h11.Response)):
                self._headers = _pairs(event.headers.raw_items())
                _check_head(event, self._headers)
                # OMA-TS-SyncML_HTTPBinding-V1_2: the body is capped by the message size before it
                # is read.
                check_content_length(self._headers, self._max_body)
                self._head = event
                self._body = BodyLimiter(self._max_body)
            elif isinstance(event, h11.Data) and self._body is not None:
                self._body.feed(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage) and self._head is not None:
                head, body = self._head, self._body
                self._head = self._body = None
                return head, self._headers, body.body() if body is not None else b""

    def _write(self, head: h11.Request | h11.Response, body: bytes) -> bytes:
        out = self._conn.send(head) or b""
        out += self._conn.send(h11.Data(data=body)) or b""
        out += self._conn.send(h11.EndOfMessage()) or b""
        return out


class ServerFraming(_Framing):
    """One server-side HTTP/1.1 connection carrying DM requests (keep-alive).

    Usage::

        framing.feed(data)            # b"" when the peer closed
        step = framing.next_request() # HttpRequest | Reject | NeedData
        data = framing.respond(resp)  # then: if framing.must_close: close

    ``peer_certificate``: the client certificate the TLS handshake of this
    connection verified; every request read from it carries it.
    """

    def __init__(self, *, max_body: int, peer_certificate: PeerCertificate | None = None):
        super().__init__(h11.SERVER, max_body)
        self._peer_certificate = peer_certificate

    def feed(self, data: bytes) -> None:
        """Give the bytes read from the socket (``b""`` at end of stream)."""
        self._conn.receive_data(data)

    @property
    def must_close(self) -> bool:
        """Whether the connection has to be closed after the last response."""
        return (self._conn.our_state, self._conn.their_state) != (h11.DONE, h11.DONE)

    def next_request(self) -> HttpRequest | Reject | NeedData:
        """Advance: a whole request, a rejection to write before closing, or NeedData."""
        if self._conn.their_state is h11.DONE and self._conn.our_state is h11.DONE:
            self._conn.start_next_cycle()  # keep-alive: the next request
        try:
            whole = self._next_whole()
        except h11.RemoteProtocolError as exc:
            return self._reject(exc.error_status_hint, f"bad HTTP request: {exc}")
        except MalformedMessageError as exc:
            return self._reject(exc.status_hint or 400, str(exc))
        if isinstance(whole, NeedData):
            return whole
        head, headers, body = whole
        assert isinstance(head, h11.Request)  # a server only receives requests
        return HttpRequest(
            method=head.method.decode("ascii", "replace"),
            target=head.target.decode("ascii", "replace"),
            headers=headers,
            body=body,
            peer_certificate=self._peer_certificate,
        )

    def _reject(self, status: int, text: str) -> Reject:
        refusal = error_response(status, text)
        response = attrs.evolve(refusal, headers=(*refusal.headers, ("Connection", "close")))
        try:
            data = self.respond(response)
        except h11.LocalProtocolError:
            data = b""
        return Reject(data=data, reason=text)

    def respond(self, response: HttpResponse) -> bytes:
        """The bytes of ``response`` to the current request."""
        head = h11.Response(status_code=response.status, headers=_encode_headers(response.headers))
        return self._write(head, response.body)


class ClientFraming(_Framing):
    """One client-side HTTP/1.1 connection: one DM message POSTed per exchange."""

    def __init__(self, *, max_body: int):
        super().__init__(h11.CLIENT, max_body)
        self._reused = False
        self._got_any = False

    @property
    def may_retry(self) -> bool:
        """Whether a failure now means a stale kept-alive connection: the connection
        served an earlier exchange and nothing of this response has arrived."""
        return self._reused and not self._got_any

    @property
    def reusable(self) -> bool:
        """Whether another request may be sent on this connection (keep-alive)."""
        states = (self._conn.our_state, self._conn.their_state)
        return states in ((h11.IDLE, h11.IDLE), (h11.DONE, h11.DONE))

    def request(self, request: HttpRequest) -> bytes:
        """The bytes of ``request`` (a whole message with Content-Length)."""
        if self._conn.our_state is h11.DONE and self._conn.their_state is h11.DONE:
            self._conn.start_next_cycle()
            self._reused = True
        self._got_any = False
        head = h11.Request(
            method=request.method,
            target=request.target,
            headers=_encode_headers(request.headers),
        )
        return self._write(head, request.body)

    def feed(self, data: bytes) -> None:
        """Give the bytes read from the socket (``b""`` at end of stream).

        Raises:
            StaleConnection: end of stream on a reused connection before any byte of
                the response: resend the request on a new connection.
        """
        if not data and self.may_retry:
            raise StaleConnection("kept-alive connection closed by the server")
        self._got_any = True
        self._conn.receive_data(data)

    def next_response(self) -> HttpResponse | NeedData:
        """The whole response once it has arrived, else ``NeedData.MORE``.

        Raises:
            RemoteProtocolError: ``http.framing`` for broken HTTP or a connection
                closed before the response was complete.
            MalformedMessageError: ``http.body-too-large`` when the response body
                exceeds the message size limit (checked before reading it);
                ``http.head-too-large`` for a head over ``MAX_HEAD``.
        """
        try:
            whole = self._next_whole()
        except h11.RemoteProtocolError as exc:
            raise RemoteProtocolError("http.framing", f"bad HTTP response: {exc}") from None
        if whole is NeedData.CLOSED:
            raise RemoteProtocolError("http.framing", "server closed the connection")
        if isinstance(whole, NeedData):
            return whole
        head, headers, body = whole
        assert isinstance(head, h11.Response)  # a client only receives responses
        return HttpResponse(status=head.status_code, headers=headers, body=body)


class ReadBudget:
    """How long a server may wait for the next bytes of a request.

    Each read may wait at most ``timeout`` (silence), and a whole request — from
    the first wait after the previous response to its last byte — at most
    ``request_timeout``, so a client trickling one byte at a time (slowloris)
    cannot hold a connection forever. Call :meth:`reset` after each response.
    """

    def __init__(self, *, timeout: float, request_timeout: float):
        self.timeout = timeout
        self.request_timeout = request_timeout
        self._deadline: float | None = None

    def next_wait(self, now: float) -> float:
        """Seconds the next read may wait.

        Raises:
            TimeoutError: the request's time is up.
        """
        if self._deadline is None:
            self._deadline = now + self.request_timeout
        remaining = self._deadline - now
        if remaining <= 0:
            raise TimeoutError("request not received in time")
        return min(self.timeout, remaining)

    def reset(self) -> None:
        """A response was written: the next request gets a fresh budget."""
        self._deadline = None
