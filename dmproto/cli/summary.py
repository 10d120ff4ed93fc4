"""Readable one-line summaries of DM messages, commands and outcomes, and the
transcript printer ``demo`` and ``device`` write them with."""

from __future__ import annotations

import sys
import threading
from typing import TextIO

from dmproto_server.records import describe, outcome_text

from ..bindings.http import HttpRequest, HttpResponse, encoding_of, header_value
from ..codec import decode_message
from ..errors import DMError

__all__ = ["Transcript", "describe", "outcome_text", "summarize"]


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
