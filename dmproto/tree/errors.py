"""The one failure type of tree operations: a command that ends with a status code.

Tree operations answer per command (CONTRIBUTING.md#a-bad-command-is-not-a-bad-message),
so a failing operation raises :class:`TreeCommandError` carrying the DM status code
the executor reports; the executor never lets it escape ``execute``.
"""

from __future__ import annotations

from ..codes import StatusCode
from ..errors import DMError

__all__ = ["TreeCommandError"]


class TreeCommandError(DMError):
    """A tree operation failed with a DM status code.

    Attributes:
        code: the status to report for the command (e.g. 404, 405, 418, 425).
        failed_uri: for an implicit-ancestor failure, the interior node that could
            not be created (reported in the Status Item, OMA-TS-DM_RepPro-V1_2_1 §4.1.6 Add).
    """

    def __init__(
        self,
        code: StatusCode,
        reason: str,
        detail: str = "",
        *,
        failed_uri: str | None = None,
    ):
        self.code = code
        self.failed_uri = failed_uri
        super().__init__(reason, detail, position=failed_uri)
