"""Drive a :class:`~dmproto.session.ClientSession` over HTTP, without I/O.

The adapter loop, identical in every adapter except for the waiting::

    driver = ClientDriver(session)
    while True:
        step = driver.poll(now())
        if isinstance(step, Deliver):
            handler(session, step.event)              # may be awaited
        elif isinstance(step, Send):
            response = post(step.url, step.request)   # framing + network
            driver.handle_response(response, now())
        else:                                          # Done
            break

OMA-TS-SyncML_HTTPBinding-V1_2: the client POSTs each message to the server URL or the last RespURI
(the session's ``OutgoingMessage.url``); the response body is the server's next message;
an HTTP status other than 200 ends the session.
"""

from __future__ import annotations

from collections.abc import Callable

from ..codec import Encoding
from ..errors import DMError, LocalProtocolError, RemoteProtocolError
from ..limits import DEFAULT_LIMITS, Limits
from ..session import ClientSession, OutgoingMessage, SessionState
from ..session.events import SessionEnded
from .http import (
    HttpRequest,
    HttpResponse,
    Url,
    check_content_length,
    check_status,
    encoding_of,
    header_value,
    message_headers,
    parse_url,
    request_headers,
)
from .steps import ClientStep, Deliver, Done, Send

__all__ = ["ClientDriver", "ClientObserver"]

#: ``on_message(request, response)`` observer type: called with ``response=None``
#: when a request is about to be sent, then with the response that came back for it.
ClientObserver = Callable[[HttpRequest, "HttpResponse | None"], None]


class ClientDriver:
    """Turns a client session into HTTP requests and feeds it the responses.

    Args:
        session: the client session (client- or server-initiated).
        server_url: where to POST when the session gives no URL (the DMAcc address).
        limits: bounds on responses (``max_message_size`` caps the body).
        user_agent: the User-Agent header.
        on_message: called with every request (``response=None``) as it is handed to
            the adapter, then with the response the adapter read for it — for
            transcripts and traces of what went over the wire; it must not raise.
    """

    def __init__(
        self,
        session: ClientSession,
        *,
        server_url: str | None = None,
        limits: Limits = DEFAULT_LIMITS,
        user_agent: str = "dmproto",
        on_message: ClientObserver | None = None,
    ):
        self.session = session
        self.on_message = on_message
        self._request: HttpRequest | None = None
        self.limits = limits
        self._user_agent = user_agent
        self._base: Url | None = parse_url(server_url) if server_url else None
        self._parsed: tuple[str, Url] | None = None  # the last RespURI and its parse
        self._awaiting = False
        self.ended: SessionEnded | None = None

    @property
    def max_body(self) -> int:
        """Largest response body the adapter may read."""
        return self.limits.max_message_size

    def poll(self, now: float) -> ClientStep:
        """The next thing the adapter must do."""
        if self._awaiting:
            raise LocalProtocolError("binding.order", "handle_response() is due first")
        event = self.session.next_event()
        if event is not None:
            if isinstance(event, SessionEnded):
                self.ended = event
            return Deliver(event=event)
        timer = self.session.get_timer()
        if timer is not None and now >= timer:
            self.session.handle_timer(now)
            return self.poll(now)
        # OMA-TS-SyncML_HTTPBinding-V1_2: one DM message per HTTP exchange; the session hands out
        # at most one at a time (as on the server side, Exchange._response).
        messages = self.session.messages_to_send(now)
        if messages:
            return self._send(messages[0])
        # Nothing to send: the session ended, or (OMA-TS-DM_Protocol-V1_2_1 §2.3) the server's
        # package needed no answer.
        return Done(ended=self.ended)

    def _send(self, message: OutgoingMessage) -> Send:
        # OMA-TS-SyncML_HTTPBinding-V1_2: POST to the RespURI the session tracks, else the server
        # URL.
        if message.url:
            url = self._resolve(message.url)
        elif self._base is not None:
            url = self._base
        else:
            raise LocalProtocolError("binding.url", "no server URL for the message")
        self._base = url
        headers = request_headers(
            url, message.body, message.media_type, message.headers, user_agent=self._user_agent
        )
        self._awaiting = True
        request = HttpRequest(method="POST", target=url.target, headers=headers, body=message.body)
        self._request = request
        if self.on_message is not None:
            self.on_message(request, None)
        return Send(url=url, request=request)

    def _resolve(self, text: str) -> Url:
        # The session repeats the same RespURI for every message: parse it once.
        if self._parsed is None or self._parsed[0] != text:
            self._parsed = (text, parse_url(text, base=self._base))
        return self._parsed[1]

    def handle_response(self, response: HttpResponse, now: float) -> None:
        """Feed the server's HTTP response to the session.

        A DM message that breaks a protocol rule (it does not decode, or the server
        did something the protocol forbids) is not raised: the session ends
        (``SessionEnded(PROTOCOL_ERROR, reason)``) and the next :meth:`poll` sends
        the server an abort — the SyncHdr Status saying why and Alert 1223 with
        Final (OMA-TS-DM_Protocol-V1_2_1 "Session Abort"). The response to that
        abort is ignored.

        Raises:
            HttpStatusError: not HTTP 200 (the session is aborted: OMA-TS-SyncML_HTTPBinding-V1_2).
            MalformedMessageError: the body is not a DM message at all (a wrong
                media type, too large; the session is aborted).
        """
        self._awaiting = False
        if self.on_message is not None and self._request is not None:
            self.on_message(self._request, response)
        if self.session.state is SessionState.FINISHED:
            return  # the answer to our abort: nothing follows an abort
        try:
            check_status(response.status)
            check_content_length(response.headers, self.limits.max_message_size)
            encoding = encoding_of(header_value(response.headers, "content-type"), response.body)
        except DMError:
            self.fail(now)
            raise
        try:
            self.session.receive_message(
                response.body,
                media_type=_media_type(encoding),
                headers=message_headers(response.headers),
                now=now,
            )
        except RemoteProtocolError:
            self.session.abort()  # sent by the next poll()

    def fail(self, now: float) -> None:
        """The exchange failed (network error, timeout, cancellation): abort the session.

        The abort message cannot be delivered; the session ends so nothing is left
        half-applied (CONTRIBUTING.md#adapter-duties, duty 4).
        """
        self._awaiting = False
        if self.session.state is SessionState.ACTIVE:
            self.session.abort()
            self.session.messages_to_send(now)


def _media_type(encoding: Encoding) -> str:
    # Quirky peers (docs/conformance.md#tolerances) are normalised to the DM type of the sniffed
    # encoding.
    return encoding.media_type
