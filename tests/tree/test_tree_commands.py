"""Status paths of the single commands (OMA-TS-DM_RepPro-V1_2_1 §4.1.6;
OMA-TS-DM_TND-V1_2 §8.1, §8.2, §8.3, §8.4)."""

from __future__ import annotations

import base64

import pytest
from treekit import (
    OPEN_ACL,
    SRV,
    add,
    add_node,
    copy,
    delete,
    exec_,
    get,
    item,
    open_tree,
    replace,
    run,
    state,
    std_tree,
    value,
)

from dmproto.codec.model import (
    Add,
    Alert,
    Get,
    Item,
    Location,
    Meta,
    Replace,
    Results,
    Status,
    XmlData,
)
from dmproto.tree import (
    Backend,
    BinaryWire,
    ExecRequest,
    ExecResult,
    ManagementTree,
    Node,
    NodeFormat,
)

# -- Add ------------------------------------------------------------------------------


def test_add_leaf_then_add_again_is_418() -> None:
    tree = open_tree()
    assert run(tree, add("./a", "1")) == 200
    assert run(tree, add("./a", "2")) == 418
    assert value(tree, "./a") == "1"


def test_add_creates_implicit_interior_ancestors() -> None:
    tree = open_tree()
    assert run(tree, add("a/b/c", "v")) == 200
    assert value(tree, "./a") == "b"
    node = tree.node(("a", "b"))
    assert node is not None and node.is_interior and node.acl is None


def test_add_under_leaf_is_405_and_names_failed_ancestor() -> None:
    tree = open_tree()
    run(tree, add("./leaf", "x"))
    out = tree.execute(add("./leaf/child", "y"), server_id=SRV)
    assert out.code == 405
    assert tree.node(("leaf", "child")) is None


def test_add_implicit_ancestor_failure_reports_target_item() -> None:
    tree = std_tree()
    tree.ddf.rules[("X",)] = __import__("dmproto.tree.ddf", fromlist=["DdfRule"]).DdfRule(
        access=frozenset()
    )
    out = tree.execute(add("./X/Y/Z", "v"), server_id=SRV)
    assert out.code == 405
    assert out.status_items[0].target is not None
    assert out.status_items[0].target.loc_uri == "./X"
    assert tree.node(("X",)) is None


def test_add_root_is_418_and_property_is_405() -> None:
    tree = open_tree()
    assert run(tree, add(".", fmt="node")) == 418
    run(tree, add("./a", "1"))
    assert run(tree, add("./a?prop=Title", "t")) == 405


def test_add_b64_is_stored_as_bin_bytes() -> None:
    tree = open_tree()
    raw = bytes(range(256))
    assert run(tree, add("./bin", base64.b64encode(raw).decode(), fmt="b64")) == 200
    node = tree.node(("bin",))
    assert node is not None and node.format.value == "bin" and node.value == raw
    out = tree.execute(get("./bin"), server_id=SRV)
    assert out.results[0].meta == Meta(format="b64")
    assert base64.b64decode(str(out.results[0].data)) == raw


def test_add_raw_bin_bytes_from_wbxml() -> None:
    tree = open_tree()
    assert run(tree, add("./bin", b"\x00\xff", fmt="bin")) == 200
    assert tree.read_value(("bin",)) == b"\x00\xff"


@pytest.mark.parametrize(
    ("fmt", "data", "code"),
    [
        ("int", "42", 200),
        ("int", "4.2", 415),
        ("int", "99999999999", 415),
        ("bool", "true", 200),
        ("bool", "yes", 415),
        ("float", "+1.2345e+3", 200),
        ("float", "123.", 415),
        ("date", "2005-W12-5", 200),
        ("date", "2005-10-32", 415),
        ("time", "23:15:59+01:20", 200),
        ("time", "24:03", 415),
        ("null", None, 200),
        ("null", "x", 415),
        ("b64", "!!!", 415),
        ("bogus", "x", 415),
        ("xml", "<a/>", 200),
    ],
)
def test_add_checks_value_against_format(fmt: str, data: str | None, code: int) -> None:
    tree = open_tree()
    assert run(tree, add("./v", data, fmt=fmt)) == code
    assert (tree.node(("v",)) is not None) == (code == 200)


