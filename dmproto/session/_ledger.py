"""The Status/Results ledger: what we owe the peer, and what the peer owes us.

Two small bookkeeping structures (CONTRIBUTING.md#per-command-bookkeeping):

* :class:`Answer` — a command the peer sent us, waiting for (or holding) its
  outcome. Its :class:`Ref` remembers where the command sat on the wire so the
  Status carries the right MsgRef/CmdRef/Cmd/TargetRef/SourceRef (OMA-TS-DM_RepPro-V1_2_1 §4.1.1).
* :class:`Tracked` — a command our application queued, waiting for the peer's
  Status (and Results). Wire CmdIDs map back to the handle via ``SentRef`` entries,
  so the application never sees wire identifiers.
"""

from __future__ import annotations

import attrs

from ..codec.model import Atomic, Command, Item, ItemCommand, Results, Sequence, Status
from ..errors import LocalProtocolError
from ..outcome import CommandOutcome, OutcomeNote

__all__ = [
    "Answer",
    "Ref",
    "SentRef",
    "Tracked",
    "child_commands",
    "ref_of",
    "status_commands",
]

#: Path of a queued command's root in :class:`Tracked`; children are ``r.0``, ``r.0.1``...
ROOT = "r"


@attrs.define(kw_only=True)
class Ref:
    """Where a received command sat on the wire."""

    msg_ref: str
    cmd_ref: str
    cmd: str
    target_refs: tuple[str, ...] = ()
    source_refs: tuple[str, ...] = ()
    children: tuple[Ref, ...] = ()


def child_commands(command: Command) -> tuple[Command, ...]:
    """The children of an Atomic/Sequence, else ``()``."""
    if isinstance(command, Atomic | Sequence):
        return command.commands
    return ()


def _uris(items: tuple[Item, ...], attr: str) -> tuple[str, ...]:
    found: list[str] = []
    for item in items:
        loc = getattr(item, attr)
        if loc is not None:
            found.append(loc.loc_uri)
    return tuple(found)


def ref_of(command: Command, msg_id: str) -> Ref:
    """The :class:`Ref` of a received command (children included).

    OMA-TS-DM_RepPro-V1_2_1 §4.1.1: TargetRef/SourceRef echo the command's Item Target/Source
    LocURIs.
    """
    items = command.items if isinstance(command, ItemCommand) else ()
    # OMA-TS-DM_RepPro-V1_2_1 §4.1.1: TargetRef/SourceRef are optional for commands; echo them for
    # single-Item commands only (as the OMA-TS-DM_Protocol-V1_2_1 §2.6.2 example does) to keep
    # Statuses small.
    if len(items) != 1:
        items = ()
    return Ref(
        msg_ref=msg_id,
        cmd_ref=command.cmd_id or "",
        cmd=command.name,
        target_refs=_uris(items, "target"),
        source_refs=_uris(items, "source"),
        children=tuple(ref_of(child, msg_id) for child in child_commands(command)),
    )


@attrs.define(kw_only=True)
class Answer:
    """A received command and (once known) its outcome."""

    ref: Ref
    #: Application handle, or None when the session answers by itself.
    handle: int | None = None
    outcome: CommandOutcome | None = None


def check_shape(ref: Ref, outcome: CommandOutcome) -> None:
    """Reject an outcome whose children do not match the command's children.

    Raises:
        LocalProtocolError: ``session.outcome-shape``.
    """
    if len(outcome.children) != len(ref.children):
        raise LocalProtocolError(
            "session.outcome-shape",
            f"{ref.cmd} has {len(ref.children)} children, outcome has {len(outcome.children)}",
        )
    for child_ref, child in zip(ref.children, outcome.children, strict=True):
        check_shape(child_ref, child)


def status_commands(ref: Ref, outcome: CommandOutcome) -> list[Command]:
    """The Status (then Results, then the children's) answering one command.

    OMA-TS-DM_RepPro-V1_2_1 §4.1.6: every command gets exactly one Status;
    OMA-TS-DM_RepPro-V1_2_1 §4.1.6 Results: Results MUST follow the Status of the same command.
    Atomic/Sequence: own Status plus one per child.
    """
    commands: list[Command] = [
        Status(
            cmd_id=None,
            msg_ref=ref.msg_ref,
            cmd_ref=ref.cmd_ref,
            cmd=ref.cmd,
            code=int(outcome.code),
            target_refs=ref.target_refs,
            source_refs=ref.source_refs,
            items=outcome.status_items,
        )
    ]
    if outcome.results:
        commands.append(
            Results(
                cmd_id=None,
                msg_ref=ref.msg_ref,
                cmd_ref=ref.cmd_ref,
                target_ref=ref.target_refs[0] if ref.target_refs else None,
                items=outcome.results,
            )
        )
    for child_ref, child in zip(ref.children, outcome.children, strict=False):
        commands.extend(status_commands(child_ref, child))
    return commands


def uniform_outcome(ref: Ref, code: int) -> CommandOutcome:
    """The same code for a command and all its children (auth failure, 406...)."""
    return CommandOutcome(
        code=code,
        children=[uniform_outcome(child, code) for child in ref.children],
    )


@attrs.define(kw_only=True)
class SentRef:
    """What one wire (MsgID, CmdID) we sent stands for."""

    handle: int | None
    path: str = ROOT
    #: Large-object id when this was a non-final chunk (a 213 is expected).
    lo_id: int | None = None


def command_paths(command: Command, path: str = ROOT) -> list[str]:
    """Paths of a command and all its nested children."""
    paths = [path]
    for index, child in enumerate(child_commands(command)):
        paths.extend(command_paths(child, f"{path}.{index}"))
    return paths


@attrs.define(kw_only=True)
class Tracked:
    """A command our application queued, and what the peer answered so far."""

    handle: int
    command: Command
    codes: dict[str, int] = attrs.field(factory=dict)
    status_items: dict[str, tuple[Item, ...]] = attrs.field(factory=dict)
    results: dict[str, list[Item]] = attrs.field(factory=dict)
    #: Large Results still being reassembled for this handle.
    open_results: int = 0
    #: Paths whose answer was not the plain Status it should have been: the note
    #: and the code the peer actually sent (None when it sent none).
    notes: dict[str, tuple[OutcomeNote, int | None]] = attrs.field(factory=dict)

    def complete(self) -> bool:
        """Every command in the tree has its Status and no Results are in flight."""
        return self.open_results == 0 and all(
            path in self.codes for path in command_paths(self.command)
        )

    def outcome(self, command: Command | None = None, path: str = ROOT) -> CommandOutcome:
        """The :class:`CommandOutcome` assembled from what arrived."""
        command = self.command if command is None else command
        note, peer_code = self.notes.get(path, (None, None))
        return CommandOutcome(
            code=self.codes.get(path, 0),
            note=note,
            peer_code=peer_code,
            results=self.results.get(path, ()),
            status_items=self.status_items.get(path, ()),
            children=[
                self.outcome(child, f"{path}.{index}")
                for index, child in enumerate(child_commands(command))
            ],
        )
