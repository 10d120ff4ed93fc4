"""Message-size edge cases (OMA-TS-DM_Protocol-V1_2_1 §2.1, §2.2; OMA-TS-DM_RepPro-V1_2_1 §4.1.3):
when to chunk, small MaxMsgSize with authentication, no-progress exchanges, the smallest workable
size."""

from __future__ import annotations

import attrs
import pytest
from sessionkit import assert_alerts_answered_next

from dmproto.codec import Encoding, encode_message
from dmproto.codec.model import (
    Alert,
    Atomic,
    Command,
    Delete,
    Get,
    Item,
    ItemCommand,
    Location,
    Message,
    Replace,
    Results,
    Status,
)
from dmproto.codes import AlertCode
from dmproto.errors import InvalidValueError
from dmproto.outcome import CommandOutcome
from dmproto.security import AuthScheme
from dmproto.session import OutgoingMessage, SessionState
from dmproto.session import events as ev
from dmproto.session._core import MAX_STALLS
from dmproto.session.config import MIN_MSG_SIZE, MIN_WORKABLE_MSG_SIZE, min_msg_size
from dmproto.session.events import NO_PROGRESS
from dmproto.testing import (
    Pair,
    account,
    client_config,
    ok_answer,
    server_config,
    transcript_messages,
    with_body,
)

SIZES = [2000, 3000, 5000, 8000]