def test_add_whole_command_is_all_or_nothing_over_items() -> None:
    tree = open_tree()
    cmd = Add(cmd_id="1", items=[item("./a", "1"), item("./b", "2"), item("./a", "3")])
    assert run(tree, cmd) == 418
    assert tree.node(("a",)) is None and tree.node(("b",)) is None


def test_add_without_items_or_target_is_412() -> None:
    tree = open_tree()
    assert run(tree, Add(cmd_id="1")) == 412
    assert run(tree, Add(cmd_id="1", items=[item("./a").__class__(data="x")])) == 412


@pytest.mark.parametrize("uri", ["./a/", "/a", "./a//b", "./a/../b", "", "./", "a/./b"])
def test_malformed_uri_is_400(uri: str) -> None:
    assert run(open_tree(), add(uri, "x")) == 400


def test_uri_limits_from_devdetail_give_414() -> None:
    tree = std_tree(max_depth=3, max_seg_len=5, max_tot_len=20)
    assert run(tree, add("./DMAcc/a/b/c", "x")) == 414
    assert run(tree, add("./DMAcc/abcdef", "x")) == 414
    assert run(tree, add("./DMAcc/abc", fmt="node")) == 200
    assert run(tree, get("./DMAcc/abcde/abcde/x")) == 414


# -- Replace --------------------------------------------------------------------------


def test_replace_missing_is_404_and_does_not_create() -> None:
    tree = open_tree()
    assert run(tree, replace("./nope", "x")) == 404
    assert tree.node(("nope",)) is None


def test_replace_updates_value_format_verno_and_tstamp() -> None:
    tree = ManagementTree(root_acl="Replace=*&Add=*&Get=*", clock=lambda: "20260102T030405Z")
    run(tree, add("./n", "1", fmt="int"))
    assert run(tree, replace("./n", "hello")) == 200
    node = tree.node(("n",))
    assert node is not None
    assert (node.value, node.format.value, node.verno, node.tstamp) == (
        "hello",
        "chr",
        1,
        "20260102T030405Z",
    )


def test_verno_wraps_at_16_bits() -> None:
    tree = open_tree()
    run(tree, add("./n", "0"))
    node = tree.node(("n",))
    assert node is not None
    tree.update_node(("n",), node.__class__(name="n", format=node.format, verno=0xFFFF))
    assert tree.node(("n",)).verno == 0  # type: ignore[union-attr]


def test_replace_interior_value_is_405() -> None:
    tree = open_tree()
    run(tree, add_node("./i"))
    assert run(tree, replace("./i", "x")) == 405


def test_rename_via_prop_name() -> None:
    tree = open_tree()
    run(tree, add("./a/b/c", "v"))
    run(tree, add("./a/x", "w"))
    assert run(tree, replace("./a/b?prop=Name", "x")) == 418
    assert run(tree, replace("./a/b?prop=Name", "z")) == 200
    assert value(tree, "./a/z/c") == "v"
    assert value(tree, "./a/b/c") == 404
    assert value(tree, "./a") == "z/x"
    assert run(tree, replace(".?prop=Name", "root")) == 405


def test_rename_permanent_node_is_405() -> None:
    tree = std_tree()
    tree.set_acl(".", "Add=*&Get=*&Replace=*")
    assert run(tree, replace("./DMAcc?prop=Name", "Acc")) == 405
    assert run(tree, replace("./DevInfo?prop=Name", "Info")) == 425  # ACL Get=* only


@pytest.mark.parametrize("prop", ["Format", "Size", "TStamp", "Type", "VerNo"])
def test_replace_read_only_property_is_405(prop: str) -> None:
    tree = open_tree()
    run(tree, add("./a", "v"))
    assert run(tree, replace(f"./a?prop={prop}", "x")) == 405


def test_unknown_property_is_406_and_title_replace_works() -> None:
    tree = open_tree()
    run(tree, add("./a", "v"))
    assert run(tree, get("./a?prop=Colour")) == 406
    assert run(tree, replace("./a?prop=Title", "My title")) == 200
    assert value(tree, "./a?prop=Title") == "My title"


