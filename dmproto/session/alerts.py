"""Builders for the alerts a client sends: Generic Alert 1226, Client Event 1224."""

from __future__ import annotations

from ..codec.model import Alert, Item, Location, Meta
from ..codes import AlertCode

__all__ = ["client_event", "generic_alert"]


def generic_alert(
    type: str,
    format: str,
    data: str | None,
    *,
    mark: str | None = None,
    correlator: str | None = None,
    source: str | None = None,
) -> Alert:
    """OMA-TS-DM_RepPro-V1_2_1 §4.2: Alert 1226 with one Item (Meta Type and Format MUST be present;
    Mark optional; Correlator echoes an Exec's; Source = the related MO)."""
    item = Item(
        source=Location(loc_uri=source) if source is not None else None,
        meta=Meta(type=type, format=format, mark=mark),
        data=data,
    )
    return Alert(cmd_id=None, code=AlertCode.GENERIC_ALERT, correlator=correlator, items=(item,))


def client_event(type: str, format: str, data: str | None) -> Alert:
    """OMA-TS-DM_RepPro-V1_2_1 §4.2: Alert 1224, one Item per event with Meta Type and Format."""
    item = Item(meta=Meta(type=type, format=format), data=data)
    return Alert(cmd_id=None, code=AlertCode.CLIENT_EVENT, items=(item,))
