"""Binary item values in both encodings (OMA-TS-DM_TND-V1_2 §8.3, §8.3.7.2): over XML they
travel as base64 text with Meta Format ``b64`` (Type kept); over WBXML as OPAQUE."""

from __future__ import annotations

import base64

import pytest

from dmproto.codec import Encoding
from dmproto.codec.model import Alert, Get, Item, Location, Meta, Replace, Sequence
from dmproto.codes import AlertCode
from dmproto.outcome import CommandOutcome
from dmproto.session import events as ev
from dmproto.session._b64 import b64_command, b64_unit
from dmproto.session._packaging import Unit
from dmproto.testing import Pair

BLOB = bytes(range(256)) * 3
TYPE = "application/octet-stream"
BIN = Meta(format="bin")


def wire(encoding: Encoding, value: bytes) -> tuple[str | bytes, str | None]:
    """(data, Meta Format) as the receiver sees them."""
    if encoding is Encoding.XML:
        return base64.b64encode(value).decode("ascii"), "b64"
    return value, "bin"


@pytest.mark.parametrize("encoding", [Encoding.XML, Encoding.WBXML])
def test_server_command_with_binary_data(encoding: Encoding) -> None:
    replace = Replace(
        cmd_id=None,
        items=(
            Item(
                target=Location(loc_uri="./fw/pkg"),
                meta=Meta(format="bin", type=TYPE),
                data=BLOB,
            ),
        ),
    )
    nested = Sequence(
        cmd_id=None,
        commands=(
            Replace(
                cmd_id=None, items=(Item(target=Location(loc_uri="./x"), meta=BIN, data=b"\0"),)
            ),
        ),
    )
    pair = Pair.make(client={"encoding": encoding}, packages=[[replace, nested]]).run()
    first, second = pair.received()
    data, fmt = wire(encoding, BLOB)
    item = first.command.items[0]  # type: ignore[union-attr]
    assert item.data == data and item.meta is not None
    assert item.meta.type == TYPE
    if encoding is Encoding.XML:
        assert item.meta.format == fmt
    child = second.command.commands[0].items[0]  # type: ignore[union-attr]
    assert child.data == wire(encoding, b"\0")[0]
    assert pair.completed()[1].code == 200 and pair.completed()[2].code == 200


@pytest.mark.parametrize("encoding", [Encoding.XML, Encoding.WBXML])
def test_client_results_with_binary_data(encoding: Encoding) -> None:
    pair = Pair.make(
        client={"encoding": encoding},
        packages=[[Get(cmd_id=None, items=(Item(target=Location(loc_uri="./blob")),))]],
        answer=lambda e: CommandOutcome(
            code=200,
            results=(Item(source=Location(loc_uri="./blob"), meta=Meta(type=TYPE), data=BLOB),),
        ),
    ).run()
    outcome = pair.completed()[1]
    (item,) = outcome.results
    data, fmt = wire(encoding, BLOB)
    assert outcome.code == 200 and item.data == data
    assert item.meta is not None and item.meta.type == TYPE
    if encoding is Encoding.XML:
        assert item.meta.format == fmt


@pytest.mark.parametrize("encoding", [Encoding.XML, Encoding.WBXML])
def test_client_alert_with_binary_data(encoding: Encoding) -> None:
    alert = Alert(
        cmd_id=None,
        code=AlertCode.GENERIC_ALERT,
        items=(Item(meta=Meta(type="x-vendor/blob", format="bin"), data=b"\x00\xffdata"),),
    )
    pair = Pair.make(client={"encoding": encoding})
    handle = pair.client.queue(alert)
    initial = Pair.make(client={"encoding": encoding, "initial_alerts": (alert,)}).run()
    pair.run()
    for run in (pair, initial):
        (got,) = [e for e in run.server_events if isinstance(e, ev.GenericAlertReceived)]
        assert got.items[0].data == wire(encoding, b"\x00\xffdata")[0]
        assert got.items[0].meta is not None and got.items[0].meta.type == "x-vendor/blob"
    done = [e for e in pair.client_events if isinstance(e, ev.CommandCompleted)]
    assert [(e.handle, e.outcome.code) for e in done] == [(handle, 200)]


def test_binary_large_object_over_xml_is_chunked_as_base64() -> None:
    value = bytes(range(256)) * 12  # 3072 octets = 4096 base64 characters
    cmd = Replace(
        cmd_id=None,
        items=(Item(target=Location(loc_uri="./fw"), meta=Meta(format="bin"), data=value),),
    )
    pair = Pair.make(client={"max_msg_size": 1500}, packages=[[cmd]]).run()
    (received,) = pair.received()
    item = received.command.items[0]  # type: ignore[union-attr]
    assert item.data == base64.b64encode(value).decode("ascii")
    assert item.meta is not None and item.meta.format == "b64" and item.meta.size is None
    assert pair.completed()[1].code == 200
    assert all(len(b) <= 1500 for d, b in pair.transcript if d == "s2c")
    assert sum(b.count(b"<MoreData/>") for d, b in pair.transcript if d == "s2c") >= 2


def test_text_items_beside_binary_ones_are_left_alone_over_xml() -> None:
    cmd = Replace(
        cmd_id=None,
        items=(
            Item(target=Location(loc_uri="./t"), meta=Meta(format="chr"), data="text"),
            Item(target=Location(loc_uri="./b"), data=b"\x01"),
        ),
    )
    pair = Pair.make(packages=[[cmd]]).run()
    (received,) = pair.received()
    first, second = received.command.items  # type: ignore[union-attr]
    assert (first.data, first.meta.format) == ("text", "chr")  # type: ignore[union-attr]
    assert (second.data, second.meta.format) == ("AQ==", "b64")  # type: ignore[union-attr]


def test_b64_conversion_reaches_any_child_and_copies_nothing_without_binary() -> None:
    text = Replace(cmd_id=None, items=(Item(target=Location(loc_uri="./t"), data="text"),))
    binary = Replace(cmd_id=None, items=(Item(target=Location(loc_uri="./b"), data=b"\x01"),))
    inner = Sequence(cmd_id=None, commands=(text, binary))
    converted = b64_command(Sequence(cmd_id=None, commands=(text, inner)))
    assert isinstance(converted, Sequence)
    first, second = converted.commands
    assert first is text
    assert isinstance(second, Sequence) and second.commands[0] is text
    assert second.commands[1].items[0].data == "AQ=="  # type: ignore[union-attr]
    unit = Unit(command=Sequence(cmd_id=None, commands=(text, text)))
    assert b64_unit(unit) is unit
