"""The office's contract with the mailer: ``lead_contact`` (an internal RPC) gives the
fields an e-mail to a lead needs; ``lead_email_sent`` (the mailer's event) records the
e-mail in the lead's history and keeps its count and last date, which the export shows."""
from __future__ import annotations

import base64
import csv
import io
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from leads.models import common, office_emails, office_history, office_leads
from leads.office_testing import raw_lead
from suivi_common import clock, events
from suivi_common.errors import Forbidden, Invalid, NotFound, Unauthorized
from suivi_common.testing.messages import publish_event
from suivi_common.testing.waiting import wait_for

HANDLER = common.inbox.c.handler == "leads.office_on_lead_email_sent"


def sent(lead_id: str, email_id: str, sent_at: datetime, user_id: str = "u1",
         subject: str = "Votre projet") -> dict[str, Any]:
    return events.example("lead_email_sent", lead_id=lead_id, user_id=user_id, email_id=email_id,
                          subject=subject, sent_at=sent_at.isoformat(), channel="gmail")


def scalar(stack: Any, query: Any) -> Any:
    with stack.engine.connect() as conn:
        return conn.execute(query).scalar()


def test_a_service_gets_the_contact_fields_of_an_office_lead(stack: Any) -> None:
    bought = stack.deliver("u1", raw=raw_lead(4, first_name="Inès", city="Lille"))
    with stack.rpc("user", "u1") as leads:
        mine = leads.office_create_lead(raw_lead(5))["id"]
        leads.office_change_status(bought, "contacted")
    with stack.rpc("service", "mailer") as leads:
        assert leads.lead_contact(bought) == {
            "lead_id": bought, "owner_id": "u1", "network_id": "net-1",
            "email": "lead4@example.fr", "first_name": "Inès", "last_name": "Martin4",
            "city": "Lille", "status": "contacted", "office_kind": "purchased"}
        assert leads.lead_contact(mine)["office_kind"] == "personal"


def test_lead_contact_is_for_services_and_forgets_erased_and_deleted_leads(stack: Any) -> None:
    erased, deleted = stack.deliver("u1", i=1), stack.deliver("u1", i=2)
    with stack.rpc("user", "u1") as leads:
        leads.office_delete_lead(deleted)
        with pytest.raises(Forbidden):  # a user, even the owner: internal only
            leads.lead_contact(erased)
    with stack.rpc(None) as leads, pytest.raises(Unauthorized):
        leads.lead_contact(erased)
    with stack.rpc("service", "compliance") as leads:
        leads.office_erase_lead(erased)
    with stack.rpc("service", "mailer") as leads:
        for lead_id in (erased, deleted, str(uuid.uuid4()), "not-a-uuid"):
            with pytest.raises(NotFound):
                leads.lead_contact(lead_id)


def test_lead_contacts_answers_a_batch_for_services_only_and_leaves_out_gone_leads(
        stack: Any) -> None:
    """The batch form of ``lead_contact`` (one question per batch of the mailer's emails):
    the same answer per lead, and a lead nobody may write to is absent, not a refusal."""
    kept = stack.deliver("u1", raw=raw_lead(6, first_name="Inès", city="Lille"))
    other = stack.deliver("u2", i=7)
    erased, deleted = stack.deliver("u1", i=8), stack.deliver("u1", i=9)
    with stack.rpc("user", "u1") as leads:
        leads.office_delete_lead(deleted)
        with pytest.raises(Forbidden):  # a user, even the owner: internal only
            leads.lead_contacts([kept])
    with stack.rpc(None) as leads, pytest.raises(Unauthorized):
        leads.lead_contacts([kept])
    with stack.rpc("service", "compliance") as leads:
        leads.office_erase_lead(erased)
    with stack.rpc("service", "mailer") as leads:
        one = leads.lead_contact(kept)
        found = leads.lead_contacts([kept, other, erased, deleted, str(uuid.uuid4()),
                                     "not-a-uuid", kept])
        assert found == {kept: one, other: leads.lead_contact(other)}
        assert leads.lead_contacts([]) == {}
        with pytest.raises(Invalid):
            leads.lead_contacts("not a list")
        with pytest.raises(Invalid):
            leads.lead_contacts([kept] * 501)


def test_an_email_sent_is_recorded_once_in_history_count_and_last_date(stack: Any) -> None:
    lead = stack.deliver("u1")
    other = stack.deliver("u2", i=1)
    first = datetime(2026, 3, 2, 9, 15, tzinfo=UTC)
    later = datetime(2026, 3, 4, 17, 40, tzinfo=UTC)
    publish_event(stack.uri, "mailer", "lead_email_sent", sent(lead, "mail-2", later,
                                                                subject="Relance"))
    publish_event(stack.uri, "mailer", "lead_email_sent", sent(lead, "mail-1", first))
    publish_event(stack.uri, "mailer", "lead_email_sent", sent(lead, "mail-1", first))  # again
    publish_event(stack.uri, "mailer", "lead_email_sent", sent(other, "mail-3", first))  # not u1's
    wait_for(lambda: scalar(stack, select(func.count()).select_from(common.inbox)
                            .where(HANDLER)) == 4)
    row = stack.engine.connect().execute(select(
        office_leads.c.emails_sent, office_leads.c.last_emailed_at)
        .where(office_leads.c.id == uuid.UUID(lead))).one()
    assert (row.emails_sent, row.last_emailed_at) == (2, later)  # the latest, whatever order
    assert scalar(stack, select(office_leads.c.emails_sent)
                  .where(office_leads.c.id == uuid.UUID(other))) == 0
    assert scalar(stack, select(func.count()).select_from(office_emails)) == 2
    with stack.rpc("user", "u1") as leads:
        entries = [h for h in leads.office_lead_history(lead)["items"] if h["via"] == "email"]
    assert sorted((h["field"], h["new"], h["source"], h["actor_id"], h["changed_at"])
                  for h in entries) == [
        ("email_sent", "Relance", "system", "u1", later.isoformat()),
        ("email_sent", "Votre projet", "system", "u1", first.isoformat())]
    sealed = stack.engine.connect().execute(select(office_history.c.new_value)
                                            .where(office_history.c.via == "email")).scalars()
    assert all(b"Relance" not in bytes(v) and b"projet" not in bytes(v) for v in sealed)


def test_the_export_shows_emails_sent_and_the_last_one(stack: Any) -> None:
    clock.freeze(datetime(2026, 3, 5, 8, 0, tzinfo=UTC))
    lead = stack.deliver("u1")
    stack.deliver("u1", i=1)
    publish_event(stack.uri, "mailer", "lead_email_sent",
                  sent(lead, "mail-9", datetime(2026, 3, 4, 17, 40, tzinfo=UTC)))
    wait_for(lambda: scalar(stack, select(func.count()).select_from(common.inbox)
                            .where(HANDLER)) == 1)
    with stack.rpc("user", "u1") as leads:
        job = leads.office_export_start(None, "csv", "en")
        body = b"".join(base64.b64decode(leads.office_export_chunk(job["export_id"], n)["data"])
                        for n in range(job["chunks"]))
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0][-3:] == ["Emails sent", "Last emailed", "Office kind"]
    assert sorted(r[-3:-1] for r in rows[1:]) == [["0", ""], ["1", "2026-03-04 18:40:00"]]
