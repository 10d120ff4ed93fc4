"""``dmproto queue add | list | results`` and ``serve --workers`` from the command line
(docs/queue.md, docs/scaling.md): a job queued for one device reaches it through
``serve``, its outcomes are listed; ``--notify`` wakes the device with a Package 0."""

from __future__ import annotations

import http.client
import json
import os
import socket
import threading
from pathlib import Path

import dmproto_sync
import pytest
from clikit import device_session, dmproto, serving
from dmproto_server import ServerStore, connect

from dmproto.bindings.client import ClientDriver
from dmproto.bindings.push import PushAccepted, ServerSecret
from dmproto.bindings.steps import Send
from dmproto.codec import decode_message
from dmproto.security import NonceRole
from dmproto.testing import tree_device

JOB = [
    [{"cmd": "Add", "uri": "./Vendor/Q", "data": "queued"}, {"cmd": "Get", "uri": "./DevInfo/Mod"}],
    [{"cmd": "Atomic", "commands": [{"cmd": "Replace", "uri": "./Vendor/Q", "data": "q2"}]}],
]


def job_file(tmp_path: Path, doc: object = JOB) -> str:
    path = tmp_path / "job.json"
    path.write_text(json.dumps(doc))
    return str(path)


def lines(db: str, *args: str) -> list[dict[str, object]]:
    listed = dmproto("queue", *args, "--db", db, "--json")
    assert listed.returncode == 0, listed.stderr
    return [json.loads(line) for line in listed.stdout.splitlines()]


def test_a_queued_job_reaches_its_device_through_serve(tmp_path: Path) -> None:
    db = str(tmp_path / "server.sqlite3")
    added = dmproto("queue", "add", "--db", db, "--device", "IMEI:7", "--job", job_file(tmp_path))
    assert added.returncode == 0, added.stderr
    assert added.stdout.startswith("job 1: 3 command(s) in 2 package(s) for IMEI:7")
    dmproto("queue", "add", "--db", db, "--device", "IMEI:8", "--job", job_file(tmp_path))
    pending = lines(db, "list", "--device", "IMEI:7")
    assert [(r["package"], r["state"]) for r in pending] == [
        (0, "pending"),
        (0, "pending"),
        (1, "pending"),
    ]
    text = dmproto("queue", "list", "--db", db, "--state", "pending").stdout.splitlines()
    assert text[0] == "#1 job 1 IMEI:7 package 0: Add ./Vendor/Q -> pending"
    assert len(text) == 6
    tree = tmp_path / "tree.json"
    tree.write_text("{}")
    with serving("--db", db, "--client-user", "dev", "--client-password", "pw") as (port, _):
        device = device_session(
            port, "--user", "dev", "--password", "pw", "--device-id", "IMEI:7", "--tree", str(tree)
        )
        assert device.returncode == 0, device.stdout + device.stderr
    assert json.loads(tree.read_text()) == {"./Vendor/Q": "q2"}
    results = lines(db, "results", "--device", "IMEI:7")
    assert [(r["state"], r["code"]) for r in results] == [("answered", 200)] * 3
    get = results[1]["outcomes"]
    assert isinstance(get, list) and len(get) == 1 and get[0]["results"]
    atomic = results[2]["outcomes"]
    assert isinstance(atomic, list)
    assert [c["code"] for c in atomic[0]["detail"]["children"]] == [200]
    # the other device's job is still waiting; results lists only what finished
    assert lines(db, "results", "--device", "IMEI:8") == []
    assert {r["state"] for r in lines(db, "list", "--device", "IMEI:8")} == {"pending"}
    shown = dmproto("queue", "results", "--db", db).stdout
    assert "#1 job 1 IMEI:7 package 0: Add ./Vendor/Q -> answered (200)" in shown


@pytest.mark.parametrize("over", ["udp", "http"])
def test_queue_add_notify_wakes_the_device_with_the_stored_nonce(tmp_path: Path, over: str) -> None:
    db = str(tmp_path / "server.sqlite3")
    store = ServerStore(connect(db))
    store.put_nonce("IMEI:9", NonceRole.SERVER, b"nonce-from-db")  # what sessions handed out
    store.close()
    arrived: list[PushAccepted] = []
    got = threading.Event()

    def on_push(accepted: PushAccepted) -> None:
        arrived.append(accepted)
        got.set()

    secret = ServerSecret(password="sp", nonce=b"nonce-from-db")
    with dmproto_sync.PushListener({"srv": secret}.get, on_push, http_port=0) as listener:
        target = f"127.0.0.1:{listener.udp_port}" if over == "udp" else str(listener.http_url)
        for _ in range(5):  # UDP may drop a datagram; each add is a new job
            added = dmproto(
                "queue",
                "add",
                "--db",
                db,
                "--device",
                "IMEI:9",
                "--job",
                job_file(tmp_path),
                "--notify",
                target,
                "--server-id",
                "srv",
                "--server-password",
                "sp",
            )
            assert added.returncode == 0, added.stderr
            if got.wait(2.0):
                break
    assert arrived and arrived[0].notification.server_id == "srv"
    assert "Package 0" in added.stdout


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--job", "missing.json"], "cannot read job file"),
        (["--job", "BAD"], "job file"),
        (["--job", "GOOD", "--notify", "127.0.0.1:9"], "--notify needs --server-password"),
        (["--job", "GOOD", "--db", "postgresql://u:secret@127.0.0.1:1/db"], "--db"),
    ],
)
def test_queue_add_refuses_bad_input_with_one_line(
    tmp_path: Path, args: list[str], error: str
) -> None:
    bad = job_file(tmp_path, [{"cmd": "Frob"}])
    good = str(tmp_path / "good.json")
    Path(good).write_text(json.dumps(JOB))
    args = [bad if a == "BAD" else good if a == "GOOD" else a for a in args]
    if "--db" not in args:
        args += ["--db", str(tmp_path / "s.sqlite3")]
    result = dmproto("queue", "add", "--device", "IMEI:1", *args, cwd=tmp_path)
    assert result.returncode == 2
    assert error in result.stderr and len(result.stderr.splitlines()) == 1
    assert "secret" not in result.stderr  # a password in a URL is never echoed


def test_queue_list_does_not_create_a_database(tmp_path: Path) -> None:
    result = dmproto("queue", "list", "--db", str(tmp_path / "none.sqlite3"))
    assert result.returncode == 2 and "no database" in result.stderr
    assert not (tmp_path / "none.sqlite3").exists()


def test_serve_workers_that_cannot_start_stop_the_supervisor(tmp_path: Path) -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    try:
        result = dmproto(
            "serve",
            "--db",
            str(tmp_path / "s.sqlite3"),
            "--port",
            str(port),
            "--workers",
            "2",
            timeout=60,
        )
    finally:
        taken.close()
    assert result.returncode != 0
    assert "could not start" in result.stderr


def test_serve_public_url_names_the_load_balancer_in_resp_uri(tmp_path: Path) -> None:
    # Behind a load balancer the device must come back through it, not to this worker.
    public = ("--public-url", "https://dm.example.com:8443")
    with serving("--db", str(tmp_path / "s.sqlite3"), "--auth", "none", *public) as (port, _):
        device = tree_device("http://127.0.0.1/dm", random_bytes=os.urandom)
        step = ClientDriver(device.session).poll(0.0)
        assert isinstance(step, Send)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("POST", "/dm", body=step.request.body, headers=dict(step.request.headers))
        body = conn.getresponse().read()
        conn.close()
    resp_uri = decode_message(body).header.resp_uri
    assert resp_uri is not None and resp_uri.startswith("https://dm.example.com:8443/dm?s=")
