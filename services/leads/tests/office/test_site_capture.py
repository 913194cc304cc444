"""The capture form of a member's site (issue 13 §2) on a real database: a personal lead
of origin ``site`` with its consent notice; duplicates; the rate per address; a closed
office or bad fields store nothing."""
from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from nameko import config
from sqlalchemy import func, select

from leads.models import office_leads, site_consents
from leads.office_testing import Harness, SeparateCtx
from leads.usecases import site_capture
from leads.usecases.office import one_lead
from suivi_common import clock
from suivi_common.errors import Forbidden, Invalid, RateLimited

NOW = datetime(2027, 9, 6, 10, tzinfo=ZoneInfo("Europe/Paris"))
NOTICE = "Vos données servent à vous recontacter. Droits : contact@exemple.fr"


def form(**overrides: str) -> dict[str, str]:
    return {"first_name": "Camille", "last_name": "Lefèvre", "email": "camille@exemple.fr",
            "postal_code": "75011", "city": "Paris", "country": "FR", **overrides}


def submit(h: Harness, fields: dict[str, str], *, ip: str = "203.0.113.9",
           open_office: bool = True, owner: str = "u1") -> dict[str, Any]:
    def office_check(user_id: str) -> None:
        if not open_office:
            raise Forbidden("closed", code="office_inactive")

    return h.run(site_capture.capture_from_site, SeparateCtx(h.engine).separate, office_check,
                 owner_id=owner, network_id="net-1", kind="construction", page_id="page-1",
                 fields=fields, notice_text=NOTICE, notice_version="v3",
                 source_url="https://suivi.example/s/bruno-x/opportunite", client_ip=ip)


def counts(h: Harness) -> tuple[int, int]:
    with h.session() as s:
        return (s.execute(select(func.count()).select_from(office_leads)).scalar_one(),
                s.execute(select(func.count()).select_from(site_consents)).scalar_one())


def test_an_accepted_form_is_a_personal_lead_with_its_notice(h: Harness) -> None:
    clock.freeze(NOW)
    result = submit(h, form())
    assert result["status"] == "accepted"
    lead = h.run(one_lead.get, "u1", result["lead_id"])
    assert (lead["origin"], lead["email"], lead["source"]) == ("site", "camille@exemple.fr", "form")
    assert lead["kind"] == "construction"  # the brochure site's (issue 13 §1)
    assert lead["consent_at"].startswith("2027-09-06T10:00")
    assert lead["capture_ip"] == "203.0.113.9"
    assert [(c["notice_text"], c["notice_version"], c["kind"], c["page_id"], c["duplicate"])
            for c in lead["site_consents"]] == [(NOTICE, "v3", "construction", "page-1", False)]


def test_the_same_person_again_is_a_duplicate_with_a_second_consent(h: Harness) -> None:
    clock.freeze(NOW)
    first = submit(h, form())
    again = submit(h, form(email="CAMILLE@exemple.fr", first_name="Cam"))
    assert again == {"status": "duplicate", "lead_id": first["lead_id"]}
    assert counts(h) == (1, 2)
    other_office = submit(h, form(), owner="u2")  # another member's office is its own
    assert other_office["status"] == "accepted" and counts(h) == (2, 3)


def test_bad_fields_and_a_closed_office_store_nothing(h: Harness) -> None:
    clock.freeze(NOW)
    with pytest.raises(Invalid) as bad:
        submit(h, form(email="", first_name=""))
    assert {"first_name", "contact"} <= set(bad.value.fields or {})
    with pytest.raises(Forbidden):
        submit(h, form(), open_office=False)
    assert counts(h) == (0, 0)


def test_the_rate_per_address_refuses_and_stores_nothing(h: Harness) -> None:
    clock.freeze(NOW)
    with config.patch({"SITE_FORM_RATE_PER_IP": 2, "CAPTURE_RATE_WINDOW_SECONDS": 60}):
        submit(h, form(email="a@exemple.fr"))
        submit(h, form(email="b@exemple.fr"))
        with pytest.raises(RateLimited):
            submit(h, form(email="c@exemple.fr"))
        submit(h, form(email="c@exemple.fr"), ip="198.51.100.7")  # another address
    assert counts(h) == (3, 3)


def test_an_order_request_files_its_note_on_the_lead_or_the_one_it_matched(h: Harness) -> None:
    clock.freeze(NOW)
    first = h.run(site_capture.capture_from_site, SeparateCtx(h.engine).separate,
                  lambda user_id: None, owner_id="u1", network_id="net-1",
                  kind="distribution", page_id="boutique", fields=form(), notice_text=NOTICE,
                  notice_version="b1", source_url="https://suivi.example/b/x/",
                  client_ip=None, note="- 2 × Crème")
    again = h.run(site_capture.capture_from_site, SeparateCtx(h.engine).separate,
                  lambda user_id: None, owner_id="u1", network_id="net-1",
                  kind="distribution", page_id="boutique", fields=form(), notice_text=NOTICE,
                  notice_version="b1", source_url="https://suivi.example/b/x/",
                  client_ip=None, note="- 1 × Savon")
    assert again["lead_id"] == first["lead_id"]
    # a boutique's order is a distribution lead (issue 13 §1), listed under that kind
    assert h.run(one_lead.get, "u1", first["lead_id"])["kind"] == "distribution"
    with h.session() as s:
        assert s.execute(select(office_leads.c.kind)).scalars().all() == ["distribution"]
    notes = h.run(one_lead.notes, "u1", first["lead_id"], None, 10)["items"]
    assert sorted(n["text"] for n in notes) == ["- 1 × Savon", "- 2 × Crème"]
