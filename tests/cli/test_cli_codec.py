"""``dmproto decode`` / ``dmproto encode``."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import attrs
import pytest
from datapaths import CORPUS
from wbxml_samples import wbxml_with_data_markup

from dmproto.cli.codec_cmds import REDACTED
from dmproto.cli.main import main
from dmproto.codec import Encoding, decode_message, encode_message
from dmproto.codec.tnds import decode_tree_document
from dmproto.limits import DEFAULT_LIMITS

GET = CORPUS / "aosp-dm12" / "testget.wbxml"
WINDOWS = CORPUS / "windows" / "win10-pkg1-session1.xml"
DDF = CORPUS / "libwbxml" / "ddf-001.ddf"


def test_decode_wbxml_prints_indented_xml(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["decode", str(GET)]) == 0
    out = capsys.readouterr().out
    assert out.startswith('<SyncML xmlns="SYNCML:SYNCML1.2">\n  <SyncHdr>\n    <VerDTD>1.2')
    assert "        <LocURI>./DevDetail/URI/MaxDepth</LocURI>" in out
    original = decode_message(GET.read_bytes())
    assert original.header.cred is not None
    shown = decode_message(out.encode())
    assert shown.commands == original.commands
    assert shown.header.cred == attrs.evolve(original.header.cred, data=REDACTED)


def test_decode_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["decode", "--json", str(WINDOWS)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["@type"] == "Message"
    assert doc["header"]["source"]["loc_uri"] == "B5B954E81FBCB94EB79BD08BE625F4EE"
    alert = doc["commands"][1]
    assert alert["@type"] == "Alert" and alert["code"] == 1224
    assert alert["items"][0]["meta"]["type"] == "com.microsoft/MDM/LoginStatus"


def _binary_message() -> bytes:
    xml = WINDOWS.read_bytes().replace(
        b"<Data>user</Data>",
        b"<Meta><Format xmlns='syncml:metinf'>bin</Format></Meta><Data>user</Data>",
    )
    message = decode_message(xml)
    wbxml = encode_message(message, Encoding.WBXML)
    # make that Data an OPAQUE run: the WBXML encoder writes str as STR_I
    return wbxml.replace(b"\x4f\x03user\x00\x01", b"\x4f\xc3\x04\xff\x00ab\x01")


def test_decode_binary_data(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "bin.wbxml"
    path.write_bytes(_binary_message())
    assert main(["decode", "--json", str(path)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["commands"][1]["items"][0]["data"] == {"base64": "/wBhYg=="}
    assert main(["decode", str(path)]) == 0
    out = capsys.readouterr().out
    assert '<Format xmlns="syncml:metinf">b64</Format>' in out
    assert "<Data>/wBhYg==</Data>" in out


def test_decode_tnds_document(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["decode", str(DDF)]) == 0
    out = capsys.readouterr().out
    assert out.startswith('<MgmtTree xmlns="syncml:dmddf1.2">\n  <VerDTD>1.2</VerDTD>')
    assert decode_tree_document(out.encode()) == decode_tree_document(DDF.read_bytes())


def test_encode_to_wbxml_and_back(
    capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path
) -> None:
    assert main(["encode", "--to", "wbxml", str(WINDOWS)]) == 0
    wbxml = capsysbinary.readouterr().out
    assert wbxml[:4] == b"\x02\xa4\x01\x6a"
    assert decode_message(wbxml) == decode_message(WINDOWS.read_bytes())
    path = tmp_path / "m.wbxml"
    path.write_bytes(wbxml)
    assert main(["encode", "--to", "xml", str(path)]) == 0
    xml = capsysbinary.readouterr().out
    assert xml.startswith(b'<SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr>')
    assert decode_message(xml) == decode_message(WINDOWS.read_bytes())


def test_encode_tnds_to_wbxml(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    assert main(["encode", "--to", "wbxml", str(DDF)]) == 0
    out = capsysbinary.readouterr().out
    assert out.startswith(b"\x02\x00\x00\x6a\x1b-//OMA//DTD-DM-DDF 1.2//EN\x00\x00\x02\x60")
    assert decode_tree_document(out) == decode_tree_document(DDF.read_bytes())


def test_stdin(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    stdin = io.TextIOWrapper(io.BytesIO(GET.read_bytes()))
    monkeypatch.setattr(sys, "stdin", stdin)
    assert main(["decode", "-"]) == 0
    assert "<SessionID>22100</SessionID>" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        (b"<SyncML><SyncHdr>", "xml.syntax] at 17"),
        (b"\x02\xa4\x01\x6a\x00\x6d", "wbxml.truncated"),
        (b"hello", "detect.unknown"),
        (b"<SyncML><SyncBody/></SyncML>", "message.missing] at SyncML/SyncHdr"),
    ],
)
def test_malformed_input_one_line_exit_2(
    data: bytes, needle: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad"
    path.write_bytes(data)
    assert main(["decode", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert captured.err.startswith("dmproto decode: ")
    assert needle in captured.err
    assert "Traceback" not in captured.err


def test_missing_file_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["encode", "--to", "xml", str(tmp_path / "nope")]) == 2
    assert "No such file" in capsys.readouterr().err


def test_subprocess_python_m_dmproto(tmp_path: Path) -> None:
    bad = tmp_path / "bad.xml"
    bad.write_bytes(b"<SyncML>&nbsp;</SyncML>")
    run = subprocess.run(
        [sys.executable, "-m", "dmproto", "encode", "--to", "wbxml", "-"],
        input=WINDOWS.read_bytes(),
        capture_output=True,
        check=False,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert decode_message(run.stdout) == decode_message(WINDOWS.read_bytes())
    run = subprocess.run(
        [sys.executable, "-m", "dmproto", "decode", str(bad)],
        capture_output=True,
        check=False,
        timeout=60,
    )
    assert run.returncode == 2
    assert run.stdout == b""
    assert run.stderr.decode().count("\n") == 1 and b"xml.syntax" in run.stderr


def test_decode_hides_credentials_unless_asked(capsys: pytest.CaptureFixture[str]) -> None:
    secret = "U2N0czpTYW1wbGVDbGllbnQ="  # base64("Scts:SampleClient"), basic auth
    assert main(["decode", str(GET)]) == 0
    out = capsys.readouterr().out
    assert secret not in out and f"<Data>{REDACTED}</Data>" in out
    assert main(["decode", "--json", str(GET)]) == 0
    assert secret not in capsys.readouterr().out
    assert main(["decode", "--show-credentials", str(GET)]) == 0
    assert f"<Data>{secret}</Data>" in capsys.readouterr().out


def test_cli_json_shows_xml_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "m.wbxml"
    path.write_bytes(wbxml_with_data_markup("t"))
    assert main(["decode", "--json", str(path)]) == 0
    out = json.loads(capsys.readouterr().out)
    data = out["commands"][0]["items"][0]["data"]
    assert data == {"xml": '<MgmtTree xmlns="syncml:dmddf1.2">t</MgmtTree>'}


def test_cli_refuses_input_over_the_size_limit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "big.wbxml"
    path.write_bytes(b"\x02" * (DEFAULT_LIMITS.max_message_size + 10))
    assert main(["decode", str(path)]) == 2
    err = capsys.readouterr().err
    assert "limit.message-size" in err and err.count("\n") == 1
