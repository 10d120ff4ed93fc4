"""``dmproto device``: a DM client (device) with its own management tree.

It connects once (client-initiated) or listens for Package 0 (``--listen-udp``)
and runs one session per verified push, executing what the server sends against
its tree. The tree, the DMAcc account and both nonces can persist in a state file
(``--state``, see :mod:`.device_files`); every message can be traced (``--trace``).
"""

from __future__ import annotations

import argparse
import functools
import os
import queue
import ssl
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import __version__
from ..bindings.http import HttpRequest, HttpResponse, encoding_of, header_value, parse_url
from ..bindings.push import PushAccepted, PushIgnored, ServerSecret
from ..codec import Encoding, decode_message
from ..codec.model import Alert, Status
from ..codes import AlertCode, StatusCode
from ..errors import DMError
from ..outcome import CommandOutcome
from ..security import Credentials
from ..session import ClientConfig, ClientSession
from ..session import events as ev
from ..session.ui import (
    UiRequest,
    choice_outcome,
    confirm_outcome,
    parse_ui_alert,
    text_input_outcome,
)
from ..tree import ManagementTree, Node, NodeFormat
from ..tree.stdobj import (
    AppAuth,
    AuthLevel,
    DeviceInfo,
    DMAccount,
    add_account,
    build_device_tree,
    devinfo_items,
    find_account,
    store_nonce,
)
from .common import (
    ADAPTERS,
    IO_TIMEOUT,
    SCHEMES,
    UsageError,
    add_auth_options,
    load_adapter,
    nonce_option,
)
from .device_files import (
    StateFileError,
    load_state,
    load_values,
    save_state,
    save_values,
)
from .summary import Transcript, describe, outcome_text, summarize
from .tls import add_device_tls_options, device_context
from .trace import Trace, TraceSide

__all__ = ["DeviceApp", "register"]

#: DMAcc ``AAuthPref`` / ``AAuthType`` names of the ``--auth`` schemes
#: (OMA-TS-DM_StdObj-V1_2_1, DMAcc AAuthPref and AppAuth/<X>/AAuthType).
_AAUTH = {"md5": "DIGEST", "basic": "BASIC", "hmac": "HMAC"}
_SCHEME_OF_AAUTH = {v: SCHEMES[k] for k, v in _AAUTH.items()}

#: ``ask(prompt)``: one line typed by the user, ``None`` at end of input.
Ask = Callable[[str], "str | None"]

_EXIT_CODES = """exit status:
  0  every session completed
  1  a session failed (the reason is printed on one line)
  2  usage or input error (bad option, unusable --state/--tree file), or the
     server cannot be reached
  130  interrupted (Ctrl-C)"""


def _ask_terminal(prompt: str) -> str | None:
    print(prompt, end="", flush=True)
    line = sys.stdin.readline()
    if not sys.stdin.isatty():
        print(flush=True)  # what was typed is not echoed: end the prompt's line
    return line.rstrip("\r\n") if line else None


# -- UI alerts (OMA-TS-DM_Protocol-V1_2_1 §2.5: user interaction commands) ----------------


def _auto_answer(request: UiRequest) -> tuple[CommandOutcome, str]:
    if request.kind is AlertCode.CONFIRM_OR_REJECT:
        return confirm_outcome(True), "Yes"
    if request.kind is AlertCode.TEXT_INPUT:
        return text_input_outcome("42"), "'42'"
    if request.kind in (AlertCode.SINGLE_CHOICE, AlertCode.MULTIPLE_CHOICE):
        return choice_outcome((1,)), "choice 1"
    return CommandOutcome(code=StatusCode.OK), "OK"


def _numbers(text: str, count: int, *, many: bool) -> tuple[int, ...] | None:
    parts = text.replace(",", " ").split()
    if not parts or (len(parts) > 1 and not many):
        return None
    if not all(p.isdigit() and 1 <= int(p) <= count for p in parts):
        return None
    return tuple(dict.fromkeys(int(p) for p in parts))


_CANCELLED = CommandOutcome(code=StatusCode.OPERATION_CANCELLED)


