"""Message assembly: CmdID numbering, MaxMsgSize splitting, large-object chunks.

OMA-TS-DM_Protocol-V1_2_1 §2.1; OMA-TS-DM_RepPro-V1_2_1 §4.1.3: a message never exceeds the peer's
MaxMsgSize, measured on the encoded bytes (XML or WBXML); a command is never split across messages
— only a single large item *value* is, via Large Object chunking (OMA-TS-DM_Protocol-V1_2_1 §2.2:
MoreData on every chunk but the last, Meta/Size on the first only, nothing after a chunk in the
same message). Results too big for one message are first split by Items (several
Results with the same CmdRef, OMA-TS-DM_TND-V1_2 §8.4).
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

from ..codec import Encoding, encode_message
from ..codec.model import (
    Atomic,
    Command,
    ItemCommand,
    Message,
    Meta,
    Results,
    Sequence,
    Status,
    SyncHdr,
    XmlData,
    trusted_evolve,
)
from ._ledger import ROOT

__all__ = [
    "Assembly",
    "Taken",
    "Unit",
    "assemble",
    "data_size",
    "join_data",
    "number",
    "plain",
    "statuses_first",
]

DataValue = str | bytes


@attrs.define(kw_only=True)
class Unit:
    """One command waiting to be sent (CmdIDs are assigned when serialised)."""

    command: Command
    #: Application handle when a Status is expected and reported; else None.
    handle: int | None = None
    #: Large-object id once chunking started; total size as transported.
    lo_id: int | None = None
    lo_total: int | None = None
    #: Already put off once to the next message instead of being chunked
    #: (OMA-TS-DM_Protocol-V1_2_1 §2.2); a second time it is chunked, so deferring always ends.
    deferred: bool = False


@attrs.frozen(kw_only=True)
class Taken:
    """A unit as it went out: its wire CmdIDs by path, and whether it was a
    non-final chunk (the peer answers 213)."""

    unit: Unit
    ids: tuple[tuple[str, str], ...]
    partial: bool


@attrs.frozen(kw_only=True)
class Assembly:
    """One built message and what is left of the queue."""

    message: Message
    body: bytes
    taken: tuple[Taken, ...]
    #: The queue after this message (chunk and Item-split remainders first).
    rest: tuple[Unit, ...] = ()
    #: Queued commands that cannot fit in any message (OMA-TS-DM_Protocol-V1_2_1 §2.3: a command,
    #: Atomic/Sequence included, MUST fit in one message): not sent.
    rejected: tuple[Unit, ...] = ()


def _bound(before: Unit, unit: Unit) -> bool:
    """*unit* is Results answering the same command as *before* (its Status or an
    earlier Results of it)."""
    first, second = before.command, unit.command
    return (
        isinstance(second, Results)
        and isinstance(first, Status | Results)
        and (first.msg_ref, first.cmd_ref) == (second.msg_ref, second.cmd_ref)
    )


def _partition(units: list[Unit], lo_open: bool) -> tuple[list[Unit], list[Unit], list[Unit]]:
    """(front, pairs, rest): *front* = Statuses, each with the Results directly
    after it (in order); *pairs* = those Statuses that carry Results, with them."""
    front: list[Unit] = []
    rest: list[Unit] = []
    heads: set[int] = set()
    previous: Unit | None = None
    for unit in units:
        if isinstance(unit.command, Status):
            front.append(unit)
        elif not lo_open and front and front[-1] is previous and _bound(front[-1], unit):
            heads.add(id(front[-1]))
            front.append(unit)
        else:
            rest.append(unit)
        previous = unit
    pairs: list[Unit] = []
    in_pair = False
    for unit in front:
        in_pair = id(unit) in heads or (in_pair and not isinstance(unit.command, Status))
        if in_pair:
            pairs.append(unit)
    return front, pairs, rest


def statuses_first(pending: list[Unit], answers: list[Unit]) -> list[Unit]:
    """Order our *pending* units and the new *answers* for the next message.

    OMA-TS-DM_Protocol-V1_2_1 §2.1: a Status answers each Alert (1222 included) in our next
    message, so Statuses go first and never wait behind Results or large-object chunks.
    OMA-TS-DM_RepPro-V1_2_1 §4.1.6: Results follow their Status, so Results directly after their
    Status stay with it, in command order — except while one of our large objects is
    mid-transfer (OMA-TS-DM_Protocol-V1_2_1 §2.2: nothing new may start before its next chunk), when
    Results wait behind it. Status+Results pairs left over from earlier messages
    go after the Statuses without Results (so a Next-Message exchange is answered
    at once). Everything else keeps its order (chunk and Item-split remainders
    first, then our own commands).
    """
    lo_open = any(unit.lo_id is not None for unit in pending)
    old_front, old_pairs, old_rest = _partition(pending, lo_open)
    new_front, new_pairs, new_rest = _partition(answers, lo_open)
    if old_pairs:
        paired = {id(unit) for unit in (*old_pairs, *new_pairs)}
        old_single = [u for u in old_front if id(u) not in paired]
        new_single = [u for u in new_front if id(u) not in paired]
        front = [*old_single, *new_single, *old_pairs, *new_pairs]
    else:
        front = [*old_front, *new_front]
    return [*front, *old_rest, *new_rest]


def plain(data: str | bytes | XmlData | None) -> str | bytes | None:
    """An item value as text or bytes (XML markup in Data as its text)."""
    return data.text if isinstance(data, XmlData) else data


def data_size(data: str | bytes | XmlData | None) -> int:
    """Size of an item value as transported (OMA-TS-DM_Protocol-V1_2_1 §2.2: bytes; b64 text
    length)."""
    data = plain(data)
    if data is None:
        return 0
    if isinstance(data, str):
        return len(data.encode("utf-8", "surrogatepass"))
    return len(data)


def join_data(parts: list[str | bytes]) -> str | bytes:
    """Concatenate chunk values (text stays text; any binary part makes it binary)."""
    if all(isinstance(part, str) for part in parts):
        return "".join(part for part in parts if isinstance(part, str))
    return b"".join(
        part.encode("utf-8", "surrogatepass") if isinstance(part, str) else part for part in parts
    )


def number(
    command: Command, counter: list[int], path: str = ROOT
) -> tuple[Command, list[tuple[str, str]]]:
    """Assign CmdIDs (OMA-TS-DM_RepPro-V1_2_1 §4.1.1: unique in the message, never 0, nested
    included)."""
    cmd_id = str(counter[0])
    counter[0] += 1
    ids = [(path, cmd_id)]
    if isinstance(command, Atomic | Sequence):
        children: list[Command] = []
        for index, child in enumerate(command.commands):
            numbered, child_ids = number(child, counter, f"{path}.{index}")
            children.append(numbered)
            ids.extend(child_ids)
        return trusted_evolve(command, cmd_id=cmd_id, commands=tuple(children)), ids
    return trusted_evolve(command, cmd_id=cmd_id), ids


def _encode(
    header: SyncHdr,
    lead: list[Command],
    units: list[Unit],
    extra: Unit | None,
    final: bool,
    encoding: Encoding,
) -> tuple[Message, bytes, list[list[tuple[str, str]]]]:
    counter = [1]
    commands: list[Command] = []
    for command in lead:
        numbered, _ = number(command, counter)
        commands.append(numbered)
    all_ids: list[list[tuple[str, str]]] = []
    for unit in [*units, *([extra] if extra is not None else [])]:
        numbered, ids = number(unit.command, counter)
        commands.append(numbered)
        all_ids.append(ids)
    message = Message(header=header, commands=commands, final=final)
    return message, encode_message(message, encoding), all_ids


def _chunkable(unit: Unit) -> bool:
    command = unit.command
    if not isinstance(command, ItemCommand | Results) or len(command.items) != 1:
        return False
    data = command.items[0].data
    return data is not None and data_size(data) > 1


def _next_lead(lead: list[Command], chal_recurs: bool) -> list[Command]:
    """What leads our next message, for size estimates: the SyncHdr Status (without
    Chal unless it recurs) and the Status answering the peer's Alert 1222
    (OMA-TS-DM_Protocol-V1_2_1 §2.1)."""
    bare: list[Command] = []
    for status in lead:  # (only Package 1 has no lead, and it has no size limit)
        assert isinstance(status, Status)
        answer = Status(cmd_id=None, msg_ref=status.msg_ref, cmd_ref="2", cmd="Alert", code=200)
        bare += [status if chal_recurs else attrs.evolve(status, chal=None), answer]
    return bare


def _deferrable(unit: Unit) -> bool:
    """A whole value not yet chunked nor put off before (see :func:`assemble`)."""
    return _chunkable(unit) and unit.lo_id is None and not unit.deferred


def _split_chunk(unit: Unit, length: int, lo_id: int) -> tuple[Unit, Unit]:
    """(chunk, remainder): the first *length* units of the value, and the rest."""
    command = unit.command
    assert isinstance(command, ItemCommand | Results)
    item = command.items[0]
    data = plain(item.data)
    assert data is not None
    total = unit.lo_total if unit.lo_total is not None else data_size(data)
    meta = item.meta
    if unit.lo_id is None:
        # OMA-TS-DM_Protocol-V1_2_1 §2.2: Meta/Size (total size as transported) in the first chunk
        # only.
        meta = attrs.evolve(meta, size=total) if meta is not None else Meta(size=total)
    chunk_item = attrs.evolve(item, data=data[:length], meta=meta, more_data=True)
    rest_meta = attrs.evolve(item.meta, size=None) if item.meta is not None else None
    rest_item = attrs.evolve(item, data=data[length:], meta=rest_meta, more_data=False)
    lo = unit.lo_id if unit.lo_id is not None else lo_id
    chunk = Unit(
        command=attrs.evolve(command, items=(chunk_item,)),
        handle=unit.handle,
        lo_id=lo,
        lo_total=total,
    )
    remainder = Unit(
        command=attrs.evolve(command, items=(rest_item,)),
        handle=unit.handle,
        lo_id=lo,
        lo_total=total,
    )
    return chunk, remainder


def _value_length(unit: Unit) -> int:
    command = unit.command
    assert isinstance(command, ItemCommand | Results)
    return len(plain(command.items[0].data) or "")


def _split_items(unit: Unit) -> tuple[Unit, Unit] | None:
    """Halve a multi-Item Results or untracked command (DevInfo Replace) that does
    not fit; a tracked command keeps its one wire identity (one Status)."""
    command = unit.command
    if not isinstance(command, Results | ItemCommand) or len(command.items) < 2:
        return None
    if unit.handle is not None and not isinstance(command, Results):
        return None
    half = len(command.items) // 2
    first = attrs.evolve(command, items=command.items[:half])
    second = attrs.evolve(command, items=command.items[half:])
    return Unit(command=first, handle=unit.handle), Unit(command=second, handle=unit.handle)


def _largest(lo: int, hi: int, fits: Callable[[int], bool]) -> int:
    """Largest n in [lo, hi] with fits(n), assuming monotonic; lo - 1 if none."""
    best = lo - 1
    while lo <= hi:
        mid = (lo + hi) // 2
        if fits(mid):
            best, lo = mid, mid + 1
        else:
            hi = mid - 1
    return best


def assemble(
    header: SyncHdr,
    lead: list[Command],
    units: list[Unit],
    *,
    limit: int | None,
    encoding: Encoding,
    final: bool,
    next_lo_id: int,
    truncate: bool = False,
    fresh_ref: str | None = None,
    chal_recurs: bool = False,
    close: bool = False,
) -> Assembly:
    """Build the next message: *lead* (SyncHdr Status, always sent) then as many
    *units* as fit in *limit* bytes; Final only when *final* and everything fits —
    or, with *close* (a server), when what is left is only our own commands (see
    the end of this function).
    *fresh_ref* is the MsgID of the peer message our newest Statuses answer (they
    recur in every message of a Next-Message exchange). *chal_recurs*: our SyncHdr
    Status carries a Chal in every message (HMAC, OMA-TS-DM_Security-V1_2_1 §5.1), not only this
    once.
    """

    def fits(k: int, extra: Unit | None = None) -> bool:
        # Measured with Final when this package could close: a message that ends up
        # holding everything must have room for it (else it would go out without
        # Final and nothing would follow).
        _, body, _ = _encode(header, lead, units[:k], extra, final, encoding)
        return limit is None or len(body) <= limit

    def fits_alone(alone: list[Unit]) -> bool:
        # An otherwise empty next message: our SyncHdr without Cred, the SyncHdr
        # Status (no Chal but with HMAC) and the Status for the peer's 1222 (optimistic;
        # a unit is put off only once, so a wrong guess costs one message).
        next_header = attrs.evolve(header, cred=None)
        next_lead = _next_lead(lead, chal_recurs)
        _, body, _ = _encode(next_header, next_lead, alone, None, final, encoding)
        return limit is None or len(body) <= limit

    message, body, ids = _encode(header, lead, units, None, final, encoding)
    if limit is None or len(body) <= limit:
        taken = tuple(
            Taken(unit=u, ids=tuple(i), partial=False) for u, i in zip(units, ids, strict=True)
        )
        return Assembly(message=message, body=body, taken=taken)
    if not units:
        # Only the lead (our SyncHdr and the Statuses that must go now), and even that
        # exceeds the peer's MaxMsgSize (a peer may announce as little as MIN_MSG_SIZE):
        # no smaller message exists, so it goes as it is and the peer decides (found by
        # fuzzing: this used to raise IndexError).
        return Assembly(message=message, body=body, taken=())
    if truncate:
        # An authentication-failure answer: what does not fit is dropped (the peer
        # sends its package again anyway) and the message stays Final.
        def fits_final(k: int) -> bool:
            return len(_encode(header, lead, units[:k], None, final, encoding)[1]) <= limit

        k = max(_largest(0, len(units), fits_final), 0)
        message, body, ids = _encode(header, lead, units[:k], None, final, encoding)
        taken = tuple(
            Taken(unit=u, ids=tuple(i), partial=False) for u, i in zip(units, ids, strict=False)
        )
        return Assembly(message=message, body=body, taken=taken)
    # OMA-TS-DM_Protocol-V1_2_1 §2.1: the rest goes in later messages of the package; no Final here.
    k = max(_largest(0, len(units) - 1, fits), 0)
    extra: Unit | None = None
    remainder: tuple[Unit, ...] = ()
    consumed = k
    # units[k] does not fit whole (k < len(units): all of them did not fit): split
    # it by Items (untracked commands, Results) and then, for a single large value,
    # into a chunk (OMA-TS-DM_Protocol-V1_2_1 §2.2).
    unit, rests = units[k], list[Unit]()
    while not fits(k, unit):
        halves = _split_items(unit)
        if halves is None:
            break
        unit, rest = halves
        rests.insert(0, rest)
    if fits(k, unit):
        extra, remainder, consumed = unit, tuple(rests), k + 1
    elif (
        unit is units[k]
        and _deferrable(unit)
        and fits_alone(units[k - (bound := int(k > 0 and _bound(units[k - 1], unit))) : k + 1])
    ):
        # OMA-TS-DM_Protocol-V1_2_1 §2.2: "Objects fitting in one message MUST NOT use MoreData":
        # the value fits whole in an otherwise empty message, so the command (with its
        # Status for Results, OMA-TS-DM_RepPro-V1_2_1 §4.1.6) waits for the next message instead of
        # being chunked — once: if the next message still has no room, it is
        # chunked there (so this cannot repeat even when only the SyncHdr Status
        # goes now: the next message has more room, without Chal/Cred).
        units = [*units[:k], attrs.evolve(unit, deferred=True), *units[k + 1 :]]
        k = consumed = k - bound
    elif _chunkable(unit):
        size = _value_length(unit)
        length = _largest(1, size - 1, lambda n: fits(k, _split_chunk(unit, n, next_lo_id)[0]))
        if length >= 1:
            chunk, rest = _split_chunk(unit, length, next_lo_id)
            extra, remainder, consumed = chunk, (rest, *rests), k + 1
    if (
        extra is None
        and k > 0
        and _bound(units[k - 1], units[k])
        and any(
            not (isinstance(u.command, Status) and u.command.msg_ref == fresh_ref)
            for u in units[: k - 1]
        )
    ):
        # OMA-TS-DM_RepPro-V1_2_1 §4.1.6: Results follow their Status; when not even a piece of the
        # Results fits here, the Status waits for the next message with them (only
        # when this message still sends something that will not recur, so the
        # pair cannot be put off for ever).
        k = consumed = k - 1
    if extra is None and units[k].handle is not None and not _chunkable(units[k]):
        # The next queued command does not fit even in the smallest next message
        # (no Cred, SyncHdr Status without Chal, the Status for the peer's Alert
        # 1222 asking for it): never sendable (OMA-TS-DM_Protocol-V1_2_1 §2.3: a command,
        # Atomic/Sequence included, MUST fit in one message). Leave it out (the caller completes it
        # with 413), go on. (If a longer header than estimated never leaves the
        # room, the session's no-progress check ends the exchange.)
        bare = attrs.evolve(header, cred=None)
        alone = _encode(bare, _next_lead(lead, chal_recurs), [units[k]], None, False, encoding)[1]
        if len(alone) > limit:
            after = assemble(
                header,
                lead,
                [*units[:k], *units[k + 1 :]],
                limit=limit,
                encoding=encoding,
                final=final,
                next_lo_id=next_lo_id,
                fresh_ref=fresh_ref,
                chal_recurs=chal_recurs,
                close=close,
            )
            return attrs.evolve(after, rejected=(units[k], *after.rejected))
    # (Here there is always a lead: only Package 1 has none, and it goes out before
    # the peer's MaxMsgSize is known. A lead-only message still makes progress: the
    # next one has more room, without Chal/Cred.)
    sent = units[:k] + ([extra] if extra is not None else [])
    chunking = extra is not None and bool(remainder) and extra.lo_id is not None
    left = (*remainder, *units[consumed:])
    # OMA-TS-DM_Protocol-V1_2_1 §2.1 "Multiple Messages In Package": a server may
    # not send new commands to a client that has not yet returned a Status for the
    # previous ones, so a server package is one message except while a Large
    # Object is sent (chunk: no Final) or Statuses are still owed (a Next-Message
    # exchange). Commands that do not fit close the package with Final (measured
    # with it: *final*) and go, in order, into the next package. Never with no
    # command of ours in it: a Final package without commands ends the session.
    closing = (
        close
        and final
        and not chunking
        and not any(isinstance(u.command, Status) for u in left)
        and any(u.handle is not None for u in sent)
    )
    message, body, ids = _encode(header, lead, sent, None, closing, encoding)
    taken = tuple(
        Taken(unit=u, ids=tuple(i), partial=u is extra and chunking)
        for u, i in zip(sent, ids, strict=True)
    )
    return Assembly(message=message, body=body, taken=taken, rest=left)
