"""The DM application shared by the embedding examples: inventory of every device.

It supplies one account to every device (user ``dev`` / password ``secret``,
MD5 authentication), asks for a few DevInfo leaves, records the answers in
``INVENTORY`` and finishes the session. Nothing here knows about HTTP.
"""

from __future__ import annotations

from dmproto import (
    Account,
    AuthScheme,
    CommandOutcome,
    Credentials,
    Get,
    Item,
    Location,
    ServerSession,
    events,
)

#: device id -> {URI: value} collected so far.
INVENTORY: dict[str, dict[str, str]] = {}
LEAVES = ("./DevInfo/Man", "./DevInfo/Mod", "./DevInfo/DmV")


def handle(session: ServerSession, event: events.ServerSessionEvent) -> None:
    """The application handler: called with each session event."""
    device = session.device_id or "?"
    if isinstance(event, events.AccountRequested):
        credentials = Credentials(username="dev", password="secret")
        session.supply_account(Account(credentials=credentials, auth_scheme=AuthScheme.MD5))
    elif isinstance(event, events.PackageCompleted):
        if event.package == 1:
            for uri in LEAVES:
                session.queue(Get(items=[Item(target=Location(loc_uri=uri))]))
            session.close_package()
        else:
            session.end_session()
    elif isinstance(event, events.CommandCompleted) and isinstance(event.command, Get):
        # the Get comes back with its outcome: no handle bookkeeping here
        for item in event.command.items:
            if item.target is not None:
                INVENTORY.setdefault(device, {})[item.target.loc_uri] = _value(event.outcome)


def _value(outcome: CommandOutcome) -> str:
    for item in outcome.results:
        if isinstance(item.data, str):
            return item.data
    return f"<status {outcome.code}>"
