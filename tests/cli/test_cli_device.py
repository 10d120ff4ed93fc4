"""``dmproto device`` as a real subprocess against a real ``dmproto serve`` over sockets."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from clikit import dmproto, free_port, listening_device, start_dmproto, wait_for_port

from dmproto.bindings.http import HttpRequest
from dmproto.cli.trace import Trace, TraceSide
from dmproto.codec import Encoding, decode_message

pytest.importorskip("dmproto_sync")


class Server:
    """A running ``dmproto serve`` (account dev/pw) and its log once stopped."""

    def __init__(self, tmp_path: Path, job: list[dict[str, object]] | None = None, *extra: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/dm"
        args = [
            "serve",
            "--port",
            str(self.port),
            "--db",
            str(tmp_path / "server.sqlite3"),
            "--client-user",
            "dev",
            "--client-password",
            "pw",
            *extra,
        ]
        if job is not None:
            (tmp_path / "job.json").write_text(json.dumps(job))
            args += ["--job", str(tmp_path / "job.json")]
        self.process = start_dmproto(*args, merge_stderr=True)
        self.log = ""

    def stop(self) -> None:
        self.process.terminate()
        self.log, _ = self.process.communicate(timeout=30)


@pytest.fixture
def server(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Server]:
    job = getattr(request, "param", None)
    running = Server(tmp_path, job)
    try:
        wait_for_port(running.port)
        yield running
    finally:
        running.stop()


def _device(
    server: Server,
    *args: str,
    stdin: str | None = None,
) -> subprocess.CompletedProcess[str]:
    if stdin is None:
        return dmproto(
            "device", "--server", server.url, "--user", "dev", "--password", "pw", *args, timeout=60
        )
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "dmproto",
            "device",
            "--server",
            server.url,
            "--user",
            "dev",
            "--password",
            "pw",
            *args,
        ],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _first_answer(stdout: str) -> str:
    return next(line for line in stdout.splitlines() if line.startswith("[device] <- "))


NOTE_JOB = [
    {"cmd": "Get", "uri": "./Vendor/Note"},
    {"cmd": "Add", "uri": "./Vendor/Note", "data": "hello"},
]


@pytest.mark.parametrize("server", [NOTE_JOB], indirect=True)
def test_state_keeps_tree_and_nonces_so_a_second_run_needs_no_challenge(
    server: Server, tmp_path: Path
) -> None:
    state = tmp_path / "device.json"
    first = _device(server, "--state", str(state), "-v")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "authenticating as 'dev' (syncml:auth-md5)" in first.stdout
    assert "Get ./Vendor/Note -> 404" in first.stdout
    doc = json.loads(state.read_text())
    assert doc["format"] == "dmproto-device-state" and doc["version"] == 1
    nodes = {n["uri"]: n for n in doc["nodes"]}
    assert nodes["./Vendor/Note"]["value"] == "hello"
    assert nodes["./Vendor"]["acl"] == "Add=*&Get=*&Replace=*&Delete=*&Exec=*"
    assert "value_b64" in nodes["./DMAcc/1/AppAuth/1/AAuthData"]  # the stored nonce
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp file

    # No --server, --user or --password: the state's DMAcc holds them.
    second = dmproto("device", "--state", str(state), "-v", timeout=60)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "Status(SyncHdr#0=212)" in _first_answer(second.stdout)  # accepted at once
    assert "challenged" not in second.stdout
    assert "authenticated as 'dev'" in second.stdout
    assert "Get ./Vendor/Note -> 200 'hello'" in second.stdout  # the tree survived

    # Control: without the stored nonce the same account is challenged.
    fresh = _device(server, "-v")
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr
    assert "Status(SyncHdr#0=401)" in _first_answer(fresh.stdout)
    assert "server challenged our credentials (401)" in fresh.stdout


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        '{"format": "something-else"}',
        '{"format": "dmproto-device-state", "version": 99}',
        '{"format": "dmproto-device-state", "version": 1, '
        '"device_id": "x", "nodes": [{"uri": "./A/B"}]}',
    ],
)
def test_a_corrupt_or_foreign_state_file_is_one_line_exit_2_and_kept(
    tmp_path: Path, content: str
) -> None:
    state = tmp_path / "device.json"
    state.write_text(content)
    result = dmproto("device", "--server", "http://127.0.0.1:1/dm", "--state", str(state))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dmproto device: state file")
    assert state.read_text() == content  # never silently replaced


def test_wbxml_session_is_traced_with_credentials_redacted(server: Server, tmp_path: Path) -> None:
    trace = tmp_path / "trace"
    result = _device(server, "--wbxml", "--trace", str(trace))
    assert result.returncode == 0, result.stdout + result.stderr
    names = sorted(p.name for p in trace.iterdir())
    assert names[:6] == [
        "0001-out.http",
        "0001-out.wbxml",
        "0001-out.wbxml.xml",
        "0002-in.http",
        "0002-in.wbxml",
        "0002-in.wbxml.xml",
    ]
    assert len(names) % 6 == 0 and len(names) >= 12
    headers = (trace / "0001-out.http").read_text()
    assert headers.startswith("POST /dm HTTP/1.1\n")
    assert "Content-Type: application/vnd.syncml.dm+wbxml" in headers
    assert (trace / "0002-in.http").read_text().startswith("HTTP/1.1 200\n")
    sent = decode_message((trace / "0001-out.wbxml").read_bytes(), encoding=Encoding.WBXML)
    assert sent.header.cred is not None and set(str(sent.header.cred.data)) == {"*"}
    assert "<Data>****" in (trace / "0001-out.wbxml.xml").read_text()
    assert "<SyncML" in (trace / "0002-in.wbxml.xml").read_text()

    shown = _device(server, "--wbxml", "--trace", str(tmp_path / "shown"), "--show-credentials")
    assert shown.returncode == 0, shown.stdout + shown.stderr
    raw = decode_message(
        (tmp_path / "shown" / "0001-out.wbxml").read_bytes(), encoding=Encoding.WBXML
    )
    assert raw.header.cred is not None and "*" not in str(raw.header.cred.data)


def test_trace_redacts_the_hmac_digest_and_authorization(tmp_path: Path) -> None:
    trace = Trace(tmp_path, side=TraceSide.CLIENT)
    trace(
        HttpRequest(
            method="POST",
            target="/dm",
            headers=(
                ("x-syncml-hmac", 'algorithm=MD5, username="dev", mac=c2VjcmV0ZGlnZXN0'),
                ("Authorization", "Basic ZGV2OnB3"),
            ),
            body=b"",
        ),
        None,
    )
    text = (tmp_path / "0001-out.http").read_text()
    assert "c2VjcmV0ZGlnZXN0" not in text and "ZGV2OnB3" not in text
    assert 'username="dev", mac=<redacted>' in text


def test_max_msg_size_1024_splits_what_the_server_sends(server: Server, tmp_path: Path) -> None:
    trace = tmp_path / "trace"
    result = _device(server, "--max-msg-size", "1024", "--trace", str(trace), "-v")
    assert result.returncode == 0, result.stdout + result.stderr
    received = sorted(trace.glob("*-in.xml"))
    assert len(received) > 3  # the inventory no longer fits one message
    assert all(len(p.read_bytes()) <= 1024 for p in received)
    assert "Alert 1222" in result.stdout  # the device asked for the next message
    assert (
        '<MaxMsgSize xmlns="syncml:metinf">1024</MaxMsgSize>'
        in (trace / "0001-out.xml").read_text()
    )


@pytest.mark.parametrize("adapter", ["sync", "asyncio", "trio"])
def test_every_adapter_runs_the_device(server: Server, adapter: str) -> None:
    pytest.importorskip(f"dmproto_{adapter}")
    result = _device(server, "--adapter", adapter)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Get ./DevInfo/Mod -> 200 'Demo Phone'" in result.stdout
    assert "[device] session ended: completed" in result.stdout


UI_JOB = [
    {"cmd": "Alert", "ui": "Confirm", "text": "Install?"},
    {"cmd": "Alert", "ui": "TextInput", "text": "Your name"},
    {"cmd": "Alert", "ui": "SingleChoice", "text": "Colour", "choices": ["red", "blue"]},
    {"cmd": "Alert", "ui": "MultipleChoice", "text": "Extras", "choices": ["a", "b", "c"]},
]


@pytest.mark.parametrize("server", [UI_JOB], indirect=True)
def test_ui_prompt_asks_on_the_terminal(server: Server, tmp_path: Path) -> None:
    # "7" is out of range: the single choice is asked again.
    result = _device(
        server, "--ui", "prompt", "--trace", str(tmp_path / "trace"), stdin="n\nAda\n7\n2\n1, 3\n"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "Install? [y/n]" in out and "  2. blue" in out
    assert "UI alert 1101 'Install?' answered No\n[device] Alert 1101 -> 304" in out
    assert "UI alert 1102 'Your name' answered 'Ada'\n[device] Alert 1102 -> 200" in out
    assert "UI alert 1103 'Colour' answered choice 2\n[device] Alert 1103 -> 200" in out
    assert "UI alert 1104 'Extras' answered choice 1,3\n[device] Alert 1104 -> 200" in out
    server.stop()
    assert "Alert 1101 -> 304" in server.log and "Alert 1104 -> 200" in server.log
    # the answers travel as Status Items (OMA-TS-DM_Protocol-V1_2_1 §2.5)
    sent = "".join(p.read_text() for p in (tmp_path / "trace").glob("*-out.xml"))
    for answer in ("Ada", "2", "1", "3"):
        assert f"<Item><Data>{answer}</Data></Item>" in sent


@pytest.mark.parametrize("server", [UI_JOB[:2]], indirect=True)
def test_ui_prompt_at_end_of_input_declines_and_cancels(server: Server) -> None:
    result = _device(server, "--ui", "prompt", stdin="")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "answered No\n[device] Alert 1101 -> 304" in result.stdout
    assert "answered cancelled\n[device] Alert 1102 -> 214" in result.stdout


@pytest.mark.parametrize(
    "server",
    [
        [
            {"cmd": "Get", "uri": "./Custom/Deep/Leaf"},
            {"cmd": "Add", "uri": "./Vendor/New", "data": "n"},
        ]
    ],
    indirect=True,
)
def test_tree_file_takes_any_uri_and_is_saved(server: Server, tmp_path: Path) -> None:
    tree = tmp_path / "tree.json"
    tree.write_text(json.dumps({"./Custom/Deep/Leaf": "x", "./DevInfo/Mod": "Model Z"}))
    result = _device(server, "--tree", str(tree))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Get ./Custom/Deep/Leaf -> 200 'x'" in result.stdout
    assert json.loads(tree.read_text()) == {
        "./Custom/Deep/Leaf": "x",
        "./DevInfo/Mod": "Model Z",
        "./Vendor/New": "n",
    }


def test_missing_tree_file_is_exit_2_and_not_created(tmp_path: Path) -> None:
    tree = tmp_path / "missing.json"
    result = dmproto("device", "--server", "http://127.0.0.1:1/dm", "--tree", str(tree))
    assert result.returncode == 2 and "does not exist" in result.stderr
    assert not tree.exists()


def test_failed_session_is_exit_1_with_the_reason_and_quiet_prints_nothing_else(
    server: Server,
) -> None:
    result = dmproto(
        "device", "--server", server.url, "--user", "dev", "--password", "wrong", "-q", timeout=60
    )
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dmproto device: session failed: ")


def test_help_documents_the_exit_codes() -> None:
    result = dmproto("device", "--help")
    assert result.returncode == 0
    for line in ("0  every session completed", "1  a session failed", "2  usage or input"):
        assert line in result.stdout


def test_listening_device_says_why_a_package0_is_ignored() -> None:
    port = free_port(socket.SOCK_DGRAM)
    with listening_device(port) as device:
        assert device.stdout is not None
        assert "listening for Package 0" in device.stdout.readline()  # bound by now
        for server_id, password in (("other", "sp"), ("srv", "wrong"), ("srv", "sp")):
            sent = dmproto(
                "notify",
                "--to",
                f"127.0.0.1:{port}",
                "--server-id",
                server_id,
                "--password",
                password,
                "--session-id",
                "2B",
                timeout=20,
            )
            assert sent.returncode == 0, sent.stderr
        out, err = device.communicate(timeout=30)
    assert "Package 0 from 'other' ignored: unknown server id" in out
    assert "Package 0 from 'srv' ignored: digest does not verify" in out
    # the good one starts a session; its server is unreachable (exit 2)
    assert "Package 0 from srv (session 2B) verified" in out
    assert device.returncode == 2 and "refused" in err.lower()


@pytest.mark.parametrize("option", [("--max-msg-size", "100"), ("--max-obj-size", "0")])
def test_unusable_sizes_are_exit_2_before_the_state_is_written(
    tmp_path: Path, option: tuple[str, str]
) -> None:
    state = tmp_path / "device.json"
    result = dmproto("device", "--server", "http://127.0.0.1:1/dm", "--state", str(state), *option)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not state.exists()


def test_trace_redacts_credentials_of_a_message_whose_body_is_malformed(tmp_path: Path) -> None:
    secret = "c2VjcmV0LXRoYXQtbXVzdC1ub3QtbGVhaw=="
    body = (
        '<SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr><VerDTD>1.2</VerDTD>'
        "<VerProto>DM/1.2</VerProto><SessionID>1</SessionID><MsgID>1</MsgID>"
        "<Target><LocURI>srv</LocURI></Target><Source><LocURI>dev</LocURI></Source>"
        f"<Cred><Data>{secret}</Data></Cred></SyncHdr>"
        "<SyncBody><Alert><CmdID>1</CmdID><Data>not-a-code</Data></Alert></SyncBody></SyncML>"
    ).encode()
    trace = Trace(tmp_path, side=TraceSide.CLIENT)
    trace(HttpRequest(method="POST", target="/dm", headers=(), body=body), None)
    written = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert secret.encode() not in written
    assert b"<Cred><Data>" + b"*" * len(secret) + b"</Data></Cred>" in written
