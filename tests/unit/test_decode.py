"""The decoder turns every body into a command or a coded rejection."""

from __future__ import annotations

import json
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts import ids
from contracts.accounts import AccountCreate
from contracts.decode import Rejected, decode

CID = "5b0c4e86-6f4e-4d3c-9a55-4c756e612d61"


def body(type_: str = "account.create", **payload: object) -> bytes:
    return json.dumps({"command_id": CID, "type": type_, "issued_at": "2026-12-03T10:00:00Z",
                       "payload": payload}).encode()


def code_of(raw: bytes) -> int:
    with pytest.raises(Rejected) as info:
        decode(raw)
    return int(info.value.code)


def test_valid_command_becomes_its_model() -> None:
    cmd = decode(body(email="a@b.c", password="12345678", organization_name="x"))
    assert isinstance(cmd.payload, AccountCreate)
    assert cmd.command_id == uuid.UUID(CID)


def test_codes() -> None:
    assert code_of(b"\xff\xfe") == 12002
    assert code_of(b"[1, 2]") == 12022
    assert code_of(body("nope.nothing")) == 12021
    assert code_of(body(email="a@b.c", password="short", organization_name="x")) == 11014
    assert code_of(body(email="a@b.c", password="12345678", organization_name="x" * 129)) == 11015
    assert code_of(body(email="a@b.c", password="12345678", organization_name="x", extra=1)) == 12022
    assert code_of(body("account.get", account_id="not-a-uuid")) == 12022


def test_detail_names_the_path() -> None:
    with pytest.raises(Rejected) as info:
        decode(body(email="a@b.c", password="12345678"))
    assert "payload.organization_name" in info.value.detail


def test_times_must_be_utc() -> None:
    raw = json.loads(body("account.get", account_id=CID))
    raw["issued_at"] = "2026-12-03T10:00:00+02:00"
    assert code_of(json.dumps(raw).encode()) == 12022


def test_not_json_gets_a_stable_command_id() -> None:
    with pytest.raises(Rejected) as info:
        decode(b"garbage")
    assert info.value.command_id == ids.for_body(b"garbage")


@given(st.binary(max_size=300))
def test_random_bytes_never_escape(raw: bytes) -> None:
    try:
        decode(raw)
    except Rejected as exc:
        assert 10 <= int(exc.code) <= 40007
