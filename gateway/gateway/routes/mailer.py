"""Emails to leads (issue 11, sections 2-5): the network's templates and automations (admin
tools 2 and 4), an office's sends to its leads and their history, the user's automation
switch, and the public unsubscribe link (GDPR art. 21, RFC 8058).

Who may do what is checked by the mailer: members read their network's templates; only the
admin writes templates and automations; a lead's emails are its owner's only (another
user's lead is a 404). The unsubscribe link is public: its token is the proof.
"""
import html
from typing import Any

from werkzeug.wrappers import Response

from gateway.http import Req, api
from gateway.schemas.common import DeletedOut, PageQuery, page_args, page_of
from gateway.schemas.mailer import (
    AutomationIn,
    AutomationOut,
    LeadEmailIn,
    LeadEmailOut,
    LeadEmailQueuedOut,
    OppositionOut,
    PauseIn,
    PauseOut,
    PreviewIn,
    PreviewOut,
    TemplateIn,
    TemplateOut,
)

MEMBER = ("user", "admin")
ADMIN = ("admin",)
TEMPLATES_PAGE = page_of(TemplateOut)
AUTOMATIONS_PAGE = page_of(AutomationOut)
LEAD_EMAILS_PAGE = page_of(LeadEmailOut)
FORM = "application/x-www-form-urlencoded"


def _html_page(title: str, paragraphs: list[str], form: bool = False) -> Response:
    """A small page for people who open their unsubscribe link (no script, all escaped)."""
    body = "".join(f"<p>{html.escape(p)}</p>\n" for p in paragraphs)
    if form:
        body += ('<form method="post"><button type="submit">Confirmer la désinscription / '
                 "Confirm</button></form>\n")
    page = ('<!DOCTYPE html>\n<html lang="fr">\n<head><meta charset="utf-8">'
            '<meta name="robots" content="noindex">'
            f"<title>{html.escape(title)}</title></head>\n<body>\n<h1>{html.escape(title)}</h1>\n"
            f"{body}</body>\n</html>\n")
    return Response(page, status=200, mimetype="text/html",
                    headers={"Content-Security-Policy": "default-src 'none'; form-action 'self'"})


