"""``dmproto serve`` over HTTPS and devices authenticated by a TLS client certificate
(``--tls-cert``, ``--client-ca``, ``--client-certificate``; ``device --tls-ca
--tls-cert``), as real subprocesses over real sockets.

The certificates are made in the test (``tests/tlskit.py``): a device CA that also
signs the server's certificate, the device's certificate, another one of the same
CA that no account knows, one of another CA and an expired one. A refused device
sends no password, so only its certificate could have let it in.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import attrs
import pytest
from clikit import dmproto, serving
from dmproto_server import ServerStore, connect
from tlskit import expired, issue, make_ca

pytest.importorskip("dmproto_sync")

DEVICE_ID = "IMEI:490154203237518"


@attrs.frozen
class Pki:
    """PEM files: ``<name>.pem`` and ``<name>.key`` for each certificate."""

    directory: Path
    fingerprints: dict[str, str]

    def cert(self, name: str) -> str:
        return str(self.directory / f"{name}.pem")

    def key(self, name: str) -> str:
        return str(self.directory / f"{name}.key")


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    directory = tmp_path_factory.mktemp("pki")
    ca = make_ca("Device CA")
    (directory / "ca.pem").write_bytes(ca.cert_pem)
    issued = {
        "server": issue(ca, "localhost", server=True),
        "device": issue(ca, DEVICE_ID),
        "unregistered": issue(ca, DEVICE_ID),
        "other-ca": issue(make_ca("Another CA"), DEVICE_ID),
        "expired": expired(ca, DEVICE_ID),
    }
    for name, cert in issued.items():
        cert.write(directory, name)
    return Pki(directory, {name: cert.fingerprint for name, cert in issued.items()})


def _serve_args(pki: Pki, db: Path, *more: str) -> tuple[str, ...]:
    """serve over TLS with the account ``dev`` (password ``pw``) on *db*."""
    return (
        "--db",
        str(db),
        "--tls-cert",
        pki.cert("server"),
        "--tls-key",
        pki.key("server"),
        "--client-user",
        "dev",
        "--client-password",
        "pw",
        *more,
    )


def _registering(pki: Pki, db: Path, *more: str) -> tuple[str, ...]:
    """serve as :func:`_serve_args`, asking for device certificates of the test CA and
    registering the ``device`` certificate for the account ``dev``."""
    ca = ("--client-ca", pki.cert("ca"))
    return _serve_args(pki, db, *ca, "--client-certificate", pki.cert("device"), *more)


def _account_of(db: Path, fingerprint: str) -> str | None:
    store = ServerStore(connect(str(db)))
    try:
        return store.certificate_account(fingerprint)
    finally:
        store.close()


def _device(port: int, pki: Pki, *args: str) -> subprocess.CompletedProcess[str]:
    """``dmproto device`` against https://127.0.0.1:PORT/dm, trusting the test CA."""
    return dmproto(
        "device",
        "--server",
        f"https://127.0.0.1:{port}/dm",
        "--device-id",
        DEVICE_ID,
        "--tls-ca",
        str(pki.directory / "ca.pem"),
        *args,
        timeout=60,
    )


def _with_certificate(
    port: int, pki: Pki, name: str, *args: str
) -> subprocess.CompletedProcess[str]:
    """A device presenting certificate *name* and sending no Cred at all."""
    return _device(port, pki, "--tls-cert", pki.cert(name), "--tls-key", pki.key(name),
                   "--auth", "none", *args)  # fmt: skip


def _completed(result: subprocess.CompletedProcess[str]) -> bool:
    return result.returncode == 0 and "session ended: completed" in result.stdout


# -- HTTPS ------------------------------------------------------------------------------------


