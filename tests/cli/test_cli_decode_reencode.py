"""``dmproto decode`` output stays safe to feed to ``dmproto encode``, and what the
decoder leaves out is said on stderr (real commands, run as subprocesses)."""

from __future__ import annotations

from pathlib import Path

from clikit import dmproto_bytes
from datapaths import CORPUS

from dmproto.codec import decode_message

BASIC = CORPUS / "aosp-dm12" / "testget.wbxml"  # SyncHdr Cred, syncml:auth-basic
SECRET = "U2N0czpTYW1wbGVDbGllbnQ="  # its Cred Data
DS_SYNC = CORPUS / "libwbxml" / "syncml-005.xml"  # a DS Sync with Mem and Replace inside


def test_encode_refuses_redacted_credentials() -> None:
    decoded = dmproto_bytes("decode", str(BASIC))
    assert decoded.returncode == 0 and SECRET.encode() not in decoded.stdout
    encoded = dmproto_bytes("encode", "--to", "wbxml", stdin=decoded.stdout)
    assert encoded.returncode == 2
    assert encoded.stdout == b""
    assert encoded.stderr.count(b"\n") == 1 and b"--show-credentials" in encoded.stderr


def test_show_credentials_output_re_encodes_to_the_same_message() -> None:
    decoded = dmproto_bytes("decode", "--show-credentials", str(BASIC))
    encoded = dmproto_bytes("encode", "--to", "wbxml", stdin=decoded.stdout)
    assert encoded.returncode == 0, encoded.stderr
    assert decode_message(encoded.stdout) == decode_message(BASIC.read_bytes())


def test_dropped_elements_are_named_on_stderr(tmp_path: Path) -> None:
    run = dmproto_bytes("decode", str(DS_SYNC))
    assert run.returncode == 0
    (line,) = run.stderr.decode().splitlines()
    assert line.startswith("dmproto decode: warning:")
    for path in ("SyncBody/Sync/Meta", "SyncBody/Sync/Replace", "SyncBody/Sync/Target"):
        assert f"SyncML/{path}" in line
    assert b"<Replace>" not in run.stdout

    unknown = tmp_path / "unknown.xml"
    known = decode_message(BASIC.read_bytes())
    xml = dmproto_bytes("encode", "--to", "xml", "-", stdin=BASIC.read_bytes()).stdout.decode()
    unknown.write_text(xml.replace("</SyncHdr>", "<Frobnicate>1</Frobnicate></SyncHdr>"))
    run = dmproto_bytes("encode", "--to", "xml", str(unknown))
    assert run.returncode == 0
    assert run.stderr.decode() == (
        "dmproto encode: warning: not decoded, left out: SyncML/SyncHdr/Frobnicate\n"
    )
    assert decode_message(run.stdout) == known


def test_nothing_dropped_nothing_said() -> None:
    run = dmproto_bytes("decode", str(BASIC))
    assert run.returncode == 0 and run.stderr == b""
