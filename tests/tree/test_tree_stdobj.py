"""Standard objects (DevInfo, DevDetail, DMAcc, Inbox) and the account helpers
(OMA-TS-DM_StdObj-V1_2_1 §7.1; OMA-TS-DM_Security-V1_2_1 §5.1; OMA-TS-DM_Protocol-V1_2_1 §2.4)."""

from __future__ import annotations

import base64

import pytest
from treekit import (
    OPEN_ACL,
    add,
    add_node,
    copy,
    get,
    replace,
    std_tree,
    value,
)

from dmproto.codec.model import Meta
from dmproto.errors import InvalidValueError
from dmproto.session.events import NonceRole
from dmproto.tree import (
    ManagementTree,
    Node,
    NodeFormat,
    TreeCommandError,
)
from dmproto.tree.cp import W7Application, apply_w7
from dmproto.tree.stdobj import (
    AppAuth,
    AuthLevel,
    DMAccount,
    add_account,
    devinfo_items,
    find_account,
    store_nonce,
)

ACCOUNT = DMAccount(
    server_id="dm.example.com",
    addr="https://dm.example.com/manage",
    port=443,
    name="Example",
    aauth_pref="DIGEST",
    auths=(
        AppAuth(
            level=AuthLevel.CLCRED,
            auth_type="DIGEST",
            name="dev1",
            secret="cl-pass",
            data=b"\x01\x02",
        ),
        AppAuth(
            level=AuthLevel.SRVCRED, auth_type="DIGEST", name="srv", secret="sv-pass", data=b"\x03"
        ),
    ),
)


def test_standard_tree_layout_and_values() -> None:
    tree = std_tree(max_depth=8, lrg_obj=True, fw_v="1.0")
    assert value(tree, ".") == "DevInfo/DevDetail/DMAcc/Inbox"
    assert value(tree, "./DevInfo") == "DevId/Man/Mod/DmV/Lang"
    assert value(tree, "./DevInfo/DevId", "anyone") == "IMEI:000000011234564"
    assert value(tree, "./DevDetail/URI/MaxDepth") == "8"
    assert value(tree, "./DevDetail/FwV") == "1.0"
    out = tree.execute(get("./DevDetail/LrgObj"), server_id="s")
    assert out.results[0].data == "true" and out.results[0].meta == Meta(format="bool")
    assert value(tree, "./DevInfo?prop=Type") == "urn:oma:mo:oma-dm-devinfo:1.0"
    assert value(tree, "./DMAcc?prop=ACL") == ""
    assert value(tree, ".?prop=ACL") == "Add=*&Get=*"


def test_devinfo_and_devdetail_are_read_only_for_servers() -> None:
    tree = std_tree()
    tree.set_acl(".", "Add=*&Get=*&Replace=*&Delete=*")
    assert tree.execute(replace("./DevInfo/Man", "Evil"), server_id="s").code == 405
    assert tree.execute(add("./DevInfo/New", "x"), server_id="s").code == 425
    assert value(tree, "./DevInfo/Man") == "ACME"


def test_devinfo_items_for_package_1() -> None:
    items = devinfo_items(std_tree())
    assert [(i.source.loc_uri if i.source else None, i.data) for i in items] == [
        ("./DevInfo/DevId", "IMEI:000000011234564"),
        ("./DevInfo/Man", "ACME"),
        ("./DevInfo/Mod", "X1"),
        ("./DevInfo/DmV", "1.2"),
        ("./DevInfo/Lang", "en-US"),
    ]
    assert all(i.meta is None and i.target is None for i in items)


def test_add_and_find_account() -> None:
    tree = std_tree()
    assert add_account(tree, ACCOUNT) == "./DMAcc/1"
    info = find_account(tree, "dm.example.com")
    assert info is not None
    assert (info.uri, info.server_address, info.auth_pref) == (
        "./DMAcc/1",
        "https://dm.example.com/manage",
        "DIGEST",
    )
    assert (info.client_username, info.client_password, info.client_nonce) == (
        "dev1",
        "cl-pass",
        b"\x01\x02",
    )
    assert (info.server_username, info.server_password, info.server_nonce) == (
        "srv",
        "sv-pass",
        b"\x03",
    )
    assert "pass" not in repr(info) and "pass" not in repr(ACCOUNT)
    assert find_account(tree, "other") is None
    assert value(tree, "./DMAcc/1/AppID", "dm.example.com") == "w7"
    assert value(tree, "./DMAcc/1/AppAddr/1/Port/1/PortNbr", "dm.example.com") == "443"


