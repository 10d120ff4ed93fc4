"""DM-profile bootstrap: a MAC-verified WBXML DM message creates the account(s);
a bad MAC or any failure changes nothing (OMA-TS-DM_Bootstrap-V1_2_1 §3.1)."""

from __future__ import annotations

import pytest
from treekit import (
    get,
    item,
    state,
    std_tree,
)

from dmproto.codec.model import (
    Add,
    Atomic,
    Command,
    Delete,
    Get,
    Replace,
)
from dmproto.errors import InvalidValueError, MalformedMessageError
from dmproto.security.bootstrap import (
    SecurityMethod,
    bootstrap_mac,
    format_bootstrap_content_type,
)
from dmproto.testing import bootstrap_message, dmacc_tnds
from dmproto.tree.bootstrap import BootstrapStatus, apply_bootstrap
from dmproto.tree.cp import W7Application, apply_w7
from dmproto.tree.stdobj import (
    find_account,
)
from dmproto.tree.tnds_io import tnds_item

IMSI = "001010123456789"


def signed(document: bytes, method: SecurityMethod = SecurityMethod.NETWORKID) -> str:
    mac = bootstrap_mac(document, method=method, network_id=IMSI, pin="1234")
    return format_bootstrap_content_type(mac=mac, method=method)


def test_valid_bootstrap_creates_account_via_inbox_tnds() -> None:
    tree = std_tree()
    doc = bootstrap_message(
        IMSI, Add(cmd_id="1", items=[tnds_item("./Inbox", dmacc_tnds("acc", "srv.one"))])
    )
    result = apply_bootstrap(tree, doc, signed(doc), network_id=IMSI)
    assert result.status is BootstrapStatus.APPLIED
    assert [o.code for o in result.outcomes] == [200]
    info = find_account(tree, "srv.one")
    assert info is not None and info.uri == "./DMAcc/acc"
    assert info.server_address == "https://srv.one/dm"
    # ACLs come from the TNDS (OMA-TS-DM_Bootstrap-V1_2_1 §3.1)
    assert str(tree.node(("DMAcc", "acc")).acl) == "Get=srv.one&Replace=srv.one"  # type: ignore[union-attr]


def test_bootstrap_with_plain_adds_and_userpin() -> None:
    tree = std_tree()
    doc = bootstrap_message(
        IMSI,
        Add(cmd_id="1", items=[item("./DMAcc/b", fmt="node"), item("./DMAcc/b/ServerID", "s2")]),
        Replace(cmd_id="2", items=[item("./DMAcc/b/ServerID", "s3")]),
    )
    ctype = signed(doc, SecurityMethod.USERPIN)
    assert apply_bootstrap(tree, doc, ctype, pin="1234").status is BootstrapStatus.APPLIED
    assert find_account(tree, "s3") is not None


@pytest.mark.parametrize("tamper", ["flip-byte", "wrong-key", "no-mac"])
def test_bad_mac_changes_nothing(tamper: str) -> None:
    tree = std_tree()
    before = state(tree)
    doc = bootstrap_message(
        IMSI, Add(cmd_id="1", items=[tnds_item("./Inbox", dmacc_tnds("acc", "x"))])
    )
    ctype = signed(doc)
    if tamper == "flip-byte":
        doc = doc[:-3] + bytes([doc[-3] ^ 1]) + doc[-2:]
    elif tamper == "no-mac":
        ctype = "application/vnd.syncml.dm+wbxml"
    network_id = "999" if tamper == "wrong-key" else IMSI
    assert (
        apply_bootstrap(tree, doc, ctype, network_id=network_id).status is BootstrapStatus.BAD_MAC
    )
    assert state(tree) == before


def test_failing_command_rolls_back_everything() -> None:
    tree = std_tree()
    before = state(tree)
    doc = bootstrap_message(
        IMSI,
        Add(cmd_id="1", items=[tnds_item("./Inbox", dmacc_tnds("acc", "srv.one"))]),
        Add(cmd_id="2", items=[item("./DevInfo/DevId", "dup")]),
    )
    result = apply_bootstrap(tree, doc, signed(doc), network_id=IMSI)
    assert result.status is BootstrapStatus.FAILED
    assert [o.code for o in result.outcomes] == [200, 418]
    assert state(tree) == before


@pytest.mark.parametrize(
    "command",
    [Get(cmd_id="1", items=[item("./DevInfo")]), Delete(cmd_id="1", items=[item("./DMAcc")])],
)
def test_only_add_and_replace_are_allowed(command: Command) -> None:
    tree = std_tree()
    before = state(tree)
    doc = bootstrap_message(IMSI, command)
    assert apply_bootstrap(tree, doc, signed(doc), network_id=IMSI).status is BootstrapStatus.FAILED
    assert state(tree) == before


