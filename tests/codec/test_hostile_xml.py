"""Hostile XML: only MalformedMessageError escapes, within the configured Limits."""

from __future__ import annotations

import tracemalloc

import pytest
from datapaths import CORPUS

from dmproto.codec import decode_message
from dmproto.codec.xml import parse_xml
from dmproto.errors import MalformedMessageError
from dmproto.limits import Limits

HDR = (
    b"<SyncML><SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto>"
    b"<SessionID>1</SessionID><MsgID>1</MsgID><Target><LocURI>a</LocURI></Target>"
    b"<Source><LocURI>b</LocURI></Source></SyncHdr><SyncBody>"
)
END = b"</SyncBody></SyncML>"


def reason_of(data: bytes, limits: Limits | None = None) -> str:
    with pytest.raises(MalformedMessageError) as info:
        decode_message(data, limits=limits or Limits())
    assert info.value.position is not None
    return info.value.reason


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol9 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
]>
<SyncML><SyncBody><Alert><Data>&lol9;</Data></Alert></SyncBody></SyncML>"""


@pytest.mark.parametrize(
    ("doc", "reason"),
    [
        (BILLION_LAUGHS, "xml.entity"),
        (
            b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><SyncML>&e;</SyncML>',
            "xml.entity",
        ),
        (b'<!DOCTYPE x [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]><SyncML/>', "xml.entity"),
        (b'<!DOCTYPE x [<!ENTITY e "internal">]><SyncML>&e;</SyncML>', "xml.entity"),
        (b'<!DOCTYPE x [<!ENTITY e "internal">]><SyncML/>', "xml.entity"),
        (b'<!DOCTYPE x [<!ENTITY u SYSTEM "x" NDATA gif>]><SyncML/>', "xml.entity"),
        # An external DTD is never fetched, so its entities stay undefined.
        (b'<!DOCTYPE x SYSTEM "file:///etc/passwd"><SyncML>&e;</SyncML>', "xml.syntax"),
        (b"<SyncML>&e;</SyncML>", "xml.syntax"),
        (b"<SyncML>\xff\xfe</SyncML>", "xml.syntax"),
        (b"<SyncML>\xc3</SyncML>", "xml.syntax"),
        (b"<SyncML>\xed\xa0\x80</SyncML>", "xml.syntax"),  # UTF-8 encoded surrogate
        (b"<SyncML>&#0;</SyncML>", "xml.syntax"),
        (b'<?xml version="1.0" encoding="x-unknown"?><SyncML/>', "xml.encoding"),
        (b'<?xml version="1.0" encoding="shift_jis"?><SyncML/>', "xml.encoding"),
        (b'<?xml version="1.0" encoding="rot13"?><SyncML/>', "xml.encoding"),
        (b'<?xml version="1.0" encoding="idna"?><SyncML>\xe9</SyncML>', "xml.encoding"),
        (b'<?xml version="1.0" encoding="utf-16"?><SyncML/>', "xml.syntax"),
        (b"<SyncML/><SyncML/>", "xml.syntax"),
        (b"", "detect.unknown"),
    ],
)
def test_entities_dtds_and_encoding(doc: bytes, reason: str) -> None:
    assert reason_of(doc) == reason


def test_deep_nesting() -> None:
    doc = b"<SyncML>" + b"<Atomic>" * 10_000 + b"</Atomic>" * 10_000 + b"</SyncML>"
    with pytest.raises(MalformedMessageError) as info:
        decode_message(doc)
    assert info.value.reason == "limit.depth"
    # stopped at the 65th open element, long before the end of the input
    assert info.value.position == len(b"<SyncML>") + 63 * len(b"<Atomic>")


def test_million_items_rejected_by_size_then_by_element_count() -> None:
    body = HDR + b"<Get>" + b"<Item/>" * 1_000_000 + b"</Get>" + END
    assert reason_of(body) == "limit.message-size"
    roomy = Limits(max_message_size=16 * 1024 * 1024)
    with pytest.raises(MalformedMessageError) as info:
        decode_message(body, limits=roomy)
    assert info.value.reason == "limit.elements"
    # the parser stopped at element 200 001, not at the end of the input
    assert isinstance(info.value.position, int) and info.value.position < len(body) // 4


def test_item_and_command_limits_after_parse() -> None:
    body = HDR + b"<Get>" + b"<Item/>" * 200 + b"</Get>" + END
    assert reason_of(body, Limits(max_items_per_command=100)) == "limit.items"
    body = HDR + b"<Get/>" * 200 + END
    assert reason_of(body, Limits(max_commands=100)) == "limit.commands"


def test_memory_bounded_for_element_flood() -> None:
    body = HDR + b"<Get>" + b"<Item/>" * 1_000_000 + b"</Get>" + END
    limits = Limits(max_message_size=16 * 1024 * 1024, max_elements=10_000)
    tracemalloc.start()
    try:
        with pytest.raises(MalformedMessageError):
            decode_message(body, limits=limits)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # 7 MB of input, 10 000 elements built at most: a few MB, never the whole flood.
    assert peak < 8 * 1024 * 1024


def test_oversized_message_refused_before_parsing() -> None:
    with pytest.raises(MalformedMessageError) as info:
        parse_xml(b"<" + b"x" * 2000, limits=Limits(max_message_size=1000))
    assert info.value.reason == "limit.message-size"
    assert info.value.status_hint == 413


def test_data_size_limit_while_parsing() -> None:
    body = HDR + b"<Alert><Item><Data>" + b"x" * 5000 + b"</Data></Item></Alert>" + END
    assert reason_of(body, Limits(max_data_size=4096)) == "limit.data-size"


def test_huge_integer_refused() -> None:
    body = HDR + b"<Alert><Data>" + b"9" * 5000 + b"</Data></Alert>" + END
    assert reason_of(body) == "message.integer"


@pytest.mark.parametrize(
    "name",
    [
        "windows/win10-pkg1-session1.xml",
        "aosp-dm12/testalertconfirm.xml",
        "libwbxml/syncml_with_ddf-001.xml",
    ],
)
def test_every_prefix_is_malformed(name: str) -> None:
    data = (CORPUS / name).read_bytes()
    whole = data.rstrip()
    for end in range(len(whole)):
        with pytest.raises(MalformedMessageError):
            decode_message(data[:end])


@pytest.mark.parametrize(
    "content",
    [
        b"x" * 3000 + b"<!-- split -->" + b"x" * 3000,
        b"<![CDATA[" + b"x" * 3000 + b"]]>" + b"x" * 3000,
        b"x" * 20_000,  # longer than expat's text buffer: arrives in several runs
        b"&amp;" * 5000,
    ],
)
def test_data_size_limit_adds_up_text_runs(content: bytes) -> None:
    with pytest.raises(MalformedMessageError) as info:
        parse_xml(b"<a>" + content + b"</a>", limits=Limits(max_data_size=4096))
    assert info.value.reason == "limit.data-size"
    assert len(parse_xml(b"<a>" + content + b"</a>").text_content()) == len(
        content.replace(b"<!-- split -->", b"")
        .replace(b"<![CDATA[", b"")
        .replace(b"]]>", b"")
        .replace(b"&amp;", b"&")
    )


@pytest.mark.parametrize(
    "doc",
    [
        # the bare-& retry scans each section once (a lazy regex was quadratic here)
        b"<a>" + b"<!--&" * 200_000,
        b"<a>" + b"<![CDATA[&" * 200_000,
        b"<a>" + b"&x" * 400_000 + b"</b>",
    ],
)
def test_bare_ampersand_retry_is_linear(doc: bytes) -> None:
    with pytest.raises(MalformedMessageError) as info:
        parse_xml(doc)
    assert info.value.reason == "xml.syntax"


def test_many_namespace_declarations_around_data() -> None:
    decls = b"".join(b' xmlns:p%d="u%d"' % (i, i) for i in range(50_000))
    inner = b"".join(b"<p%d:x/>" % i for i in range(0, 50_000, 5_000))
    doc = b"<SyncML" + decls + b"><Item><Data>" + inner * 20 + b"</Data></Item></SyncML>"
    raw = parse_xml(doc).children[0].children[0].raw_xml
    assert raw is not None
    assert raw.count("xmlns:") == 200  # one declaration per top-level child, as used
    assert raw.startswith('<p0:x xmlns:p0="u0"/>')


def test_deep_nesting_with_a_huge_depth_limit_is_still_malformed() -> None:
    from dmproto.codec.tnds import decode_tree_document

    roomy = Limits(max_depth=100_000)
    body = HDR + b"<Atomic>" * 5000 + b"</Atomic>" * 5000 + END
    assert reason_of(body, roomy) == "limit.depth"
    tree = b"<MgmtTree>" + b"<Node>" * 5000 + b"</Node>" * 5000 + b"</MgmtTree>"
    with pytest.raises(MalformedMessageError) as info:
        decode_tree_document(tree, limits=roomy)
    assert info.value.reason == "limit.depth"


def test_utf16_text_and_raw_data_markup_read() -> None:
    # UTF-16 is transcoded to UTF-8 first, so Data markup slices like any other.
    head = '<?xml version="1.0" encoding="UTF-16"?><SyncML><Data>'
    assert (
        parse_xml((head + "x</Data></SyncML>").encode("utf-16")).children[0].text_content() == "x"
    )
    data = parse_xml((head + "<a>\u00e9</a></Data></SyncML>").encode("utf-16")).children[0]
    assert data.raw_xml == "<a>\u00e9</a>"
