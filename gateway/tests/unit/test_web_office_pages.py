"""The office's pages without a platform: the page handlers run against stand-in services
that record their calls. What reaches the services is what the JSON routes send (the same
schemas), a refusal is shown beside its field or at the top of its section, every form
carries its CSRF token, and the files are the API's (chart, CSV, document)."""
from __future__ import annotations

import base64
import io
import re
from datetime import date
from types import SimpleNamespace
from typing import Any

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request, Response

from gateway.routes.stats import StatsRoutes
from gateway.web import http as web
from gateway.web.routes.office import (
    WebOfficeRoutes,
    changed_fields,
    email_body,
    list_args,
    list_query,
)
from suivi_common.errors import Conflict, Invalid, NotFound

CSRF = "token-123"
LEAD_ID = "11111111-1111-1111-1111-111111111111"
LEAD = {"id": LEAD_ID, "origin": "purchased", "status": "new", "first_name": "Louise",
        "last_name": "Peeters", "email": "louise@exemple.be", "mobile": "+32470000001",
        "landline": None, "city": "Bruxelles", "postal_code": "1000", "country": "BE",
        "edited_by_user": False, "created_at": "2026-12-01T09:00:00+00:00",
        "delivered_at": "2026-12-01T09:00:00+00:00",
        "refund": {"deadline": "2026-12-08T09:00:00+00:00", "claim": None}}
PAGE: dict[str, Any] = {"items": [], "next_cursor": None}


class Recorder:
    """A service stand-in: each call is recorded; answers come from ``answers`` (a value,
    or an exception to raise)."""

    def __init__(self, **answers: Any) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.answers = answers

    def __getattr__(self, name: str) -> Any:
        def call(*args: Any) -> Any:
            self.calls.append((name, args))
            answer = self.answers.get(name, PAGE)
            if isinstance(answer, Exception):
                raise answer
            return answer(*args) if callable(answer) else answer
        return call

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]


class Auth:
    def require_token(self, token: Any, roles: Any = (), terms_gate: bool = True) -> Any:
        return SimpleNamespace(role="user", user_id="u1"), "tok"


class Office(WebOfficeRoutes, StatsRoutes):
    def __init__(self, leads: Recorder | None = None, mailer: Recorder | None = None,
                 accounts: Recorder | None = None) -> None:
        self.auth = Auth()
        self.leads = leads or Recorder(office_get_lead=LEAD, office_get_pipeline={
            "statuses": ["new", "contacted", "won"], "initial": "new", "terminal": ["won"]})
        self.mailer = mailer or Recorder(google_status={"linked": False, "can_send": False,
                                                        "reason": "relink_gmail"},
                                         lead_email_opposition={"opposed": False})
        self.accounts = accounts or Recorder()


def call(office: Office, method: str, path: str, handler: str, *, form: Any = None,
         query: str = "", **path_values: Any) -> Response:
    headers = {"Cookie": f"{web.CSRF_COOKIE}={CSRF}; {web.SESSION_COOKIE}=tok"}
    builder = EnvironBuilder(method=method, path=path, query_string=query, headers=headers,
                             base_url="http://127.0.0.1:8000/",
                             data={**({"csrf": CSRF} if method == "POST" else {}), **(form or {})})
    request = Request(builder.get_environ())
    return getattr(Office, handler)(office, request, **path_values)


def html(response: Response) -> str:
    return response.get_data(as_text=True)


def test_every_post_form_of_the_office_pages_carries_its_csrf_token() -> None:
    office = Office()
    pages = [call(office, "GET", f"/web/office/leads/{LEAD_ID}", "web_lead", lead_id=LEAD_ID),
             call(office, "GET", "/web/office", "web_office", query="status=new"),
             call(office, "GET", "/web/office/documents", "web_documents"),
             call(office, "GET", "/web/office/bulk-delete", "web_bulk_delete_confirm",
                  query="inactive_since=2026-06-01")]
    for response in pages:
        assert response.status_code == 200, html(response)
        text = html(response)
        forms = re.findall(r"<form[^>]*method=\"post\".*?</form>", text, re.S)
        assert forms
        assert all(f'name="csrf" value="{CSRF}"' in f for f in forms)


