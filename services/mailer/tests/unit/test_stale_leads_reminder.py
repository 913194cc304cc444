"""The stale-lead reminder's email (issue 12 §2, terms 3.B.iv): French with one English
line, the count, the period and a link to the office filtered on those leads; a payload
that cannot be mailed is refused without echoing it."""
from __future__ import annotations

from datetime import date

import pytest

from mailer import templates
from mailer.domain.messages import InvalidPayload
from mailer.usecases import stale_leads

PAYLOAD = {"user_id": "u1", "network_id": "n1", "month": "2026-12-01",
           "inactive_since": "2025-12-02", "months": 12, "count": 7}


def test_the_reminder_says_how_many_and_links_to_the_filtered_office():
    url = stale_leads.office_url("https://app.suivi.test/", date(2025, 12, 2))
    assert url == "https://app.suivi.test/leads?inactive_since=2025-12-02"
    mail = templates.stale_leads_reminder("Léa", 7, 12, "2025-12-02", url)
    assert mail.subject == "7 leads sans activité depuis 12 mois dans votre bureau"
    assert mail.text.startswith("Bonjour Léa,\n\n")
    assert "Votre bureau compte 7 leads sans aucune activité" in mail.text
    assert "depuis le 02/12/2025, soit 12 mois" in mail.text
    assert "art. 3.B.iv" in mail.text and "en une seule fois" in mail.text
    assert f"Voir ces leads : {url}" in mail.text
    assert "--\nYou have 7 lead(s) with no activity for 12 months" in mail.text
    assert f'href="{url}"' in mail.html and 'lang="en"' in mail.html


def test_one_lead_is_singular():
    mail = templates.stale_leads_reminder(None, 1, 12, "2025-12-02",
                                          "https://app.suivi.test/leads")
    assert mail.subject.startswith("1 lead sans activité") and "Bonjour," in mail.text


def test_parse_and_the_ledger_key():
    reminder = stale_leads.parse(PAYLOAD)
    assert reminder == stale_leads.Reminder("u1", date(2026, 12, 1), date(2025, 12, 2), 12, 7)
    assert reminder.key == "stale-leads:2026-12-01:u1"  # once per owner and month


@pytest.mark.parametrize("change", [
    {"user_id": ""}, {"user_id": None}, {"count": -1}, {"count": "7"}, {"count": True},
    {"inactive_since": "yesterday"}, {"month": None}, {"months": 1.5},
])
def test_a_payload_that_cannot_be_mailed_is_refused(change):
    with pytest.raises(InvalidPayload) as refused:
        stale_leads.parse({**PAYLOAD, **change})
    assert "yesterday" not in str(refused.value)


def test_a_link_must_be_http():
    with pytest.raises(ValueError):
        templates.stale_leads_reminder("Léa", 2, 12, "2025-12-02", "javascript:alert(1)")