def test_get_properties() -> None:
    tree = ManagementTree(root_acl="Add=*&Get=*", clock=lambda: "20260101T000000Z")
    tree.execute(add("./a", "hé", mtype="text/x-test"), server_id=SRV)
    props = {
        p: value(tree, f"./a?prop={p}")
        for p in ("ACL", "Format", "Name", "Size", "Title", "TStamp", "Type", "VerNo")
    }
    assert props == {
        "ACL": "",
        "Format": "chr",
        "Name": "a",
        "Size": "3",
        "Title": "",
        "TStamp": "20260101T000000Z",
        "Type": "text/x-test",
        "VerNo": "0",
    }
    assert value(tree, ".?prop=ACL") == "Add=*&Get=*"
    assert value(tree, ".?prop=Size") == 406  # OMA-TS-DM_TND-V1_2 §8.3: no Size on interior nodes


# -- Delete ---------------------------------------------------------------------------


def test_delete_removes_whole_subtree() -> None:
    tree = open_tree()
    run(tree, add("./a/b/c", "v"))
    assert run(tree, delete("./a")) == 200
    assert tree.paths() == ((),)
    assert run(tree, delete("./a")) == 404


def test_delete_root_and_permanent_are_405() -> None:
    tree = std_tree()
    tree.set_acl(".", "Add=*&Get=*&Delete=*&Replace=*")
    assert run(tree, delete(".")) == 405
    assert run(tree, delete("./DevInfo")) == 405
    assert run(tree, delete("./DevInfo/DevId")) == 405


def test_delete_ancestor_of_permanent_node_is_405() -> None:
    tree = open_tree()
    run(tree, add("./a/b", "v"))
    node = tree.node(("a", "b"))
    assert node is not None
    tree.update_node(("a", "b"), node.__class__(name="b", format=node.format, permanent=True))
    assert run(tree, delete("./a")) == 405
    assert tree.node(("a", "b")) is not None


# -- Copy -----------------------------------------------------------------------------


def test_copy_leaf_to_existing_and_new_leaf() -> None:
    tree = open_tree()
    run(tree, add("./src", "AA==", fmt="b64"))
    run(tree, add("./dst", "old"))
    assert run(tree, copy("./src", "./dst")) == 200
    assert tree.read_value(("dst",)) == b"\x00"
    assert run(tree, copy("./src", "./new")) == 200
    assert tree.read_value(("new",)) == b"\x00"


def test_copy_status_paths() -> None:
    tree = open_tree()
    run(tree, add_node("./i"))
    run(tree, add("./l", "v"))
    assert run(tree, copy("./missing", "./x")) == 404
    assert run(tree, copy("./i", "./x")) == 405
    assert run(tree, copy("./l", "./i")) == 405
    assert run(tree, copy("./l?prop=ACL", "./x")) == 405
    assert run(tree, copy("./l", "./x?prop=Title")) == 405
    node = tree.node(("l",))
    assert node is not None
    run(tree, add("./ro", "r"))
    ro = tree.node(("ro",))
    assert ro is not None
    from dmproto.tree import Access

    tree.update_node(
        ("ro",),
        ro.__class__(name="ro", format=ro.format, value="r", access=frozenset({Access.GET})),
    )
    assert run(tree, copy("./l", "./ro")) == 403


# -- Get ------------------------------------------------------------------------------


def test_get_interior_lists_children_and_empty_is_empty_string() -> None:
    tree = open_tree()
    run(tree, add("./a/x", "1"))
    run(tree, add("./a/y", "2"))
    run(tree, add_node("./e"))
    out = tree.execute(get("./a", "./e"), server_id=SRV)
    assert [i.data for i in out.results] == ["x/y", ""]
    assert out.results[0].meta == Meta(format="node")


def test_get_missing_is_404_and_inbox_is_405() -> None:
    tree = std_tree()
    assert run(tree, get("./nope")) == 404
    assert run(tree, get("./Inbox")) == 405
    assert run(tree, get("./Inbox/x")) == 405


def test_get_omits_default_meta_and_keeps_others() -> None:
    tree = open_tree()
    run(tree, add("./c", "text"))
    run(tree, add("./i", "5", fmt="int", mtype="text/plain"))
    out = tree.execute(get("./c", "./i"), server_id=SRV)
    assert out.results[0].meta is None
    assert out.results[1].meta == Meta(format="int")
    assert out.results[0].source is not None and out.results[0].source.loc_uri == "./c"


