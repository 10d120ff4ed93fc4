"""Simulated devices for a fleet of ``dmproto serve`` workers (tests and benchmarks).

:func:`run_device` runs one device session over real HTTP, sending every request to
a worker picked at random — as a load balancer would — and sending the *same*
request again after a failed exchange (connection refused or reset, timeout, HTTP
503): what a device does after an HTTP timeout, and what the workers must answer
without executing anything twice (``docs/scaling.md``).
"""

from __future__ import annotations

import collections
import http.client
import random
import time
from collections.abc import Callable, Sequence

import attrs

from dmproto.bindings.client import ClientDriver
from dmproto.bindings.http import HttpRequest, HttpResponse, header_value
from dmproto.bindings.steps import Deliver, Send
from dmproto.session import ClientSession
from dmproto.session import events as ev

__all__ = ["DeviceRun", "Worker", "run_device"]

#: ``handler(session, event)`` of a device application.
DeviceHandler = Callable[[ClientSession, ev.ClientSessionEvent], None]


@attrs.frozen
class Worker:
    """Where one worker listens."""

    host: str
    port: int


@attrs.define
class DeviceRun:
    """What happened in one simulated device session."""

    ended: ev.SessionEnded | None = None
    #: HTTP exchanges that returned a response (any status).
    exchanges: int = 0
    #: Requests sent again after a failed exchange.
    resends: int = 0
    #: Commands the device executed, by (command name, target URI).
    executed: collections.Counter[tuple[str, str]] = attrs.field(factory=collections.Counter)


def _post(worker: Worker, request: HttpRequest, timeout: float) -> HttpResponse:
    conn = http.client.HTTPConnection(worker.host, worker.port, timeout=timeout)
    try:
        conn.request(
            request.method, request.target, body=request.body, headers=dict(request.headers)
        )
        answer = conn.getresponse()
        body = answer.read()
        return HttpResponse(status=answer.status, headers=tuple(answer.getheaders()), body=body)
    finally:
        conn.close()


def run_device(
    session: ClientSession,
    handler: DeviceHandler,
    workers: Sequence[Worker],
    *,
    rng: random.Random,
    timeout: float = 10.0,
    max_resends: int = 400,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> DeviceRun:
    """Run *session* to its end against *workers* (see the module documentation).

    Raises:
        TimeoutError: more than *max_resends* failed exchanges.
    """
    run = DeviceRun()

    def counting(session: ClientSession, event: ev.ClientSessionEvent) -> None:
        if isinstance(event, ev.CommandReceived):
            command = event.command
            items = getattr(command, "items", ())
            uri = items[0].target.loc_uri if items and items[0].target is not None else ""
            run.executed[(type(command).__name__, uri)] += 1
        handler(session, event)

    driver = ClientDriver(session)
    while True:
        step = driver.poll(clock())
        if isinstance(step, Deliver):
            counting(session, step.event)
            continue
        if not isinstance(step, Send):
            run.ended = step.ended
            return run
        while True:
            try:
                response = _post(rng.choice(list(workers)), step.request, timeout)
            except (OSError, http.client.HTTPException):
                response = None
            if response is not None:
                run.exchanges += 1
                if response.status != 503:
                    break
            run.resends += 1
            if run.resends > max_resends:
                raise TimeoutError(f"{run.resends} failed exchanges")
            after = header_value(response.headers, "retry-after") if response else None
            wait = min(float(after), 1.0) if after and after.isdigit() else 0.05
            sleep(wait * rng.uniform(0.2, 1.0))
        driver.handle_response(response, clock())
