"""Errors, limits and code tables: the small shared contracts."""

from __future__ import annotations

import pickle

import pytest

from dmproto import (
    DEFAULT_LIMITS,
    AlertCode,
    DMError,
    EncodeError,
    InvalidValueError,
    Limits,
    LocalProtocolError,
    MalformedMessageError,
    RemoteProtocolError,
    StatusCode,
)


def test_error_hierarchy_separates_local_and_remote() -> None:
    assert issubclass(MalformedMessageError, RemoteProtocolError)
    assert issubclass(RemoteProtocolError, DMError)
    assert issubclass(EncodeError, LocalProtocolError)
    assert issubclass(InvalidValueError, ValueError)
    assert not issubclass(RemoteProtocolError, LocalProtocolError)


def test_error_carries_reason_position_and_hint() -> None:
    err = MalformedMessageError("wbxml.truncated", "input ends early", position=17, status_hint=400)
    assert (err.reason, err.position, err.status_hint) == ("wbxml.truncated", 17, 400)
    assert str(err) == "input ends early [wbxml.truncated] at 17"
    assert str(MalformedMessageError("x.y")) == "x.y [x.y]"


def test_errors_survive_pickling() -> None:
    err = pickle.loads(pickle.dumps(MalformedMessageError("a.b", "c", position="SyncML/SyncHdr")))
    assert isinstance(err, MalformedMessageError)
    assert (err.reason, err.detail, err.position) == ("a.b", "c", "SyncML/SyncHdr")


def test_limits_defaults_and_validation() -> None:
    assert Limits() == DEFAULT_LIMITS
    assert Limits(max_depth=8).max_depth == 8
    for bad in (0, -1, True, 1.5):
        with pytest.raises(InvalidValueError):
            Limits(max_message_size=bad)  # type: ignore[arg-type]


def test_codes_are_int_enums_matching_the_spec() -> None:
    assert StatusCode.AUTHENTICATION_ACCEPTED == 212
    assert StatusCode.ATOMIC_FAILED == 507 and StatusCode.ATOMIC_ROLLBACK_FAILED == 516
    assert AlertCode.GENERIC_ALERT == 1226
    assert AlertCode.TEXT_INPUT.is_user_interaction
    assert not AlertCode.NEXT_MESSAGE.is_user_interaction
