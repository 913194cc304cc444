"""The access-level check every service uses: who passes, who is refused and how the
refusal reads once it crossed RPC; and that the level's permissions survive signing."""
from __future__ import annotations

import json

import pytest
from nameko.exceptions import deserialize, serialize

from suivi_common import permissions
from suivi_common.errors import Unauthorized
from suivi_common.identity import Principal
from suivi_common.permissions import PermissionDenied, require_permission
from suivi_common.principals import Signer, Verifier

KEY = b"k" * 40


def member(*granted: str) -> Principal:
    return Principal("u-1", "user", "n-1", tuple(granted))


def test_the_fixed_list() -> None:
    assert permissions.ALL == ("buy_leads", "edit_site", "export_leads", "manage_documents",
                               "send_email", "take_leads", "use_automations", "view_statistics")
    assert permissions.unknown(["buy_leads", "god_mode"]) == ["god_mode"]
    assert permissions.normalise(["take_leads", "buy_leads", "take_leads"]) == ["buy_leads",
                                                                                 "take_leads"]


def test_a_member_passes_with_the_permission_and_is_refused_without() -> None:
    assert require_permission(member("export_leads"), "export_leads").user_id == "u-1"
    with pytest.raises(PermissionDenied) as err:
        require_permission(member("buy_leads"), "export_leads")
    assert err.value.status == 403 and err.value.code == "permission_denied"
    assert err.value.permission == "export_leads"
    assert err.value.to_body()["error"]["permission"] == "export_leads"
    with pytest.raises(PermissionDenied):
        require_permission(member(), "buy_leads")


def test_features_not_built_yet_are_checkable() -> None:
    for name in ("edit_site", "view_statistics", "manage_documents"):
        assert permissions.granted(member(name), name)
        assert not permissions.granted(member(), name)


def test_no_level_applies_to_principals_without_a_list() -> None:
    assert require_permission(Principal("plans", "service"), "take_leads")
    assert require_permission(Principal("s-1", "staff"), "buy_leads")
    with pytest.raises(Unauthorized):
        require_permission(None, "buy_leads")


def test_an_unknown_permission_is_a_bug_not_a_refusal() -> None:
    with pytest.raises(ValueError):
        require_permission(member("buy_leads"), "buy_lead")
    with pytest.raises(ValueError):
        require_permission(None, "buy_lead")


def test_the_refusal_crosses_rpc_with_its_permission() -> None:
    try:
        require_permission(member(), "send_email")
    except PermissionDenied as exc:
        wire = json.loads(json.dumps(serialize(exc)))
    back = deserialize(wire)
    assert isinstance(back, PermissionDenied)
    assert back.to_body() == {"error": {"code": "permission_denied",
                                        "message": back.message,
                                        "fields": {"permission": "send_email"},
                                        "permission": "send_email"}}


def test_permissions_survive_signing_and_old_tokens_still_verify() -> None:
    signer, verifier = Signer(KEY), Verifier(KEY)
    with_level = member("buy_leads", "take_leads")
    assert verifier.verify(signer.sign(with_level)) == with_level
    plain = Principal("u-2", "user", "n-1")
    assert verifier.verify(signer.sign(plain)) == plain  # six items, as before levels
    assert verifier.verify(signer.sign(plain)).permissions is None  # type: ignore[union-attr]
    # a changed level is another token, never the cached one
    assert signer.token(with_level) != signer.token(member("buy_leads"))


def test_a_tampered_permission_list_is_anonymous() -> None:
    signer, verifier = Signer(KEY), Verifier(KEY)
    token = signer.sign(member("buy_leads"))
    version, body, mac = token.split(".")
    forged = Signer(b"x" * 40).sign(member(*permissions.ALL)).split(".")[1]
    assert verifier.verify(f"{version}.{forged}.{mac}") is None
    assert verifier.verify(f"{version}.{body}.{mac}") is not None
