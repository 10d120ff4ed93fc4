"""``dmproto auth`` and ``dmproto notification`` command lines."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from dmproto.cli.main import main
from dmproto.notification import parse_notification, parse_wsp_push


def _run(args: list[str], stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "dmproto", *args],
        input=stdin,
        capture_output=True,
        timeout=60,
        check=False,
    )


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
    result = _run(BUILD)
    assert result.returncode == 0, result.stderr
    assert result.stdout.hex() == (
        "f96b78f5e297d4233e56e9fc0e05ff7702d0000000123412636f6d2e6d676d747372762e6d616e616765"
    )


def test_notification_build_wsp_and_parse_back() -> None:
    built = _run([*BUILD, "--wsp", "--vendor-data", "cafe"])
    assert built.returncode == 0, built.stderr
    push = parse_wsp_push(built.stdout)
    assert parse_notification(push.body).vendor_data == b"\xca\xfe"
    parsed = _run(
        ["notification", "parse", "--wsp", "--password", "serverpassword", "--nonce", "AQID"],
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
    pkg0.write_bytes(_run(BUILD).stdout)
    result = _run(["notification", "parse", str(pkg0)])
    report = json.loads(result.stdout)
    assert report["digest"] == "f96b78f5e297d4233e56e9fc0e05ff77"
    assert "digest_valid" not in report
    wrong = _run(["notification", "parse", str(pkg0), "--password", "x", "--nonce", "AAAAAA=="])
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
    result = _run(argv, stdin)
    assert result.returncode == 2
    err = result.stderr.decode()
    assert err.count("\n") == 1 and "Traceback" not in err
    assert result.stdout == b""


def test_password_not_echoed_on_error() -> None:
    result = _run([*BUILD[:4], "--password", "hunter2-secret", *BUILD[6:10], "--session-id", "x"])
    assert result.returncode == 2
    assert b"hunter2-secret" not in result.stderr + result.stdout
