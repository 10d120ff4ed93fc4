"""Full DM sessions through each adapter: auth schemes, multi-message packages, large
objects, many concurrent devices, rejected devices, server-initiated sessions."""

from __future__ import annotations

import threading
import time

import pytest
from _harness import ClientRun, Harness
from _scenario import (
    SERVER_ID,
    SERVER_PASSWORD,
    DeviceApp,
    ServerApp,
    add,
    client_config,
    delete,
    device_tree,
    get,
    replace,
    server_config,
)
from tlskit import TlsPair

from dmproto.bindings.push import PushAccepted, ServerSecret
from dmproto.codec import Encoding
from dmproto.codec.model import Command
from dmproto.errors import MalformedMessageError
from dmproto.limits import Limits
from dmproto.notification import build_notification
from dmproto.security import AuthScheme
from dmproto.session import ClientSession, OutgoingMessage, ServerSession, SessionState
from dmproto.session import events as ev
from dmproto.session.events import EndReason

INVENTORY: list[Command] = [get("./DevInfo/Mod"), get("./DevInfo/Man")]
EDITS: list[Command] = [
    add("./Vendor/Color", "red"),
    replace("./Vendor/Color", "blue"),
    get("./Vendor/Color"),
    delete("./Vendor/Color"),
    get("./Vendor/Color"),
]


def _run_one(
    harness: Harness,
    scheme: AuthScheme | None,
    packages: list[list[Command]],
    **client_changes: object,
) -> tuple[ServerApp, DeviceApp, object]:
    server = ServerApp(scheme=scheme, packages=packages)
    with harness.serving(server, server_config()) as url:
        tree = device_tree("IMEI:1")
        device = DeviceApp(tree)
        session = ClientSession(client_config(url, tree, "IMEI:1", scheme, **client_changes))
        [result] = harness.run_clients([ClientRun(session, device, url)])
    return server, device, result


@pytest.mark.parametrize(
    "scheme",
    [AuthScheme.MD5, AuthScheme.BASIC, AuthScheme.HMAC, None],
    ids=["md5", "basic", "hmac", "none"],
)
def test_full_session_each_auth_scheme(harness: Harness, scheme: AuthScheme | None) -> None:
    server, device, result = _run_one(harness, scheme, [INVENTORY, EDITS])
    assert not isinstance(result, BaseException), result
    assert server.connected == ["IMEI:1"]
    codes = [o.code for o in server.results("IMEI:1")]
    assert codes == [200, 200, 200, 200, 200, 200, 404]
    outcomes = server.results("IMEI:1")
    assert outcomes[0].results[0].data == "Conformance"
    assert outcomes[4].results[0].data == "blue"
    assert server.ended["IMEI:1"].reason is EndReason.COMPLETED
    assert device.ended is not None and device.ended.reason is EndReason.COMPLETED


def test_multi_message_package_and_large_object(harness: Harness) -> None:
    big = "x" * 40_000  # larger than both sides' MaxMsgSize: sent as a large object
    many: list[Command] = [add(f"./Vendor/N{i}", f"value-{i}") for i in range(60)]
    packages: list[list[Command]] = [many, [replace("./Vendor/N0", big), get("./Vendor/N0")]]
    server = ServerApp(scheme=AuthScheme.MD5, packages=packages)
    with harness.serving(server, server_config(max_msg_size=2048)) as url:
        tree = device_tree("IMEI:2")
        device = DeviceApp(tree)
        config = client_config(url, tree, "IMEI:2", AuthScheme.MD5, max_msg_size=2048)
        [result] = harness.run_clients([ClientRun(ClientSession(config), device, url)])
    assert not isinstance(result, BaseException), result
    outcomes = server.results("IMEI:2")
    assert [o.code for o in outcomes] == [200] * 62
    assert outcomes[-1].results[0].data == big


