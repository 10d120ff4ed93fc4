"""The DM application shared by the embedding examples: inventory of every device.

It supplies one account to every device (user ``dev`` / password ``secret``,
MD5 authentication), asks for a few DevInfo leaves, records the answers in
``INVENTORY`` and finishes the session. Nothing here knows about HTTP.
"""

from __future__ import annotations

from dmproto.codec.model import Get, Item, Location
from dmproto.outcome import CommandOutcome
from dmproto.security import AuthScheme, Credentials
from dmproto.session import Account, ServerSession
from dmproto.session import events as ev

#: device id -> {URI: value} collected so far.
INVENTORY: dict[str, dict[str, str]] = {}
LEAVES = ("./DevInfo/Man", "./DevInfo/Mod", "./DevInfo/DmV")

_pending: dict[tuple[str, int], str] = {}


def handle(session: ServerSession, event: ev.Event) -> None:
    """The application handler: called with each session event."""
    device = session.device_id or "?"
    if isinstance(event, ev.AccountRequested):
        credentials = Credentials(username="dev", password="secret")
        session.supply_account(Account(credentials=credentials, auth_scheme=AuthScheme.MD5))
    elif isinstance(event, ev.PackageCompleted):
        if event.package == 1:
            for uri in LEAVES:
                get = Get(cmd_id=None, items=[Item(target=Location(loc_uri=uri))])
                _pending[(device, session.queue(get))] = uri
            session.close_package()
        else:
            session.end_session()
    elif isinstance(event, ev.CommandCompleted):
        uri = _pending.pop((device, event.handle), "?")
        INVENTORY.setdefault(device, {})[uri] = _value(event.outcome)


def _value(outcome: CommandOutcome) -> str:
    for item in outcome.results:
        if isinstance(item.data, str):
            return item.data
    return f"<status {outcome.code}>"
