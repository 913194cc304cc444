"""The retention sweep (``usecases.retention``): exact to the Paris day on the moved
platform clock, idempotent, resumable in batches; and the owner's bulk delete."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from leads.models import contacts, leads, office_leads, offices, site_consents
from leads.office_testing import Harness, SeparateCtx, capture, deliver, paris, raw_lead, user
from leads.usecases import retention, site_capture
from leads.usecases.entitlements import record_office
from leads.usecases.office import bulk_delete, one_lead
from suivi_common import clock
from suivi_common.errors import Invalid


def sweep(h: Harness, on: datetime) -> tuple[dict[str, Any], SeparateCtx]:
    clock.freeze(on)
    ctx = SeparateCtx(h.engine)
    return retention.sweep(ctx), ctx  # type: ignore[arg-type]


def close_office(h: Harness, user_id: str, at: datetime, active: bool = False) -> None:
    with h.session() as s:
        record_office(s, user_id, active, at)
        s.commit()


def live(h: Harness, owner: str) -> int:
    with h.session() as s:
        return int(s.execute(select(func.count()).select_from(office_leads).where(
            office_leads.c.owner_id == owner, office_leads.c.data.is_not(None))).scalar())


def test_an_ended_office_is_erased_six_months_later_to_the_day(h: Harness) -> None:
    clock.freeze(paris(2025, 6, 1, 10))
    for i in range(3):
        deliver(h, owner_id="u1", i=i)
    deliver(h, owner_id="u2", i=9)
    close_office(h, "u1", paris(2025, 8, 31, 23, 30))  # Paris day 31 August
    close_office(h, "u2", paris(2025, 8, 31, 12))
    close_office(h, "u2", paris(2025, 9, 2, 12), active=True)  # came back: kept
    assert sweep(h, paris(2026, 2, 27, 23, 59))[0]["office_leads"] == 0  # a day early
    assert live(h, "u1") == 3
    result, ctx = sweep(h, paris(2026, 2, 28, 0, 1))  # 31 August + 6 months
    assert result["office_leads"] == 3 and live(h, "u1") == 0 and live(h, "u2") == 1
    with h.session() as s:
        rows = s.execute(select(office_leads).where(office_leads.c.owner_id == "u1")).all()
        captured = s.execute(select(leads.c.pii).where(
            leads.c.id.in_([r.id for r in rows]))).scalars().all()
    assert all(r.erased_reason == "retention" and r.deleted_at and r.lead_key is None
               for r in rows)
    assert captured == [None, None, None]  # the captured copies (buyer's key) too
    erased = [p for e, p in ctx.events if e == "office_leads_erased"]
    assert [(p["user_id"], p["reason"], len(p["lead_ids"])) for p in erased] == [
        ("u1", "retention", 3)]
    assert sweep(h, paris(2026, 2, 28, 12))[0]["office_leads"] == 0  # idempotent


def test_a_later_ended_event_does_not_postpone_the_erasure(h: Harness) -> None:
    clock.freeze(paris(2025, 6, 1, 10))
    deliver(h, owner_id="u1")
    close_office(h, "u1", paris(2025, 7, 10, 9))
    close_office(h, "u1", paris(2025, 9, 1, 9))  # another subscription expiring
    with h.session() as s:
        ended = s.execute(select(offices.c.ended_at)).scalar()
    assert ended == paris(2025, 7, 10, 9)
    assert sweep(h, paris(2026, 1, 10, 0, 5))[0]["office_leads"] == 1


def test_the_sweep_resumes_in_batches(h: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RETENTION_BATCH", "2")
    clock.freeze(paris(2025, 1, 6, 10))
    for i in range(5):
        deliver(h, owner_id="u1", i=i)
    close_office(h, "u1", paris(2025, 1, 6, 11))
    result, ctx = sweep(h, paris(2025, 7, 6, 8))
    assert result["office_leads"] == 5 and live(h, "u1") == 0
    batches = [len(p["lead_ids"]) for e, p in ctx.events if e == "office_leads_erased"]
    assert batches == [2, 2, 1]


def test_unsold_stock_is_erased_three_years_after_capture(h: Harness) -> None:
    clock.freeze(paris(2023, 3, 15, 10))
    old = capture(h, raw_lead(1))
    clock.freeze(paris(2023, 3, 16, 10))
    newer = capture(h, raw_lead(2))
    clock.freeze(paris(2025, 6, 1, 10))
    sold = deliver(h, owner_id="u1", i=3)  # sold long ago, office open: kept
    with h.session() as s:
        s.execute(leads.update().where(leads.c.id == uuid.UUID(sold))
                  .values(captured_at=paris(2023, 1, 1, 10)))
        s.commit()
    result, _ = sweep(h, paris(2026, 3, 15, 0, 30))
    assert result["captured_leads"] == 1
    with h.session() as s:
        pii = dict(s.execute(select(leads.c.id, leads.c.pii)).all())
        left = s.execute(select(func.count()).select_from(contacts)).scalar()
    assert pii[uuid.UUID(old)] is None and pii[uuid.UUID(newer)] is not None
    assert pii[uuid.UUID(sold)] is not None
    assert left == 2  # the erased person's duplicate index is gone, the newer one's kept
    assert sweep(h, paris(2026, 3, 15, 12))[0]["captured_leads"] == 0
    assert sweep(h, paris(2026, 3, 16, 0, 30))[0]["captured_leads"] == 1


# --- bulk delete ----------------------------------------------------------------------------

def test_bulk_delete_deletes_what_the_filter_names(h: Harness) -> None:
    clock.freeze(paris(2025, 1, 6, 10))
    stale = [deliver(h, owner_id="u1", i=i) for i in range(3)]
    clock.freeze(paris(2025, 9, 1, 10))
    fresh = deliver(h, owner_id="u1", i=5)
    h.run(one_lead.add_note, "u1", stale[0], "Rappeler", actor=user("u1"))  # active again
    other = deliver(h, owner_id="u2", i=6)
    with pytest.raises(Invalid):
        h.run(bulk_delete.bulk_delete, "u1", "net-1", {}, actor=user("u1"))
    out = h.run(bulk_delete.bulk_delete, "u1", "net-1", {"inactive_since": "2025-06-01"},
                actor=user("u1"))
    assert out == {"deleted": 2, "kept": 0}
    with h.session() as s:
        alive = set(s.execute(select(office_leads.c.id).where(
            office_leads.c.deleted_at.is_(None))).scalars())
    assert alive == {uuid.UUID(x) for x in (stale[0], fresh, other)}
    event = h.events_of("office_leads_erased")[-1]
    assert sorted(event["lead_ids"]) == sorted(stale[1:]) and event["reason"] == "owner"


def site_lead(h: Harness, owner: str, email: str) -> str:
    return h.run(site_capture.capture_from_site, SeparateCtx(h.engine).separate,
                 lambda user_id: None, owner_id=owner, network_id="net-1",
                 kind="distribution", page_id="page-1",
                 fields={"first_name": "Jeanne", "last_name": "Visiteur", "email": email,
                         "country": "FR"},
                 notice_text="Mention v1", notice_version="v1",
                 source_url=f"https://suivi.example/s/{owner}/", client_ip=None)["lead_id"]


def consent_leads(h: Harness) -> list[str]:
    with h.session() as s:
        return sorted(str(i) for i in s.execute(select(site_consents.c.lead_id)).scalars())


def test_a_consent_proof_lives_as_long_as_its_lead_keeps_its_data(h: Harness) -> None:
    clock.freeze(paris(2025, 6, 1, 10))
    kept = site_lead(h, "u1", "kept@example.fr")
    deleted = site_lead(h, "u1", "deleted@example.fr")
    ended = site_lead(h, "u2", "ended@example.fr")
    close_office(h, "u2", paris(2025, 8, 31, 12))
    h.run(one_lead.delete_lead, "u1", deleted, actor=user("u1"))
    # the owner's deletion: its proof goes at the next sweep; the ended office's are kept
    # while its leads are (6 months)
    result, _ = sweep(h, paris(2025, 9, 1, 10))
    assert result["site_consents"] == 1
    assert consent_leads(h) == sorted([kept, ended])
    result, _ = sweep(h, paris(2026, 2, 28, 0, 1))  # 31 August + 6 months
    assert (result["office_leads"], result["site_consents"]) == (1, 1)
    assert consent_leads(h) == [kept]
    assert sweep(h, paris(2026, 3, 1, 10))[0]["site_consents"] == 0  # idempotent
