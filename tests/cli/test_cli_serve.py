"""``dmproto serve`` / ``dmproto outcomes`` as real subprocesses over real sockets."""

from __future__ import annotations

import json
import os
import re
import sqlite3
from pathlib import Path
from typing import Any

import attrs
import pytest
from clikit import device_session, dmproto, free_port, serving
from datapaths import DATA, README

pytest.importorskip("dmproto_sync")


def _outcomes(db: Path) -> list[dict[str, object]]:
    listed = dmproto("outcomes", "--db", str(db), "--json", timeout=30)
    assert listed.returncode == 0, listed.stderr
    return [json.loads(line) for line in listed.stdout.splitlines()]


# -- secrets at rest ----------------------------------------------------------------------


def test_db_keeps_only_digests_and_an_old_plaintext_db_is_migrated(tmp_path: Path) -> None:
    db = tmp_path / "old.sqlite3"
    with sqlite3.connect(db) as conn:  # the schema of the first version: plaintext
        conn.execute("CREATE TABLE accounts (username TEXT PRIMARY KEY, password TEXT NOT NULL)")
        conn.execute(
            "CREATE TABLE outcomes (id INTEGER PRIMARY KEY, device_id TEXT, "
            "command TEXT, code INTEGER, results TEXT)"
        )
        conn.execute("INSERT INTO accounts VALUES ('old', 'OldSecret-123')")
        conn.execute(
            "CREATE TABLE sessions (token TEXT PRIMARY KEY, session_id TEXT, "
            "device_id TEXT, snapshot TEXT)"
        )
        snapshot = {
            "account": {"$c": "Credentials", "username": "old", "password": "OldSecret-123"}
        }
        conn.execute("INSERT INTO sessions VALUES ('t', '1', 'IMEI:x', ?)", (json.dumps(snapshot),))
    conn.close()
    os.chmod(db, 0o644)
    with serving(
        "--db",
        str(db),
        "--client-user",
        "new",
        "--client-password",
        "NewSecret-456",
        "--auth",
        "basic",
    ) as (port, log):
        for user, password in (("old", "OldSecret-123"), ("new", "NewSecret-456")):
            # Basic is verified against the stored digest
            ok = device_session(
                port,
                "--user",
                user,
                "--password",
                password,
                "--auth",
                "basic",
                "--device-id",
                f"IMEI:{user}",
            )
            assert ok.returncode == 0, ok.stdout + ok.stderr
            assert "session ended: completed" in ok.stdout
        wrong = device_session(
            port, "--user", "old", "--password", "OldSecret-124", "--auth", "basic"
        )
        assert wrong.returncode != 0
    assert "is readable by others" in log[0]  # the 0644 file is flagged
    raw = db.read_bytes()
    assert b"OldSecret-123" not in raw and b"NewSecret-456" not in raw
    with sqlite3.connect(db) as conn:
        rows = dict(conn.execute("SELECT username, md5_digest FROM accounts").fetchall())
        (snap,) = conn.execute("SELECT snapshot FROM sessions WHERE token = 't'").fetchone()
    conn.close()
    assert json.loads(snap)["account"]["md5_digest"] == "g0ZZ+E92kL8+v8ARhy7tBw=="
    assert rows["old"] == "g0ZZ+E92kL8+v8ARhy7tBw=="  # B64(MD5("old:OldSecret-123"))


def test_a_new_db_is_created_private_and_hmac_works_from_the_digest(tmp_path: Path) -> None:
    db = tmp_path / "new.sqlite3"
    with serving(
        "--db", str(db), "--auth", "hmac", "--client-user", "dev", "--client-password", "pw"
    ) as (port, _):
        ok = device_session(port, "--user", "dev", "--password", "pw", "--auth", "hmac")
        assert ok.returncode == 0, ok.stdout + ok.stderr
        assert "session ended: completed" in ok.stdout
    assert db.stat().st_mode & 0o077 == 0


# -- one-line errors, signals ---------------------------------------------------------------


def _bad_cases(tmp_path: Path) -> list[tuple[str, ...]]:
    not_a_db = tmp_path / "notes.txt"
    not_a_db.write_text("these are not the droids\n" * 100)
    job = tmp_path / "bad-job.json"
    job.write_text(json.dumps([{"cmd": "Alert", "code": 1103, "text": "Pick"}]))
    return [
        ("serve", "--client-user", "dev"),
        ("serve", "--client-password", "pw"),
        ("serve", "--port", "70000"),
        ("serve", "--port", "http"),
        ("serve", "--db", str(tmp_path / "missing-dir" / "x.sqlite3")),
        ("serve", "--db", str(not_a_db)),
        ("serve", "--max-msg-size", "100", "--db", str(tmp_path / "a.sqlite3")),
        ("serve", "--max-msg-size", "-5"),
        ("serve", "--job", str(job), "--db", str(tmp_path / "b.sqlite3")),
        ("outcomes", "--db", str(tmp_path / "none.sqlite3")),
        ("outcomes", "--db", str(not_a_db)),
    ]