def _prompt_answer(request: UiRequest, ask: Ask) -> tuple[CommandOutcome, str]:
    """Ask the user; end of input cancels (214, or No for a confirmation)."""
    if request.kind is AlertCode.DISPLAY:
        print(f"[device] {request.text}", flush=True)
        return CommandOutcome(code=StatusCode.OK), "shown"
    if request.kind is AlertCode.CONFIRM_OR_REJECT:
        line = ask(f"{request.text} [y/n] ")
        yes = line is not None and line.strip().lower() in ("y", "yes")
        return confirm_outcome(yes), "Yes" if yes else "No"
    if request.kind is AlertCode.TEXT_INPUT:
        line = ask(f"{request.text}: ")
        if line is None:
            return _CANCELLED, "cancelled"
        return text_input_outcome(line), repr(line)
    many = request.kind is AlertCode.MULTIPLE_CHOICE
    print(request.text, flush=True)
    for number, choice in enumerate(request.choices, start=1):
        print(f"  {number}. {choice}", flush=True)
    hint = "numbers separated by spaces" if many else "a number"
    for _ in range(3):
        line = ask(f"choose ({hint}): ")
        if line is None:
            break
        chosen = _numbers(line, len(request.choices), many=many)
        if chosen is not None:
            return choice_outcome(chosen), "choice " + ",".join(map(str, chosen))
    return _CANCELLED, "cancelled"


# -- the device application ------------------------------------------------------------


class DeviceApp:
    """Executes server commands against a tree; answers UI alerts automatically or by
    asking (``ask``); keeps the nonces it is given in the tree's DMAcc account.

    ``verbosity``: 0 quiet, 1 commands and session events, 2 also every message.
    """

    def __init__(
        self,
        tree: ManagementTree,
        server_id: str,
        log: Transcript,
        *,
        verbosity: int = 1,
        ask: Ask | None = None,
    ):
        self.tree = tree
        self.server_id = server_id
        self.log = log
        self.verbosity = verbosity
        self.ask = ask
        self.nonces: dict[ev.NonceRole, bytes] = {}
        self.ended: ev.SessionEnded | None = None
        self.username: str | None = None  # the account name our credentials carry

    def starting(self) -> None:
        """A new session begins."""
        self.ended = None

    def say(self, level: int, text: str) -> None:
        """Log ``text`` when the verbosity is at least ``level``."""
        if self.verbosity >= level:
            self.log("device", text)

    def _ui(self, alert: Alert) -> CommandOutcome:
        request = parse_ui_alert(alert)
        if request is None:
            return CommandOutcome(code=StatusCode.OK)
        if self.ask is None:
            outcome, answer = _auto_answer(request)
            how = "auto-answered"
        else:
            outcome, answer = _prompt_answer(request, self.ask)
            how = "answered"
        self.say(1, f"UI alert {alert.code} {request.text!r} {how} {answer}")
        return outcome

    def __call__(self, session: ClientSession, event: ev.Event) -> None:
        if isinstance(event, ev.CommandReceived):
            outcome = self.tree.execute(event.command, server_id=self.server_id, ui=self._ui)
            self.say(1, f"{describe(event.command)} -> {outcome_text(outcome)}")
            session.respond(event.handle, outcome)
        elif isinstance(event, ev.NonceChanged):
            self.nonces[event.role] = event.nonce
            if find_account(self.tree, self.server_id) is not None:
                store_nonce(self.tree, self.server_id, event.role, event.nonce)
            self.say(2, f"new {event.role.value} nonce stored")
        elif isinstance(event, ev.PeerAuthenticated):
            self.say(1, f"server authenticated ({event.scheme or 'transport only'})")
        elif isinstance(event, ev.SessionEnded):
            self.ended = event
            self.say(1, f"session ended: {event.reason.value} {event.detail}".rstrip())

    def messages(self, request: HttpRequest, response: HttpResponse | None) -> None:
        """Client ``on_message`` observer: one line per message (verbosity 2), and
        what the server's SyncHdr Status said about our credentials."""
        if self.verbosity < 2:
            return
        if response is None:
            ctype = header_value(request.headers, "content-type")
            self.log("device", "-> " + summarize(request.body, ctype))
            return
        if response.status != 200:
            self.log("device", f"<- HTTP {response.status}")
            return
        ctype = header_value(response.headers, "content-type")
        self.log("device", "<- " + summarize(response.body, ctype))
        self._auth_status(response.body, ctype)

    def _auth_status(self, body: bytes, ctype: str | None) -> None:
        try:
            message = decode_message(body, encoding=encoding_of(ctype, body))
        except DMError:
            return
        for command in message.commands:
            if isinstance(command, Status) and command.cmd == "SyncHdr":
                # OMA-TS-DM_Security-V1_2_1 §5.1: 212 accepted, 401/407 a challenge.
                if command.code == StatusCode.AUTHENTICATION_ACCEPTED:
                    self.log("device", f"authenticated as {self.username!r}")
                elif command.code in (
                    StatusCode.INVALID_CREDENTIALS,
                    StatusCode.MISSING_CREDENTIALS,
                ):
                    self.log("device", f"server challenged our credentials ({command.code})")


