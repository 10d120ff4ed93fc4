"""Readable one-line summaries of DM messages, commands and outcomes, and the
transcript printer ``demo`` and ``device`` write them with."""

from __future__ import annotations

import sys
import threading
from typing import TextIO

from ..bindings.http import HttpRequest, HttpResponse, encoding_of, header_value
from ..codec import decode_message
from ..codec.model import Alert, Atomic, Results, Status
from ..errors import DMError
from ..outcome import CommandOutcome

__all__ = ["Transcript", "describe", "outcome_text", "summarize"]


def _target(command: object) -> str:
    items = getattr(command, "items", ())
    for item in items:
        loc = item.target or item.source
        if loc is not None:
            more = f" +{len(items) - 1}" if len(items) > 1 else ""
            return f" {loc.loc_uri}{more}"
    return ""


def describe(command: object) -> str:
    """One command in a few words: its name, target and MoreData, or a Status code."""
    if isinstance(command, Status):
        return f"Status({command.cmd}#{command.cmd_ref}={command.code})"
    if isinstance(command, Results):
        return f"Results(for #{command.cmd_ref}{_target(command)})"
    if isinstance(command, Alert):
        return f"Alert {command.code}"
    if isinstance(command, Atomic):
        return "Atomic[" + ", ".join(describe(c) for c in command.commands) + "]"
    name = getattr(command, "name", type(command).__name__)
    more = " (MoreData)" if any(i.more_data for i in getattr(command, "items", ())) else ""
    return f"{name}{_target(command)}{more}"


def summarize(body: bytes, media_type: str | None) -> str:
    """One line describing a DM message: MsgID, size, commands, Final."""
    try:
        encoding = encoding_of(media_type, body)
        message = decode_message(body, encoding=encoding)
    except DMError as exc:
        return f"{len(body)} bytes, not a DM message ({exc.reason})"
    parts = [describe(c) for c in message.commands]
    final = ", Final" if message.final else ""
    cred = " Cred" if message.header.cred is not None else ""
    return f"msg {message.header.msg_id} ({encoding.value}, {len(body)} B{cred}{final}): " + (
        "; ".join(parts) or "(no commands)"
    )


def outcome_text(outcome: CommandOutcome) -> str:
    """A command's outcome: its code, the start of its first Result, its children's."""
    text = str(int(outcome.code))
    for item in outcome.results[:1]:
        data = item.data
        if isinstance(data, str):
            text += f" {data[:40]!r}" + (f" ({len(data)} chars)" if len(data) > 40 else "")
    if outcome.children:
        text += " [" + ", ".join(outcome_text(c) for c in outcome.children) + "]"
    return text


class Transcript:
    """Prints transcript lines (thread-safe)."""

    def __init__(self, out: TextIO = sys.stdout):
        self._out = out
        self._lock = threading.Lock()

    def __call__(self, who: str, text: str) -> None:
        with self._lock:
            print(f"[{who:>6}] {text}", file=self._out, flush=True)

    def messages(self, request: HttpRequest, response: HttpResponse | None, _: object) -> None:
        """``on_message`` observer: one line per message in each direction."""
        if response is None:
            ctype = header_value(request.headers, "content-type")
            self("device", "-> " + summarize(request.body, ctype))
            return
        if response.status != 200:
            self("server", f"<- HTTP {response.status}")
            return
        ctype = header_value(response.headers, "content-type")
        self("server", "<- " + summarize(response.body, ctype))