def test_the_lead_page_shows_its_emails_history_and_gmail_state() -> None:
    mailer = Recorder(google_status={"linked": False, "can_send": False,
                                     "reason": "relink_gmail"},
                      lead_email_opposition={"opposed": False},
                      list_lead_emails={"items": [{
                          "id": "e1", "status": "sent", "origin": "office",
                          "subject": "Bonjour <Louise>", "body_text": "Texte",
                          "channel": "smtp", "created_at": "2026-12-01T10:00:00+00:00",
                          "sent_at": "2026-12-01T10:00:05+00:00"}], "next_cursor": "c2"},
                      list_templates={"items": [{"id": "t1", "name": "Premier contact"}]})
    text = html(call(Office(mailer=mailer), "GET", f"/web/office/leads/{LEAD_ID}", "web_lead",
                     lead_id=LEAD_ID))
    assert "Bonjour &lt;Louise&gt;" in text and "Premier contact" in text
    assert 'id="gmail-status"' in text and "Gmail" in text
    assert f"/web/office/leads/{LEAD_ID}?emails=c2#emails-title" in text
    assert ("list_lead_emails", (LEAD_ID, None, 20)) in mailer.calls


def test_another_users_lead_is_the_404_page() -> None:
    leads = Recorder(office_get_lead=NotFound("No such lead"))
    response = call(Office(leads=leads), "GET", "/web/office/leads/x", "web_lead", lead_id="x")
    assert response.status_code == 404
    response = call(Office(leads=leads), "POST", "/web/office/leads/x/edit", "web_lead_edit",
                    form={"first_name": "A"}, lead_id="x")
    assert response.status_code == 404


def test_an_edit_sends_only_the_changed_fields_and_shows_refusals_beside_them() -> None:
    assert changed_fields({"first_name": "Louise", "city": " Liège ", "mobile": ""}, LEAD) == {
        "city": "Liège", "mobile": ""}
    office = Office()
    response = call(office, "POST", f"/web/office/leads/{LEAD_ID}/edit", "web_lead_edit",
                    form={"first_name": "Louise", "city": "Liège"}, lead_id=LEAD_ID)
    assert response.status_code == 303
    assert ("office_update_lead", (LEAD_ID, {"city": "Liège"})) in office.leads.calls

    same = Office()
    response = call(same, "POST", f"/web/office/leads/{LEAD_ID}/edit", "web_lead_edit",
                    form={"first_name": "Louise"}, lead_id=LEAD_ID)
    assert response.status_code == 303 and "office_update_lead" not in same.leads.names()

    refusing = Office(leads=Recorder(
        office_get_lead=LEAD, office_get_pipeline={"statuses": ["new"], "terminal": []},
        office_update_lead=Invalid("the lead is invalid", fields={
            "email": "not an email address", "contact": "keep at least one"})))
    response = call(refusing, "POST", f"/web/office/leads/{LEAD_ID}/edit", "web_lead_edit",
                    form={"email": "pas-une-adresse"}, lead_id=LEAD_ID)
    text = html(response)
    assert response.status_code == 400
    assert 'id="email-error">not an email address' in text
    assert 'value="pas-une-adresse"' in text  # what was typed stays
    assert re.search(r'id="edit-error">[^<]*contact: keep at least one', text)


def test_the_email_form_is_the_json_routes_body_and_its_refusal_is_shown() -> None:
    assert email_body({"template_id": "t1", "subject": "x", "body": "y"}) == {"template_id": "t1"}
    assert email_body({"template_id": "", "subject": "Bonjour", "body": ""}) == {
        "subject": "Bonjour"}
    office = Office()
    response = call(office, "POST", f"/web/office/leads/{LEAD_ID}/emails", "web_lead_email",
                    form={"subject": "Bonjour", "body": "Texte"}, lead_id=LEAD_ID)
    assert response.status_code == 303
    assert ("send_lead_email", (LEAD_ID, None, "Bonjour", "Texte")) in office.mailer.calls

    mailer = Recorder(send_lead_email=Conflict("no email", code="lead_has_no_email"),
                      google_status={"linked": False}, lead_email_opposition={})
    response = call(Office(mailer=mailer), "POST", f"/web/office/leads/{LEAD_ID}/emails",
                    "web_lead_email", form={"subject": "Bonjour", "body": "Texte"},
                    lead_id=LEAD_ID)
    assert response.status_code == 409
    assert 'id="mail-error">Ce contact n&#39;a pas d&#39;adresse e-mail.' in html(response)


def test_a_refund_claim_refusal_is_shown_in_words() -> None:
    leads = Recorder(office_get_lead=LEAD, office_get_pipeline={"statuses": ["new"]},
                     refund_claim_file=Conflict("edited", code="refund_claim_lead_edited"))
    response = call(Office(leads=leads), "POST", f"/web/office/leads/{LEAD_ID}/refund-claim",
                    "web_lead_claim", form={"reason": "fake_record"}, lead_id=LEAD_ID)
    assert response.status_code == 409
    assert "Un contact que vous avez modifié ne peut pas être remboursé." in html(response)
    bad = call(Office(), "POST", f"/web/office/leads/{LEAD_ID}/refund-claim", "web_lead_claim",
               form={"reason": "bored"}, lead_id=LEAD_ID)
    assert bad.status_code == 400 and 'id="reason-error"' in html(bad)


