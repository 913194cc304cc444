"""The network admin's pages (admin tools 1 to 4, terms art. 1, 5): members and their
invitations, a member's office (read-only, only while the member allows admin access),
access levels, the pipeline, email templates (with a preview) and
automations, statistics models with their chart, open countries and the announcement.

Each page calls the RPCs of its JSON route (``gateway.routes.network``, ``.office``,
``.mailer``, ``.stats``) with the form read through that route's schema, and does the
same cache evictions after a change of permissions. The services check again that the
caller is this network's admin; the chart is drawn here by the code of the API's
``?format=svg`` (an ``<img>`` of the API route would need the bearer token).
"""
from __future__ import annotations

import base64
from typing import Any
from urllib.parse import urlencode

from werkzeug.wrappers import Response

from gateway import charts
from gateway.auth import evict_network
from gateway.routes.office import _filters
from gateway.routes.stats import shape
from gateway.schemas.accounts import AccessLevelIn, NetworkSettingsIn, PersonIn
from gateway.schemas.mailer import AutomationIn, PreviewIn, TemplateIn
from gateway.schemas.office import LeadListQuery, PipelineIn
from gateway.schemas.stats import StatModelIn, StatQuery
from gateway.web.http import Page, page, validated
from gateway.web.routes.roles_common import attempt, checked, lines, pairs
from suivi_common import clock, stats
from suivi_common.errors import Invalid

ADMIN = ("admin",)
MEMBER_OFFICE_PAGE = 25


