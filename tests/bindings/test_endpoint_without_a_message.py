"""A ``ServerEndpoint`` whose session has no message left for the response answers
HTTP 500, aborts the session and forgets it.

The endpoint's handler must leave ``messages_to_send()`` to the endpoint: the
session's answer to a request is its HTTP response. A handler that takes the
message itself leaves nothing to respond with; that is an internal failure (HTTP
5xx), not something the device did (that would get a DM abort in HTTP 200).
"""

from __future__ import annotations

from dmproto.bindings import http
from dmproto.bindings.server import ServerEndpoint
from dmproto.codec.model import Get, Item, Location
from dmproto.session import ClientSession, ServerSession, SessionState
from dmproto.session import events as ev
from dmproto.testing import account, client_config, seeded_random, server_config


def test_a_handler_that_takes_the_answer_itself_gets_http_500() -> None:
    taken = []
    events: list[ev.Event] = []
    sessions: list[ServerSession] = []

    def handler(session: ServerSession, event: ev.Event) -> None:
        sessions.append(session)
        events.append(event)
        if isinstance(event, ev.AccountRequested):
            session.supply_account(account())
        elif isinstance(event, ev.PackageCompleted):
            session.queue(Get(cmd_id=None, items=(Item(target=Location(loc_uri="./DevInfo")),)))
            session.close_package()
            taken.extend(session.messages_to_send(0.0))  # the misuse

    endpoint = ServerEndpoint(server_config(random_bytes=seeded_random(3)))
    (package1,) = ClientSession(client_config()).messages_to_send(0.0)
    request = http.HttpRequest(
        method="POST",
        target="/dm",
        headers=(("Host", "dm.example"), ("Content-Type", package1.media_type)),
        body=package1.body,
    )
    response = endpoint.handle(request, handler, lambda: 0.0)
    assert len(taken) == 1  # the DM answer went to the handler, not into the response
    assert response.status == 500
    assert b"the DM session produced no message" in response.body
    # The session was aborted (its application told so) and the endpoint forgot it.
    session = sessions[-1]
    assert (session.state, session.end_reason) == (SessionState.FINISHED, ev.EndReason.ABORTED)
    assert [e.reason for e in events if isinstance(e, ev.SessionEnded)] == [ev.EndReason.ABORTED]
    assert len(endpoint) == 0
