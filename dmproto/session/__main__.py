"""``python -m dmproto.session > docs/session-states.md``: the session state
diagrams, generated from the transition tables in :mod:`._machine`."""

from __future__ import annotations

import sys

from ._machine import mermaid

if __name__ == "__main__":
    sys.stdout.write(mermaid())
