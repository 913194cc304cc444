"""From an accounts event to a MIME message: payload checks, expiry, Message-ID."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from typing import Any

import pytest

from mailer.domain import messages
from mailer.domain.messages import InvalidPayload

NOW = datetime(2026, 3, 14, 8, 0, tzinfo=UTC)
LOGIN = "https://app.suivi.test/"
SENDER = "Suivi <no-reply@suivi.test>"


def invited(**over: Any) -> dict[str, Any]:
    payload = {"user_id": "u-1", "network_id": "n-1", "email": "lea@example.test",
               "first_name": "Léa", "set_password_url": "https://app.suivi.test/p?t=tok",
               "expires_at": (NOW + timedelta(days=7)).isoformat()}
    payload.update(over)
    return payload


def test_each_accounts_event_maps_to_its_email() -> None:
    inv = messages.request_for("user_invited", invited(), LOGIN)
    assert (inv.kind, inv.user_id, inv.to) == ("invitation", "u-1", "lea@example.test")
    assert inv.expires_at == NOW + timedelta(days=7)
    reset = messages.request_for("password_reset_requested", invited(network_id=None), LOGIN)
    assert reset.kind == "password_reset"
    terms = messages.request_for("terms_notice", {"user_id": "u-1", "email": "lea@example.test",
                                                  "first_name": "Léa", "version": 4}, LOGIN)
    assert terms.kind == "terms_notice" and terms.expires_at is None
    assert "(version 4)" in terms.rendered.subject


@pytest.mark.parametrize("over,field", [
    ({"email": None}, "email"), ({"user_id": ""}, "user_id"),
    ({"set_password_url": None}, "set_password_url"), ({"expires_at": None}, "expires_at"),
])
def test_missing_fields_are_refused_by_name(over: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidPayload, match=field):
        messages.request_for("user_invited", invited(**over), LOGIN)


@pytest.mark.parametrize("address", ["not-an-address", "a@b", "lea@example.test\r\nBcc: x@y.z",
                                     "Léa <lea@example.test>", "a b@c.d", "a@b.c,d@e.f"])
def test_bad_addresses_are_refused_without_echoing_them(address: str) -> None:
    with pytest.raises(InvalidPayload) as err:
        messages.request_for("user_invited", invited(email=address), LOGIN)
    assert address not in str(err.value)


def test_a_bad_link_is_refused_without_echoing_it() -> None:
    with pytest.raises(InvalidPayload) as err:
        messages.request_for("user_invited", invited(set_password_url="javascript:steal('tok')"),
                             LOGIN)
    assert "tok" not in str(err.value)


def test_unparseable_expiry_and_unknown_event_are_refused() -> None:
    with pytest.raises(InvalidPayload, match="expires_at"):
        messages.request_for("user_invited", invited(expires_at="next week"), LOGIN)
    with pytest.raises(InvalidPayload):
        messages.request_for("user_deleted", invited(), LOGIN)


def test_expiry() -> None:
    req = messages.request_for("user_invited", invited(expires_at="2026-03-14T09:00:00+01:00"),
                               LOGIN)
    assert req.expired(NOW)  # 09:00 Paris == 08:00 UTC
    assert not req.expired(NOW - timedelta(seconds=1))
    naive = messages.request_for("user_invited", invited(expires_at="2026-03-14T09:00:00"), LOGIN)
    assert naive.expires_at == datetime(2026, 3, 14, 9, 0, tzinfo=UTC)
    terms = messages.request_for("terms_notice", {"user_id": "u", "email": "a@b.co",
                                                  "version": "2"}, LOGIN)
    assert not terms.expired(NOW + timedelta(days=3650))


def test_message_id_is_derived_from_the_event() -> None:
    mid = messages.smtp_message_id("0b1c7a52-5d3e-4b9a-9d7e-1f2a3b4c5d6e", "invitation", SENDER)
    assert mid == "<0b1c7a52-5d3e-4b9a-9d7e-1f2a3b4c5d6e.invitation@suivi.test>"
    assert mid == messages.smtp_message_id("0b1c7a52-5d3e-4b9a-9d7e-1f2a3b4c5d6e",
                                           "invitation", SENDER)
    odd = messages.smtp_message_id("weird id <with> spaces", "invitation", "bad sender")
    assert odd.startswith("<") and odd.endswith(".invitation@suivi.invalid>")
    assert " " not in odd and odd.count("<") == 1
    assert odd != messages.smtp_message_id("another id", "invitation", "bad sender")


def test_build_message_is_multipart_alternative_with_headers() -> None:
    req = messages.request_for("user_invited", invited(first_name="<b>Léa</b>"), LOGIN)
    msg = messages.build_message(req, SENDER, "<m1.invitation@suivi.test>", NOW)
    parsed = message_from_bytes(msg.as_bytes(), policy=policy.default)
    assert parsed["To"] == "lea@example.test"
    assert parsed["From"] == SENDER
    assert parsed["Subject"] == "Votre invitation à rejoindre Suivi"
    assert parsed["Message-ID"] == "<m1.invitation@suivi.test>"
    assert parsed["Auto-Submitted"] == "auto-generated"
    assert parsed["Content-Language"] == "fr"
    assert parsed.get_content_type() == "multipart/alternative"
    text = parsed.get_body(("plain",)).get_content()
    html = parsed.get_body(("html",)).get_content()
    assert "https://app.suivi.test/p?t=tok" in text and "https://app.suivi.test/p?t=tok" in html
    assert "&lt;b&gt;Léa&lt;/b&gt;" in html and "<b>Léa</b>" not in html


def test_link_emails_name_their_link_by_reference_only() -> None:
    event = {"user_id": "u-1", "email": "lea@example.test", "link_ref": "ref-1",
             "expires_at": NOW.isoformat()}
    assert messages.link_ref_of("user_invited", event) == "ref-1"
    assert messages.link_ref_of("password_reset_requested", event) == "ref-1"
    assert messages.link_ref_of("terms_notice", event) is None  # no link in that email
    with pytest.raises(InvalidPayload, match="link_ref"):
        messages.link_ref_of("user_invited", {"user_id": "u-1", "email": "lea@example.test"})
    link = {"set_password_url": "https://app.suivi.test/p?t=tok",
            "expires_at": (NOW + timedelta(days=3)).isoformat()}
    req = messages.request_for("user_invited", messages.with_link(event, link), LOGIN)
    assert "https://app.suivi.test/p?t=tok" in req.rendered.text
    assert req.expires_at == NOW + timedelta(days=3)  # accounts' expiry, not the event's