def test_bad_serve_options_exit_2_with_one_line(tmp_path: Path) -> None:
    for args in _bad_cases(tmp_path):
        result = dmproto(*args, timeout=30)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr, args
        lines = result.stderr.strip().splitlines()
        assert lines and lines[-1].startswith("dmproto"), (args, result.stderr)
        if not lines[-1].startswith("dmproto serve: error") and "usage" not in result.stderr:
            assert len(lines) == 1, (args, result.stderr)
    assert not (tmp_path / "none.sqlite3").exists()  # looking creates nothing


def test_port_in_use_exits_2(tmp_path: Path) -> None:
    with serving("--db", str(tmp_path / "a.sqlite3")) as (port, _):
        result = dmproto(
            "serve", "--port", str(port), "--db", str(tmp_path / "b.sqlite3"), timeout=30
        )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


# -- jobs, outcomes, trace, logs --------------------------------------------------------------

JOB = [
    [
        {"cmd": "Get", "uri": "./DevInfo/Mod"},
        {
            "cmd": "Add",
            "uri": "./Vendor/From",
            "data": "copied",
            "format": "chr",
            "type": "text/plain",
        },
        {"cmd": "Copy", "uri": "./Vendor/To", "source": "./Vendor/From"},
        {"cmd": "Exec", "uri": "./Vendor/From", "data": "go", "correlator": "corr-7"},
    ],
    [
        {
            "cmd": "Atomic",
            "commands": [
                {"cmd": "Add", "uri": "./Vendor/A", "data": "1"},
                {
                    "cmd": "Sequence",
                    "commands": [{"cmd": "Replace", "uri": "./Vendor/A", "data": "2"}],
                },
            ],
        },
        {
            "cmd": "Replace",
            "items": [{"uri": "./Vendor/A", "data": "3"}, {"uri": "./Vendor/From", "data": "x"}],
        },
        {"cmd": "Delete", "uri": "./Vendor/To"},
    ],
    [
        {"cmd": "Alert", "code": 1100, "text": "Hello", "options": {"MINDT": 1, "MAXDT": 9}},
        {"cmd": "Alert", "code": 1101, "text": "Install?", "options": {"DR": "1"}},
        {
            "cmd": "Alert",
            "code": 1102,
            "text": "PIN?",
            "options": {"MAXLEN": 4, "IT": "N", "ET": "P"},
        },
        {"cmd": "Alert", "code": 1103, "text": "Colour", "choices": ["red", "blue"]},
        {"cmd": "Alert", "code": 1104, "text": "Extras", "choices": ["a", "b", "c"]},
    ],
]


def test_a_job_of_every_command_and_all_its_outcomes(tmp_path: Path) -> None:
    db, job, trace = tmp_path / "s.sqlite3", tmp_path / "job.json", tmp_path / "trace"
    job.write_text(json.dumps(JOB))
    with serving(
        "--db",
        str(db),
        "--job",
        str(job),
        "--client-user",
        "dev",
        "--client-password",
        "pw",
        "--trace",
        str(trace),
        "--max-msg-size",
        "2048",
        "--max-obj-size",
        "65536",
    ) as (port, log):
        result = device_session(port, "--user", "dev", "--password", "pw", "--device-id", "IMEI:7")
        assert result.returncode == 0, result.stdout + result.stderr
    # the device saw each UI alert with its options
    for code in (1100, 1101, 1102, 1103, 1104):
        assert f"UI alert {code}" in result.stdout
    rows = _outcomes(db)
    status = {r["command"]: r for r in rows if r["kind"] == "status"}
    assert status["Get ./DevInfo/Mod"]["detail"]["results"] == [  # type: ignore[index]
        {"source": "./DevInfo/Mod", "data": "Demo Phone"}
    ]
    assert status["Add ./Vendor/From"]["code"] == 200
    assert "Copy ./Vendor/To" in status and "Exec ./Vendor/From" in status
    atomic = next(r for r in rows if str(r["command"]).startswith("Atomic["))
    children = atomic["detail"]["children"]  # type: ignore[index]
    assert [c["code"] for c in children] == [200, 200]  # the Add and the Sequence
    assert [c["code"] for c in children[1]["children"]] == [200]
    assert status["Replace ./Vendor/A +1"]["code"] == 200
    ui = [r["detail"]["answer"] for r in rows if r["kind"] == "ui"]  # type: ignore[index]
    assert ui == [  # the device's automatic answers (see DeviceApp)
        {"answered": True, "answer": "displayed"},
        {"answered": True, "answer": "yes"},
        {"answered": True, "answer": "42"},
        {"answered": True, "answer": [1], "labels": ["red"]},
        {"answered": True, "answer": [1], "labels": ["a"]},
    ]
    # shown live too, and as text by `outcomes`
    assert "Alert 1102 -> 200 (UI: answered '42')" in log[0]
    text = dmproto("outcomes", "--db", str(db), timeout=30).stdout
    assert "Alert 1103 -> chose 1 'red'" in text and "Get ./DevInfo/Mod -> 200" in text
    # the trace: every message numbered, in order, with headers; credentials redacted
    files = sorted(p.name for p in trace.iterdir())
    assert files[:4] == ["0001-in.http", "0001-in.xml", "0002-out.http", "0002-out.xml"]
    ins = [p for p in trace.iterdir() if p.name.endswith("-in.xml")]
    assert len(ins) >= 4 and len(ins) * 2 == len([f for f in files if f.endswith(".xml")])
    assert all(p.stat().st_size <= 2048 for p in ins)  # our MaxMsgSize bounds the device
    first_in = (trace / "0001-in.xml").read_text()
    assert re.search(r"<Cred>.*<Data>\*+</Data>", first_in, re.S), first_in
    assert (
        "content-type: application/vnd.syncml.dm+xml"
        in (trace / "0001-in.http").read_text().lower()
    )
    first_out = (trace / "0002-out.xml").read_text()
    assert "<MaxMsgSize" in first_out and ">2048</MaxMsgSize>" in first_out
    assert ">65536</MaxObjSize>" in first_out