def test_many_concurrent_devices(harness: Harness) -> None:
    count = 200
    server = ServerApp(scheme=AuthScheme.MD5, packages=[INVENTORY])
    # 200 devices at once on a busy 2-core CI machine (under coverage, too): the
    # per-request timeouts here only guard against hangs, so they are generous.
    with harness.serving(server, server_config(), timeout=60.0) as url:
        runs = []
        for i in range(count):
            tree = device_tree(f"IMEI:{i}")
            config = client_config(url, tree, f"IMEI:{i}", AuthScheme.MD5)
            runs.append(ClientRun(ClientSession(config), DeviceApp(tree), url))
        results = harness.run_clients(runs, timeout=60.0, deadline=300)
    failures = [r for r in results if isinstance(r, BaseException)]
    assert not failures, failures[:3]
    assert sorted(server.connected) == sorted(f"IMEI:{i}" for i in range(count))
    assert all([o.code for o in server.results(f"IMEI:{i}")] == [200, 200] for i in range(count))


def test_rejected_device_and_wrong_password_do_not_stop_the_server(harness: Harness) -> None:
    server = ServerApp(scheme=AuthScheme.MD5, packages=[INVENTORY], reject=frozenset({"IMEI:bad"}))
    with harness.serving(server, server_config()) as url:
        runs = []
        for dev in ("IMEI:bad", "IMEI:good"):
            tree = device_tree(dev)
            runs.append(
                ClientRun(
                    ClientSession(client_config(url, tree, dev, AuthScheme.MD5)),
                    DeviceApp(tree),
                    url,
                )
            )
        wrong_tree = device_tree("IMEI:wrong")
        wrong = client_config(url, wrong_tree, "IMEI:wrong", AuthScheme.MD5)
        import attrs

        from dmproto.security import Credentials

        wrong = attrs.evolve(wrong, credentials=Credentials(username="IMEI:wrong", password="no"))
        runs.append(ClientRun(ClientSession(wrong), DeviceApp(wrong_tree), url))
        harness.run_clients(runs)
    assert server.connected == ["IMEI:good"]
    assert [o.code for o in server.results("IMEI:good")] == [200, 200]
    assert runs[0].handler.ended is not None  # type: ignore[attr-defined]
    assert runs[0].handler.ended.reason is not EndReason.COMPLETED  # type: ignore[attr-defined]
    assert runs[2].handler.ended is not None  # type: ignore[attr-defined]
    assert runs[2].handler.ended.reason is EndReason.AUTHENTICATION_FAILED  # type: ignore[attr-defined]


def test_server_initiated_session_after_package0_over_udp(harness: Harness, tls: TlsPair) -> None:
    server = ServerApp(scheme=AuthScheme.MD5, packages=[INVENTORY])
    pushes: list[PushAccepted] = []
    arrived = threading.Event()

    def on_push(accepted: PushAccepted) -> None:
        pushes.append(accepted)
        arrived.set()

    secrets = {SERVER_ID: ServerSecret(password=SERVER_PASSWORD, nonce=b"n0nce")}
    with (
        harness.serving(server, server_config(), ssl_context=tls.server) as url,
        harness.listening(secrets.get, on_push) as (udp_port, _),
    ):
        pkg0 = build_notification(
            server_id=SERVER_ID, password=SERVER_PASSWORD, nonce=b"n0nce", session_id=0x2A
        )
        harness.send_push_udp(pkg0, udp_port)
        assert arrived.wait(5)
        tree = device_tree("IMEI:push")
        device = DeviceApp(tree)
        config = client_config(url, tree, "IMEI:push", AuthScheme.MD5)
        session = ClientSession.from_notification(
            pushes[0].notification, pushes[0].nonce_used, config=config
        )
        [result] = harness.run_clients([ClientRun(session, device, url)], ssl_context=tls.client)
    assert not isinstance(result, BaseException), result
    assert [o.code for o in server.results("IMEI:push")] == [200, 200]
    assert device.ended is not None and device.ended.reason is EndReason.COMPLETED


