"""Fuzz target for the DM-profile bootstrap, end to end: ``apply_bootstrap`` on a tree.

A bootstrap is a WBXML DM message whose MAC travels in its Content-Type
(``SEC=<method>; MAC=<hex>``, OMA-TS-DM_Bootstrap-V1_2_1 §3.1). Fuzzed bytes alone
almost never carry a right MAC, so the target computes one: the input is read as

* byte 0, the *selector*, and the rest;
* selectors 0–11 (``selector % 16``): the rest is the document, signed with the
  fixed network id / PIN by one of the three SEC methods ``dmproto.security.bootstrap``
  implements (``selector % 3``), the Content-Type written in one of four valid
  spellings (``selector // 3 % 4``: as ``format_bootstrap_content_type`` writes it,
  lower-case names, quoted values, the MAC first among other parameters);
* selectors 12 and 13: the rest is a length byte *n*, a Content-Type of *n* bytes
  (latin-1, as HTTP or WSP delivers it) and the document: malformed Content-Types,
  for which ``MalformedMessageError`` is the documented error;
* selector 14: likewise, with a right ``SEC``/``MAC`` pair appended to the fuzzed
  Content-Type, so a Content-Type that parses always carries a right MAC;
* selector 15: the document, signed with the wrong key: the MAC must fail.

The document is applied to two fresh standard device trees (DevInfo, DevDetail,
DMAcc, Inbox; fixed clock). Invariants, checked on every input:

* only ``MalformedMessageError`` escapes, and only where the Content-Type is fuzzed;
* the result is a ``BootstrapResult`` whose status is a ``BootstrapStatus``;
* the bootstrap leaves no savepoint open;
* unless the status is APPLIED (or when ``MalformedMessageError`` escapes) the tree is
  exactly as it was: every stored node (value and every property, compared as
  values), the DDF rules, the pending Execs and the queued Generic Alerts
  (OMA-TS-DM_Bootstrap-V1_2_1 §3.1: all or nothing);
* APPLIED means every outcome, nested ones too, has a code below 300;
* BAD_MAC never comes back when the target computed the right MAC, and always when
  it signed with the wrong key; BAD_MAC and MALFORMED carry no outcomes;
* the two runs end alike: the same result (or the same error reason) and equal trees.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from dmproto.codec.model import (
    Add,
    Atomic,
    Delete,
    Get,
    Item,
    Location,
    Meta,
    Replace,
    Sequence,
)
from dmproto.errors import MalformedMessageError
from dmproto.outcome import CommandOutcome
from dmproto.security.bootstrap import (
    SecurityMethod,
    bootstrap_mac,
    format_bootstrap_content_type,
)
from dmproto.testing import bootstrap_message, dmacc_tnds
from dmproto.tree import ManagementTree
from dmproto.tree.bootstrap import BootstrapResult, BootstrapStatus, apply_bootstrap
from dmproto.tree.stdobj import DeviceInfo, build_device_tree
from dmproto.tree.tnds_io import tnds_item

__all__ = ["NETWORK_ID", "PIN", "TARGETS", "bootstrap", "content_type", "seed_inputs"]

NETWORK_ID = "001010123456789"  #: the device's network secret (an IMSI)
PIN = "1234"  #: the user PIN
_WRONG_NETWORK_ID = "001010123456780"
_WRONG_PIN = "4321"
_METHODS = (SecurityMethod.NETWORKID, SecurityMethod.USERPIN, SecurityMethod.USERPIN_NETWORKID)
_MEDIA_TYPE = "application/vnd.syncml.dm+wbxml"
#: Selectors (``data[0] % 16``) of the special paths; the lower ones sign correctly.
FUZZED_CONTENT_TYPE = (12, 13)
FUZZED_WITH_MAC = 14
WRONG_KEY = 15
_DEVICE = DeviceInfo(dev_id="IMEI:000000011234564", man="ACME", mod="X1")


def content_type(mac: str, method: SecurityMethod, spelling: int) -> str:
    """A valid bootstrap Content-Type in one of four spellings (OMA-TS-DM_Bootstrap-V1_2_1
    §3.1; names are case-insensitive and values may be quoted, as in RFC 2045)."""
    if spelling == 0:
        return format_bootstrap_content_type(mac=mac, method=method)
    if spelling == 1:
        return f"{_MEDIA_TYPE};sec={method.value.lower()};mac={mac.upper()}"
    if spelling == 2:
        return f'{_MEDIA_TYPE}; SEC="{method.value}"; MAC="{mac}"'
    return f"{_MEDIA_TYPE.upper()} ; MAC={mac} ; charset=utf-8 ; SEC={method.value} ;"


def _mac(document: bytes, method: SecurityMethod, *, right: bool = True) -> str:
    if right:
        return bootstrap_mac(document, method=method, network_id=NETWORK_ID, pin=PIN)
    return bootstrap_mac(document, method=method, network_id=_WRONG_NETWORK_ID, pin=_WRONG_PIN)


def _split(data: bytes) -> tuple[bytes, str, bool, bool]:
    """The document, its Content-Type, whether that was fuzzed, whether the MAC is right."""
    selector, rest = data[0] % 16, data[1:]
    if selector in FUZZED_CONTENT_TYPE or selector == FUZZED_WITH_MAC:
        size = rest[0] if rest else 0
        fuzzed, document = rest[1 : 1 + size].decode("latin-1"), rest[1 + size :]
        if selector == FUZZED_WITH_MAC:
            method = _METHODS[data[0] // 16 % 3]
            mac = _mac(document, method)
            return document, f"{fuzzed}; SEC={method.value}; MAC={mac}", True, True
        return document, fuzzed, True, False
    if selector == WRONG_KEY:
        method = _METHODS[data[0] // 16 % 3]
        return (
            rest,
            format_bootstrap_content_type(_mac(rest, method, right=False), method),
            False,
            False,
        )
    method = _METHODS[selector % 3]
    return rest, content_type(_mac(rest, method), method, selector // 3 % 4), False, True


def _snapshot(tree: ManagementTree) -> tuple[object, ...]:
    """Everything a bootstrap could change: every stored node by path (the savepoint's
    copy of the store, so a node no path reaches counts too; nodes are frozen values
    compared field by field, value and properties), the DDF rules, the pending Execs
    and the queued Generic Alerts (taken; the tree is the target's own)."""
    assert not tree.in_transaction, "a savepoint was left open"
    point = tree.savepoint()
    tree.release(point)
    return (
        point.nodes,
        tree.paths(),
        dict(tree.ddf.rules),
        tree.pending_execs(),
        tree.take_generic_alerts(),
    )


def _failed(outcome: CommandOutcome) -> bool:
    return outcome.code >= 300 or any(_failed(child) for child in outcome.children)


def _all_codes(outcomes: Iterable[CommandOutcome]) -> Iterable[int]:
    for outcome in outcomes:
        yield outcome.code
        yield from _all_codes(outcome.children)


def _apply(document: bytes, ctype: str) -> tuple[BootstrapResult | str, tuple[object, ...]]:
    """Apply once to a fresh tree; the result (or the escaped error's reason) and the
    tree's state after. Checks the per-run invariants."""
    tree = build_device_tree(_DEVICE, clock=lambda: "20260101T000000Z")
    before = _snapshot(tree)
    try:
        result = apply_bootstrap(tree, document, ctype, network_id=NETWORK_ID, pin=PIN)
    except MalformedMessageError as exc:
        after = _snapshot(tree)
        assert after == before, "a malformed Content-Type changed the tree"
        return f"malformed:{exc.reason}", after
    after = _snapshot(tree)
    assert isinstance(result, BootstrapResult), result
    assert isinstance(result.status, BootstrapStatus), result
    assert all(isinstance(o, CommandOutcome) for o in result.outcomes), result
    if result.status is BootstrapStatus.APPLIED:
        codes = list(_all_codes(result.outcomes))
        assert all(100 <= code < 300 for code in codes), result
    else:
        assert after == before, f"{result.status.name} changed the tree"
    if result.status in (BootstrapStatus.BAD_MAC, BootstrapStatus.MALFORMED):
        assert result.outcomes == (), result
    if result.status is BootstrapStatus.FAILED and result.outcomes:
        assert _failed(result.outcomes[-1]), result
        assert not any(_failed(o) for o in result.outcomes[:-1]), result
    return result, after


def bootstrap(data: bytes) -> None:
    """Sign (or not) and apply the document in *data* twice; check the invariants."""
    if not data:
        return
    document, ctype, fuzzed, right_mac = _split(data)
    first, first_tree = _apply(document, ctype)
    if isinstance(first, str):
        assert fuzzed, f"MalformedMessageError for a Content-Type the target built: {ctype!r}"
    elif right_mac:
        assert first.status is not BootstrapStatus.BAD_MAC, ctype
    elif not fuzzed:
        assert first.status is BootstrapStatus.BAD_MAC, ctype
    second, second_tree = _apply(document, ctype)
    assert first == second, (first, second)
    assert first_tree == second_tree, "two runs of the same bootstrap left different trees"


# -- seeds --------------------------------------------------------------------------


def _item(uri: str, data: str | None = None, fmt: str | None = None) -> Item:
    return Item(target=Location(loc_uri=uri), meta=Meta(format=fmt) if fmt else None, data=data)


def _documents() -> dict[str, bytes]:
    """Valid bootstrap documents of every shape the bootstrap treats differently."""
    plain = [_item("./DMAcc/b", fmt="node"), _item("./DMAcc/b/ServerID", "s2", "chr")]
    return {
        "add-dmacc-tnds": bootstrap_message(
            NETWORK_ID, Add(cmd_id="1", items=[tnds_item("./Inbox", dmacc_tnds("acc", "srv.one"))])
        ),
        "add-replace": bootstrap_message(
            NETWORK_ID,
            Add(cmd_id="1", items=plain),
            Replace(cmd_id="2", items=[_item("./DMAcc/b/ServerID", "s3", "chr")]),
            Replace(cmd_id="3", items=[_item("./DMAcc/b?prop=ACL", "Get=s3&Replace=s3")]),
        ),
        "atomic-two-adds": bootstrap_message(
            NETWORK_ID,
            Atomic(
                cmd_id="1",
                commands=[
                    Add(cmd_id="2", items=[_item("./DMAcc/c", fmt="node")]),
                    Add(cmd_id="3", items=[_item("./DMAcc/c/ServerID", "s4", "chr")]),
                ],
            ),
        ),
        "sequence-add-replace": bootstrap_message(
            NETWORK_ID,
            Sequence(
                cmd_id="1",
                commands=[
                    Add(cmd_id="2", items=plain),
                    Replace(cmd_id="3", items=[_item("./DMAcc/b/ServerID", "s5", "chr")]),
                ],
            ),
        ),
        "get-not-allowed": bootstrap_message(
            NETWORK_ID, Get(cmd_id="1", items=[_item("./DevInfo")])
        ),
        "delete-not-allowed": bootstrap_message(
            NETWORK_ID, Delete(cmd_id="1", items=[_item("./DMAcc")])
        ),
        "second-add-fails": bootstrap_message(
            NETWORK_ID,
            Add(cmd_id="1", items=[tnds_item("./Inbox", dmacc_tnds("acc", "srv.one"))]),
            Add(cmd_id="2", items=[_item("./DevInfo/DevId", "dup", "chr")]),
        ),
        "atomic-replace-fails": bootstrap_message(
            NETWORK_ID,
            Atomic(
                cmd_id="1",
                commands=[
                    Add(cmd_id="2", items=[_item("./DMAcc/c", fmt="node")]),
                    Replace(cmd_id="3", items=[_item("./DevInfo/Lang", "x", "chr")]),
                ],
            ),
        ),
    }


def seed_inputs() -> dict[str, bytes]:
    """The committed seeds (``fuzz/corpus/bootstrap/<name>``): each document signed by
    each SEC method (selectors 0–2), in the other spellings, with its right Content-Type
    given as the fuzzed one (selector 12) and signed with the wrong key (selector 15)."""
    seeds: dict[str, bytes] = {}
    for name, document in _documents().items():
        for selector, method in enumerate(_METHODS):
            seeds[f"{name}-{method.value.lower().replace('_', '-')}"] = bytes([selector]) + document
        text = format_bootstrap_content_type(_mac(document, _METHODS[0]), _METHODS[0]).encode()
        seeds[f"{name}-content-type"] = bytes([12, len(text)]) + text + document
    document = _documents()["add-replace"]
    for selector in (3, 7, 11):
        seeds[f"add-replace-spelling-{selector // 3}"] = bytes([selector]) + document
    seeds["add-replace-prefix-and-mac"] = bytes([14, 7]) + b"a/b;x=y" + document
    seeds["add-replace-wrong-key"] = bytes([15]) + document
    return seeds


TARGETS: dict[str, Callable[[bytes], None]] = {"bootstrap": bootstrap}


if __name__ == "__main__":  # pragma: no cover - writes the seeds; run by hand
    import sys
    from pathlib import Path

    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "corpus" / "bootstrap"
    out.mkdir(parents=True, exist_ok=True)
    for seed_name, seed in seed_inputs().items():
        (out / seed_name).write_bytes(seed)