def test_generic_and_client_alerts_are_kept(tmp_path: Path) -> None:
    import dmproto_sync

    from dmproto.codec import Encoding, decode_message
    from dmproto.codec.model import Alert, Item, Location, Meta
    from dmproto.security import AuthScheme, Credentials
    from dmproto.session import ClientConfig, ClientSession

    db = tmp_path / "s.sqlite3"
    generic = Alert(
        cmd_id=None,
        code=1226,
        correlator="corr-9",
        items=(
            Item(
                source=Location(loc_uri="./Vendor/Update"),
                meta=Meta(format="chr", type="org.example.update"),
                data="done",
            ),
        ),
    )
    trace = tmp_path / "trace"
    with serving(
        "--db",
        str(db),
        "--client-user",
        "dev",
        "--client-password",
        "pw",
        "--trace",
        str(trace),
        "--show-credentials",
    ) as (port, log):
        session = ClientSession(
            ClientConfig(
                random_bytes=os.urandom,
                server_uri=f"http://127.0.0.1:{port}/dm",
                device_id="IMEI:9",
                dev_info=(),
                initial_alerts=(generic,),
                encoding=Encoding.WBXML,
                credentials=Credentials(username="dev", password="pw"),
                auth_scheme=AuthScheme.MD5,
            )
        )

        def answer(s: ClientSession, event: object) -> None:
            from dmproto.outcome import CommandOutcome
            from dmproto.session import events as ev

            if isinstance(event, ev.CommandReceived):
                s.respond(event.handle, CommandOutcome(code=404))

        dmproto_sync.run_client_session(session, answer, timeout=30)
    alerts = [r for r in _outcomes(db) if r["kind"] == "generic-alert"]
    assert alerts == [
        {
            "id": alerts[0]["id"],
            "device_id": "IMEI:9",
            "session_id": alerts[0]["session_id"],
            "kind": "generic-alert",
            "command": "Alert 1226",
            "code": 1226,
            "results": [],
            "detail": {
                "correlator": "corr-9",
                "items": [
                    {
                        "source": "./Vendor/Update",
                        "format": "chr",
                        "type": "org.example.update",
                        "data": "done",
                    }
                ],
            },
            # not a queued command, not a child of an Atomic or Sequence
            "command_id": None,
            "parent_id": None,
            "child_index": None,
        }
    ]
    assert "generic-alert Alert 1226 correlator 'corr-9'" in log[0]
    # WBXML is traced as sent plus its decoded XML; --show-credentials keeps the Cred
    sent = (trace / "0001-in.wbxml").read_bytes()
    cred = decode_message(sent).header.cred
    assert cred is not None and "*" not in cred.data
    assert f"<Data>{cred.data}</Data>" in (trace / "0001-in.wbxml.xml").read_text()


