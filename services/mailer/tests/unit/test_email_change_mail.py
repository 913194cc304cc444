"""The two emails of an email change: the link to the new address, the notice to the old."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mailer.domain import messages
from mailer.domain.messages import InvalidPayload

NOW = datetime(2026, 3, 14, 8, 0, tzinfo=UTC)
LOGIN = "https://app.suivi.test/"


def test_the_confirmation_carries_the_link_accounts_gives_and_expires_with_it() -> None:
    event = {"user_id": "u-1", "network_id": "n-1", "email": "new@example.test",
             "first_name": "Léa", "link_ref": "ref-1", "expires_at": NOW.isoformat()}
    assert messages.link_ref_of("email_change_requested", event) == "ref-1"
    link = {"url": "https://app.suivi.test/confirm-email?token=tok",
            "expires_at": (NOW + timedelta(hours=1)).isoformat(), "purpose": "email_change"}
    req = messages.request_for("email_change_requested", messages.with_link(event, link), LOGIN)
    assert (req.kind, req.to) == ("email_change", "new@example.test")
    assert "https://app.suivi.test/confirm-email?token=tok" in req.rendered.text
    assert req.expires_at == NOW + timedelta(hours=1)
    assert req.expired(NOW + timedelta(hours=1)) and not req.expired(NOW)
    with pytest.raises(InvalidPayload, match="confirm_url"):  # no link, no email
        messages.request_for("email_change_requested", event, LOGIN)


def test_the_old_address_is_told_without_the_new_one() -> None:
    req = messages.request_for("email_changed", {
        "user_id": "u-1", "network_id": "n-1", "email": "old@example.test", "first_name": "Léa",
        "changed_at": NOW.isoformat()}, LOGIN)
    assert (req.kind, req.to, req.expires_at) == ("email_changed", "old@example.test", None)
    assert "a changé" in req.rendered.subject and LOGIN in req.rendered.text
    assert messages.link_ref_of("email_changed", {"user_id": "u-1"}) is None
