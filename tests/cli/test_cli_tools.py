"""``dmproto demo | serve | device | notify`` as real subprocesses, plus their helpers."""

from __future__ import annotations

import json
import signal
import socket
import sqlite3
import time
from pathlib import Path

import pytest
from clikit import dmproto, free_port, listening_device, start_dmproto, wait_for_port
from dmproto_server.jobs import command_from_json

from dmproto.cli.summary import summarize
from dmproto.codec.model import Get, Replace
from dmproto.errors import InvalidValueError

pytest.importorskip("dmproto_sync")


def test_demo_runs_a_full_session_and_exits_0() -> None:
    result = dmproto("demo", "--timeout", "50")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    # Package 0 over UDP, verified by the device
    assert "Package 0 (" in out and "WSP push over UDP" in out
    assert "Package 0 verified (stored nonce)" in out
    # MD5 both ways, Alert 1200 (server-initiated)
    assert "device authenticated (syncml:auth-md5)" in out
    assert "server authenticated (syncml:auth-md5)" in out
    assert "Alert 1200" in out
    # inventory, add/replace/delete
    assert "Get ./DevInfo/Mod -> 200 'Demo Phone'" in out
    assert "Get ./Vendor/Demo/Color -> 200 'blue'" in out
    assert "Get ./Vendor/Demo/Color -> 404" in out
    # a failing Atomic rolled back: 507 with 216 for the Add, and the node is gone
    assert "-> 507 [216, 405]" in out
    assert "Get ./Vendor/Demo/Temp -> 404" in out
    # a large object travels in chunks both ways
    assert "Add ./Vendor/Demo/Blob (MoreData)" in out and "Alert 1222" in out
    assert "(30000 chars)" in out
    # the UI alert was answered automatically, and both sides saw a normal end
    assert "UI alert 1101" in out and "auto-answered Yes" in out
    assert "[server] session with IMEI:493005100592800 ended: completed" in out
    assert "[device] session ended: completed" in out


def test_serve_persists_nonces_and_outcomes_across_restarts(tmp_path: Path) -> None:
    db = tmp_path / "server.sqlite3"
    job = tmp_path / "job.json"
    job.write_text(
        json.dumps(
            [
                {"cmd": "Get", "uri": "./DevInfo/Mod"},
                {"cmd": "Add", "uri": "./Vendor/Note", "data": "hello"},
            ]
        )
    )
    for run in range(2):
        port = free_port()
        server = start_dmproto(
            "serve",
            "--port",
            str(port),
            "--db",
            str(db),
            "--client-user",
            "dev",
            "--client-password",
            "pw",
            "--job",
            str(job),
            merge_stderr=True,
        )
        try:
            wait_for_port(port)
            (tmp_path / f"tree{run}.json").write_text("{}")  # a --tree file must exist
            result = dmproto(
                "device",
                "--server",
                f"http://127.0.0.1:{port}/dm",
                "--user",
                "dev",
                "--password",
                "pw",
                "--device-id",
                "IMEI:42",
                "--tree",
                str(tmp_path / f"tree{run}.json"),
                timeout=30,
            )
            assert result.returncode == 0, result.stdout + result.stderr
            assert "Get ./DevInfo/Mod -> 200" in result.stdout
        finally:
            server.terminate()
            log, _ = server.communicate(timeout=30)
        assert "[server] session with IMEI:42 ended: completed" in log
        assert json.loads((tmp_path / f"tree{run}.json").read_text()) == {"./Vendor/Note": "hello"}
    with sqlite3.connect(db) as conn:
        outcomes = conn.execute("SELECT command, code FROM outcomes ORDER BY id").fetchall()
        roles = {r for (r,) in conn.execute("SELECT role FROM nonces WHERE device_id='IMEI:42'")}
        snapshots = conn.execute(
            "SELECT count(*) FROM sessions WHERE snapshot IS NOT NULL"
        ).fetchone()[0]
    assert outcomes == [("Get ./DevInfo/Mod", 200), ("Add ./Vendor/Note", 200)] * 2
    assert "client" in roles  # the nonce issued to the device survives the restart
    assert snapshots == 0  # finished sessions leave no snapshot (their last answer stays)


def test_notify_wakes_a_listening_device(tmp_path: Path) -> None:
    port = free_port(socket.SOCK_DGRAM)
    with listening_device(port) as device:
        time.sleep(1.0)
        for _ in range(20):
            sent = dmproto(
                "notify",
                "--to",
                f"127.0.0.1:{port}",
                "--server-id",
                "srv",
                "--password",
                "sp",
                "--session-id",
                "2B",
                timeout=20,
            )
            assert sent.returncode == 0, sent.stderr
            if device.poll() is not None:
                break
            time.sleep(0.3)
        out, err = device.communicate(timeout=30)
    # the push was verified and the session started; the server address is unreachable
    assert "Package 0 from srv (session 2B)" in out
    assert device.returncode == 2 and "refused" in err.lower()


