"""Message order inside multi-message packages (OMA-TS-DM_Protocol-V1_2_1 §2.1;
OMA-TS-DM_RepPro-V1_2_1 §4.1.6): the Statuses we owe go first in every message — before new Results
and large-object chunks — so a Status for the peer's Alert 1222 is always in our very next message,
and Results travel in the same message as their Status whenever they fit."""

from __future__ import annotations

import pytest
from sessionkit import assert_alerts_answered_next, assert_statuses_first

from dmproto.codec import Encoding
from dmproto.codec.model import Get, Item, Location, Meta, Replace, Results
from dmproto.outcome import CommandOutcome
from dmproto.testing import Pair, account, echo_results, transcript_messages


def target(uri: str) -> tuple[Item, ...]:
    return (Item(target=Location(loc_uri=uri)),)


@pytest.mark.parametrize("encoding", [Encoding.XML, Encoding.WBXML])
def test_client_large_results_answer_every_1222_in_the_next_message(encoding: Encoding) -> None:
    value = "x" * 5000
    pair = Pair.make(
        client={"encoding": encoding},
        server={"max_msg_size": 1024},
        packages=[[Get(cmd_id=None, items=target("./big"))]],
        answer=echo_results(value),
    ).run()
    assert pair.completed()[1].results[0].data == value
    assert_alerts_answered_next(pair)
    assert_statuses_first(pair)
    # No pile of Statuses at the end: the chunks alone set the message count.
    c2s = [m for d, m in transcript_messages(pair) if d == "c2s"]
    chunks = sum(1 for m in c2s for c in m.commands if isinstance(c, Results))
    assert len(c2s) <= chunks + 2
    assert all(len(b) <= 1024 for d, b in pair.transcript[1:] if d == "c2s")


def test_server_large_object_answers_the_device_1222_first() -> None:
    value = "".join(f"{i:05d}," for i in range(800))
    cmd = Replace(
        cmd_id=None,
        items=(Item(target=Location(loc_uri="./big"), meta=Meta(format="chr"), data=value),),
    )
    pair = Pair.make(
        client={"max_msg_size": 1024, "server_credentials": None},
        account=account(server_credentials=None),
        packages=[[cmd]],
    ).run()
    assert pair.received()[0].command.items[0].data == value  # type: ignore[union-attr]
    assert_alerts_answered_next(pair)
    assert_statuses_first(pair)


def test_results_with_many_items_are_split_by_items() -> None:
    # OMA-TS-DM_Protocol-V1_2_1 §2.1; OMA-TS-DM_RepPro-V1_2_1 §4.1.3; OMA-TS-DM_TND-V1_2 §8.4: a
    # Results too big for one message goes out as several Results for the same command, split
    # between Items.
    items = tuple(
        Item(source=Location(loc_uri=f"./n/{i:02d}"), data=f"value {i}") for i in range(30)
    )
    pair = Pair.make(
        server={"max_msg_size": 1200},
        packages=[[Get(cmd_id=None, items=target("./n?list=Struct"))]],
        answer=lambda e: CommandOutcome(code=200, results=items),
    ).run()
    outcome = pair.completed()[1]
    assert outcome.code == 200 and outcome.results == items
    parts = [
        c
        for d, m in transcript_messages(pair)
        if d == "c2s"
        for c in m.commands
        if isinstance(c, Results)
    ]
    assert len(parts) > 2 and len({(r.msg_ref, r.cmd_ref) for r in parts}) == 1
    assert all(len(b) <= 1200 for d, b in pair.transcript[1:] if d == "c2s")
    assert_alerts_answered_next(pair)
