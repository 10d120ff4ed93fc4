"""DM-profile bootstrap (OMA-TS-DM_Bootstrap-V1_2_1 §3.1).

A DM-profile bootstrap is a WBXML DM message, MAC-protected through its
Content-Type (``SEC=...; MAC=...``). :func:`apply_bootstrap` verifies the MAC with
:func:`dmproto.security.bootstrap.verify_bootstrap`, decodes the message and runs its
Add/Replace commands with the device's own authority (no ACL checks; ACLs come from
the TNDS ACL properties). It is all-or-nothing: a bad MAC, an undecodable message,
a command other than Add/Replace/Atomic/Sequence, or any failing command leaves the
tree exactly as it was. No response is produced (OMA-TS-DM_Bootstrap-V1_2_1 §3.1: no Status is
sent).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable

import attrs

from ..codec import Encoding, decode_message
from ..codec.model import Add, Atomic, Command, Replace, Sequence
from ..errors import MalformedMessageError
from ..limits import DEFAULT_LIMITS, Limits
from ..outcome import CommandOutcome
from ..security.bootstrap import verify_bootstrap
from .executor import execute_command
from .tree import ManagementTree

__all__ = ["BootstrapResult", "BootstrapStatus", "apply_bootstrap"]


class BootstrapStatus(enum.Enum):
    """How a bootstrap ended."""

    APPLIED = "applied"  #: every command succeeded; the changes are kept
    BAD_MAC = "bad-mac"  #: the MAC did not verify (or SEC/MAC/key missing); nothing changed
    MALFORMED = "malformed"  #: not a decodable WBXML DM message; nothing changed
    FAILED = "failed"  #: a command failed or is not allowed; everything rolled back


def _outcomes(values: Iterable[CommandOutcome]) -> tuple[CommandOutcome, ...]:
    # Typed converter: mypy cannot check arguments of a bare ``converter=tuple``.
    return tuple(values)


@attrs.frozen(kw_only=True)
class BootstrapResult:
    """The result of :func:`apply_bootstrap`: status and one outcome per command."""

    status: BootstrapStatus
    outcomes: tuple[CommandOutcome, ...] = attrs.field(default=(), converter=_outcomes)


def _allowed(command: Command) -> bool:
    # OMA-TS-DM_Bootstrap-V1_2_1 §3.1: the bootstrap's commands create/replace the account(s).
    if isinstance(command, Atomic | Sequence):
        return all(_allowed(c) for c in command.commands)
    return isinstance(command, Add | Replace)


def _failed(outcome: CommandOutcome) -> bool:
    return outcome.code >= 300 or any(_failed(c) for c in outcome.children)


def apply_bootstrap(
    tree: ManagementTree,
    document: bytes,
    content_type: str,
    *,
    network_id: str | bytes | None = None,
    pin: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> BootstrapResult:
    """Verify and apply a DM-profile bootstrap message to ``tree``.

    Raises:
        MalformedMessageError: the Content-Type itself is malformed.
    """
    if not verify_bootstrap(document, content_type, network_id=network_id, pin=pin):
        return BootstrapResult(status=BootstrapStatus.BAD_MAC)
    try:
        # OMA-TS-DM_Bootstrap-V1_2_1 §3.1: the DM-profile bootstrap MUST be WBXML.
        message = decode_message(document, encoding=Encoding.WBXML, limits=limits)
    except MalformedMessageError:
        return BootstrapResult(status=BootstrapStatus.MALFORMED)
    if not all(_allowed(c) for c in message.commands):
        return BootstrapResult(status=BootstrapStatus.FAILED)
    point = tree.savepoint()
    outcomes = []
    for command in message.commands:
        outcomes.append(execute_command(tree, command, server_id=None))
        if _failed(outcomes[-1]):
            tree.rollback(point)
            return BootstrapResult(status=BootstrapStatus.FAILED, outcomes=outcomes)
    tree.release(point)
    return BootstrapResult(status=BootstrapStatus.APPLIED, outcomes=outcomes)