def test_client_timeout_during_a_slow_handler(harness: Harness) -> None:
    gate = threading.Event()
    server = ServerApp(scheme=None, packages=[INVENTORY])

    def slow(session: ServerSession, event: ev.Event) -> None:
        if isinstance(event, ev.PackageCompleted) and not gate.is_set():
            gate.wait(1.0)  # longer than the client's timeout
        server(session, event)

    with harness.serving(slow, server_config(inactivity_timeout=1.0)) as url:
        tree = device_tree("IMEI:slow")
        session = ClientSession(client_config(url, tree, "IMEI:slow", None))
        [result] = harness.run_clients([ClientRun(session, DeviceApp(tree), url)], timeout=0.3)
        assert isinstance(result, BaseException)  # the client gave up ...
        assert session.state is SessionState.FINISHED  # ... and aborted its session
        gate.set()
        # the server's session times out instead of waiting forever
        deadline = time.monotonic() + 10
        while "IMEI:slow" not in server.ended:
            assert time.monotonic() < deadline, "server session never ended"
            time.sleep(0.05)
        assert server.ended["IMEI:slow"].reason is EndReason.TIMED_OUT
        # and the server keeps serving other devices
        tree2 = device_tree("IMEI:next")
        device = DeviceApp(tree2)
        session2 = ClientSession(client_config(url, tree2, "IMEI:next", None))
        [result2] = harness.run_clients([ClientRun(session2, device, url)])
    assert not isinstance(result2, BaseException), result2
    assert device.ended is not None and device.ended.reason is EndReason.COMPLETED


def test_wbxml_session_with_hmac(harness: Harness) -> None:
    seen: list[str] = []
    server = ServerApp(scheme=AuthScheme.HMAC, packages=[INVENTORY, EDITS])
    with harness.serving(server, server_config()) as url:
        tree = device_tree("IMEI:wbxml")
        device = DeviceApp(tree)
        config = client_config(url, tree, "IMEI:wbxml", AuthScheme.HMAC, encoding=Encoding.WBXML)
        session = ClientSession(config)
        real_send = session.messages_to_send

        def spy(now: float) -> list[OutgoingMessage]:
            out = real_send(now)
            seen.extend(m.media_type for m in out)
            return out

        session.messages_to_send = spy  # type: ignore[method-assign]
        [result] = harness.run_clients([ClientRun(session, device, url)])
    assert not isinstance(result, BaseException), result
    assert seen and all(t == "application/vnd.syncml.dm+wbxml" for t in seen)
    assert [o.code for o in server.results("IMEI:wbxml")] == [200] * 6 + [404]
    assert device.ended is not None and device.ended.reason is EndReason.COMPLETED


def test_oversized_response_is_refused_by_the_client(harness: Harness) -> None:
    server = ServerApp(scheme=None, packages=[INVENTORY])
    with harness.serving(server, server_config()) as url:
        tree = device_tree("IMEI:small")
        session = ClientSession(client_config(url, tree, "IMEI:small", None))
        run = ClientRun(session, DeviceApp(tree), url, limits=Limits(max_message_size=300))
        [result] = harness.run_clients([run])
    assert isinstance(result, MalformedMessageError)
    assert result.reason == "http.body-too-large"
    assert session.state is SessionState.FINISHED


def test_device_vanishing_mid_package_times_out_on_the_server(harness: Harness) -> None:
    from dmproto_sync import HttpClient

    from dmproto.bindings.client import ClientDriver
    from dmproto.bindings.steps import Deliver, Send

    many: list[Command] = [get("./DevInfo/Mod") for _ in range(30)]
    server = ServerApp(scheme=None, packages=[many])
    config = server_config(max_msg_size=1024, inactivity_timeout=1.0)
    with harness.serving(server, config) as url:
        tree = device_tree("IMEI:gone")
        session = ClientSession(client_config(url, tree, "IMEI:gone", None))
        driver = ClientDriver(session)
        device = DeviceApp(tree)
        sent = 0
        with HttpClient(max_body=1 << 20, timeout=5) as http:
            while sent < 2:  # Package 1, then the first message of Package 3 only
                step = driver.poll(time.monotonic())
                if isinstance(step, Deliver):
                    device(session, step.event)
                    continue
                assert isinstance(step, Send)
                response = http.exchange(step.url, step.request)
                driver.handle_response(response, time.monotonic())
                sent += 1
            # the device's Package 3 was split: more of it is waiting to be sent
            assert isinstance(driver.poll(time.monotonic()), Send)
        assert len(server.results("IMEI:gone")) < len(many)
        deadline = time.monotonic() + 10
        while "IMEI:gone" not in server.ended:
            assert time.monotonic() < deadline, "server session never ended"
            time.sleep(0.05)
    assert server.ended["IMEI:gone"].reason is EndReason.TIMED_OUT