class WebAdminRoutes:
    accounts: Any
    leads: Any
    mailer: Any
    plans: Any
    dispatch: Any
    require_admin_view: Any  # from gateway.routes.members (GatewayService has both)

    def _adm_levels_changed(self, p: Page) -> None:
        """As the JSON routes: the members' next requests carry the new permissions."""
        network_id = getattr(p.principal, "network_id", None)
        if network_id:
            evict_network(network_id)
            self.dispatch("access_levels_changed", {"network_id": network_id})

    # --- members and invitations ------------------------------------------------------------

    @page("GET", "/web/admin", roles=ADMIN)
    def web_admin_members(self, p: Page) -> Response:
        return self._adm_members(p)

    def _adm_members(self, p: Page, status: int = 200, errors: dict[str, str] | None = None,
                 values: dict[str, str] | None = None) -> Response:
        members = self.accounts.list_members(None, 200)["items"]
        levels = self.accounts.list_access_levels()["items"]
        return p.render("admin/members.html", status=status, members=members, levels=levels,
                        errors=errors or {}, values=values or {})

    @page("POST", "/web/admin/members", roles=ADMIN)
    def web_admin_invite(self, p: Page) -> Response:
        values = {k: p.form.get(k, "").strip() for k in ("email", "first_name", "last_name")}

        def invite() -> None:
            b = validated(PersonIn, values)
            self.accounts.invite_member(b["email"], b["first_name"], b["last_name"])

        return attempt(p, invite, lambda: p.redirect("/web/admin", flash="member_invited"),
                       lambda s, e: self._adm_members(p, s, e, values))

    @page("POST", "/web/admin/members/<member_id>/access-level", roles=ADMIN)
    def web_admin_assign_level(self, p: Page, member_id: str) -> Response:
        level_id = p.form.get("access_level_id", "") or None

        def assign() -> None:
            self.accounts.assign_access_level(member_id, level_id)
            self._adm_levels_changed(p)

        return attempt(p, assign, lambda: p.redirect("/web/admin", flash="level_assigned"),
                       lambda s, e: self._adm_members(p, s, e))

    @page("GET", "/web/admin/members/<member_id>/office", roles=ADMIN)
    def web_admin_member_office(self, p: Page, member_id: str) -> Response:
        """A member's office, read-only (terms art. 5), by the API's routes: the privacy
        rule is ``require_admin_view`` (403 once the member turns admin access off, shown
        as a page saying so), then ``member_office`` and ``office_member_leads``."""
        cursor = p.http.args.get("cursor", "")
        query = validated(LeadListQuery, {"limit": MEMBER_OFFICE_PAGE,
                                          **({"cursor": cursor} if cursor else {})})
        self.require_admin_view(p, member_id)
        office = self.accounts.member_office(member_id)
        leads = self.leads.office_member_leads(member_id, _filters(query), query["sort"],
                                               query.get("cursor"), MEMBER_OFFICE_PAGE)
        next_url = (f"/web/admin/members/{member_id}/office?"
                    + urlencode({"cursor": leads["next_cursor"]})
                    if leads.get("next_cursor") else None)
        return p.render("admin/member_office.html", office=office, member=office["member"],
                        leads=leads["items"], next_url=next_url)

    # --- access levels ----------------------------------------------------------------------

    @page("GET", "/web/admin/access-levels", roles=ADMIN)
    def web_admin_levels(self, p: Page) -> Response:
        return self._adm_levels(p)

    def _adm_levels(self, p: Page, status: int = 200,
                errors: dict[str, str] | None = None) -> Response:
        levels = self.accounts.list_access_levels()["items"]
        vocabulary = self.accounts.permission_vocabulary()
        return p.render("admin/access_levels.html", status=status, levels=levels,
                        vocabulary=vocabulary, errors=errors or {})

    def _adm_level_body(self, p: Page) -> Any:
        return validated(AccessLevelIn, {"name": p.form.get("name", "").strip(),
                                         "permissions": p.form.getlist("permissions")})

    @page("POST", "/web/admin/access-levels", roles=ADMIN)
    def web_admin_level_create(self, p: Page) -> Response:
        def create() -> None:
            b = self._adm_level_body(p)
            self.accounts.create_access_level(b["name"], b["permissions"])

        return attempt(p, create, lambda: p.redirect("/web/admin/access-levels",
                                                     flash="level_saved"),
                       lambda s, e: self._adm_levels(p, s, e))

    @page("POST", "/web/admin/access-levels/<level_id>", roles=ADMIN)
    def web_admin_level_update(self, p: Page, level_id: str) -> Response:
        def update() -> None:
            b = self._adm_level_body(p)
            self.accounts.update_access_level(level_id, b["name"], b["permissions"])
            self._adm_levels_changed(p)

        return attempt(p, update, lambda: p.redirect("/web/admin/access-levels",
                                                     flash="level_saved"),
                       lambda s, e: self._adm_levels(p, s, e))

    @page("POST", "/web/admin/access-levels/<level_id>/delete", roles=ADMIN)
    def web_admin_level_delete(self, p: Page, level_id: str) -> Response:
        replacement = p.form.get("replacement_id", "") or None

        def delete() -> None:
            self.accounts.delete_access_level(level_id, replacement)
            self._adm_levels_changed(p)

        return attempt(p, delete, lambda: p.redirect("/web/admin/access-levels",
                                                     flash="level_deleted"),
                       lambda s, e: self._adm_levels(p, s, e))

    # --- the pipeline -----------------------------------------------------------------------

    @page("GET", "/web/admin/pipeline", roles=ADMIN)
    def web_admin_pipeline(self, p: Page) -> Response:
        return self._adm_pipeline(p)

    def _adm_pipeline(self, p: Page, status: int = 200, errors: dict[str, str] | None = None,
                  values: dict[str, str] | None = None) -> Response:
        pipeline = self.leads.office_get_pipeline()
        return p.render("admin/pipeline.html", status=status, pipeline=pipeline,
                        errors=errors or {}, values=values)

    @page("POST", "/web/admin/pipeline", roles=ADMIN)
    def web_admin_pipeline_save(self, p: Page) -> Response:
        values = {k: p.form.get(k, "") for k in ("statuses", "initial", "terminal", "remap")}

        def save() -> None:
            b = validated(PipelineIn, {"statuses": lines(values["statuses"]),
                                       "initial": values["initial"].strip(),
                                       "terminal": lines(values["terminal"]),
                                       "remap": pairs(values["remap"]) or None})
            self.leads.office_put_pipeline(b["statuses"], b["initial"], b["terminal"],
                                           b["remap"])

        return attempt(p, save, lambda: p.redirect("/web/admin/pipeline",
                                                   flash="pipeline_saved"),
                       lambda s, e: self._adm_pipeline(p, s, e, values))

    # --- email templates --------------------------------------------------------------------

    def _adm_template_body(self, p: Page) -> dict[str, Any]:
        return {"name": p.form.get("name", "").strip(), "subject": p.form.get("subject", ""),
                "body_text": p.form.get("body_text", ""),
                "body_html": p.form.get("body_html", "") or None,
                "locale": p.form.get("locale", "") or "fr"}

    @page("GET", "/web/admin/templates", roles=ADMIN)
    def web_admin_templates(self, p: Page) -> Response:
        return self._adm_templates(p)

    def _adm_templates(self, p: Page, status: int = 200, errors: dict[str, str] | None = None,
                   values: dict[str, Any] | None = None) -> Response:
        templates = self.mailer.list_templates(None, 200)["items"]
        return p.render("admin/templates.html", status=status, templates=templates,
                        errors=errors or {}, values=values or {})

    @page("POST", "/web/admin/templates", roles=ADMIN)
    def web_admin_template_create(self, p: Page) -> Response:
        values = self._adm_template_body(p)
        created: dict[str, Any] = {}

        def create() -> None:
            created.update(self.mailer.create_template(validated(TemplateIn, values)))

        return attempt(p, create, lambda: p.redirect(f"/web/admin/templates/{created['id']}",
                                                     flash="template_saved"),
                       lambda s, e: self._adm_templates(p, s, e, values))

    @page("GET", "/web/admin/templates/<template_id>", roles=ADMIN)
    def web_admin_template(self, p: Page, template_id: str) -> Response:
        return self._adm_template(p, template_id)

    def _adm_template(self, p: Page, template_id: str, status: int = 200,
                  errors: dict[str, str] | None = None, values: dict[str, Any] | None = None,
                  preview: dict[str, Any] | None = None, lead_id: str = "") -> Response:
        template = self.mailer.get_template(template_id)  # another network's: the 404 page
        return p.render("admin/template.html", status=status, tpl=template,
                        values=values or template, errors=errors or {}, preview=preview,
                        lead_id=lead_id)

    @page("POST", "/web/admin/templates/<template_id>", roles=ADMIN)
    def web_admin_template_update(self, p: Page, template_id: str) -> Response:
        values = self._adm_template_body(p)
        return attempt(
            p, lambda: self.mailer.update_template(template_id, validated(TemplateIn, values)),
            lambda: p.redirect(f"/web/admin/templates/{template_id}", flash="template_saved"),
            lambda s, e: self._adm_template(p, template_id, s, e, values))

    @page("POST", "/web/admin/templates/<template_id>/preview", roles=ADMIN)
    def web_admin_template_preview(self, p: Page, template_id: str) -> Response:
        lead_id = p.form.get("lead_id", "").strip()
        try:
            body = validated(PreviewIn, {"lead_id": lead_id or None})
            preview = self.mailer.preview_template(template_id, body.get("lead_id"))
        except Invalid as exc:
            return self._adm_template(p, template_id, 400, {"preview": exc.message}, lead_id=lead_id)
        return self._adm_template(p, template_id, preview=preview, lead_id=lead_id)

    @page("POST", "/web/admin/templates/<template_id>/delete", roles=ADMIN)
    def web_admin_template_delete(self, p: Page, template_id: str) -> Response:
        return attempt(p, lambda: self.mailer.delete_template(template_id),
                       lambda: p.redirect("/web/admin/templates", flash="template_deleted"),
                       lambda s, e: self._adm_template(p, template_id, s, e))

    # --- automations ------------------------------------------------------------------------

    @page("GET", "/web/admin/automations", roles=ADMIN)
    def web_admin_automations(self, p: Page) -> Response:
        return self._adm_automations(p)

    def _adm_automations(self, p: Page, status: int = 200,
                     errors: dict[str, str] | None = None) -> Response:
        automations = self.mailer.list_automations(None, 200)["items"]
        templates = self.mailer.list_templates(None, 200)["items"]
        pipeline = self.leads.office_get_pipeline()
        names = {t["id"]: t["name"] for t in templates}
        return p.render("admin/automations.html", status=status, automations=automations,
                        templates=templates, names=names, pipeline=pipeline,
                        errors=errors or {})

    def _adm_automation_body(self, p: Page) -> Any:
        return validated(AutomationIn, {"status": p.form.get("status", ""),
                                        "template_id": p.form.get("template_id", ""),
                                        "delay_hours": p.form.get("delay_hours", "") or 0,
                                        "enabled": checked(p, "enabled")})

    @page("POST", "/web/admin/automations", roles=ADMIN)
    def web_admin_automation_create(self, p: Page) -> Response:
        return attempt(p, lambda: self.mailer.create_automation(self._adm_automation_body(p)),
                       lambda: p.redirect("/web/admin/automations", flash="automation_saved"),
                       lambda s, e: self._adm_automations(p, s, e))

    @page("POST", "/web/admin/automations/<automation_id>", roles=ADMIN)
    def web_admin_automation_update(self, p: Page, automation_id: str) -> Response:
        return attempt(p, lambda: self.mailer.update_automation(automation_id,
                                                                self._adm_automation_body(p)),
                       lambda: p.redirect("/web/admin/automations", flash="automation_saved"),
                       lambda s, e: self._adm_automations(p, s, e))

    @page("POST", "/web/admin/automations/<automation_id>/delete", roles=ADMIN)
    def web_admin_automation_delete(self, p: Page, automation_id: str) -> Response:
        return attempt(p, lambda: self.mailer.delete_automation(automation_id),
                       lambda: p.redirect("/web/admin/automations", flash="automation_deleted"),
                       lambda s, e: self._adm_automations(p, s, e))

    # --- statistics models ------------------------------------------------------------------

    @page("GET", "/web/admin/stats", roles=ADMIN)
    def web_admin_stats(self, p: Page) -> Response:
        return self._adm_stats(p)

    def _adm_stats(self, p: Page, status: int = 200, errors: dict[str, str] | None = None,
               values: dict[str, Any] | None = None) -> Response:
        models = self.accounts.list_stat_models(None, 200)["items"]
        return p.render("admin/stats.html", status=status, models=models,
                        metrics=stats.METRICS, groupings=stats.GROUPINGS,
                        errors=errors or {}, values=values or {})

    @page("POST", "/web/admin/stats", roles=ADMIN)
    def web_admin_stat_create(self, p: Page) -> Response:
        values = {k: p.form.get(k, "").strip() for k in ("name", "metric", "grouping",
                                                         "window_days")}

        def create() -> None:
            try:
                days = int(values["window_days"] or 30)
            except ValueError:
                raise Invalid("Some fields are not valid",
                              fields={"window_days": "Not a valid integer."}) from None
            self.accounts.create_stat_model(validated(StatModelIn, {**values,
                                                                    "window_days": days}))

        return attempt(p, create, lambda: p.redirect("/web/admin/stats",
                                                     flash="stat_model_saved"),
                       lambda s, e: self._adm_stats(p, s, e, values))

    @page("POST", "/web/admin/stats/<model_id>/delete", roles=ADMIN)
    def web_admin_stat_delete(self, p: Page, model_id: str) -> Response:
        return attempt(p, lambda: self.accounts.delete_stat_model(model_id),
                       lambda: p.redirect("/web/admin/stats", flash="stat_model_deleted"),
                       lambda s, e: self._adm_stats(p, s, e))

    @page("GET", "/web/admin/stats/<model_id>", roles=ADMIN)
    def web_admin_stat(self, p: Page, model_id: str) -> Response:
        """The figures as the API's ``/api/stats/<id>`` counts them, with its SVG chart
        embedded as a ``data:`` image (the page's CSP allows those, and no cookie or token
        has to reach an image URL)."""
        args = {k: v for k, v in {"from": p.http.args.get("from", ""),
                                  "to": p.http.args.get("to", "")}.items() if v}
        query = validated(StatQuery, args)
        scope = self.accounts.stat_scope(model_id)
        model = scope["model"]
        first, last = stats.period(query.get("from_"), query.get("to"), model["window_days"],
                                   clock.today())
        owner = getattr(self, stats.OWNER[model["metric"]])
        rows = owner.stat_counts(model["metric"], model["grouping"], first.isoformat(),
                                 last.isoformat(), scope["split"])
        series = shape(rows, model["metric"], model["grouping"], first, last, scope["split"],
                       scope["whole_network"])
        title = f"{model['name']} ({first.isoformat()} .. {last.isoformat()})"
        svg = base64.b64encode(charts.to_svg(title, series)).decode("ascii")
        return p.render("admin/stat.html", model=model, series=series, first=first, last=last,
                        whole_network=scope["whole_network"],
                        chart=f"data:image/svg+xml;base64,{svg}")

    # --- open countries and the announcement ------------------------------------------------

    @page("GET", "/web/admin/settings", roles=ADMIN)
    def web_admin_settings(self, p: Page) -> Response:
        return self._adm_settings(p)

    def _adm_settings(self, p: Page, status: int = 200, errors: dict[str, str] | None = None,
                  values: dict[str, Any] | None = None) -> Response:
        network = self.accounts.get_network()
        return p.render("admin/settings.html", status=status, network=network,
                        errors=errors or {}, values=values)

    @page("POST", "/web/admin/settings", roles=ADMIN)
    def web_admin_settings_save(self, p: Page) -> Response:
        values = {"open_countries": p.form.get("open_countries", ""),
                  "announcement": p.form.get("announcement", "")}

        def save() -> None:
            b = validated(NetworkSettingsIn, {
                "open_countries": [c.upper() for c in lines(values["open_countries"])],
                "announcement": values["announcement"].strip()})  # empty: cleared
            self.accounts.update_network_settings(b.get("open_countries"), b.get("announcement"))

        return attempt(p, save, lambda: p.redirect("/web/admin/settings",
                                                   flash="settings_saved"),
                       lambda s, e: self._adm_settings(p, s, e, values))
