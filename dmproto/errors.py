"""The exceptions dmproto raises, and nothing else.

Every error dmproto raises on purpose is a :class:`DMError`. There are two sides,
as in h11:

* :class:`RemoteProtocolError` — the *peer* sent something we cannot accept: a
  malformed message, a broken Package 0, a protocol violation. Decoders raise its
  subclass :class:`MalformedMessageError` for any input they cannot read, and nothing
  else escapes a decoder for any input.
* :class:`LocalProtocolError` — *our own application* misused the API (queued a
  command in the wrong state, built an invalid value, asked to encode something the
  chosen encoding cannot carry).

Both carry a machine-readable ``reason`` (a short dotted string such as
``"wbxml.truncated"`` or ``"limit.depth"``; the reasons each module raises are listed
in its docstring) and, where it makes sense, a ``position``: a byte offset into the
input (``int``) or an element path such as ``"SyncML/SyncBody/Add[2]/Item[1]"``
(``str``). Messages never contain secrets.
"""

from __future__ import annotations

__all__ = [
    "DMError",
    "EncodeError",
    "InvalidValueError",
    "LocalProtocolError",
    "MalformedMessageError",
    "RemoteProtocolError",
]


class DMError(Exception):
    """Base class of every error dmproto raises on purpose.

    Attributes:
        reason: machine-readable short code, e.g. ``"xml.entity"``.
        position: byte offset (``int``) or element path (``str``) where the problem
            was found, or ``None`` when it has no position.
        detail: human-readable explanation (never contains secrets).
    """

    def __init__(self, reason: str, detail: str = "", *, position: int | str | None = None):
        self.reason = reason
        self.detail = detail or reason
        self.position = position
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = "" if self.position is None else f" at {self.position}"
        return f"{self.detail} [{self.reason}]{where}"

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild, (type(self), self.reason, self.detail, self.position))


def _rebuild(cls: type[DMError], reason: str, detail: str, position: int | str | None) -> DMError:
    return cls(reason, detail, position=position)


class RemoteProtocolError(DMError):
    """The peer sent something we cannot accept.

    Attributes:
        status_hint: the DM status code that best answers the problem, when one
            applies (e.g. 400, 413, 415), else ``None``.
    """

    def __init__(
        self,
        reason: str,
        detail: str = "",
        *,
        position: int | str | None = None,
        status_hint: int | None = None,
    ):
        self.status_hint = status_hint
        super().__init__(reason, detail, position=position)


class MalformedMessageError(RemoteProtocolError):
    """Input bytes (a DM message, WBXML/XML document, Package 0, WSP PDU, transport
    header...) are malformed, exceed a configured limit, or use a feature dmproto
    refuses (DTD entities, external references).

    This is the one documented error type of every decoder in dmproto.
    """


class LocalProtocolError(DMError):
    """Our own application used the API in a way the protocol or the state forbids."""


class InvalidValueError(LocalProtocolError, ValueError):
    """A value given to a dmproto constructor or function is invalid (also a ValueError)."""


class EncodeError(LocalProtocolError):
    """A model cannot be written in the requested encoding (for example binary Data in XML)."""
