"""The DM server application of ``dmproto serve``: accounts, devices, the command
queue and outcomes, all in a :class:`~dmproto_server.store.ServerStore`.

The application is a handler ``app(session, event)`` for the adapters' ``DMServer``.
It keeps nothing of a session in memory: whatever it learns is written through the
store's deferred writes (``session=``), committed with the session's snapshot and
answer (``ServerEndpoint(claims=store)``), so any worker process sharing the
database serves any message of any session.

A device with queued commands (:mod:`.queue`) gets them, one package after the
other; a device with nothing queued gets the *script* (``serve --job``), the same
packages for every device.

Accounts: a device whose verified TLS client certificate is registered for an
account (:meth:`~dmproto_server.store.ServerStore.put_certificate`, ``serve
--client-certificate``) logs in to that account by the certificate alone, without
Cred (OMA-TS-DM_Security-V1_2_1 §5.1, transport-layer authentication); any other
device by the credentials of the account it names.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

from dmproto.codec.model import Alert, Atomic, Command, Item
from dmproto.codec.model import Sequence as SequenceCommand
from dmproto.errors import DMError
from dmproto.outcome import CommandOutcome
from dmproto.security import AuthScheme, Credentials
from dmproto.session import Account, ServerSession
from dmproto.session import events as ev
from dmproto.session.ui import UI_ALERT_CODES

from .queue import CommandQueue
from .records import answer_text, describe, describe_items, outcome_detail, outcome_text, ui_answer
from .store import ChildOutcome, ServerStore

__all__ = ["LogFn", "ServerApp"]

#: ``log(level, text)``: where the application's lines go.
LogFn = Callable[[int, str], None]


def _ui_info(command: Command) -> dict[str, Any] | None:
    if isinstance(command, Alert) and command.code in UI_ALERT_CODES:
        labels = [i.data if isinstance(i.data, str) else "" for i in command.items[2:]]
        text = command.items[1].data if len(command.items) > 1 else ""
        return {"code": command.code, "choices": labels, "text": text}
    return None


def _children(command: Command, outcome: CommandOutcome) -> list[ChildOutcome]:
    """One record per child of an Atomic/Sequence (OMA-TS-DM_RepPro-V1_2_1 §4.1.6)."""
    if not isinstance(command, Atomic | SequenceCommand):
        return []
    return [
        ChildOutcome(
            command=describe(child),
            code=int(result.code),
            results=[str(i.data) for i in result.results if isinstance(i.data, str)],
            detail=outcome_detail(result),
            children=_children(child, result),
        )
        for child, result in zip(command.commands, outcome.children, strict=False)
    ]


def _dev_info(items: Sequence[Item]) -> dict[str, str]:
    info = {}
    for item in items:
        uri = item.source.loc_uri if item.source is not None else None
        if uri and isinstance(item.data, str):
            info[uri.rsplit("/", 1)[-1]] = item.data
    return info


class ServerApp:
    """The server application (see the module documentation).

    Args:
        store: accounts, nonces, devices, outcomes, the queue.
        scheme: the client authentication scheme required (None: no app-layer auth).
        script: the packages sent to a device with nothing queued.
        log: ``log(level, text)``.
        server_credentials: our SRVCRED digest, to authenticate to devices.
        log_outcomes: log a line per outcome (INFO).
    """

    def __init__(
        self,
        *,
        store: ServerStore,
        scheme: AuthScheme | None,
        script: Sequence[Sequence[Command]],
        log: LogFn,
        server_credentials: Credentials | None = None,
        log_outcomes: bool = True,
    ):
        self.store = store
        self.queue = CommandQueue(store)
        # Sessions the devices abandoned are purged by whichever worker notices; the
        # commands they sent without an answer are settled in the same transaction.
        store.purge_hook = self.queue.settle_purged
        self.scheme = scheme
        self.script = script
        self.log = log
        self.server_credentials = server_credentials
        self.log_outcomes = log_outcomes
        self._lock = threading.Lock()

    def __call__(self, session: ServerSession, event: ev.Event) -> None:
        with self._lock:
            self._handle(session, event)

    def _handle(self, session: ServerSession, event: ev.Event) -> None:
        device = session.device_id or "?"
        self.log(logging.DEBUG, f"event {type(event).__name__}")
        if isinstance(event, ev.AccountRequested):
            self._account(session, event)
        elif isinstance(event, ev.DeviceConnected):
            self.store.device_seen(event.device_id, _dev_info(event.dev_info), session=session)
            self.log(
                logging.INFO,
                f"device {event.device_id} connected (Alert "
                f"{event.alert_code}, session {event.session_id})",
            )
        elif isinstance(event, ev.PackageCompleted):
            self._next_package(session, event.package)
        elif isinstance(event, ev.CommandCompleted):
            self._completed(session, event)
        elif isinstance(event, ev.GenericAlertReceived | ev.ClientEventReceived):
            self._alert(session, event)
        elif isinstance(event, ev.NonceChanged):
            self.store.put_nonce(device, event.role, event.nonce, session=session)
        elif isinstance(event, ev.PeerAuthenticated):
            how = event.scheme or "no app-layer auth"
            if event.certificate is not None:
                how = f"TLS client certificate {event.certificate.subject}"
            self.log(logging.INFO, f"device authenticated ({how})")
        elif isinstance(event, ev.SessionEnded):
            self.queue.ended(session, event)
            ended = f"session with {device} ended: {event.reason.value} {event.detail}".rstrip()
            ok = event.reason is ev.EndReason.COMPLETED
            self.log(logging.INFO if ok else logging.WARNING, ended)

    def _next_package(self, session: ServerSession, package: int) -> None:
        """The device answered our package *package* - 1: the next one, or the end.

        The session counts our packages (persisted in its snapshot); whether it
        serves the queue or the script is read back from the queue itself.
        """
        if package == 1 or self.queue.served(session):
            taken = self.queue.take_package(session)
            if taken:
                for queued in taken:
                    try:
                        handle = session.queue(queued.command)
                    except DMError as exc:  # a command the session refuses: poison
                        self.queue.failed_to_send(session, queued.row, str(exc))
                        continue
                    self.queue.sent(session, queued.row, handle)
                session.close_package()
                return
            if package > 1:
                session.end_session()
                return
        index = package - 1
        if index >= len(self.script):
            session.end_session()
            return
        for command in self.script[index]:
            session.queue(command)
        session.close_package()

    def _completed(self, session: ServerSession, event: ev.CommandCompleted) -> None:
        # (the command comes with its outcome, also in a restored session)
        row = self.queue.answered(session, event)
        what, ui = describe(event.command), _ui_info(event.command)
        outcome = event.outcome
        detail = outcome_detail(outcome)
        results = [str(i.data) for i in outcome.results if isinstance(i.data, str)]
        kind = "status"
        if ui is not None:
            kind = "ui"
            answer = ui_answer(int(ui["code"]), list(ui["choices"]), outcome)
            detail.update(answer=answer, text=ui["text"], choices=ui["choices"])
            line = f"{what} -> {int(outcome.code)} (UI: {answer_text(answer)})"
        else:
            line = f"{what} -> {outcome_text(outcome)}"
        self.store.put_outcome(
            session.device_id or "?",
            session.session_id,
            kind,
            what,
            int(outcome.code),
            results,
            detail,
            command_id=row,
            children=_children(event.command, outcome),
            session=session,
        )
        if self.log_outcomes:
            self.log(logging.INFO, line)

    def _alert(
        self, session: ServerSession, event: ev.GenericAlertReceived | ev.ClientEventReceived
    ) -> None:
        items: tuple[Item, ...] = event.items
        detail: dict[str, Any] = {"items": describe_items(items)}
        if isinstance(event, ev.GenericAlertReceived):
            detail["correlator"] = event.correlator
            kind = "generic-alert"
        else:
            kind = "client-event"
        what = f"Alert {event.alert.code}"
        self.store.put_outcome(
            session.device_id or "?",
            session.session_id,
            kind,
            what,
            event.alert.code,
            [],
            detail,
            session=session,
        )
        corr = f" correlator {detail['correlator']!r}" if detail.get("correlator") else ""
        self.log(logging.INFO, f"{kind} {what}{corr}: {json.dumps(detail['items'])}")

    def _account(self, session: ServerSession, event: ev.AccountRequested) -> None:
        common: dict[str, Any] = {
            "server_credentials": self.server_credentials,
            "server_nonce": self.store.nonce(event.device_id, ev.NonceRole.SERVER),
        }
        cert = event.certificate  # verified by the TLS layer, when there is one
        owner = self.store.certificate_account(cert.fingerprint) if cert is not None else None
        if cert is not None and owner is not None:
            # OMA-TS-DM_Security-V1_2_1 §5.1: the transport layer authenticates the
            # device; the session accepts this certificate and no Cred is needed.
            self.log(logging.INFO, f"device certificate of account {owner!r} ({cert.subject})")
            session.supply_account(Account(certificate=cert.fingerprint, **common))
            return
        if self.scheme is None:
            session.supply_account(Account(credentials=None, **common))
            return
        username = event.username  # the device id when nothing named a user
        digest = self.store.md5_digest(username)
        if digest is None:
            self.log(logging.WARNING, f"unknown account {username!r}: device rejected")
            session.reject_device()
            return
        session.supply_account(
            Account(
                credentials=Credentials(username=username, md5_digest=digest),
                auth_scheme=self.scheme,
                client_nonce=self.store.nonce(event.device_id, ev.NonceRole.CLIENT),
                **common,
            )
        )
