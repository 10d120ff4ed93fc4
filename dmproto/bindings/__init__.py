"""Transport bindings of OMA DM, as pure mappings (no I/O).

* :mod:`dmproto.bindings.http` — one DM message per HTTP exchange (OMA-TS-SyncML_HTTPBinding-V1_2):
  header fields, media types, status and size rules, URLs, routing keys.
* :mod:`dmproto.bindings.client` — :class:`~dmproto.bindings.client.ClientDriver`
  turns a client session into HTTP requests and feeds it the responses.
* :mod:`dmproto.bindings.server` — :class:`~dmproto.bindings.server.ServerEndpoint`
  routes HTTP requests to many server sessions (RespURI token or SessionID +
  device id), with an optional snapshot store.
* :mod:`dmproto.bindings.lockout` — password guessing: failed authentications lock
  an account name or device id for a while (``ServerEndpoint(lockout=...)``).
* :mod:`dmproto.bindings.push` — Package 0 over UDP (WSP push) or HTTP
  (OMA-TS-DM_Notification-V1_2_1 §6.3).
* :mod:`dmproto.bindings.steps` — the steps a driver asks its adapter to perform.

Adapters (``dmproto_sync``, ``dmproto_asyncio``, ``dmproto_trio``) and embeddings
(ASGI/WSGI apps) only move bytes and wait; see ``docs/adapters.md``.
"""

from __future__ import annotations
