"""CP-profile bootstrap: the OMA Client Provisioning w7 APPLICATION -> DMAcc mapping
(OMA-TS-DM_Bootstrap-V1_2_1 §3.1 "CP profile").

Parsing the provisioning document itself (WAP Provisioning WBXML) is the
application's job; it hands the w7 characteristic's parameters as a
:class:`W7Application` and :func:`apply_w7` writes the DM account with
:func:`~dmproto.tree.stdobj.add_account` (which grants the ServerID Get, Replace and
Delete on ``<X>``, as the mapping requires).
"""

from __future__ import annotations

import attrs

from ..errors import InvalidValueError
from .stdobj import AppAuth, AuthLevel, DMAccount, add_account
from .tree import ManagementTree

__all__ = ["W7AppAuth", "W7Application", "account_from_w7", "apply_w7"]

# OMA-TS-DM_Bootstrap-V1_2_1 §3.1: APPAUTH/AAUTHLEVEL values of w7 and the DMAcc AAuthLevel they
# become.
_LEVELS = {"APPSRV": AuthLevel.CLCRED, "CLIENT": AuthLevel.SRVCRED, "OBEX": AuthLevel.OBEX}


@attrs.frozen(kw_only=True)
class W7AppAuth:
    """One ``APPAUTH`` characteristic."""

    level: str
    auth_type: str
    name: str | None = None
    secret: str | None = attrs.field(default=None, repr=False)
    data: bytes | None = attrs.field(default=None, repr=False)


@attrs.frozen(kw_only=True)
class W7Application:
    """The parameters of a w7 ``APPLICATION`` characteristic."""

    provider_id: str
    addr: str
    app_id: str = "w7"
    name: str | None = None
    addr_type: str | None = None
    port: int | None = None
    auths: tuple[W7AppAuth, ...] = ()


def account_from_w7(app: W7Application) -> DMAccount:
    """Map a w7 APPLICATION to a DM 1.2 account.

    Raises:
        InvalidValueError: ``cp.appid`` when APPID is not ``w7``; ``cp.aauthlevel``
            for an unknown AAUTHLEVEL.
    """
    if app.app_id != "w7":
        raise InvalidValueError("cp.appid", "not a DM (w7) APPLICATION characteristic")
    auths = []
    for auth in app.auths:
        level = _LEVELS.get(auth.level.upper())
        if level is None:
            raise InvalidValueError("cp.aauthlevel", "unknown AAUTHLEVEL")
        auths.append(
            AppAuth(
                level=level,
                auth_type=auth.auth_type,
                name=auth.name,
                secret=auth.secret,
                data=auth.data,
            )
        )
    return DMAccount(
        server_id=app.provider_id,
        addr=app.addr,
        addr_type=app.addr_type or "URI",
        port=app.port,
        name=app.name,
        auths=tuple(auths),
    )


def apply_w7(tree: ManagementTree, app: W7Application) -> str:
    """Create the DMAcc account for ``app`` atomically; returns its URI."""
    account = account_from_w7(app)
    point = tree.savepoint()
    try:
        uri = add_account(tree, account)
    except BaseException:
        tree.rollback(point)
        raise
    tree.release(point)
    return uri