def test_trace_redacts_wbxml_credentials(tmp_path: Path) -> None:
    from dmproto.bindings.http import HttpRequest
    from dmproto.cli.trace import Trace, TraceSide
    from dmproto.codec import Encoding, decode_message, encode_message
    from dmproto.codec.model import Cred, Meta

    xml = DATA.glob("**/*.xml")
    message = next(m for m in (_try_decode(p.read_bytes()) for p in xml) if m is not None)
    secret = "U2VjcmV0Q3JlZGVudGlhbERhdGE="
    header = attrs.evolve(
        message.header, cred=Cred(meta=Meta(type="syncml:auth-md5", format="b64"), data=secret)
    )
    body = encode_message(attrs.evolve(message, header=header), Encoding.WBXML)
    tracer = Trace(tmp_path, side=TraceSide.SERVER)
    tracer(
        HttpRequest(
            method="POST",
            target="/dm",
            headers=(
                ("Content-Type", "application/vnd.syncml.dm+wbxml"),
                ("x-syncml-hmac", 'algorithm=MD5, username="u", mac=c2VjcmV0'),
            ),
            body=body,
        ),
        None,
    )
    traced = (tmp_path / "0001-in.wbxml").read_bytes()
    assert secret.encode() not in traced and len(traced) == len(body)
    redacted = decode_message(traced).header.cred
    assert redacted is not None and redacted.data == "*" * len(secret)
    assert "mac=<redacted>" in (tmp_path / "0001-in.http").read_text()
    assert "c2VjcmV0" not in (tmp_path / "0001-in.http").read_text()
    assert "*" * len(secret) in (tmp_path / "0001-in.wbxml.xml").read_text()


def _try_decode(body: bytes) -> Any:
    from dmproto.codec import decode_message
    from dmproto.errors import DMError

    try:
        return decode_message(body)
    except DMError:
        return None


def test_quiet_verbose_and_json_logs(tmp_path: Path) -> None:
    outputs = {}
    for mode in ("-q", "-v", "--log-format=json"):
        with serving(
            "--db",
            str(tmp_path / "db.sqlite3"),
            "--client-user",
            "dev",
            "--client-password",
            "pw",
            mode,
        ) as (port, log):
            assert device_session(port, "--user", "dev", "--password", "pw").returncode == 0
        outputs[mode] = log[0]
    quiet, verbose, as_json = outputs["-q"], outputs["-v"], outputs["--log-format=json"]
    assert "Get ./DevInfo/Mod" not in quiet and "-> msg" not in quiet
    assert "Get ./DevInfo/Mod -> 200" in verbose and "event CommandCompleted" in verbose
    assert "content-type: application/vnd.syncml.dm+xml" in verbose.lower()
    *logged, last = as_json.splitlines()
    assert last == "dmproto serve: terminated by SIGTERM, stopped"  # stderr, merged here
    lines = [json.loads(line) for line in logged]
    assert any(e["msg"].startswith("Get ./DevInfo/Mod -> 200") for e in lines)
    assert {"time", "level", "who", "msg"} <= set(lines[0])


def test_readme_serve_and_device_talk_to_each_other(tmp_path: Path) -> None:
    lines = re.findall(
        r"^dmproto (serve|device|outcomes|queue) (.*?)(?:\s+#.*)?$",
        README.read_text(encoding="utf-8"),
        re.M,
    )
    queued = [args for name, args in lines if name == "queue" and args.startswith("add ")]
    assert len(queued) == 1, lines
    (tmp_path / "job.json").write_text(json.dumps([{"cmd": "Get", "uri": "./DevInfo/Man"}]))
    added = dmproto("queue", *queued[0].split(), timeout=30, cwd=tmp_path)
    assert added.returncode == 0, added.stderr
    serves = [args for name, args in lines if name == "serve"]
    devices = [args for name, args in lines if name == "device"]
    assert len(serves) == 1 and devices, lines
    port = free_port()
    serve_args = serves[0].replace("8080", str(port)).rstrip(" &").split()
    serve_args = [a for a in serve_args if a not in ("--port", str(port))]
    with serving(*serve_args, port=port, cwd=tmp_path):
        for args in devices:  # in order: a later line may use what an earlier one stored
            result = dmproto(
                "device", *args.replace("8080", str(port)).split(), timeout=60, cwd=tmp_path
            )
            assert result.returncode == 0, (args, result.stdout + result.stderr)
    for name, args in lines:
        if name == "queue" and args.startswith("results "):
            shown = dmproto("queue", *args.split(), timeout=30, cwd=tmp_path)
            assert shown.returncode == 0, shown.stderr
            (row,) = [json.loads(line) for line in shown.stdout.splitlines()]
            assert (row["state"], row["code"]) == ("answered", 200), row
            assert row["outcomes"][0]["results"], row
        if name == "outcomes":
            listed = dmproto("outcomes", *args.split(), timeout=30, cwd=tmp_path)
            assert listed.returncode == 0, listed.stderr
            codes = [json.loads(line)["code"] for line in listed.stdout.splitlines()]
            assert codes and set(codes) == {200}, listed.stdout
