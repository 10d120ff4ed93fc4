"""Limits on hostile input, in one configuration object.

Every decoder and both session roles take a :class:`Limits`. Each limit is checked
before the expensive work it protects (the message size before any parsing; the
depth, element count, item count and data size while parsing), and exceeding one
raises :class:`dmproto.errors.MalformedMessageError` with a ``limit.*`` reason.
"""

from __future__ import annotations

import attrs

from .errors import InvalidValueError

__all__ = ["DEFAULT_LIMITS", "Limits"]


def _positive(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise InvalidValueError("limits.invalid", f"{attribute.name} must be a positive int")


@attrs.frozen(kw_only=True)
class Limits:
    """Bounds applied to every input dmproto reads.

    Defaults are generous for real DM traffic (devices announce MaxMsgSize values of
    3.5–64 KB; large objects travel in chunks) yet keep a hostile message cheap.
    """

    #: Largest message (XML or WBXML body, Package 0, WSP PDU) accepted, in bytes.
    #: Checked before any parsing. (libdmclient announces 16 KB; 4 MiB leaves room
    #: for servers that ignore MaxMsgSize.)
    max_message_size: int = attrs.field(default=4 * 1024 * 1024, validator=_positive)
    #: Deepest element nesting (SyncML + nested Atomic/Sequence + embedded TNDS).
    max_depth: int = attrs.field(default=64, validator=_positive)
    #: Most elements (start tags / WBXML tag tokens) in one document.
    max_elements: int = attrs.field(default=200_000, validator=_positive)
    #: Most commands in one message (nested ones included).
    max_commands: int = attrs.field(default=10_000, validator=_positive)
    #: Most Items in one command.
    max_items_per_command: int = attrs.field(default=10_000, validator=_positive)
    #: Largest single Data value (text or bytes), in bytes.
    max_data_size: int = attrs.field(default=4 * 1024 * 1024, validator=_positive)
    #: Deepest nesting of embedded documents (WBXML TNDS inside OPAQUE inside Data).
    max_embedded_depth: int = attrs.field(default=2, validator=_positive)


DEFAULT_LIMITS = Limits()
