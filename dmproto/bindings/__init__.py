"""Transport bindings of OMA DM, as pure mappings (no I/O).

* :mod:`dmproto.bindings.http` — one DM message per HTTP exchange (SPEC.md §7).
* :mod:`dmproto.bindings.endpoint` — a DM server endpoint and a DM client driver
  that map HTTP requests/responses onto sessions; adapters (and ASGI/WSGI apps)
  only move bytes and wait.
"""

from __future__ import annotations