class MailerRoutes:
    mailer: Any

    # --- templates (admin tool 2) ------------------------------------------------------------

    @api("GET", "/api/network/email-templates", roles=MEMBER, query=PageQuery,
         response=TEMPLATES_PAGE, tags=("network",),
         summary="My network's email templates (the French defaults included)")
    def list_email_templates(self, req: Req) -> Any:
        return self.mailer.list_templates(*page_args(req.query))

    @api("POST", "/api/network/email-templates", roles=ADMIN, body=TemplateIn,
         response=TemplateOut, status=201, tags=("network",),
         summary="Write an email template (placeholders checked: 400 naming the line)")
    def create_email_template(self, req: Req) -> Any:
        return self.mailer.create_template(req.body)

    @api("GET", "/api/network/email-templates/<template_id>", roles=MEMBER, response=TemplateOut,
         tags=("network",), summary="One email template of my network")
    def get_email_template(self, req: Req, template_id: str) -> Any:
        return self.mailer.get_template(template_id)

    @api("PUT", "/api/network/email-templates/<template_id>", roles=ADMIN, body=TemplateIn,
         response=TemplateOut, tags=("network",), summary="Rewrite an email template")
    def put_email_template(self, req: Req, template_id: str) -> Any:
        return self.mailer.update_template(template_id, req.body)

    @api("DELETE", "/api/network/email-templates/<template_id>", roles=ADMIN,
         response=DeletedOut, tags=("network",),
         summary="Delete an email template (409 while an automation sends it)")
    def delete_email_template(self, req: Req, template_id: str) -> Any:
        return self.mailer.delete_template(template_id)

    @api("POST", "/api/network/email-templates/<template_id>/preview", roles=ADMIN,
         body=PreviewIn, response=PreviewOut, tags=("network",),
         summary="Render a template for a sample lead, or one of my own leads")
    def preview_email_template(self, req: Req, template_id: str) -> Any:
        return self.mailer.preview_template(template_id, req.body.get("lead_id"))

    # --- automations (admin tool 4) ----------------------------------------------------------

    @api("GET", "/api/network/automations", roles=ADMIN, query=PageQuery,
         response=AUTOMATIONS_PAGE, tags=("network",), summary="My network's automations")
    def list_automations(self, req: Req) -> Any:
        return self.mailer.list_automations(*page_args(req.query))

    @api("POST", "/api/network/automations", roles=ADMIN, body=AutomationIn,
         response=AutomationOut, status=201, tags=("network",),
         summary="When a lead enters a status, send a template (after a delay in hours)")
    def create_automation(self, req: Req) -> Any:
        return self.mailer.create_automation(req.body)

    @api("PUT", "/api/network/automations/<automation_id>", roles=ADMIN, body=AutomationIn,
         response=AutomationOut, tags=("network",), summary="Change an automation")
    def put_automation(self, req: Req, automation_id: str) -> Any:
        return self.mailer.update_automation(automation_id, req.body)

    @api("DELETE", "/api/network/automations/<automation_id>", roles=ADMIN,
         response=DeletedOut, tags=("network",),
         summary="Delete an automation (its pending emails are cancelled)")
    def delete_automation(self, req: Req, automation_id: str) -> Any:
        return self.mailer.delete_automation(automation_id)

    @api("GET", "/api/me/automations", roles=MEMBER, response=PauseOut, tags=("office",),
         summary="Whether automations are paused for my office")
    def get_automation_pause(self, req: Req) -> Any:
        return self.mailer.get_automation_pause()

    @api("PUT", "/api/me/automations", roles=MEMBER, body=PauseIn, response=PauseOut,
         tags=("office",), summary="Pause or resume automations for my office")
    def put_automation_pause(self, req: Req) -> Any:
        return self.mailer.set_automation_pause(req.body["paused"])

    # --- emails to a lead --------------------------------------------------------------------

    @api("POST", "/api/leads/<lead_id>/emails", roles=MEMBER, body=LeadEmailIn,
         response=LeadEmailQueuedOut, status=202, tags=("office",),
         summary="Email one of my leads (a template, or a subject and a body)")
    def send_lead_email(self, req: Req, lead_id: str) -> Any:
        b = req.body
        return self.mailer.send_lead_email(lead_id, b.get("template_id"), b.get("subject"),
                                           b.get("body"))

    @api("GET", "/api/leads/<lead_id>/emails", roles=MEMBER, query=PageQuery,
         response=LEAD_EMAILS_PAGE, tags=("office",),
         summary="My emails to this lead: queued, sent, failed or blocked_opposition")
    def list_lead_emails(self, req: Req, lead_id: str) -> Any:
        return self.mailer.list_lead_emails(lead_id, *page_args(req.query))

    @api("GET", "/api/leads/<lead_id>/email-opposition", roles=MEMBER, response=OppositionOut,
         tags=("office",), summary="Whether this lead objected to my emails (GDPR art. 21)")
    def lead_email_opposition(self, req: Req, lead_id: str) -> Any:
        return self.mailer.lead_email_opposition(lead_id)

    # --- the unsubscribe link (public) ---------------------------------------------------------

    @api("GET", "/unsubscribe/<token>", auth=None, tags=("public",), content_type="text/html",
         summary="The unsubscribe link's confirmation page (records nothing)")
    def unsubscribe_page(self, req: Req, token: str) -> Any:
        self.mailer.check_unsubscribe_link(token)  # an unknown link: the JSON 404 of every route
        return _html_page("Se désinscrire", [
            "Vous ne recevrez plus d'e-mails de ce conseiller à cette adresse.",
            "You will no longer receive emails from this adviser at this address."], form=True)

    @api("POST", "/unsubscribe/<token>", auth=None, raw_body=True, max_body=4096,
         content_type=FORM, tags=("public",),
         summary="Unsubscribe (RFC 8058 one-click: List-Unsubscribe=One-Click)")
    def unsubscribe(self, req: Req, token: str) -> Any:
        self.mailer.unsubscribe(token)
        return _html_page("Désinscription enregistrée", [
            "Votre demande est enregistrée : vous ne recevrez plus d'e-mails de ce conseiller.",
            "Done: you will no longer receive emails from this adviser."])
