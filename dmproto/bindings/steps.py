"""What a driver asks its adapter to do next (values returned by ``poll``).

The drivers in :mod:`dmproto.bindings.client` and :mod:`dmproto.bindings.server`
decide *what* happens; an adapter only does the waiting each step asks for:

* :class:`Deliver` — call the application's handler with a session event (the
  handler may be a coroutine function in asyncio/trio adapters);
* :class:`Send` — (client) POST a request and feed the response back;
* :class:`Respond` — (server) write this HTTP response;
* :class:`Done` — (client) the session is over.
"""

from __future__ import annotations

from typing import Generic, TypeAlias, TypeVar

import attrs

from ..session.events import ClientSessionEvent, Event, ServerSessionEvent, SessionEnded
from .http import HttpRequest, HttpResponse, Url

__all__ = ["ClientStep", "Deliver", "Done", "Respond", "Send", "ServerStep"]


E = TypeVar("E", bound=Event)


@attrs.frozen(kw_only=True)
class Deliver(Generic[E]):
    """Hand ``event`` to the application's handler, then poll again (a client
    driver delivers a ``ClientSessionEvent``, a server endpoint a ``ServerSessionEvent``)."""

    event: E


@attrs.frozen(kw_only=True)
class Send:
    """POST ``request`` to ``url``; give the response to ``handle_response``."""

    url: Url
    request: HttpRequest


@attrs.frozen(kw_only=True)
class Respond:
    """Write ``response``: the exchange is complete."""

    response: HttpResponse


@attrs.frozen(kw_only=True)
class Done:
    """The client session is over; ``ended`` says why (``None``: nothing was reported)."""

    ended: SessionEnded | None


ClientStep: TypeAlias = "Deliver[ClientSessionEvent] | Send | Done"
ServerStep: TypeAlias = "Deliver[ServerSessionEvent] | Respond"