@pytest.mark.parametrize(
    "args",
    [
        ("device", "--server", "http://127.0.0.1:1/dm"),
        ("device", "--server", "ftp://x/"),
        (
            "notify",
            "--to",
            "127.0.0.1:99999",
            "--server-id",
            "s",
            "--password",
            "p",
            "--session-id",
            "1",
        ),
        ("notify", "--server-id", "s", "--password", "p", "--session-id", "1"),
        ("notify", "--to", "h", "--server-id", "s", "--password", "p", "--session-id", "XYZW"),
        (
            "notify",
            "--to",
            "h",
            "--server-id",
            "s",
            "--password",
            "p",
            "--session-id",
            "1",
            "--nonce",
            "%%%",
        ),
        ("serve", "--job", "/nonexistent/job.json"),
        ("serve", "--adapter", "nope"),
    ],
)
def test_bad_arguments_and_unreachable_peers_exit_2(args: tuple[str, ...]) -> None:
    result = dmproto(*args, timeout=30)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines and "Traceback" not in result.stderr
    # one error line (argparse prints its usage block before it)
    assert lines[-1].startswith("dmproto")


def test_command_from_json() -> None:
    get = command_from_json({"cmd": "Get", "uri": "./DevInfo/Mod"})
    assert isinstance(get, Get) and get.items[0].target is not None
    assert get.items[0].target.loc_uri == "./DevInfo/Mod"
    rep = command_from_json({"cmd": "Replace", "uri": "./X", "data": "1", "format": "int"})
    assert isinstance(rep, Replace) and rep.items[0].data == "1"
    assert rep.items[0].meta is not None and rep.items[0].meta.format == "int"
    bad: object
    for bad in ({"cmd": "Sync"}, {"cmd": "Get"}, [], {"cmd": "Add", "uri": "./X", "data": 3}):
        with pytest.raises(InvalidValueError):
            command_from_json(bad)


def test_summarize_never_raises() -> None:
    assert "not a DM message" in summarize(b"\x00\x01garbage", None)
    assert "not a DM message" in summarize(b"<SyncML/>", "text/html")


@pytest.mark.parametrize("adapter", ["sync", "asyncio", "trio"])
@pytest.mark.parametrize(
    ("signum", "code", "said", "background"),
    [
        (signal.SIGINT, 130, "dmproto: interrupted", False),
        (signal.SIGTERM, 0, "dmproto serve: terminated by SIGTERM, stopped", False),
        # `dmproto serve &` in a script: the shell starts it with SIGINT ignored.
        (signal.SIGTERM, 0, "dmproto serve: terminated by SIGTERM, stopped", True),
    ],
    ids=["ctrl-c", "sigterm", "sigterm-sigint-ignored"],
)
def test_serve_stops_promptly_on_a_signal_and_says_so(
    tmp_path: Path,
    adapter: str,
    signum: signal.Signals,
    code: int,
    said: str,
    background: bool,
) -> None:
    pytest.importorskip(f"dmproto_{adapter}")
    port = free_port()
    server = start_dmproto(
        "serve",
        "--port",
        str(port),
        "--db",
        str(tmp_path / "db.sqlite3"),
        "--adapter",
        adapter,
        ignore_sigint=background,
    )
    try:
        wait_for_port(port)
        server.send_signal(signum)
        _, err = server.communicate(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
            server.communicate()
    assert server.returncode == code, err
    assert err.strip() == said


def test_sqlite_store_lets_a_new_server_continue_a_session(tmp_path: Path) -> None:
    import os

    from dmproto_server import ServerStore, connect
    from dmproto_server.app import ServerApp

    from dmproto.bindings.client import ClientDriver
    from dmproto.bindings.server import ServerEndpoint
    from dmproto.bindings.steps import Deliver, Send
    from dmproto.security import AuthScheme, Credentials
    from dmproto.session import events as ev
    from dmproto.testing import server_config, tree_device

    db = str(tmp_path / "s.sqlite3")
    device = tree_device(
        "http://127.0.0.1/dm",
        dev_id="IMEI:r",
        mod="Restart",
        credentials=Credentials(username="u", password="p"),
    )
    session = device.session
    driver = ClientDriver(session)
    workers = 0
    for _ in range(50):
        step = driver.poll(0.0)
        if isinstance(step, Deliver):
            device(session, step.event)
        elif isinstance(step, Send):
            # a new server process for every message: state only in SQLite
            store = ServerStore(connect(db))
            store.put_account("u", "p")
            app = ServerApp(
                store=store,
                scheme=AuthScheme.MD5,
                script=[[command_from_json({"cmd": "Get", "uri": "./DevInfo/Mod"})]],
                log=lambda level, text: None,
            )
            endpoint = ServerEndpoint(
                server_config(random_bytes=os.urandom, server_uri="srv"), claims=store
            )
            response = endpoint.handle(step.request, app, lambda: 0.0)
            store.close()
            workers += 1
            driver.handle_response(response, 0.0)
        else:
            break
    assert workers >= 2
    assert driver.ended is not None and driver.ended.reason is ev.EndReason.COMPLETED
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT command, code FROM outcomes").fetchall() == [
            ("Get ./DevInfo/Mod", 200)
        ]