def test_get_list_struct_and_structdata() -> None:
    tree = open_tree()
    run(tree, add("./A/D/E/G", "g"))
    run(tree, add("./A/D/F", "<x/>", fmt="xml"))
    run(tree, add("./A/C", fmt="node"))
    out = tree.execute(get("./A?list=Struct"), server_id=SRV)
    assert [i.source.loc_uri for i in out.results if i.source] == [
        "./A",
        "./A/D",
        "./A/D/E",
        "./A/D/E/G",
        "./A/D/F",
        "./A/C",
    ]
    assert all(i.data is None for i in out.results)
    out = tree.execute(get("./A?list=StructData"), server_id=SRV)
    data = {i.source.loc_uri: i.data for i in out.results if i.source}
    assert data["./A/D/E/G"] == "g" and data["./A/D/F"] == "<x/>" and data["./A"] is None


@pytest.mark.parametrize(
    "query", ["?list=Foo", "?list=TNDS+Colour", "?list=TNDS+ACL-Format", "?foo=bar"]
)
def test_unsupported_listing_is_406(query: str) -> None:
    tree = open_tree()
    assert run(tree, get("." + query)) == 406


def test_listing_only_on_get() -> None:
    tree = open_tree()
    run(tree, add("./a", "1"))
    assert run(tree, replace("./a?list=Struct", "x")) == 405
    assert run(tree, delete("./a?list=Struct")) == 405


# -- Exec -----------------------------------------------------------------------------


class Recorder(Backend):
    def __init__(self, code: int = 200) -> None:
        self.code = code
        self.calls: list[ExecRequest] = []

    def execute(self, request: ExecRequest) -> ExecResult:
        self.calls.append(request)
        return ExecResult(code=self.code)


def test_exec_sync_async_and_missing_handler() -> None:
    tree = open_tree()
    run(tree, add("./Fw/Update", ""))
    run(tree, add("./Other", ""))
    assert run(tree, exec_("./Other")) == 405
    assert run(tree, exec_("./none")) == 404
    backend = Recorder()
    tree.mount("./Fw", backend)
    assert run(tree, exec_("./Fw/Update", "arg")) == 200
    assert backend.calls[0].data == "arg" and backend.calls[0].server_id == SRV
    backend.code = 202
    assert run(tree, exec_("./Fw/Update", correlator="corr-1")) == 202
    assert [r.correlator for r in tree.pending_execs()] == ["corr-1"]
    alert = tree.complete_exec("corr-1", 200, alert_type="org.example.result")
    assert isinstance(alert, Alert) and alert.code == 1226 and alert.correlator == "corr-1"
    assert alert.items[0].data == "200" and alert.items[0].source is not None
    assert alert.items[0].source.loc_uri == "./Fw/Update"
    assert tree.take_generic_alerts() == (alert,)
    assert tree.take_generic_alerts() == ()
    assert tree.pending_execs() == ()
    backend.code = 409
    assert run(tree, exec_("./Fw/Update")) == 409


def test_exec_backend_raising_is_500() -> None:
    class Boom(Backend):
        def execute(self, request: ExecRequest) -> ExecResult:
            raise RuntimeError("device on fire")

    tree = open_tree()
    run(tree, add("./x", ""))
    tree.mount("./x", Boom())
    assert run(tree, exec_("./x")) == 500


# -- other commands -------------------------------------------------------------------


def test_status_results_alert_are_not_tree_commands() -> None:
    tree = open_tree()
    assert run(tree, Status(cmd_id="1", msg_ref="1", cmd_ref="1", cmd="Get", code=200)) == 406
    assert run(tree, Results(cmd_id="1", msg_ref="1", cmd_ref="1")) == 406
    assert run(tree, Alert(cmd_id="1", code=1201)) == 406
    assert run(tree, Alert(cmd_id="1", code=1100)) == 406  # no UI
    assert run(tree, Get(cmd_id="1")) == 412


def test_builders_make_targeted_items() -> None:
    cmd = copy("./a", "./b")
    assert cmd.items[0].target is not None and cmd.items[0].target.loc_uri == "./b"
    assert cmd.items[0].source is not None and cmd.items[0].source.loc_uri == "./a"
    assert add_node("./x").items[0].meta == Meta(format="node")


# -- backends ---------------------------------------------------------------------------


class _Abort(BaseException):
    """Not an Exception: like KeyboardInterrupt, it must pass through the tree."""


class _Broken(Backend):
    def replaced(self, uri: str, old: Node, new: Node) -> None:
        raise _Abort


