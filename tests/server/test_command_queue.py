"""The per-device command queue (docs/queue.md) on both engines: what is sent, when a
command counts as answered, retries, sessions that die, poison, Atomic children.

Each device session runs in memory: a tree device, its ClientDriver, and a
``ServerEndpoint(claims=store)`` with ``dmproto serve``'s application in front of a
real database (an SQLite file, or a database on the private PostgreSQL cluster).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

import attrs
import pytest
from dmproto_server import ServerStore, connect
from dmproto_server.app import ServerApp
from dmproto_server.jobs import command_from_json
from dmproto_server.queue import CommandQueue, State, safe_to_resend

from dmproto.bindings.client import ClientDriver
from dmproto.bindings.server import ServerEndpoint
from dmproto.bindings.steps import Deliver, Send
from dmproto.codes import StatusCode
from dmproto.outcome import CommandOutcome
from dmproto.security import AuthScheme, Credentials
from dmproto.session import ClientSession
from dmproto.session import events as ev
from dmproto.testing import Clock, TreeDevice, server_config, tree_device

DEVICE = "IMEI:Q1"


@attrs.define
class Fleet:
    """One server (store, application, endpoint) and a clock for all of it."""

    store: ServerStore
    app: ServerApp
    endpoint: ServerEndpoint
    clock: Clock

    @property
    def queue(self) -> CommandQueue:
        return self.app.queue

    def device(self, dev_id: str = DEVICE) -> TreeDevice:
        return tree_device(
            "http://127.0.0.1:9/dm",
            dev_id=dev_id,
            random_bytes=os.urandom,
            credentials=Credentials(username="fleet", password="pw"),
            auth_scheme=AuthScheme.MD5,
        )

    def run(
        self,
        device: TreeDevice,
        answer: Callable[[ClientSession, ev.ClientSessionEvent], None] | None = None,
        *,
        stop_after: int | None = None,
    ) -> ev.SessionEnded | None:
        """Run a session; ``stop_after``: vanish after that many answered requests."""
        driver = ClientDriver(device.session)
        handler = answer or device
        exchanges = 0
        while True:
            step = driver.poll(self.clock())
            if isinstance(step, Deliver):
                handler(device.session, step.event)
            elif isinstance(step, Send):
                if stop_after is not None and exchanges == stop_after:
                    return None  # the device is gone (battery, network)
                response = self.endpoint.handle(step.request, self.app, self.clock)
                exchanges += 1
                driver.handle_response(response, self.clock())
            else:
                return step.ended


@pytest.fixture
def fleet(target: str) -> Fleet:
    clock = Clock(now=1000.0)
    store = ServerStore(connect(target), clock=clock)
    store.put_account("fleet", "pw")
    app = ServerApp(store=store, scheme=AuthScheme.MD5, script=[], log=lambda level, text: None)
    config = server_config(random_bytes=os.urandom, server_uri="srv", inactivity_timeout=60.0)
    endpoint = ServerEndpoint(config, claims=store, purge_interval=1.0)
    yield Fleet(store=store, app=app, endpoint=endpoint, clock=clock)
    store.close()


def value(device: TreeDevice, uri: str) -> object:
    node = device.tree.node_at(uri)
    assert node is not None, uri
    return node.value


def add_node(device: TreeDevice, uri: str, data: str) -> None:
    added = device.tree.execute(
        command_from_json({"cmd": "Add", "uri": uri, "data": data}), server_id="srv"
    )
    assert added.code == 200


def states(fleet: Fleet) -> list[tuple[str, str, int | None]]:
    return [(r["command"]["cmd"], r["state"], r["code"]) for r in fleet.queue.rows()]


def test_a_queued_job_is_sent_package_by_package_and_its_outcomes_kept(fleet: Fleet) -> None:
    job = fleet.queue.add(
        DEVICE,
        [
            [
                {"cmd": "Add", "uri": "./Vendor/Q", "data": "1"},
                {"cmd": "Get", "uri": "./DevInfo/Mod"},
            ],
            [{"cmd": "Replace", "uri": "./Vendor/Q", "data": "2"}],
        ],
    )
    other = fleet.queue.add("IMEI:other", [[{"cmd": "Get", "uri": "./DevInfo/Man"}]])
    device = fleet.device()
    ended = fleet.run(device)
    assert ended is not None and ended.reason is ev.EndReason.COMPLETED
    rows = fleet.queue.rows(device=DEVICE)
    assert [(r["job"], r["package"], r["state"], r["code"]) for r in rows] == [
        (job, 0, "answered", 200),
        (job, 0, "answered", 200),
        (job, 1, "answered", 200),
    ]
    assert value(device, "./Vendor/Q") == "2"  # package 2 after package 1
    # the other device's job is untouched
    assert [r["state"] for r in fleet.queue.rows(device="IMEI:other")] == ["pending"]
    assert other != job
    outcomes = [o for o in fleet.store.outcomes(DEVICE) if o["command_id"] is not None]
    assert sorted(o["command_id"] for o in outcomes) == sorted(r["id"] for r in rows)
    get = next(o for o in outcomes if o["command"].startswith("Get"))
    assert get["results"] == ["X1"]
    # the next session finds nothing queued: no commands, the session just ends
    assert fleet.run(fleet.device()) is not None
    assert len([o for o in fleet.store.outcomes(DEVICE) if o["command_id"]]) == 3
    # the device was registered with its DevInfo
    (registered,) = [d for d in fleet.store.devices() if d["device_id"] == DEVICE]
    assert registered["dev_info"]["Mod"] == "X1"


def failing(codes: list[int]) -> Callable[[TreeDevice], Any]:
    """A device answering its first commands with *codes*, then from its tree."""

    def make(device: TreeDevice) -> Callable[[ClientSession, ev.ClientSessionEvent], None]:
        left = list(codes)

        def answer(session: ClientSession, event: ev.ClientSessionEvent) -> None:
            if isinstance(event, ev.CommandReceived) and left:
                session.respond(event.handle, CommandOutcome(code=StatusCode(left.pop(0))))
            else:
                device(session, event)

        return answer

    return make


def test_a_5xx_is_retried_within_the_budget_and_a_4xx_fails_at_once(fleet: Fleet) -> None:
    fleet.queue.add(DEVICE, [[{"cmd": "Replace", "uri": "./Vendor/R", "data": "x"}]], max_retries=2)
    device = fleet.device()
    add_node(device, "./Vendor/R", "0")
    fleet.run(device, failing([500, 503])(device))
    (row,) = fleet.queue.rows()
    assert (row["state"], row["code"], row["attempts"]) == ("answered", 200, 2)
    assert value(device, "./Vendor/R") == "x"
    # over the budget: failed with the last code
    fleet.queue.add(DEVICE, [[{"cmd": "Get", "uri": "./DevInfo/Mod"}]], max_retries=1)
    device = fleet.device()
    fleet.run(device, failing([500, 500, 500])(device))
    assert fleet.queue.rows()[-1]["state"] == "failed"
    assert fleet.queue.rows()[-1]["attempts"] == 1
    # a 4xx: the command is wrong on this device, no retry
    fleet.queue.add(DEVICE, [[{"cmd": "Delete", "uri": "./Vendor/None"}]], max_retries=5)
    fleet.run(fleet.device())
    last = fleet.queue.rows()[-1]
    assert (last["state"], last["code"], last["attempts"]) == ("failed", 404, 0)
    # each try has its own outcome record
    codes = [o["code"] for o in fleet.store.outcomes(DEVICE) if o["command"].startswith("Replace")]
    assert codes == [500, 503, 200]


def test_a_session_that_dies_resends_safe_commands_and_marks_the_rest_unknown(
    fleet: Fleet,
) -> None:
    fleet.queue.add(
        DEVICE,
        [
            [
                {"cmd": "Get", "uri": "./DevInfo/Mod"},
                {"cmd": "Replace", "uri": "./Vendor/L", "data": "fr"},
                {"cmd": "Add", "uri": "./Vendor/A", "data": "1"},
                {"cmd": "Exec", "uri": "./Vendor/A"},
                {"cmd": "Sequence", "commands": [{"cmd": "Get", "uri": "./DevInfo/Man"}]},
                {"cmd": "Atomic", "commands": [{"cmd": "Delete", "uri": "./Vendor/B"}]},
            ]
        ],
    )
    vanished = fleet.device()
    assert fleet.run(vanished, stop_after=1) is None  # got the commands, never answered
    assert {s for _, s, _ in states(fleet)} == {"sent"}
    # the device's next session: the earlier one is over
    device = fleet.device()
    add_node(device, "./Vendor/L", "en")
    executed: list[str] = []

    def counting(session: ClientSession, event: ev.ClientSessionEvent) -> None:
        if isinstance(event, ev.CommandReceived):
            executed.append(type(event.command).__name__)
        device(session, event)

    fleet.run(device, counting)
    assert sorted(executed) == ["Get", "Replace", "Sequence"]
    assert states(fleet) == [
        ("Get", "answered", 200),
        ("Replace", "answered", 200),
        ("Add", "unknown", None),
        ("Exec", "unknown", None),
        ("Sequence", "answered", 200),
        ("Atomic", "unknown", None),
    ]


def test_an_abandoned_session_is_purged_and_its_commands_settled(fleet: Fleet) -> None:
    fleet.queue.add(
        DEVICE,
        [[{"cmd": "Get", "uri": "./DevInfo/Mod"}, {"cmd": "Add", "uri": "./Vendor/A"}]],
    )
    assert fleet.run(fleet.device(), stop_after=1) is None
    fleet.clock.advance(30.0)
    fleet.endpoint.expire(fleet.clock())
    assert [s for _, s, _ in states(fleet)] == ["sent", "sent"]  # not yet abandoned
    fleet.clock.advance(31.0)  # past the inactivity timeout (60 s)
    fleet.endpoint.expire(fleet.clock())
    assert [s for _, s, _ in states(fleet)] == ["pending", "unknown"]
    active = fleet.store.read("SELECT count(*) FROM sessions WHERE snapshot IS NOT NULL")
    assert active[0][0] == 0


def test_a_poisoned_command_fails_alone(fleet: Fleet) -> None:
    fleet.queue.add(
        DEVICE,
        [[{"cmd": "Get", "uri": "./DevInfo/Mod"}, {"cmd": "Get", "uri": "./DevInfo/Man"}]],
    )
    # another tool (or an older version) wrote a row that is no command
    (first,) = fleet.store.read("SELECT min(id) FROM commands")[0]
    with fleet.store.db.transaction() as tx:
        tx.execute("UPDATE commands SET command = ? WHERE id = ?", '{"cmd": "Frob"', first)
    ended = fleet.run(fleet.device())
    assert ended is not None and ended.reason is ev.EndReason.COMPLETED
    rows = fleet.queue.rows()
    assert [(r["state"], r["code"]) for r in rows] == [("failed", None), ("answered", 200)]
    assert rows[0]["error"].startswith("unreadable command")
    assert rows[0]["command"] == '{"cmd": "Frob"'  # shown as the text it is


def test_atomic_and_sequence_outcomes_are_kept_per_child(fleet: Fleet) -> None:
    fleet.queue.add(
        DEVICE,
        [
            [
                {
                    "cmd": "Atomic",
                    "commands": [
                        {"cmd": "Add", "uri": "./Vendor/T", "data": "1"},
                        {"cmd": "Replace", "uri": "./DevInfo/Mod", "data": "no"},
                    ],
                },
                {
                    "cmd": "Sequence",
                    "commands": [
                        {"cmd": "Get", "uri": "./DevInfo/Man"},
                        {"cmd": "Get", "uri": "./Vendor/None"},
                    ],
                },
            ]
        ],
    )
    fleet.run(fleet.device())
    rows = fleet.queue.rows()
    assert [(r["command"]["cmd"], r["state"]) for r in rows] == [
        ("Atomic", "failed"),
        ("Sequence", "answered"),
    ]
    outcomes = list(fleet.store.outcomes(DEVICE))
    atomic = next(o for o in outcomes if o["command_id"] == rows[0]["id"])
    children = sorted(
        (o["child_index"], o["command"], o["code"])
        for o in outcomes
        if o["parent_id"] == atomic["id"]
    )
    # OMA-TS-DM_RepPro-V1_2_1 §4.1.6: the Add rolled back (216), the Replace refused
    assert [c[1] for c in children] == ["Add ./Vendor/T", "Replace ./DevInfo/Mod"]
    assert children[0][2] == 216 and children[1][2] >= 400
    sequence = next(o for o in outcomes if o["command_id"] == rows[1]["id"])
    codes = [o["code"] for o in outcomes if o["parent_id"] == sequence["id"]]
    assert codes == [200, 404]


def test_safe_to_resend_is_get_and_replace_only() -> None:
    def cmd(obj: dict[str, Any]) -> Any:
        return command_from_json(obj)

    assert safe_to_resend(cmd({"cmd": "Get", "uri": "./A"}))
    assert safe_to_resend(cmd({"cmd": "Replace", "uri": "./A", "data": "1"}))
    for name in ("Add", "Delete", "Exec"):
        assert not safe_to_resend(cmd({"cmd": name, "uri": "./A"}))
    assert not safe_to_resend(cmd({"cmd": "Copy", "uri": "./A", "source": "./B"}))
    assert not safe_to_resend(cmd({"cmd": "Alert", "ui": "Confirm", "text": "?"}))
    mixed = {
        "cmd": "Atomic",
        "commands": [{"cmd": "Get", "uri": "./A"}, {"cmd": "Add", "uri": "./B"}],
    }
    assert not safe_to_resend(cmd(mixed))


def test_the_queue_refuses_a_negative_retry_budget(fleet: Fleet) -> None:
    with pytest.raises(ValueError, match="max_retries"):
        fleet.queue.add(DEVICE, [[{"cmd": "Get", "uri": "./A"}]], max_retries=-1)
    assert fleet.queue.rows() == []
    assert json.dumps(State.PENDING) == '"pending"'


def test_a_resent_message_gets_the_stored_answer_and_nothing_twice(fleet: Fleet) -> None:
    fleet.queue.add(DEVICE, [[{"cmd": "Add", "uri": "./Vendor/Once", "data": "1"}]])
    device = fleet.device()
    driver = ClientDriver(device.session)
    answers: list[bytes] = []
    while True:
        step = driver.poll(fleet.clock())
        if isinstance(step, Deliver):
            device(device.session, step.event)
        elif isinstance(step, Send):
            response = fleet.endpoint.handle(step.request, fleet.app, fleet.clock)
            # the answer was lost on the way: the device sends the same message again,
            # to another worker of the same database
            other = ServerEndpoint(fleet.endpoint.config, claims=fleet.store)
            again = other.handle(step.request, fleet.app, fleet.clock)
            assert again.body == response.body and again.status == 200
            answers.append(response.body)
            driver.handle_response(again, fleet.clock())
        else:
            break
    assert len(answers) >= 2
    (row,) = fleet.queue.rows()
    assert (row["state"], row["code"]) == ("answered", 200)
    recorded = [o for o in fleet.store.outcomes(DEVICE) if o["command_id"] == row["id"]]
    assert len(recorded) == 1  # the re-sent Status was not recorded twice


def test_a_declined_confirmation_is_an_answer(fleet: Fleet) -> None:
    fleet.queue.add(DEVICE, [[{"cmd": "Alert", "ui": "Confirm", "text": "Update now?"}]])
    device = fleet.device()
    fleet.run(device, failing([304])(device))  # the user said no
    (row,) = fleet.queue.rows()
    assert (row["state"], row["code"]) == ("answered", 304)
    (outcome,) = [o for o in fleet.store.outcomes(DEVICE) if o["command_id"] == row["id"]]
    assert outcome["kind"] == "ui" and outcome["detail"]["answer"]["answer"] == "no"