# -- the tree and the account ----------------------------------------------------------


def _device_tree(dev_id: str, tree_file: str | None = None) -> ManagementTree:
    """The standard objects plus ``./Vendor`` (open to every server); values of a
    ``tree_file`` applied (see :func:`.device_files.load_values`)."""
    tree = build_device_tree(
        DeviceInfo(dev_id=dev_id, man="dmproto", mod="Demo Phone", sw_v=__version__, lrg_obj=True)
    )
    tree.add_node(("Vendor",), Node(name="Vendor", format=NodeFormat.NODE))
    tree.set_acl("./Vendor", "Add=*&Get=*&Replace=*&Delete=*&Exec=*")
    if tree_file:
        try:
            load_values(tree, Path(tree_file))
        except StateFileError as exc:
            raise UsageError(str(exc)) from None
    return tree


def _ensure_account(tree: ManagementTree, args: argparse.Namespace) -> None:
    """Write the account of ``--server-id`` into ./DMAcc unless the tree has one."""
    if find_account(tree, args.server_id) is not None:
        return
    auths = []
    if args.auth in _AAUTH:
        auths.append(
            AppAuth(
                level=AuthLevel.CLCRED,
                auth_type=_AAUTH[args.auth],
                name=args.user,
                secret=args.password,
            )
        )
    if args.server_password:
        auths.append(
            AppAuth(
                level=AuthLevel.SRVCRED,
                auth_type=_AAUTH.get(args.auth, "DIGEST"),
                name=args.server_id,
                secret=args.server_password,
            )
        )
    add_account(
        tree,
        DMAccount(
            server_id=args.server_id,
            addr=args.server or "",
            aauth_pref=_AAUTH.get(args.auth),
            auths=tuple(auths),
        ),
    )


def _client_config(args: argparse.Namespace, tree: ManagementTree, **extra: Any) -> ClientConfig:
    """The session configuration: credentials and nonces from the tree's DMAcc account
    for ``--server-id`` when it has one, else from the options."""
    account = find_account(tree, args.server_id)
    options: dict[str, Any] = {}
    if account is None:
        scheme = SCHEMES.get(args.auth)
        user, password = args.user, args.password
        server_password = args.server_password
    else:
        scheme = _SCHEME_OF_AAUTH.get(account.auth_pref or "")
        user, password = account.client_username or "", account.client_password or ""
        server_password = account.server_password or ""
        options = {
            "client_nonce": account.client_nonce or b"",
            "server_nonce": account.server_nonce or b"",
        }
    options.update(extra)
    return ClientConfig(
        random_bytes=os.urandom,
        server_uri=_server_url(args, tree),
        device_id=args.device_id,
        dev_info=devinfo_items(tree),
        credentials=None if scheme is None else Credentials(username=user, password=password),
        auth_scheme=scheme,
        server_credentials=(
            Credentials(username=args.server_id, password=server_password)
            if server_password
            else None
        ),
        **options,
    )


def _server_url(args: argparse.Namespace, tree: ManagementTree) -> str:
    if args.server:
        return str(args.server)
    account = find_account(tree, args.server_id)
    if account is None or not account.server_address:
        raise UsageError("give --server URL (or a --state whose DMAcc has the address)")
    return account.server_address


# -- running sessions ------------------------------------------------------------------