def test_the_list_filters_are_the_apis_and_the_search_box_does_not_override_a_city() -> None:
    raw = list_args({"status": "new", "origin": "site", "city": "Liège", "q": "Namur",
                     "created_from": "2026-01-01", "cursor": "ignored", "other": "x"})
    assert raw == {"status": "new", "origin": "site", "city": "Liège", "q": "Namur",
                   "created_from": "2026-01-01"}
    assert list_query(raw)["city"] == "Liège"
    assert list_query({"q": "a@b.fr"}) == {"email": "a@b.fr"}
    office = Office()
    response = call(office, "GET", "/web/office", "web_office",
                    query="origin=purchased&created_from=2026-01-01&inactive_since=2026-06-01")
    assert response.status_code == 200
    name, args = [c for c in office.leads.calls if c[0] == "office_list_leads"][0]
    assert args[0] == {"origin": "purchased", "created_from": "2026-01-01",
                       "inactive_since": "2026-06-01"}
    bad = call(Office(), "GET", "/web/office", "web_office", query="created_from=demain")
    assert bad.status_code == 400 and 'id="created_from-error"' in html(bad)


def test_the_kind_filters_the_list_and_the_export_and_each_lead_shows_its_kind() -> None:
    leads = Recorder(office_get_lead={**LEAD, "kind": "distribution"},
                     office_get_pipeline={"statuses": ["new"], "initial": "new",
                                          "terminal": []},
                     office_list_leads={"items": [{**LEAD, "kind": "distribution"}],
                                        "next_cursor": None})
    office = Office(leads=leads)
    listed = call(office, "GET", "/web/office", "web_office", query="kind=distribution")
    assert listed.status_code == 200
    args = [c for c in leads.calls if c[0] == "office_list_leads"][0][1]
    assert args[0] == {"kind": "distribution"}  # the API's filter, as typed
    text = html(listed)
    assert '<option value="distribution" selected>Distribution</option>' in text
    assert 'class="kind kind-distribution">Distribution<' in text  # the list's column
    assert 'href="/web/office/export.csv?kind=distribution"' in text
    exported: list[Any] = []
    office.export_file = lambda *a: exported.append(a) or Response(b"x")  # type: ignore[attr-defined]
    call(office, "GET", "/web/office/export.csv", "web_export", query="kind=distribution",
         fmt="csv")
    assert exported == [({"kind": "distribution"}, "csv", "fr")]
    bad = call(Office(), "GET", "/web/office", "web_office", query="kind=shop")
    assert bad.status_code == 400 and 'id="kind-error"' in html(bad)
    lead = html(call(office, "GET", f"/web/office/leads/{LEAD_ID}", "web_lead", lead_id=LEAD_ID))
    assert 'id="lead-kind"><span class="kind kind-distribution">Distribution<' in lead


def test_bulk_delete_confirms_first_then_sends_the_lists_filters() -> None:
    office = Office()
    confirm = call(office, "GET", "/web/office/bulk-delete", "web_bulk_delete_confirm",
                   query="inactive_since=2026-06-01&status=new")
    assert confirm.status_code == 200 and "office_bulk_delete" not in office.leads.names()
    office.leads.answers["office_bulk_delete"] = {"deleted": 4, "kept": 1}
    done = call(office, "POST", "/web/office/bulk-delete", "web_bulk_delete",
                form={"inactive_since": "2026-06-01", "status": "new"})
    assert done.status_code == 303
    assert ("office_bulk_delete", ({"inactive_since": "2026-06-01", "status": "new"},)
            ) in office.leads.calls
    empty = Office(leads=Recorder(office_bulk_delete=Invalid(
        "Say which leads to delete", fields={"filter": "give at least one criterion"})))
    refused = call(empty, "POST", "/web/office/bulk-delete", "web_bulk_delete", form={})
    assert refused.status_code == 400 and "give at least one criterion" in html(refused)