def test_serve_over_https_and_a_device_trusting_the_ca(pki: Pki, tmp_path: Path) -> None:
    with serving(*_serve_args(pki, tmp_path / "s.sqlite3")) as (port, log):
        ok = _device(port, pki, "--user", "dev", "--password", "pw")
        # Without --tls-ca the system's CAs do not know the test CA.
        untrusted = dmproto(
            "device", "--server", f"https://127.0.0.1:{port}/dm", "--user", "dev",
            "--password", "pw", timeout=60,
        )  # fmt: skip
    assert _completed(ok), ok.stdout + ok.stderr
    assert untrusted.returncode == 2 and "CERTIFICATE_VERIFY_FAILED" in untrusted.stderr
    assert f"sync adapter on https://127.0.0.1:{port}/dm" in log[0]  # the real URL
    assert "device authenticated (syncml:auth-md5)" in log[0]


# -- device certificates ----------------------------------------------------------------------


@pytest.mark.parametrize("adapter", ["sync", "asyncio", "trio"])
def test_a_registered_certificate_logs_in_without_any_password(
    pki: Pki, tmp_path: Path, adapter: str
) -> None:
    pytest.importorskip(f"dmproto_{adapter}")
    args = _registering(pki, tmp_path / "s.sqlite3", "--adapter", adapter)
    with serving(*args) as (port, log):
        ok = _with_certificate(port, pki, "device", "--adapter", adapter)
    assert _completed(ok), ok.stdout + ok.stderr
    assert "; device certificates asked)" in log[0]
    assert f"device certificate of account 'dev' (CN={DEVICE_ID})" in log[0]
    assert f"device authenticated (TLS client certificate CN={DEVICE_ID})" in log[0]
    assert f"session with {DEVICE_ID} ended: completed" in log[0]
    assert "<- msg 1" in log[0] and "Status(SyncHdr#0=200)" in log[0]  # 200: no Cred checked
    assert _account_of(tmp_path / "s.sqlite3", pki.fingerprints["device"]) == "dev"


def test_workers_each_serve_tls_and_know_the_registered_certificate(
    pki: Pki, tmp_path: Path
) -> None:
    # Every worker process builds its own TLS context and reads the certificate table
    # (registration by the supervisor is idempotent): whichever worker the kernel hands
    # a connection to, the device gets in by certificate, or by password.
    args = _registering(pki, tmp_path / "s.sqlite3", "--workers", "2")
    with serving(*args) as (port, log):
        by_certificate = [_with_certificate(port, pki, "device") for _ in range(4)]
        by_password = _device(port, pki, "--user", "dev", "--password", "pw")
        refused = _with_certificate(port, pki, "unregistered")
    for result in [*by_certificate, by_password]:
        assert _completed(result), result.stdout + result.stderr
    assert not _completed(refused)
    assert "2 workers started" in log[0]
    assert log[0].count(f"sync adapter on https://127.0.0.1:{port}/dm") == 2  # both on TLS
    assert log[0].count(f"device authenticated (TLS client certificate CN={DEVICE_ID})") == 4
    assert "device authenticated (syncml:auth-md5)" in log[0]
    # registered once, although two workers started with --client-certificate
    assert _account_of(tmp_path / "s.sqlite3", pki.fingerprints["device"]) == "dev"


def test_an_unregistered_certificate_of_the_ca_is_refused(pki: Pki, tmp_path: Path) -> None:
    args = _serve_args(pki, tmp_path / "s.sqlite3", "--client-ca", pki.cert("ca"),
                       "--client-certificate", pki.cert("device"))  # fmt: skip
    with serving(*args) as (port, log):
        refused = _with_certificate(port, pki, "unregistered")
    # The handshake verifies it, but no account has it: the credentials decide, and
    # the device sent none under a name the server knows.
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "session failed" in refused.stderr
    assert f"unknown account '{DEVICE_ID}': device rejected" in log[0]
    assert "device certificate of account" not in log[0]


@pytest.mark.parametrize("bad", ["other-ca", "expired"])
def test_a_certificate_that_does_not_verify_fails_the_handshake(
    pki: Pki, tmp_path: Path, bad: str
) -> None:
    db = tmp_path / "s.sqlite3"
    with serving(*_serve_args(pki, db, "--client-ca", pki.cert("ca"))) as (port, log):
        # Registered, so only its verification can refuse it.
        store = ServerStore(connect(str(db)))
        try:
            store.put_certificate(pki.fingerprints[bad], "dev")
            store.put_certificate(pki.fingerprints["device"], "dev")
        finally:
            store.close()
        refused = _with_certificate(port, pki, bad)
        ok = _with_certificate(port, pki, "device")  # the server is still there
    # (the device reads the server's alert, or only the end of the connection)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "session ended" not in refused.stdout
    assert _completed(ok), ok.stdout + ok.stderr
    # No request of the refused device reached the application: one device connected.
    assert log[0].count(f"device {DEVICE_ID} connected") == 1
    assert log[0].count("device certificate of account 'dev'") == 1


