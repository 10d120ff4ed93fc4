"""``dmproto notification`` in process (the subprocess tests of test_cli_security.py
check exit codes and output bytes; these reach the same code under coverage)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_cli_security import BUILD

from dmproto.cli.main import main
from dmproto.notification import SmsPorts, build_wsp_push, parse_notification

SPEC_VECTOR = "f96b78f5e297d4233e56e9fc0e05ff7702d0000000123412636f6d2e6d676d747372762e6d616e616765"


def _build(argv: list[str], capsys: pytest.CaptureFixture[bytes]) -> bytes:
    assert main(argv) == 0
    return capsys.readouterr().out


def test_build_accepts_a_0x_session_id(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    plain = _build(BUILD, capsysbinary)
    assert plain.hex() == SPEC_VECTOR
    prefixed = [*BUILD[:-6], "--session-id", "0x1234", *BUILD[-4:]]
    assert _build(prefixed, capsysbinary) == plain


def test_build_vendor_data_and_parse_sms_push(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    pkg0 = _build([*BUILD, "--vendor-data", "CAFE01"], capsysbinary)
    assert parse_notification(pkg0).vendor_data == b"\xca\xfe\x01"
    path = tmp_path / "sms.bin"
    path.write_bytes(build_wsp_push(pkg0, sms_ports=SmsPorts(destination=2948, originator=9200)))
    argv = ["notification", "parse", "--sms-udh", str(path)]
    report = json.loads(
        _build([*argv, "--password", "serverpassword", "--nonce", "AAAAAA=="], capsysbinary)
    )
    assert report["wsp"]["application_id"] == 7
    assert report["vendor_data"] == "cafe01"
    assert (report["digest_valid"], report["nonce_used"]) == (True, "stored")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([*BUILD, "--vendor-data", "xyz"], "--vendor-data is not hex"),
        (["notification", "parse", "--nonce", "AAAAAA==", "-"], "--password and --nonce go"),
    ],
)
def test_bad_arguments_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert message in captured.err and captured.err.count("\n") == 1
    assert captured.out == ""


def test_parse_plain_file_without_password(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    path = tmp_path / "pkg0.bin"
    path.write_bytes(bytes.fromhex(SPEC_VECTOR))
    report = json.loads(_build(["notification", "parse", str(path)], capsysbinary))
    assert report["server_id"] == "com.mgmtsrv.manage"
    assert report["session_id"] == "1234"
    assert "wsp" not in report and "digest_valid" not in report
