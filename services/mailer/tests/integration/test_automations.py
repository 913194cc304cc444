"""Admin tool 4: "when a lead enters status X, send template T after D hours", from leads'
``lead_status_changed``; once per (change, rule); the delay on the platform clock (moved,
never slept through); nothing to an erased or opposed lead, from a closed or paused office,
or to a lead that left the status."""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, delete

from mailer.models import common
from suivi_common import clock
from suivi_common.errors import Forbidden, Invalid, NotFound
from suivi_common.rpc import RpcClient


def sent_rows(office, lead) -> list[dict]:
    return [r for r in office.emails_of(lead) if r["status"] == "sent"]


def test_the_admin_defines_automations_within_the_pipeline(new_office, pipelines) -> None:
    office = new_office()
    template = office.template()
    pipelines[office.network_id] = ["new", "called", "signed"]
    with office.rpc(office.admin) as rpc:
        rule = rpc.mailer.create_automation({"status": "called", "template_id": template["id"],
                                             "delay_hours": 24})
        assert (rule["status"], rule["delay_hours"], rule["enabled"]) == ("called", 24, True)
        with pytest.raises(Invalid) as caught:
            rpc.mailer.create_automation({"status": "meeting", "template_id": template["id"]})
        assert "pipeline" in caught.value.fields["status"]
        with pytest.raises(Invalid) as caught:
            rpc.mailer.create_automation({"status": "called", "template_id": str(uuid.uuid4()),
                                          "delay_hours": -2})
        assert set(caught.value.fields) == {"template_id", "delay_hours"}
        changed = rpc.mailer.update_automation(rule["id"], {
            "status": "signed", "template_id": template["id"], "delay_hours": 0, "enabled": False})
        assert (changed["status"], changed["enabled"]) == ("signed", False)
        assert [a["id"] for a in rpc.mailer.list_automations()["items"]] == [rule["id"]]
        assert rpc.mailer.delete_automation(rule["id"])["deleted"] is True
        assert rpc.mailer.list_automations()["items"] == []


def test_only_the_admin_of_the_network_touches_its_automations(new_office) -> None:
    office, other = new_office(), new_office()
    rule = office.automation("meeting", office.template()["id"])
    with office.rpc() as rpc:
        with pytest.raises(Forbidden):
            rpc.mailer.list_automations()
        with pytest.raises(Forbidden):
            rpc.mailer.create_automation({"status": "meeting", "template_id": str(uuid.uuid4())})
    with other.rpc(other.admin) as rpc:
        with pytest.raises(NotFound):
            rpc.mailer.update_automation(rule["id"], {"status": "meeting",
                                                      "template_id": other.template()["id"]})
        with pytest.raises(NotFound):
            rpc.mailer.delete_automation(rule["id"])
        with pytest.raises(Invalid):  # another network's template is no template here
            rpc.mailer.create_automation({"status": "meeting",
                                          "template_id": office.template()["id"]})


def test_entering_the_status_sends_the_template_with_its_placeholders(new_office, until) -> None:
    office = new_office("Réseau Est")
    template = office.template(subject="RDV {{ lead.first_name }}",
                               body_text="{{ lead.first_name }} à {{ lead.city }}, "
                                         "{{ user.first_name }} ({{ network.name }})")
    office.automation("meeting", template["id"])
    lead = office.lead(first_name="Hugo", city="Metz")
    office.move(lead, "contacted")  # no rule for it
    office.move(lead, "meeting")
    [got] = until(lambda: office.mails_to(lead))
    msg = got.message
    assert msg["Subject"] == "RDV Hugo"
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = msg.get_body(("plain",)).get_content()
    assert text.startswith("Hugo à Metz, Bruno (Réseau Est)")
    assert str(msg["List-Unsubscribe"]).strip("<>") in text
    [event] = until(lambda: office.sent_events(lead))
    assert event["channel"] == "smtp" and event["subject"] == "RDV Hugo"
    with office.rpc() as rpc:
        [item] = rpc.mailer.list_lead_emails(lead["lead_id"])["items"]
    assert item["origin"] == "automation" and item["status"] == "sent"


def test_a_delayed_email_waits_for_the_clock_and_skips_a_lead_that_moved_on(
        new_office, until, live_mailer) -> None:
    office = new_office()
    office.automation("meeting", office.template(subject="Rappel")["id"], delay_hours=48)
    stays, leaves = office.lead(), office.lead()
    office.move(stays, "meeting")
    office.move(leaves, "meeting")
    until(lambda: len([r for r in office.emails_of(stays) + office.emails_of(leaves)
                       if r["status"] == "scheduled"]) == 2)
    with office.rpc() as rpc:
        [waiting] = rpc.mailer.list_lead_emails(stays["lead_id"])["items"]
    assert waiting["status"] == "queued" and waiting["scheduled_for"]
    office.move(leaves, "not_interested")
    [row] = until(lambda: [r for r in office.emails_of(leaves) if r["status"] == "cancelled"])
    assert row["cancel_reason"] == "left_status"
    clock.advance(timedelta(hours=47))
    until(live_mailer.settled)
    assert [r["status"] for r in office.emails_of(stays)] == ["scheduled"]
    clock.advance(timedelta(hours=2))
    until(lambda: office.mails_to(stays))
    until(lambda: sent_rows(office, stays))
    until(live_mailer.settled)
    assert office.mails_to(leaves) == []


