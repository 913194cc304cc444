"""The account-security notices (issue 14): a password changed, a second factor reset by
staff. French first, addressed through accounts, and nothing secret in them."""
from __future__ import annotations

import re

import pytest

from mailer.domain import messages

URL = "https://app.suivi.test/"


def request(event_type: str, **payload):
    payload = {"user_id": "u1", "email": "lea@example.test", "first_name": "Léa", **payload}
    return messages.request_for(event_type, payload, URL)


@pytest.mark.parametrize("how, says", [("change", "depuis une session"),
                                       ("reset", "lien de réinitialisation")])
def test_a_password_change_is_told_in_french_with_no_link_but_the_platform(how, says) -> None:
    mail = request("password_changed", how=how, changed_at="2026-12-03T10:00:00+00:00")
    assert mail.kind == "password_changed" and mail.to == "lea@example.test"
    assert mail.rendered.subject == "Le mot de passe de votre compte Suivi a changé"
    assert "Bonjour Léa," in mail.rendered.text and says in mail.rendered.text
    assert "was just changed" in mail.rendered.text
    assert re.findall(r"https?://\S+", mail.rendered.text) == [URL]
    assert "token" not in mail.rendered.text and "token" not in mail.rendered.html
    assert mail.expires_at is None


def test_a_second_factor_reset_is_told() -> None:
    mail = request("second_factor_reset", staff_id="s1", reset_at="2026-12-03T10:00:00+00:00")
    assert mail.kind == "second_factor_reset"
    assert "double authentification" in mail.rendered.subject
    assert "sessions ont été fermées" in mail.rendered.text
    assert re.findall(r"https?://\S+", mail.rendered.text) == [URL]


def test_both_are_addressed_by_accounts_and_carry_no_link_reference() -> None:
    for event_type in ("password_changed", "second_factor_reset"):
        assert messages.KIND_OF_EVENT[event_type] in messages.ADDRESSED_BY_ACCOUNTS
        assert messages.link_ref_of(event_type, {"user_id": "u1"}) is None
        assert messages.wanted(event_type, {"user_id": "u1"})