def test_documents_go_through_the_api_upload_reader_and_download() -> None:
    leads = Recorder(document_download={"name": "devis é.pdf", "content_type": "application/pdf",
                                        "data": base64.b64encode(b"%PDF-1.4").decode()})
    office = Office(leads=leads)
    up = call(office, "POST", "/web/office/documents", "web_document_upload",
              form={"file": (io.BytesIO(b"%PDF-1.4\n"), "devis.pdf"),
                    "shared_with_network": "true"})
    assert up.status_code == 303
    assert ("document_upload", ("devis.pdf", base64.b64encode(b"%PDF-1.4\n").decode(), True)
            ) in leads.calls
    empty = call(office, "POST", "/web/office/documents", "web_document_upload",
                 form={"file": (io.BytesIO(b""), "vide.txt")})
    assert empty.status_code == 400 and 'id="file-error">Le fichier est vide.' in html(empty)
    down = call(office, "GET", "/web/office/documents/d1", "web_document_download",
                document_id="d1")
    assert down.get_data() == b"%PDF-1.4"
    assert "sandbox" in down.headers["Content-Security-Policy"]  # the file's own CSP stays
    assert down.headers["Content-Disposition"].startswith("attachment;")


@pytest.fixture
def stats_office(monkeypatch: pytest.MonkeyPatch) -> Office:
    model = {"id": "m1", "name": "Contacts", "metric": "leads_received", "grouping": "week",
             "window_days": 14}
    accounts = Recorder(stat_scope={"model": model, "split": ["u1"], "whole_network": False},
                        list_stat_models={"items": [model], "next_cursor": None})
    leads = Recorder(stat_counts=[{"series": "leads_received", "x": "2026-W48", "value": 3}])
    monkeypatch.setattr("gateway.routes.stats.stats.OWNER", {"leads_received": "leads"})
    monkeypatch.setattr("gateway.routes.stats.clock.today", lambda: date(2026, 12, 3))
    return Office(leads=leads, accounts=accounts)


def test_statistics_show_the_apis_chart_as_an_image_and_its_csv(stats_office: Office) -> None:
    text = html(call(stats_office, "GET", "/web/office/stats/m1", "web_stat",
                     query="from=2026-11-20&to=2026-12-03", model_id="m1"))
    assert '<img src="/web/office/stats/m1/chart.svg?from=2026-11-20&amp;to=2026-12-03"' in text
    assert "/web/office/stats/m1/figures.csv?from=2026-11-20&amp;to=2026-12-03" in text
    chart = call(stats_office, "GET", "/web/office/stats/m1/chart.svg", "web_stat_chart",
                 model_id="m1")
    assert chart.mimetype == "image/svg+xml" and b"<svg" in chart.get_data()
    csv = call(stats_office, "GET", "/web/office/stats/m1/figures.csv", "web_stat_csv",
               model_id="m1")
    assert csv.mimetype == "text/csv" and b"2026-W48" in csv.get_data()
    assert call(stats_office, "GET", "/web/office/stats/m1", "web_stat", query="from=hier",
                model_id="m1").status_code == 400


def test_a_post_without_its_csrf_token_is_refused_before_any_call() -> None:
    office = Office()
    request = Request(EnvironBuilder(
        method="POST", path="/web/office/documents", base_url="http://127.0.0.1:8000/",
        headers={"Cookie": f"{web.CSRF_COOKIE}={CSRF}"},
        data={"file": (io.BytesIO(b"%PDF-1.4\n"), "devis.pdf")}).get_environ())
    response = Office.web_document_upload(office, request)
    assert response.status_code == 403 and office.leads.calls == []
    request = Request(EnvironBuilder(
        method="POST", path="/web/office/bulk-delete", base_url="http://127.0.0.1:8000/",
        headers={"Cookie": f"{web.CSRF_COOKIE}={CSRF}"}, data={"city": "Quimper"}).get_environ())
    assert Office.web_bulk_delete(office, request).status_code == 403
    assert "office_bulk_delete" not in office.leads.names()


def test_the_pager_macro_links_the_next_and_the_first_page() -> None:
    template = web.env.from_string(
        '{% from "macros.html" import pager with context %}{{ pager(n, f, "Pages") }}')
    text = template.render(_=str, n="/web/office?cursor=a&b", f="/web/office")
    assert 'href="/web/office?cursor=a&amp;b" rel="next"' in text
    assert 'href="/web/office" class="button" rel="first"' in text
    assert template.render(_=str, n=None, f=None).strip() == ""


def test_the_stale_lead_reminders_link_opens_the_filtered_list() -> None:
    office = Office()
    to = call(office, "GET", "/leads", "web_stale_link", query="inactive_since=2026-06-01")
    assert (to.status_code, to.headers["Location"]) == (
        303, "/web/office?inactive_since=2026-06-01")
    odd = call(office, "GET", "/leads", "web_stale_link", query="inactive_since=//evil")
    assert odd.headers["Location"] == "/web/office"