def test_a_lead_that_left_and_came_back_gets_one_email(new_office, until, live_mailer) -> None:
    office = new_office()
    office.automation("meeting", office.template()["id"], delay_hours=1)
    lead = office.lead()
    base = clock.now()
    office.move(lead, "meeting", changed_at=base.isoformat())
    office.move(lead, "contacted", changed_at=(base + timedelta(minutes=1)).isoformat())
    office.move(lead, "meeting", changed_at=(base + timedelta(minutes=2)).isoformat())
    until(live_mailer.settled)  # in whatever order the three were handled
    assert [r["status"] for r in office.emails_of(lead)].count("scheduled") == 1
    clock.advance(timedelta(hours=2))
    until(lambda: sent_rows(office, lead))
    until(live_mailer.settled)
    assert len(office.mails_to(lead)) == 1


def test_an_older_change_handled_late_schedules_nothing(new_office, until, live_mailer) -> None:
    office = new_office()
    office.automation("meeting", office.template()["id"], delay_hours=1)
    lead = office.lead()
    base = clock.now()
    lead["status"] = "client"
    office.move(lead, "client", changed_at=(base + timedelta(minutes=5)).isoformat())
    until(live_mailer.settled)
    office.move(lead, "meeting", changed_at=base.isoformat())  # older: arrived out of order
    lead["status"] = "client"
    until(live_mailer.settled)
    assert office.emails_of(lead) == []


def test_each_change_sends_once_per_rule_even_redelivered(new_office, until, live_mailer) -> None:
    office = new_office()
    first, second = office.template(subject="Un")["id"], office.template(subject="Deux")["id"]
    office.automation("meeting", first)
    office.automation("meeting", second)
    lead = office.lead()
    mid = office.move(lead, "meeting")
    office.move(lead, "meeting", message_id=mid)  # the broker delivers it again
    until(lambda: len(sent_rows(office, lead)) == 2)
    # even if the inbox had lost its claim, the (change, rule) pair is unique
    engine = create_engine(live_mailer.db_url)
    with engine.begin() as conn:
        conn.execute(delete(common.inbox).where(common.inbox.c.message_id == mid))
    engine.dispose()
    office.move(lead, "meeting", message_id=mid)
    until(live_mailer.settled)
    assert sorted(m.message["Subject"] for m in office.mails_to(lead)) == ["Deux", "Un"]
    assert len(office.emails_of(lead)) == 2 and len(office.sent_events(lead)) == 2


def test_a_paused_office_sends_nothing_and_resumes(new_office, until, live_mailer) -> None:
    office = new_office()
    office.automation("meeting", office.template()["id"])
    office.automation("contacted", office.template()["id"], delay_hours=1)
    colleague = office.member("Chloé")
    mine, later, theirs = office.lead(), office.lead(), office.lead(owner=colleague)
    office.move(later, "contacted")  # scheduled before the pause
    until(lambda: office.emails_of(later))
    with office.rpc() as rpc:
        assert rpc.mailer.set_automation_pause(True)["paused"] is True
        assert rpc.mailer.get_automation_pause()["paused"] is True
    office.move(mine, "meeting")
    office.move(theirs, "meeting")
    until(lambda: office.mails_to(theirs))  # the colleague's switch is theirs
    clock.advance(timedelta(hours=2))
    [row] = until(lambda: [r for r in office.emails_of(later) if r["status"] == "cancelled"])
    assert row["cancel_reason"] == "paused"
    until(live_mailer.settled)
    assert office.emails_of(mine) == [] and office.mails_to(later) == []
    with office.rpc() as rpc:
        assert rpc.mailer.set_automation_pause(False)["paused"] is False
    office.move(mine, "contacted")
    office.move(mine, "meeting")
    until(lambda: office.mails_to(mine))


def test_nothing_goes_to_an_erased_or_opposed_lead_or_from_a_closed_office(
        new_office, until, live_mailer, closed_offices) -> None:
    office = new_office()
    office.automation("meeting", office.template()["id"], delay_hours=1)
    erased, control = office.lead(), office.lead()
    for lead in (erased, control):
        office.move(lead, "meeting")
    until(lambda: all(office.emails_of(x) for x in (erased, control)))
    office.erase(erased)
    until(lambda: office.emails_of(erased) == [])
    office.move(erased, "meeting")  # a late event for the erased lead schedules nothing
    clock.advance(timedelta(hours=2))
    until(lambda: office.mails_to(control))
    until(live_mailer.settled)
    assert office.emails_of(erased) == []
    assert office.mails_to(erased) == []
    # the office closes: what falls due is not sent
    closed = office.lead()
    office.move(closed, "meeting")
    until(lambda: office.emails_of(closed))
    closed_offices.add(office.user.user_id)
    clock.advance(timedelta(hours=2))
    until(lambda: [r for r in office.emails_of(closed) if r.get("cancel_reason") == "office_closed"])
    assert office.mails_to(closed) == []