@pytest.mark.parametrize("required", [True, False])
def test_require_client_certificate_refuses_a_device_without_one(
    pki: Pki, tmp_path: Path, required: bool
) -> None:
    more = ("--client-ca", pki.cert("ca"))
    if required:
        more += ("--require-client-certificate",)
    with serving(*_serve_args(pki, tmp_path / "s.sqlite3", *more)) as (port, log):
        result = _device(port, pki, "--user", "dev", "--password", "pw")
    if required:
        assert result.returncode == 2, result.stdout + result.stderr
        assert "session ended" not in result.stdout
        assert "; device certificates required)" in log[0]
        assert "connected" not in log[0]  # no request reached the application
    else:  # asked, not required: the password does it
        assert _completed(result), result.stdout + result.stderr
        assert "device authenticated (syncml:auth-md5)" in log[0]


# -- bad options ------------------------------------------------------------------------------


def _bad_cases(pki: Pki, tmp_path: Path) -> list[tuple[tuple[str, ...], str]]:
    notes = tmp_path / "notes.pem"
    notes.write_text("not a certificate\n")
    missing = str(tmp_path / "missing.pem")
    cert, key = pki.cert("server"), pki.key("server")
    tls = ("--tls-cert", cert, "--tls-key", key)
    account = ("--client-user", "dev", "--client-password", "pw")
    https = ("device", "--server", "https://127.0.0.1:1/dm")
    return [
        (("serve", "--tls-cert", cert), "--tls-cert and --tls-key go together"),
        (("serve", "--tls-key", key), "--tls-cert and --tls-key go together"),
        (("serve", "--client-ca", cert), "--client-ca needs --tls-cert and --tls-key"),
        (("serve", *tls, "--require-client-certificate"), "needs --client-ca"),
        (("serve", "--require-client-certificate"), "needs --client-ca"),
        (("serve", *tls, "--client-certificate", cert), "--client-certificate needs --client-user"),
        (("serve", "--tls-cert", missing, "--tls-key", key), f"--tls-cert {missing}: No such file"),
        (("serve", "--tls-cert", str(notes), "--tls-key", key), "not a PEM certificate"),
        (("serve", "--tls-cert", cert, "--tls-key", cert), "not a PEM private key"),
        (("serve", "--tls-cert", cert, "--tls-key", pki.key("device")), "is not the key of"),
        (("serve", *tls, "--client-ca", str(notes)), f"--client-ca {notes}: not a PEM"),
        (
            ("serve", *account, "--client-certificate", missing),
            f"--client-certificate {missing}: No such",
        ),
        (("serve", *account, "--client-certificate", key), "not a PEM certificate"),
        ((*https, "--tls-cert", cert), "--tls-cert and --tls-key go together"),
        ((*https, "--tls-key", key), "--tls-cert and --tls-key go together"),
        (("device", "--server", "http://127.0.0.1:1/dm", "--tls-ca", cert), "https:// server"),
        ((*https, "--tls-ca", str(notes)), f"--tls-ca {notes}: not a PEM certificate"),
        ((*https, "--tls-cert", cert, "--tls-key", pki.key("device")), "is not the key of"),
    ]


def test_bad_tls_options_exit_2_with_one_line(pki: Pki, tmp_path: Path) -> None:
    db = tmp_path / "never.sqlite3"
    for args, message in _bad_cases(pki, tmp_path):
        if args[0] == "serve":
            args = (*args, "--db", str(db))
        result = dmproto(*args, timeout=30)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"dmproto {args[0]}: "), (args, lines)
        assert message in lines[0], (args, lines)
    assert not db.exists()  # refused before any database was created
