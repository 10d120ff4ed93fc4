"""ACL property values: grammar, evaluation and server removal (OMA-TS-DM_TND-V1_2
§8.3.7.1).

``Add=*&Get=*`` is parsed into an :class:`Acl`; ``str(acl)`` writes it back in the same
grammar. An empty string is "no value" (the node inherits), represented as ``None``.
Parse errors raise :class:`~dmproto.errors.InvalidValueError` with reason
``acl.syntax`` (a server sending a bad ACL gets 400 from the executor).
"""

from __future__ import annotations

import enum

import attrs

from ..errors import InvalidValueError

__all__ = ["Acl", "AclCommand", "parse_acl"]

#: OMA-TS-DM_TND-V1_2 §8.3.7.1: ``*`` grants a command to every server.
ANY_SERVER = "*"


class AclCommand(enum.Enum):
    """The commands an ACL entry can name (OMA-TS-DM_TND-V1_2 §8.3.7.1 ``<command>``)."""

    ADD = "Add"
    DELETE = "Delete"
    EXEC = "Exec"
    GET = "Get"
    REPLACE = "Replace"


def _valid_server_id(text: str) -> bool:
    # OMA-TS-DM_TND-V1_2 §8.3.7.1: "*" or 1*<printable char except '=', '&', '*', '+' or
    # white-space>.
    if text == ANY_SERVER:
        return True
    return bool(text) and all(c.isprintable() and not c.isspace() and c not in "=&*+" for c in text)


@attrs.frozen
class Acl:
    """A complete ACL value: ``(command, server ids)`` entries in order."""

    entries: tuple[tuple[AclCommand, tuple[str, ...]], ...]

    def servers(self, command: AclCommand) -> tuple[str, ...]:
        """The server ids granted ``command`` (empty when the command is absent)."""
        for cmd, ids in self.entries:
            if cmd is command:
                return ids
        return ()

    def allows(self, command: AclCommand, server_id: str) -> bool:
        """True when ``server_id`` (or ``*``) holds ``command``."""
        ids = self.servers(command)
        return ANY_SERVER in ids or server_id in ids

    def without_server(self, server_id: str, *, is_root: bool) -> Acl | None:
        """The ACL after deleting a ServerID (OMA-TS-DM_TND-V1_2 §8.3.7.1): the id is removed,
        commands left without ids disappear; on the root a command losing its only id becomes
        ``*``. Returns ``None`` when nothing is left (the node inherits again)."""
        out: list[tuple[AclCommand, tuple[str, ...]]] = []
        for cmd, ids in self.entries:
            kept = tuple(i for i in ids if i != server_id)
            if kept:
                out.append((cmd, kept))
            elif is_root:
                out.append((cmd, (ANY_SERVER,)))
        return Acl(tuple(out)) if out else None

    def __str__(self) -> str:
        return "&".join(f"{cmd.value}={'+'.join(ids)}" for cmd, ids in self.entries)

    @classmethod
    def grant(cls, server_id: str, *commands: AclCommand) -> Acl:
        """An ACL giving ``server_id`` each of ``commands``."""
        return cls(tuple((c, (server_id,)) for c in commands))


def parse_acl(text: str) -> Acl | None:
    """Parse an ACL string; ``""`` means "no value" and returns ``None``.

    Entries naming the same command twice are merged (ids in first-seen order).
    """
    if text == "":
        return None
    by_cmd: dict[AclCommand, list[str]] = {}
    for entry in text.split("&"):
        name, eq, ids_text = entry.partition("=")
        try:
            cmd = AclCommand(name)
        except ValueError:
            raise InvalidValueError("acl.syntax", "unknown command in ACL") from None
        ids = ids_text.split("+")
        # OMA-TS-DM_TND-V1_2 §8.3.7.1: a command with no server identifiers MUST NOT appear.
        if not eq or not all(_valid_server_id(i) for i in ids):
            raise InvalidValueError("acl.syntax", "bad server identifier list in ACL")
        bucket = by_cmd.setdefault(cmd, [])
        bucket.extend(i for i in ids if i not in bucket)
    return Acl(tuple((cmd, tuple(ids)) for cmd, ids in by_cmd.items()))
