"""Another user's object, a missing one and an anonymous caller's request look the same:
not found (terms art. 10.A); roles that see everything are named by the caller."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from suivi_common.auth import Principal, require_owner
from suivi_common.errors import NotFound

OWNER = uuid.UUID("00000000-0000-4000-8000-000000000001")


@dataclass
class Thing:
    user_id: Any


def test_the_owner_gets_the_object() -> None:
    thing = Thing(OWNER)
    assert require_owner(Principal(str(OWNER), "user"), thing) is thing
    assert require_owner(Principal("u1", "user"), Thing("u1")) == Thing("u1")


@pytest.mark.parametrize(("principal", "row"), [
    (Principal("u2", "user"), Thing("u1")),
    (Principal("u1", "staff"), Thing("u2")),   # staff only when the caller says so
    (Principal("u1", "user"), None),
    (None, Thing("u1")),
    (Principal("None", "user"), object()),     # no owner at all
])
def test_anything_else_is_not_found(principal: Principal | None, row: Any) -> None:
    with pytest.raises(NotFound) as caught:
        require_owner(principal, row, "No such thing")
    assert caught.value.message == "No such thing"


def test_roles_that_see_all_get_any_existing_object() -> None:
    staff = Principal("s1", "staff")
    assert require_owner(staff, Thing("u1"), sees_all=("staff",)) == Thing("u1")
    with pytest.raises(NotFound):
        require_owner(staff, None, sees_all=("staff",))
