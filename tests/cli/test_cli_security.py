"""``dmproto auth`` and ``dmproto notification`` command lines: as subprocesses (exit
codes and output bytes) and in process (``main(argv)``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from clikit import dmproto_bytes

from dmproto.cli.main import main
from dmproto.notification import SmsPorts, build_wsp_push, parse_notification, parse_wsp_push


def test_auth_basic(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["auth", "basic", "--user", "Bruce2", "--password", "OhBehave"]) == 0
    assert capsys.readouterr().out == "QnJ1Y2UyOk9oQmVoYXZl\n"


def test_auth_md5(capsys: pytest.CaptureFixture[str]) -> None:
    # nonce octets "Nonce" travel as base64 "Tm9uY2U=".
    argv = ["auth", "md5", "--user", "Bruce2", "--password", "OhBehave", "--nonce", "Tm9uY2U="]
    assert main(argv) == 0
    assert capsys.readouterr().out == "Zz6EivR3yeaaENcRN6lpAQ==\n"


def test_auth_hmac(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    body = tmp_path / "body.xml"
    body.write_bytes(b"<SyncML/>")
    argv = ["auth", "hmac", "--user", "Bruce2", "--password", "OhBehave", "--nonce", "Tm9uY2U="]
    assert main([*argv, "--body", str(body)]) == 0
    assert capsys.readouterr().out == (
        'algorithm=MD5, username="Bruce2", mac=urdCeS3JUmjFgi8SX3webw==\n'
    )


BUILD = [
    "notification",
    "build",
    "--server-id",
    "com.mgmtsrv.manage",
    "--password",
    "serverpassword",
    "--nonce",
    "AAAAAA==",
    "--session-id",
    "1234",
    "--ui-mode",
    "background",
    "--initiator",
    "client",
]


def test_notification_build_spec_vector() -> None:
    result = dmproto_bytes(*BUILD)
    assert result.returncode == 0, result.stderr
    assert result.stdout.hex() == (
        "f96b78f5e297d4233e56e9fc0e05ff7702d0000000123412636f6d2e6d676d747372762e6d616e616765"
    )


def test_notification_build_wsp_and_parse_back() -> None:
    built = dmproto_bytes(*BUILD, "--wsp", "--vendor-data", "cafe")
    assert built.returncode == 0, built.stderr
    push = parse_wsp_push(built.stdout)
    assert parse_notification(push.body).vendor_data == b"\xca\xfe"
    parsed = dmproto_bytes(
        "notification",
        "parse",
        "--wsp",
        "--password",
        "serverpassword",
        "--nonce",
        "AQID",
        stdin=built.stdout,
    )
    assert parsed.returncode == 0, parsed.stderr
    report = json.loads(parsed.stdout)
    assert report["version"] == 11
    assert report["ui_mode"] == "background"
    assert report["initiator"] == "client"
    assert report["session_id"] == "1234"
    assert report["server_id"] == "com.mgmtsrv.manage"
    assert report["vendor_data"] == "cafe"
    assert len(report["digest"]) == 32
    # Built with the reset nonce; verified against another stored nonce.
    assert report["digest_valid"] is True
    assert report["nonce_used"] == "reset"
    assert "serverpassword" not in parsed.stdout.decode()


def test_notification_parse_file_without_password(tmp_path: Path) -> None:
    pkg0 = tmp_path / "pkg0.bin"
    pkg0.write_bytes(dmproto_bytes(*BUILD).stdout)
    result = dmproto_bytes("notification", "parse", str(pkg0))
    report = json.loads(result.stdout)
    assert report["digest"] == "f96b78f5e297d4233e56e9fc0e05ff77"
    assert "digest_valid" not in report
    wrong = dmproto_bytes(
        "notification", "parse", str(pkg0), "--password", "x", "--nonce", "AAAAAA=="
    )
    assert json.loads(wrong.stdout)["digest_valid"] is False
    assert json.loads(wrong.stdout)["nonce_used"] is None


@pytest.mark.parametrize(
    ("argv", "stdin"),
    [
        (["notification", "parse"], b"short"),
        (["notification", "parse", "--wsp"], b"\x01\x07"),
        (["notification", "parse", "/nonexistent/file"], b""),
        (["notification", "parse", "--password", "p"], b""),
        (["auth", "md5", "--user", "u", "--password", "p", "--nonce", "@@"], b""),
        ([*BUILD[:-6], "--session-id", "12345"], b""),
        ([*BUILD, "--vendor-data", "zz"], b""),
        ([*BUILD, "--version", "2000"], b""),
    ],
)
def test_bad_input_exit_2_one_line(argv: list[str], stdin: bytes) -> None:
    result = dmproto_bytes(*argv, stdin=stdin)
    assert result.returncode == 2
    err = result.stderr.decode()
    assert err.count("\n") == 1 and "Traceback" not in err
    assert result.stdout == b""


def test_password_not_echoed_on_error() -> None:
    result = dmproto_bytes(
        *BUILD[:4], "--password", "hunter2-secret", *BUILD[6:10], "--session-id", "x"
    )
    assert result.returncode == 2
    assert b"hunter2-secret" not in result.stderr + result.stdout


# -- notification build and parse in process ------------------------------------------

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
