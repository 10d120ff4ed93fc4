"""User-interaction alerts 1100–1104: option parsing, building, answering.

OMA-TS-DM_RepPro-V1_2_1 §4.2: the first Item of a UI alert carries URL-encoded ``name=value``
options joined by ``&`` (``MINDT``, ``MAXDT``, ``DR``, ``MAXLEN``, ``IT``, ``ET``); unknown
options are skipped silently. The second Item is the text (title for choices);
choices follow, numbered from 1.
"""

from __future__ import annotations

import enum
import urllib.parse

import attrs

from ..codec.model import Alert, Item, XmlData
from ..codes import AlertCode, StatusCode
from ..outcome import CommandOutcome

__all__ = [
    "EchoType",
    "InputType",
    "UiOptions",
    "UiRequest",
    "choice_outcome",
    "confirm_outcome",
    "format_ui_options",
    "parse_ui_alert",
    "parse_ui_options",
    "text_input_outcome",
    "ui_alert",
]

#: OMA-TS-DM_RepPro-V1_2_1 §4.2: the UI alert codes (server to client only).
UI_ALERT_CODES = frozenset(range(1100, 1105))


class InputType(enum.Enum):
    """``IT=`` values (OMA-TS-DM_RepPro-V1_2_1 §4.2)."""

    ALPHANUMERIC = "A"
    NUMERIC = "N"
    DATE = "D"
    TIME = "T"
    PHONE = "P"
    IP_ADDRESS = "I"


class EchoType(enum.Enum):
    """``ET=`` values (OMA-TS-DM_RepPro-V1_2_1 §4.2)."""

    TEXT = "T"
    PASSWORD = "P"  # noqa: S105 - the ET=P echo type, not a secret


@attrs.frozen(kw_only=True)
class UiOptions:
    """Parsed UI alert options; ``None`` when absent or unparsable (skipped)."""

    min_display_time: int | None = None
    max_display_time: int | None = None
    default_response: str | None = None
    max_length: int | None = None
    input_type: InputType | None = None
    echo_type: EchoType | None = None


@attrs.frozen(kw_only=True)
class UiRequest:
    """A UI alert as the application sees it."""

    kind: AlertCode
    options: UiOptions
    #: The text to show (DISPLAY/CONFIRM/TEXT INPUT) or the title (choices).
    text: str
    #: Choices for 1103/1104, numbered from 1 in this order.
    choices: tuple[str, ...] = ()


def _positive_int(text: str) -> int | None:
    # OMA-TS-DM_RepPro-V1_2_1 §4.2: MINDT/MAXDT/MAXLEN are positive integers; anything else is
    # skipped.
    if not text.isdigit() or len(text) > 9:
        return None
    value = int(text)
    return value if value > 0 else None


def _enum_value(cls: type[InputType] | type[EchoType], text: str) -> InputType | EchoType | None:
    for member in cls:
        if member.value == text:
            return member
    return None


def parse_ui_options(text: str) -> UiOptions:
    """Parse ``MAXDT=30&DR=1``-style options; never raises (unknown/bad ones skipped)."""
    fields: dict[str, object] = {}
    for pair in text.split("&"):
        name, sep, raw = pair.partition("=")
        if not sep:
            continue
        value = urllib.parse.unquote_plus(raw, errors="replace")
        key = name.strip().upper()
        if key == "MINDT":
            fields["min_display_time"] = _positive_int(value)
        elif key == "MAXDT":
            fields["max_display_time"] = _positive_int(value)
        elif key == "MAXLEN":
            fields["max_length"] = _positive_int(value)
        elif key == "DR":
            fields["default_response"] = value
        elif key == "IT":
            fields["input_type"] = _enum_value(InputType, value.strip().upper())
        elif key == "ET":
            fields["echo_type"] = _enum_value(EchoType, value.strip().upper())
    return UiOptions(**fields)  # type: ignore[arg-type]


def format_ui_options(options: UiOptions) -> str:
    """The wire form of *options* (only the set ones, in a fixed order)."""
    parts: list[str] = []
    if options.min_display_time is not None:
        parts.append(f"MINDT={options.min_display_time}")
    if options.max_display_time is not None:
        parts.append(f"MAXDT={options.max_display_time}")
    if options.default_response is not None:
        parts.append("DR=" + urllib.parse.quote_plus(options.default_response, safe="-"))
    if options.max_length is not None:
        parts.append(f"MAXLEN={options.max_length}")
    if options.input_type is not None:
        parts.append(f"IT={options.input_type.value}")
    if options.echo_type is not None:
        parts.append(f"ET={options.echo_type.value}")
    return "&".join(parts)


def _text(item: Item | None) -> str:
    if item is None or item.data is None:
        return ""
    if isinstance(item.data, XmlData):
        return item.data.text
    if isinstance(item.data, bytes):
        return item.data.decode("utf-8", errors="replace")
    return item.data


def parse_ui_alert(alert: Alert) -> UiRequest | None:
    """The :class:`UiRequest` of a UI alert, or ``None`` when *alert* is not one or
    lacks the two mandatory Items (OMA-TS-DM_RepPro-V1_2_1 §4.2: "two or more Items"; the session
    answers such an alert 412)."""
    if alert.code not in UI_ALERT_CODES or len(alert.items) < 2:
        return None
    return UiRequest(
        kind=AlertCode(alert.code),
        options=parse_ui_options(_text(alert.items[0])),
        text=_text(alert.items[1]),
        choices=tuple(_text(item) for item in alert.items[2:]),
    )


def ui_alert(
    kind: AlertCode | int,
    text: str,
    *,
    options: UiOptions | None = None,
    choices: tuple[str, ...] = (),
) -> Alert:
    """Build a UI alert for ``ServerSession.queue`` (the CmdID is assigned on send)."""
    opts = format_ui_options(options) if options is not None else ""
    items = [Item(data=opts or None), Item(data=text)]
    items.extend(Item(data=choice) for choice in choices)
    return Alert(cmd_id=None, code=int(kind), items=items)


def confirm_outcome(accepted: bool) -> CommandOutcome:
    """OMA-TS-DM_RepPro-V1_2_1 §4.2: 1101 Yes ⇒ 200, No ⇒ 304."""
    return CommandOutcome(code=StatusCode.OK if accepted else StatusCode.NOT_MODIFIED)


def text_input_outcome(text: str) -> CommandOutcome:
    """OMA-TS-DM_RepPro-V1_2_1 §4.2: 1102 ⇒ Status 200 with the user's text in an Item."""
    return CommandOutcome(code=StatusCode.OK, status_items=(Item(data=text),))


def choice_outcome(numbers: tuple[int, ...]) -> CommandOutcome:
    """OMA-TS-DM_RepPro-V1_2_1 §4.2: 1103/1104 ⇒ Status 200 with one Item per chosen number."""
    return CommandOutcome(
        code=StatusCode.OK,
        status_items=[Item(data=str(int(n))) for n in numbers],
    )
