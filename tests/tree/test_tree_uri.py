"""URI parsing, suffixes and DevDetail/URI limits (OMA-TS-DM_TND-V1_2 §8.1, §8.2, §8.4)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dmproto.tree import ListKind, TreeCommandError, UriLimits, format_uri, parse_path, parse_uri
from dmproto.tree.uri import PROPERTY_NAMES, check_uri_limits


@pytest.mark.parametrize(
    ("uri", "path"),
    [
        (".", ()),
        ("./a", ("a",)),
        ("a", ("a",)),
        ("a/b/c", ("a", "b", "c")),
        ("./é/x y", ("é", "x y")),
    ],
)
def test_parse_path_forms(uri: str, path: tuple[str, ...]) -> None:
    assert parse_path(uri) == path


def test_format_uri() -> None:
    assert format_uri(()) == "."
    assert format_uri(("a", "b")) == "./a/b"


@pytest.mark.parametrize("uri", ["", "./", "a/", "/a", "a//b", "./a/./b", "./..", "../a", "a/\x00"])
def test_parse_path_rejects(uri: str) -> None:
    with pytest.raises(TreeCommandError) as info:
        parse_path(uri)
    assert info.value.code == 400


def test_prop_and_list_suffixes() -> None:
    assert parse_uri("./a?prop=ACL").prop == "ACL"
    struct = parse_uri("./a?list=StructData").listing
    assert struct is not None and struct.kind is ListKind.STRUCT_DATA
    plus = parse_uri(".?list=TNDS+Value+ACL").listing
    assert plus is not None and plus.properties == frozenset({"Value", "ACL"})
    minus = parse_uri(".?list=TNDS-Format-Value").listing
    assert minus is not None
    assert minus.properties == frozenset(PROPERTY_NAMES) - {"Format"}
    full = parse_uri(".?list=TNDS").listing
    assert full is not None and "Value" in full.properties


@pytest.mark.parametrize(
    ("uri", "code"),
    [
        ("./a?prop=Colour", 406),
        ("./a?list=Tree", 406),
        ("./a?x=1", 406),
        ("./a?prop", 400),
        ("./a?list=TNDS+ACL-Name", 406),
        ("./a?list=TNDS*ACL", 406),
    ],
)
def test_bad_suffixes(uri: str, code: int) -> None:
    with pytest.raises(TreeCommandError) as info:
        parse_uri(uri)
    assert info.value.code == code


def test_limits() -> None:
    limits = UriLimits(max_depth=2, max_tot_len=8, max_seg_len=3)
    check_uri_limits(("abc", "d"), limits)  # "./abc/d" is 7 chars
    for path in (
        ("a", "b", "c"),
        ("abcd",),
        (
            "abc",
            "abc",
        ),
    ):
        with pytest.raises(TreeCommandError) as info:
            check_uri_limits(path, limits)
        assert info.value.code == 414
    check_uri_limits(("x" * 500,) * 50, UriLimits())  # 0 = unlimited


@given(st.text(max_size=40))
def test_parse_uri_total(text: str) -> None:
    try:
        parsed = parse_uri(text)
    except TreeCommandError as exc:
        assert exc.code in (400, 406)
    else:
        assert all(seg and "/" not in seg and seg not in (".", "..") for seg in parsed.path)
        assert parse_path(parsed.uri) == parsed.path