def test_an_aborting_backend_hook_propagates_and_rolls_back() -> None:
    tree = open_tree()
    run(tree, add("./a", "old"))
    run(tree, add("./b", "old"))
    tree.mount("./b", _Broken())
    command = Replace(cmd_id="1", items=[item("./a", "new"), item("./b", "new")])
    with pytest.raises(_Abort):
        tree.execute(command, server_id=SRV)
    assert (value(tree, "./a"), value(tree, "./b")) == ("old", "old")
    assert not tree.in_transaction
    assert run(tree, replace("./a", "next")) == 200


@pytest.mark.parametrize(("answer", "code"), [(405, 405), (499, 500)])
def test_exec_refusal_codes(answer: int, code: int) -> None:
    tree = open_tree()
    run(tree, add("./run", "x"))
    tree.mount("./run", Recorder(answer))
    assert run(tree, exec_("./run")) == code


def test_default_backend_does_not_execute() -> None:
    tree = open_tree()
    run(tree, add("./run", "x"))
    tree.mount("./run", Backend())
    assert run(tree, exec_("./run")) == 405


def test_exec_on_a_property_is_refused() -> None:
    tree = open_tree()
    run(tree, add("./run", "x"))
    backend = Recorder(200)
    tree.mount("./run", backend)
    assert run(tree, exec_("./run?prop=Title")) == 405
    assert backend.calls == []


def test_accepted_exec_without_correlator_is_not_pending() -> None:
    tree = open_tree()
    run(tree, add("./run", "x"))
    tree.mount("./run", Recorder(202))
    assert run(tree, exec_("./run")) == 202
    assert tree.pending_execs() == ()


# -- Replace: values and properties ---------------------------------------------------


def test_replace_cannot_turn_a_leaf_into_a_node() -> None:
    tree = open_tree()
    run(tree, add("./a", "v"))
    assert run(tree, replace("./a", fmt="node")) == 405
    assert tree.node(("a",)).format is NodeFormat.CHR  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("data", "code", "title"),
    [
        (b"T\xc3\xa9", 200, "T\u00e9"),
        (XmlData("<x/>"), 200, "<x/>"),
        (b"\xff", 400, None),
        ("t" * 256, 400, None),
        ("\u00e9" * 128, 400, None),  # 256 UTF-8 octets
        ("t" * 255, 200, "t" * 255),
    ],
)
def test_title_property(data: str | bytes | XmlData, code: int, title: str | None) -> None:
    tree = open_tree()
    run(tree, add("./a", "v"))
    target = Location(loc_uri="./a?prop=Title")
    command = Replace(cmd_id="1", items=[Item(target=target, data=data)])
    assert run(tree, command) == code
    assert tree.node(("a",)).title == title  # type: ignore[union-attr]


@pytest.mark.parametrize(("name", "code"), [("b/c", 400), ("..", 400), ("a", 200)])
def test_rename_syntax_and_same_name(name: str, code: int) -> None:
    tree = open_tree()
    run(tree, add("./a", "v"))
    before = state(tree)
    assert run(tree, replace("./a?prop=Name", name)) == code
    assert set(tree.paths()) == set(before)


# -- formats ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "fmt", "code", "stored"),
    [
        (b"caf\xc3\xa9", "chr", 200, "caf\u00e9"),
        (b"\xff", "chr", 415, None),
        ("text", "bin", 200, b"text"),
        (XmlData("<a/>"), "xml", 200, "<a/>"),
        (None, "null", 200, None),
    ],
)
def test_add_converts_wire_data(
    data: str | bytes | XmlData | None, fmt: str, code: int, stored: object
) -> None:
    tree = open_tree()
    command = Add(
        cmd_id="1", items=[Item(target=Location(loc_uri="./a"), meta=Meta(format=fmt), data=data)]
    )
    assert run(tree, command) == code
    node = tree.node(("a",))
    assert (node.value if node else None) == stored


def test_binary_wire_bin_and_size_of_null() -> None:
    tree = ManagementTree(root_acl=OPEN_ACL, binary_wire=BinaryWire.BIN)
    run(tree, add("./b", "AAEC", fmt="b64"))
    run(tree, add("./n", fmt="null"))
    out = tree.execute(get("./b", "./n?prop=Size"), server_id=SRV)
    assert [(i.data, i.meta.format if i.meta else None) for i in out.results] == [
        (b"\x00\x01\x02", "bin"),
        ("0", None),
    ]