def test_an_opposed_address_gets_no_automation(new_office, until, live_mailer) -> None:
    office = new_office()
    office.automation("meeting", office.template()["id"])
    lead = office.lead()
    with office.rpc() as rpc:
        rpc.mailer.send_lead_email(lead["lead_id"], None, "s", "b")
    [got] = until(lambda: office.mails_to(lead))
    token = str(got.message["List-Unsubscribe"]).strip("<>").rsplit("/", 1)[1]
    with RpcClient(live_mailer.cfg["AMQP_URI"]) as anonymous:
        anonymous.mailer.unsubscribe(token)
    office.move(lead, "meeting")
    until(lambda: [r for r in office.emails_of(lead) if r["status"] == "blocked_opposition"])
    until(live_mailer.settled)
    assert len(office.mails_to(lead)) == 1


def test_a_pipeline_remap_sends_nothing(new_office, until, live_mailer) -> None:
    office = new_office()
    office.automation("meeting", office.template()["id"])
    lead = office.lead()
    office.move(lead, "meeting", cause="pipeline_change")
    until(live_mailer.settled)
    assert office.emails_of(lead) == []


def test_deleting_a_rule_cancels_its_pending_emails(new_office, until, live_mailer) -> None:
    office = new_office()
    rule = office.automation("meeting", office.template()["id"], delay_hours=3)
    lead = office.lead()
    office.move(lead, "meeting")
    until(lambda: office.emails_of(lead))
    with office.rpc(office.admin) as rpc:
        rpc.mailer.delete_automation(rule["id"])
    [row] = office.emails_of(lead)
    assert (row["status"], row["cancel_reason"]) == ("cancelled", "rule_gone")
    clock.advance(timedelta(hours=4))
    until(live_mailer.settled)
    assert office.mails_to(lead) == []
    with office.rpc() as rpc:  # cancelled emails are not history
        assert rpc.mailer.list_lead_emails(lead["lead_id"])["items"] == []


def test_an_immediate_email_is_checked_when_the_dispatcher_takes_it(
        new_office, until, live_mailer, closed_offices) -> None:
    """An immediate rule's email is queued by the change and checked by the dispatcher
    (the lead is still in the status, the office open) when it takes it; a refused one
    leaves its cancelled row, so a redelivered change makes nothing more."""
    office = new_office()
    office.automation("meeting", office.template()["id"])
    moved_on, closed, fine = office.lead(), office.lead(), office.lead()
    mid = office.move(moved_on, "meeting")
    moved_on["status"] = "client"  # leads already knows it left (the next change is late)
    until(lambda: [r for r in office.emails_of(moved_on) if r["status"] == "cancelled"])
    office.move(moved_on, "meeting", message_id=mid)  # redelivered
    closed_offices.add(office.user.user_id)
    office.move(closed, "meeting")
    until(lambda: [r for r in office.emails_of(closed) if r["status"] == "cancelled"])
    closed_offices.clear()
    office.move(fine, "meeting")
    [row] = until(lambda: sent_rows(office, fine))
    until(live_mailer.settled)
    assert (row["origin"], row["attempts"], row["lease_until"]) == ("automation", 1, None)
    assert [(r["status"], r["cancel_reason"]) for r in office.emails_of(moved_on)] == [
        ("cancelled", "left_status")]
    assert [(r["status"], r["cancel_reason"]) for r in office.emails_of(closed)] == [
        ("cancelled", "office_closed")]
    assert office.mails_to(moved_on) == [] and office.mails_to(closed) == []
    assert len(office.mails_to(fine)) == 1 and len(office.sent_events(fine)) == 1


def test_an_immediate_email_waits_while_leads_cannot_answer(
        new_office, until, live_mailer, unavailable_leads) -> None:
    """The dispatcher cannot check the lead: the email waits (``scheduled``, no attempt
    counted) and is taken again, then sent once; the change's delayed rule is kept."""
    office = new_office()
    office.automation("meeting", office.template(subject="Tout de suite")["id"])
    office.automation("meeting", office.template(subject="Plus tard")["id"], delay_hours=1)
    lead = office.lead()
    # more refusals than the status change's own attempts (EVENT_RETRY_DELAYS_MS: 3
    # retries), which it alone would not have survived
    unavailable_leads[lead["lead_id"]] = 4
    office.move(lead, "meeting")
    [row] = until(lambda: sent_rows(office, lead), what="the email sent from the queue")
    until(live_mailer.settled)
    assert unavailable_leads[lead["lead_id"]] == 0
    assert [m.message["Subject"] for m in office.mails_to(lead)] == ["Tout de suite"]
    assert row["attempts"] == 1 and len(office.sent_events(lead)) == 1
    assert sorted(r["status"] for r in office.emails_of(lead)) == ["scheduled", "sent"]
