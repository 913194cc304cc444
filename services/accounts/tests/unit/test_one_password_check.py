"""One current-password check (issue 14): password and email changes, a staff member's
re-authentication for a factor reset and a user removing their own factor all go through
``password_change.check_current_password`` (the login throttle, the row lock, the burnt
verification); only the login itself verifies a password on its own."""
from __future__ import annotations

import ast
from pathlib import Path

import accounts.usecases as usecases


def callers_of(name: str) -> dict[str, set[str]]:
    """Module -> functions of ``accounts.usecases`` whose body calls ``name``."""
    found: dict[str, set[str]] = {}
    for path in Path(usecases.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text())
        for fn in ast.walk(tree):
            if not isinstance(fn, ast.FunctionDef):
                continue
            for node in ast.walk(fn):
                if isinstance(node, ast.Call) and (
                        (isinstance(node.func, ast.Attribute) and node.func.attr == name)
                        or (isinstance(node.func, ast.Name) and node.func.id == name)):
                    found.setdefault(path.stem, set()).add(fn.name)
    return found


def test_a_current_password_is_verified_in_one_place() -> None:
    verifying = callers_of("verify_password")
    assert verifying.pop("password_change") == {"check_current_password"}
    assert set(verifying) == {"auth"}  # the login


def test_every_reauthentication_uses_it() -> None:
    users = callers_of("check_current_password")
    assert users["factor_reset"] == {"reauthenticate"}
    assert users["email_change"] == {"request_email_change"}
    assert users["password_change"] == {"change_password"}
    assert callers_of("reauthenticate")["own_factor"] == {"remove_own_factor"}