def test_xml_or_garbage_is_malformed_and_bad_content_type_raises() -> None:
    tree = std_tree()
    xml = b"<SyncML xmlns='SYNCML:SYNCML1.2'></SyncML>"
    assert (
        apply_bootstrap(tree, xml, signed(xml), network_id=IMSI).status is BootstrapStatus.MALFORMED
    )
    junk = b"\x02\x00\x00"
    assert (
        apply_bootstrap(tree, junk, signed(junk), network_id=IMSI).status
        is BootstrapStatus.MALFORMED
    )
    with pytest.raises(MalformedMessageError):
        apply_bootstrap(
            tree, junk, "application/vnd.syncml.dm+wbxml; SEC=NETWORKID; MAC=zz", network_id=IMSI
        )


# -- CP profile (w7) ----------------------------------------------------------------


def test_w7_application_maps_to_dmacc() -> None:
    from dmproto.tree.cp import W7AppAuth

    tree = std_tree()
    app = W7Application(
        provider_id="cp.server",
        addr="https://cp.server/dm",
        name="Operator",
        port=8443,
        auths=(
            W7AppAuth(level="APPSRV", auth_type="DIGEST", name="dev", secret="p1", data=b"n1"),
            W7AppAuth(level="CLIENT", auth_type="DIGEST", name="srv", secret="p2", data=b"n2"),
        ),
    )
    uri = apply_w7(tree, app)
    info = find_account(tree, "cp.server")
    assert info is not None and info.uri == uri
    assert (info.client_username, info.client_nonce) == ("dev", b"n1")
    assert (info.server_username, info.server_nonce) == ("srv", b"n2")
    assert str(tree.node_at(uri).acl) == "Get=cp.server&Replace=cp.server&Delete=cp.server"  # type: ignore[union-attr]


@pytest.mark.parametrize("bad", ["appid", "level"])
def test_w7_rejects_foreign_or_unknown_values(bad: str) -> None:
    from dmproto.tree.cp import W7AppAuth, W7Application, apply_w7

    tree = std_tree()
    before = state(tree)
    app = W7Application(
        provider_id="p",
        addr="http://p/",
        app_id="w4" if bad == "appid" else "w7",
        auths=(W7AppAuth(level="NOPE" if bad == "level" else "APPSRV", auth_type="BASIC"),),
    )
    with pytest.raises(InvalidValueError):
        apply_w7(tree, app)
    assert state(tree) == before


# -- bootstrap of standard nodes -----------------------------------------------------


def test_bootstrap_sets_an_acl_without_server_checks() -> None:
    tree = std_tree()
    doc = bootstrap_message(
        IMSI,
        Add(cmd_id="1", items=[item("./DMAcc/b", fmt="node"), item("./DMAcc/b/ServerID", "s2")]),
        Replace(cmd_id="2", items=[item("./DMAcc/b?prop=ACL", "Get=s2")]),
    )
    assert apply_bootstrap(tree, doc, signed(doc), network_id=IMSI).status is (
        BootstrapStatus.APPLIED
    )
    assert str(tree.node(("DMAcc", "b")).acl) == "Get=s2"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("inner", "status"),
    [
        (Add(cmd_id="2", items=[item("./DMAcc/c", fmt="node")]), BootstrapStatus.APPLIED),
        (Replace(cmd_id="2", items=[item("./DevInfo/Lang", "x")]), BootstrapStatus.FAILED),
    ],
)
def test_bootstrap_atomic(inner: Add | Replace, status: BootstrapStatus) -> None:
    tree = std_tree()
    before = state(tree)
    doc = bootstrap_message(IMSI, Atomic(cmd_id="1", commands=[inner]))
    assert apply_bootstrap(tree, doc, signed(doc), network_id=IMSI).status is status
    assert (tree.node(("DMAcc", "c")) is not None) is (status is BootstrapStatus.APPLIED)
    if status is BootstrapStatus.FAILED:
        assert state(tree) == before


def test_bootstrap_atomic_with_get_is_refused() -> None:
    tree = std_tree()
    doc = bootstrap_message(IMSI, Atomic(cmd_id="1", commands=[get("./DevInfo")]))
    assert apply_bootstrap(tree, doc, signed(doc), network_id=IMSI).status is (
        BootstrapStatus.FAILED
    )