def test_secrets_are_not_readable_by_get() -> None:
    tree = std_tree()
    add_account(tree, ACCOUNT)
    sid = "dm.example.com"
    assert value(tree, "./DMAcc/1/AppAuth/1/AAuthSecret", sid) == 405
    assert value(tree, "./DMAcc/1/AppAuth/1/AAuthData", sid) == 405
    assert value(tree, "./DMAcc/1/AppAuth/1/AAuthName", sid) == "dev1"
    out = tree.execute(get("./DMAcc/1?list=StructData"), server_id=sid)
    uris = [i.source.loc_uri for i in out.results if i.source]
    assert "./DMAcc/1/AppAuth/1/AAuthName" in uris
    assert not any(u.endswith(("AAuthSecret", "AAuthData")) for u in uris)
    # nor through Copy, nor in listings of the root (Inbox stays hidden as well)
    tree.set_acl(".", "Add=*&Get=*&Replace=*")
    copy_cmd = copy("./DMAcc/1/AppAuth/1/AAuthSecret", "./stolen")
    assert tree.execute(copy_cmd, server_id=sid).code == 405
    struct = tree.execute(get(".?list=Struct"), server_id=sid)
    listed = [i.source.loc_uri for i in struct.results if i.source]
    assert "./DMAcc/1/AppAuth/1/AAuthName" in listed and "./Inbox" not in listed
    assert not any(u.endswith(("AAuthSecret", "AAuthData")) for u in listed)
    # the account belongs to its server
    assert value(tree, "./DMAcc/1/ServerID", "someone.else") == 425


def test_store_nonce_updates_and_creates() -> None:
    tree = std_tree()
    add_account(tree, ACCOUNT)
    store_nonce(tree, "dm.example.com", AuthLevel.CLCRED, b"new-client-nonce")
    store_nonce(tree, "dm.example.com", AuthLevel.SRVCRED, b"new-server-nonce")
    info = find_account(tree, "dm.example.com")
    assert info is not None
    assert (info.client_nonce, info.server_nonce) == (b"new-client-nonce", b"new-server-nonce")
    bare = std_tree()
    add_account(bare, DMAccount(server_id="s2", addr="http://s2/"))
    store_nonce(bare, "s2", AuthLevel.SRVCRED, b"n")
    info2 = find_account(bare, "s2")
    assert info2 is not None and info2.server_nonce == b"n" and info2.client_nonce is None
    with pytest.raises(InvalidValueError):
        store_nonce(bare, "nobody", AuthLevel.CLCRED, b"x")


def test_store_nonce_from_session_event_roles() -> None:
    tree = std_tree()
    add_account(tree, ACCOUNT)
    store_nonce(tree, "dm.example.com", NonceRole.CLIENT, b"c")
    store_nonce(tree, "dm.example.com", NonceRole.SERVER, b"s")
    info = find_account(tree, "dm.example.com")
    assert info is not None and (info.client_nonce, info.server_nonce) == (b"c", b"s")


def test_account_created_by_server_commands_is_found() -> None:
    # The Android engine's "Factory Bootstrap" section, as DM commands.
    tree = std_tree()
    sid = "Scts"
    base = "./DMAcc/SampleServer"
    nonce = base64.b64encode(b"1234123412341234").decode()
    for cmd in (
        add_node(base),
        add(f"{base}/ServerID", sid),
        add(f"{base}/AppAddr/1/Addr", "http://127.0.0.1:80/Manage"),
        add(f"{base}/AppAddr/1/AddrType", "URI"),
        add(f"{base}/AAuthPref", "DIGEST"),
        add(f"{base}/AppAuth/1/AAuthLevel", "CLCRED"),
        add(f"{base}/AppAuth/1/AAuthName", "user"),
        add(f"{base}/AppAuth/1/AAuthSecret", "secret"),
        add(f"{base}/AppAuth/3/AAuthLevel", "SRVCRED"),
        add(f"{base}/AppAuth/3/AAuthData", nonce, fmt="b64"),
    ):
        assert tree.execute(cmd, server_id=sid).code == 200, cmd
    info = find_account(tree, sid)
    assert info is not None
    assert info.server_address == "http://127.0.0.1:80/Manage"
    assert info.client_password == "secret" and info.server_nonce == b"1234123412341234"
    # OMA-TS-DM_TND-V1_2 §8.3.7.1 creator rule: the server without Replace on ./DMAcc
    # owns its account (Get included, so it can read it back)
    assert value(tree, f"{base}?prop=ACL", sid) == "Add=Scts&Delete=Scts&Get=Scts&Replace=Scts"


# -- standard objects and CP --------------------------------------------------------------


def test_account_without_optional_auth_fields_and_devinfo_skips_interior() -> None:
    tree = std_tree()
    auth_entry = AppAuth(level=AuthLevel.SRVCRED, auth_type="BASIC")
    uri = add_account(tree, DMAccount(server_id="s", addr="https://s", auths=(auth_entry,)))
    auth = tree.node_at(f"{uri}/AppAuth")
    assert auth is not None and len(auth.children) == 1
    entry = f"{uri}/AppAuth/{auth.children[0]}"
    assert tree.node_at(f"{entry}/AAuthType") is not None
    for leaf in ("AAuthName", "AAuthSecret", "AAuthData"):
        assert tree.node_at(f"{entry}/{leaf}") is None
    before = [i.source.loc_uri for i in devinfo_items(tree) if i.source]
    tree.add_node(("DevInfo", "Ext"), Node(name="Ext", format=NodeFormat.NODE))
    assert [i.source.loc_uri for i in devinfo_items(tree) if i.source] == before


def test_w7_failure_rolls_back() -> None:
    tree = ManagementTree(root_acl=OPEN_ACL)  # no ./DMAcc
    with pytest.raises(TreeCommandError):
        apply_w7(tree, W7Application(provider_id="p", addr="https://p"))
    assert not tree.in_transaction
    assert tree.paths() == ((),)