def _run_device_session(
    session: ClientSession,
    app: DeviceApp,
    url: str,
    *,
    adapter: str = "sync",
    on_message: Callable[[HttpRequest, HttpResponse | None], None] | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> int:
    """Run one session with the adapter; 0 when it completed, else 1 (reason printed)."""
    module = load_adapter(adapter)
    run = functools.partial(
        module.run_client_session,
        session,
        app,
        server_url=url,
        ssl_context=ssl_context,
        timeout=IO_TIMEOUT,
        on_message=on_message,
    )
    app.starting()
    failure = ""
    try:
        if adapter == "sync":
            run()
        elif adapter == "asyncio":
            import asyncio  # loaded only when --adapter asyncio is chosen

            asyncio.run(run())
        else:
            import trio  # optional (dmproto[trio]): only for --adapter trio

            trio.run(run)
    except DMError as exc:  # a non-200 answer or a broken message ends the session
        failure = str(exc)
    if not failure and app.ended is not None and app.ended.reason is not ev.EndReason.COMPLETED:
        failure = f"{app.ended.reason.value} {app.ended.detail}".strip()
    if failure:
        print(
            f"dmproto device: session failed: {' '.join(failure.split())}",
            file=sys.stderr,
            flush=True,
        )
        return 1
    return 0


class _Device:
    """One ``dmproto device`` run: its tree, where it persists, how it logs."""

    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.state = Path(args.state) if args.state else None
        self.listed: tuple[str, ...] = ()
        if self.state is not None:
            try:
                loaded = load_state(self.state, _device_tree)
            except StateFileError as exc:
                raise UsageError(str(exc)) from None
            if loaded is not None:
                args.device_id, self.tree = loaded
            else:
                self.tree = _device_tree(args.device_id)
        else:
            if args.tree and not Path(args.tree).is_file():
                raise UsageError(f"tree file {args.tree} does not exist")
            self.tree = _device_tree(args.device_id)
            if args.tree:
                try:
                    self.listed = load_values(self.tree, Path(args.tree))
                except StateFileError as exc:
                    raise UsageError(str(exc)) from None
        _ensure_account(self.tree, args)
        url = _server_url(args, self.tree)
        parse_url(url)  # a bad URL is a usage error (exit 2)
        self.ssl_context = device_context(args, url)
        verbosity = 0 if args.quiet else 1 + args.verbose
        self.app = DeviceApp(
            self.tree,
            args.server_id,
            Transcript(),
            verbosity=verbosity,
            ask=_ask_terminal if args.ui == "prompt" else None,
        )
        self.trace = (
            Trace(Path(args.trace), side=TraceSide.CLIENT, show_credentials=args.show_credentials)
            if args.trace
            else None
        )
        self.scheme: str | None = None
        #: The listener thread reads the DMAcc while a session may be changing the tree.
        self.lock = threading.Lock()
        self.config()  # bad sizes are usage errors before any file is written
        self.save()  # a new state file exists from the start

    def observe(self, request: HttpRequest, response: HttpResponse | None) -> None:
        if response is None:
            # Called before the message is sent: what it reports (the Statuses of
            # commands executed, nonces received) is on disk before the server can
            # record it, so a device killed at any moment never loses a change the
            # server believes made (docs/reliability.md, "Crash safety").
            self.save()
        self.app.messages(request, response)
        if self.trace is not None:
            self.trace(request, response)

    def save(self) -> None:
        if self.state is not None:
            save_state(self.state, self.args.device_id, self.tree)
        elif self.args.tree:
            save_values(self.tree, Path(self.args.tree), self.listed)

    def config(self) -> ClientConfig:
        args = self.args
        config = _client_config(
            args,
            self.tree,
            encoding=Encoding.WBXML if args.wbxml else Encoding.XML,
            max_msg_size=args.max_msg_size,
            max_obj_size=args.max_obj_size,
        )
        credentials, scheme = config.credentials, config.auth_scheme
        self.app.username = credentials.username if credentials is not None else None
        self.scheme = scheme.value if credentials is not None and scheme is not None else None
        return config

    def run(self, session: ClientSession) -> int:
        if self.scheme is not None:
            self.app.say(2, f"authenticating as {self.app.username!r} ({self.scheme})")
        with self.lock:
            try:
                return _run_device_session(
                    session,
                    self.app,
                    _server_url(self.args, self.tree),
                    adapter=self.args.adapter,
                    on_message=self.observe,
                    ssl_context=self.ssl_context,
                )
            finally:
                self.save()

    def secret(self, server_id: str) -> ServerSecret | None:
        """Package 0 lookup: the SRVCRED secret and nonce of a known server."""
        with self.lock:
            account = find_account(self.tree, server_id)
        if account is None:
            return None
        nonce = nonce_option(self.args.nonce) if self.args.nonce else account.server_nonce or b""
        return ServerSecret(password=account.server_password or "", nonce=nonce)

    def ignored(self, push: PushIgnored) -> None:
        """A Package 0 was ignored (OMA-TS-DM_Notification-V1_2_1: silently): say why."""
        sender = f" from {push.server_id!r}" if push.server_id is not None else ""
        self.app.say(1, f"Package 0{sender} ignored: {push.reason.value}")


def _next_push(pushes: queue.Queue[PushAccepted]) -> PushAccepted:
    while True:  # short waits, so Ctrl-C is seen
        try:
            return pushes.get(timeout=0.5)
        except queue.Empty:
            continue


def cmd_device(args: argparse.Namespace) -> int:
    """Connect once, or listen for Package 0 and run one session per push."""
    if args.max_obj_size < 1:
        raise UsageError("--max-obj-size must be positive")
    load_adapter(args.adapter)  # a missing adapter is a usage error before anything runs
    device = _Device(args)
    if args.listen_udp is None:
        return device.run(ClientSession(device.config()))
    sync = load_adapter("sync")
    pushes: queue.Queue[PushAccepted] = queue.Queue()
    with sync.PushListener(
        device.secret,
        pushes.put,
        host=args.host,
        udp_port=args.listen_udp,
        http_port=args.listen_http,
        on_ignored=device.ignored,
    ) as listener:
        where = f"udp {args.host}:{listener.udp_port}"
        if listener.http_url:
            where += f" and {listener.http_url}"
        device.app.say(1, f"listening for Package 0 on {where}")
        status = 0
        for _ in range(args.count):
            accepted = _next_push(pushes)
            device.app.say(
                1,
                f"Package 0 from {accepted.notification.server_id} "
                f"(session {accepted.notification.session_id_text}) verified with the "
                f"{accepted.nonce_used.value} nonce",
            )
            session = ClientSession.from_notification(
                accepted.notification, accepted.nonce_used, config=device.config()
            )
            status |= device.run(session)
        return status


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add ``device``."""
    device = subparsers.add_parser(
        "device",
        help="run a DM client (device)",
        epilog=_EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="A DM client: connects to --server once, or waits for Package 0.",
    )
    device.add_argument("--server", help="DM server URL (optional with a --state that has it)")
    device.add_argument(
        "--device-id",
        default="IMEI:000000000000000",
        help="DevId (a --state file's own device id wins)",
    )
    device.add_argument("--user", default="device", help="client username")
    device.add_argument("--password", default="", help="client password")
    add_auth_options(device)
    device.add_argument("--nonce", help="stored server nonce (base64) to verify Package 0")
    files = device.add_mutually_exclusive_group()
    files.add_argument(
        "--state",
        metavar="FILE",
        help="the device's whole state (tree with properties and ACLs, DMAcc, "
        "nonces) as JSON: loaded at start, created if missing, saved "
        "atomically before every message sent and after every session; its DMAcc "
        "credentials win over "
        "--user/--password/--server-password",
    )
    files.add_argument(
        "--tree",
        metavar="FILE",
        help="existing JSON file {uri: value} of leaves (any URI) applied at "
        "start; saved back before every message sent and after every session",
    )
    device.add_argument("--wbxml", action="store_true", help="send WBXML instead of XML")
    device.add_argument(
        "--max-msg-size",
        type=int,
        metavar="N",
        default=16 * 1024,
        help="MaxMsgSize we announce (bytes, default 16384)",
    )
    device.add_argument(
        "--max-obj-size",
        type=int,
        metavar="N",
        default=1024 * 1024,
        help="MaxObjSize we announce (bytes, default 1048576)",
    )
    device.add_argument(
        "--adapter",
        choices=ADAPTERS,
        default="sync",
        help="I/O adapter running the session (default sync)",
    )
    device.add_argument(
        "--ui",
        choices=("auto", "prompt"),
        default="auto",
        help="UI alerts: answer automatically, or ask on the terminal",
    )
    device.add_argument(
        "--trace",
        metavar="DIR",
        help="write every message sent and received, with headers, into DIR",
    )
    device.add_argument(
        "--show-credentials",
        action="store_true",
        help="do not redact credentials in the --trace files",
    )
    talk = device.add_mutually_exclusive_group()
    talk.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="one line per message, authentication details",
    )
    talk.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    device.add_argument(
        "--listen-udp",
        type=int,
        metavar="PORT",
        help="wait for Package 0 on this UDP port instead of connecting",
    )
    device.add_argument(
        "--listen-http",
        type=int,
        metavar="PORT",
        help="also accept Package 0 as HTTP POST on this port",
    )
    device.add_argument("--host", default="127.0.0.1", help="address to listen on")
    device.add_argument("--count", type=int, default=1, help="sessions to run when listening")
    add_device_tls_options(device)
    device.set_defaults(func=cmd_device)