def _values(limit: int) -> dict[str, str]:
    # Two values that each fit in an empty message but not both together, and one
    # that can never fit in one message.
    return {
        "./a": "a" * (limit * 9 // 20),
        "./b": "b" * (limit * 9 // 20),
        "./huge": "h" * (limit * 3),
    }


def _uri(item: Item) -> str:
    loc = item.target if item.target is not None else item.source
    assert loc is not None
    return loc.loc_uri


def assert_chunked_only_when_needed(
    pair: Pair, direction: str, limit: int, values: dict[str, str], encoding: Encoding
) -> set[str]:
    """OMA-TS-DM_Protocol-V1_2_1 §2.2: a first chunk (MoreData + Meta/Size) only for a value that
    would not fit whole in that message holding just its SyncHdr and Statuses (+ Final).
    Returns the URIs that were chunked."""
    chunked: set[str] = set()
    for d, msg in transcript_messages(pair):
        if d != direction:
            continue
        assert len(encode_message(msg, encoding)) <= limit
        statuses = [c for c in msg.commands if isinstance(c, Status)]
        for command in msg.commands:
            if not isinstance(command, ItemCommand | Results):
                continue
            item = command.items[0]
            if not item.more_data or item.meta is None or item.meta.size is None:
                continue
            uri = _uri(item)
            chunked.add(uri)
            whole_item = attrs.evolve(
                item, data=values[uri], more_data=False, meta=attrs.evolve(item.meta, size=None)
            )
            whole = attrs.evolve(command, cmd_id=str(len(statuses) + 1), items=(whole_item,))
            alone = Message(header=msg.header, commands=[*statuses, whole], final=True)
            assert len(encode_message(alone, encoding)) > limit, (uri, limit)
    return chunked


@pytest.mark.parametrize("encoding", [Encoding.XML, Encoding.WBXML])
@pytest.mark.parametrize("limit", SIZES)
def test_server_defers_a_value_that_fits_the_next_message(encoding: Encoding, limit: int) -> None:
    values = _values(limit)
    commands: list[Command] = [
        Replace(cmd_id=None, items=(Item(target=Location(loc_uri=uri), data=value),))
        for uri, value in values.items()
    ]
    pair = Pair.make(
        client={"max_msg_size": limit, "encoding": encoding}, packages=[commands]
    ).run()
    assert [e.command.items[0].data for e in pair.received()] == list(values.values())  # type: ignore[union-attr]
    assert all(outcome.code == 200 for outcome in pair.completed().values())
    chunked = assert_chunked_only_when_needed(pair, "s2c", limit, values, encoding)
    assert chunked == {"./huge"}
    assert_alerts_answered_next(pair)
    assert pair.ended("server").reason is ev.EndReason.COMPLETED  # type: ignore[union-attr]


@pytest.mark.parametrize("encoding", [Encoding.XML, Encoding.WBXML])
@pytest.mark.parametrize("limit", SIZES)
def test_client_defers_results_that_fit_the_next_message(encoding: Encoding, limit: int) -> None:
    values = _values(limit)

    def answer(event: ev.CommandReceived) -> CommandOutcome:
        uri = _uri(event.command.items[0])  # type: ignore[union-attr]
        return CommandOutcome(
            code=200, results=(Item(source=Location(loc_uri=uri), data=values[uri]),)
        )

    commands: list[Command] = [
        Get(cmd_id=None, items=(Item(target=Location(loc_uri=uri)),)) for uri in values
    ]
    pair = Pair.make(
        client={"encoding": encoding},
        server={"max_msg_size": limit},
        packages=[commands],
        answer=answer,
    ).run()
    completed = pair.completed()
    assert [o.results[0].data for o in completed.values()] == list(values.values())
    chunked = assert_chunked_only_when_needed(pair, "c2s", limit, values, encoding)
    assert chunked == {"./huge"}
    assert_alerts_answered_next(pair)
    assert pair.ended("server").reason is ev.EndReason.COMPLETED  # type: ignore[union-attr]


@pytest.mark.parametrize("limit", [1024, 1056, 1088])
def test_stale_server_nonce_with_a_status_only_first_message(limit: int) -> None:
    # The device refuses the server's Cred (stale nonce); the server's first
    # message (XML, Cred + 212 with Chal) has room for its SyncHdr Status only, so
    # it is not Final: a partial package, not an authentication failure.
    get = Get(cmd_id=None, items=(Item(target=Location(loc_uri="./DevInfo/Mod")),))
    pair = Pair.make(
        client={"max_msg_size": limit, "server_nonce": b"stale"}, packages=[[get]]
    ).run()
    msgs = transcript_messages(pair)
    first = msgs[1][1]
    assert [c.name for c in first.commands] == ["Status"] and not first.final
    # The device challenged the server (401 + Chal) and asked for the rest (1222).
    answer = msgs[2][1]
    assert [(c.cmd_ref, c.code) for c in answer.commands if isinstance(c, Status)] == [("0", 401)]
    assert answer.commands[0].chal is not None  # type: ignore[union-attr]
    assert [c.code for c in answer.commands if isinstance(c, Alert)] == [AlertCode.NEXT_MESSAGE]
    # The server answered with new credentials; the session completes normally.
    authenticated = [e for e in pair.client_events if isinstance(e, ev.PeerAuthenticated)]
    assert len(authenticated) == 1
    assert pair.completed()[1].code == 200
    assert [e.command for e in pair.received()] != []
    assert pair.ended("client").reason is ev.EndReason.COMPLETED  # type: ignore[union-attr]
    assert pair.ended("server").reason is ev.EndReason.COMPLETED  # type: ignore[union-attr]
    assert all(len(body) <= limit for d, body in pair.transcript[1:] if d == "s2c")


def test_server_package_without_commands_still_fails_authentication() -> None:
    # A Final server message without commands from an unauthenticated server:
    # the session ends (never challenge a Status-only package, OMA-TS-DM_Protocol-V1_2_1 §2.3).
    pair = Pair.make(client={"server_nonce": b"stale"}, packages=[]).run()
    assert pair.ended("client").reason is ev.EndReason.AUTHENTICATION_FAILED  # type: ignore[union-attr]


@pytest.mark.parametrize("announced", [512, 640, 768, 832])
def test_no_progress_exchange_ends_the_session(announced: int) -> None:
    # A (foreign) device announces a MaxMsgSize below the smallest workable one:
    # the server's messages hold nothing but Statuses while the device answers
    # with Alert 1222. After MAX_STALLS empty exchanges the server aborts.
    get = Get(cmd_id=None, items=(Item(target=Location(loc_uri="./DevInfo/Mod")),))
    pair = Pair.make(client={"server_nonce": b"stale"}, packages=[[get]]).rewrite(
        "c2s", b">16384</MaxMsgSize>", f">{announced}</MaxMsgSize>".encode()
    )
    pair.run()
    server_end = pair.ended("server")
    assert server_end is not None and server_end.reason is ev.EndReason.PROTOCOL_ERROR
    assert server_end.detail == NO_PROGRESS
    assert pair.completed() == {1: CommandOutcome(code=215)}  # never sent
    client_end = pair.ended("client")
    assert client_end is not None and client_end.reason is ev.EndReason.ABORTED_BY_PEER
    last = transcript_messages(pair)[-1][1]
    assert last.final and [c.code for c in last.commands if isinstance(c, Alert)] == [1223]
    # Bounded: package 1, the stalled exchanges, the abort.
    assert len(pair.transcript) <= 2 * (MAX_STALLS + 3)


def test_one_empty_exchange_is_not_a_stall() -> None:
    # Package 1 answered by a SyncHdr-Status-only message, then progress: fine.
    get = Get(cmd_id=None, items=(Item(target=Location(loc_uri="./DevInfo/Mod")),))
    pair = Pair.make(
        client={"max_msg_size": 1024, "server_nonce": b"stale"}, packages=[[get]]
    ).run()
    assert pair.ended("server").reason is ev.EndReason.COMPLETED  # type: ignore[union-attr]


# ------------------------------------------------------------ smallest workable size

_ADVERTISED = 16320  # our configs advertise this; the wire carries the size under test
_BIG = "".join(f"{i:04d}" for i in range(1000))


def _reference_answer(event: ev.CommandReceived) -> CommandOutcome:
    command = event.command
    if isinstance(command, Get):
        uri = _uri(command.items[0])
        data = _BIG if uri == "./big" else "v"
        return CommandOutcome(code=200, results=(Item(source=Location(loc_uri=uri), data=data),))
    return ok_answer(event)


def _reference_package() -> list[Command]:
    return [
        Get(cmd_id=None, items=(Item(target=Location(loc_uri="./DevInfo/Mod")),)),
        Get(cmd_id=None, items=(Item(target=Location(loc_uri="./big")),)),
        Replace(cmd_id=None, items=(Item(target=Location(loc_uri="./obj"), data=_BIG),)),
        Atomic(
            cmd_id=None,
            commands=(
                Replace(cmd_id=None, items=(Item(target=Location(loc_uri="./x"), data="1"),)),
                Delete(cmd_id=None, items=(Item(target=Location(loc_uri="./y")),)),
            ),
        ),
    ]


def _reference_session_works(encoding: Encoding, size: int) -> bool:
    """The reference session (MD5 both ways, stale nonces both ways, a small and a
    large Results, a large object, an Atomic) with both sides announcing *size* on
    the wire (as a peer with that configured max_msg_size would)."""
    package = _reference_package()
    pair = Pair.make(
        client={
            "max_msg_size": _ADVERTISED,
            "encoding": encoding,
            "client_nonce": b"stale",
            "server_nonce": b"stale",
        },
        server={"max_msg_size": _ADVERTISED},
        packages=[package],
        answer=_reference_answer,
    )
    announced = str(_ADVERTISED).encode()

    def tamper(direction: str, msg: OutgoingMessage) -> OutgoingMessage:
        assert msg.body.count(announced) == 1
        return with_body(msg, msg.body.replace(announced, str(size).encode()))

    pair.tamper = tamper
    pair.run(max_rounds=200)
    client_end, server_end = pair.ended("client"), pair.ended("server")
    completed = pair.completed()
    return (
        client_end is not None
        and client_end.reason is ev.EndReason.COMPLETED
        and server_end is not None
        and server_end.reason is ev.EndReason.COMPLETED
        and len(completed) == len(package)
        and all(outcome.code == 200 for outcome in completed.values())
        # (Package 1 goes out before the server's MaxMsgSize is known.)
        and all(len(body) <= size for _, body in pair.transcript[1:])
    )


@pytest.mark.parametrize("encoding", [Encoding.XML, Encoding.WBXML])
def test_smallest_workable_max_msg_size_is_the_documented_floor(encoding: Encoding) -> None:
    floor = min_msg_size(encoding)
    # Bisect the smallest announced size at which the reference session works
    # (from the absolute floor a peer's MaxMsgSize is raised to).
    lo, hi = MIN_MSG_SIZE, floor
    assert _reference_session_works(encoding, hi)
    while lo < hi:
        mid = (lo + hi) // 2
        if _reference_session_works(encoding, mid):
            hi = mid
        else:
            lo = mid + 1
    measured = lo
    # The documented floor is the measurement rounded up to a multiple of 64 ...
    assert floor - 64 < measured <= floor, measured
    # ... and every size above it works too (no size that breaks again).
    assert all(_reference_session_works(encoding, n) for n in range(measured, floor + 512, 61))
    # Our own configuration refuses anything smaller.
    with pytest.raises(InvalidValueError):
        client_config(max_msg_size=floor - 1, encoding=encoding)
    client_config(max_msg_size=floor, encoding=encoding)


def test_server_floor_covers_every_device_encoding() -> None:
    floor = max(MIN_WORKABLE_MSG_SIZE.values())
    assert min_msg_size(None) == floor == MIN_WORKABLE_MSG_SIZE[Encoding.XML]
    with pytest.raises(InvalidValueError):
        server_config(max_msg_size=floor - 1, encoding=Encoding.WBXML)
    server_config(max_msg_size=floor)


def test_command_waits_for_room_instead_of_413_at_the_floor() -> None:
    # At the XML floor the server's first message (Cred, 212 + Chal, Statuses for
    # Package 1) has no room for the Gets; later messages (no Cred/Chal) do: they
    # are sent there, not completed 413 as "never sendable".
    floor = min_msg_size(Encoding.XML)
    pair = Pair.make(
        client={"max_msg_size": floor, "client_nonce": b"stale", "server_nonce": b"stale"},
        server={"max_msg_size": floor},
        packages=[_reference_package()],
        answer=_reference_answer,
    ).run(max_rounds=200)  # (the server's commands wait for the device's whole package)
    assert [o.code for o in pair.completed().values()] == [200, 200, 200, 200]
    assert pair.completed()[2].results[0].data == _BIG


HMAC_XML_WORKABLE = 1168  # measured like the floor (documented in session-api.md)


def _hmac_reference(size: int) -> Pair:
    hmac = AuthScheme.HMAC
    return Pair.make(
        client={
            "max_msg_size": size,
            "auth_scheme": hmac,
            "server_auth_scheme": hmac,
            "client_nonce": b"stale",
            "server_nonce": b"stale",
        },
        server={"max_msg_size": size},
        account=account(auth_scheme=hmac, server_auth_scheme=hmac),
        packages=[_reference_package()],
        answer=_reference_answer,
    ).run(max_rounds=200)


def test_hmac_needs_more_room_in_xml() -> None:
    # HMAC: a Chal with a fresh NextNonce in every SyncHdr Status (OMA-TS-DM_Security-V1_2_1 §5.1).
    pair = _hmac_reference(HMAC_XML_WORKABLE)
    assert [o.code for o in pair.completed().values()] == [200, 200, 200, 200]
    assert pair.ended("client").reason is ev.EndReason.COMPLETED  # type: ignore[union-attr]
    # Just below, the session does not complete normally but still ends (no
    # endless Next-Message exchange): the no-progress guard.
    below = _hmac_reference(HMAC_XML_WORKABLE - 16)
    ends = [below.ended("client"), below.ended("server")]
    assert all(end is not None for end in ends)
    assert NO_PROGRESS in [end.detail for end in ends if end is not None]
    assert below.client.state is below.server.state is SessionState.FINISHED
