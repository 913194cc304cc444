"""The office's nameko entrypoints, as a mixin of ``LeadsService`` (thin: checks who asks,
then one use case). Rules live in ``leads.domain``; use cases in ``leads.usecases.office``.

Who may call what:
* the owner's office (``office_*`` on one's own leads, exports, claims): users and admins,
  for their own leads only (another id is NotFound), while their office is open;
* a member's office seen by their admin (``office_member_*``): read-only, unless the
  member turned admin access off, and while the member's office is open;
* the pipeline: read by the network's members, replaced by its admin;
* claims to decide: staff; erasure on a data subject's request and a lead's contact
  fields for an e-mail: other services only (``@rpc_internal``: compliance and the mailer
  call as themselves; no principal is never internal).
"""
from __future__ import annotations

import logging
from typing import Any

from nameko.extensions import DependencyProvider

from leads.adapters.dns_resolver import DnsMailDomainResolver
from leads.document_entrypoints import DocumentEntrypoints
from leads.domain.history import ChangeSource
from leads.settings import TUNABLES
from leads.usecases import site_capture as site_forms
from leads.usecases import stale_leads
from leads.usecases.office import (
    access,
    bulk_delete,
    claims,
    export,
    mailing,
    one_lead,
    pipelines,
    queries,
)
from leads.usecases.office.access import AccessCache, member, network_of
from leads.usecases.office.context import Actor, OfficeCtx
from suivi_common import clock
from suivi_common.auth import Principal, require
from suivi_common.consumer import reliable_handler
from suivi_common.errors import Forbidden
from suivi_common.paging import check_limit
from suivi_common.permissions import EXPORT_LEADS, require_permission
from suivi_common.rpc import ServiceRpc
from suivi_common.service_base import rpc_api, rpc_internal

log = logging.getLogger(__name__)

class MailDomainResolverProvider(DependencyProvider):
    """The refund checks' DNS lookup, with a short timeout (tests inject a fake)."""

    def setup(self) -> None:
        self.resolver = DnsMailDomainResolver(timeout=TUNABLES.get_float("REFUND_DNS_TIMEOUT_SECONDS"))

    def get_dependency(self, worker_ctx: Any) -> Any:
        return self.resolver


def _actor(principal: Principal | None, source: ChangeSource | None = None) -> Actor:
    if principal is None:
        return Actor("system", ChangeSource.SYSTEM)
    if source is None:
        source = {"staff": ChangeSource.STAFF, "compliance": ChangeSource.STAFF,
                  "service": ChangeSource.SYSTEM}.get(principal.role, ChangeSource.USER)
    return Actor(principal.user_id, source, principal.network_id)


class OfficeEntrypoints(DocumentEntrypoints):  # the work documents are the office's too
    db: Any
    principal: Any

    accounts = ServiceRpc("accounts")  # office_active, admin_can_view (as leads)
    office_access = AccessCache()
    mail_resolver = MailDomainResolverProvider()

    # --- plumbing ---------------------------------------------------------------------------

    def _ofc_ctx(self, actor: Actor) -> OfficeCtx:
        return OfficeCtx(self.db.session, self.db.vault, clock.now(), self.db.emit, actor)

    def _require_office_open(self, user_id: str) -> None:
        """The one office-open check (terms art. 10): offices, takes, a member's office."""
        access.require_office_open(self.db.session, self.office_access, self.accounts, user_id)

    def _ofc_owner(self) -> tuple[Principal, OfficeCtx]:
        """The caller, working in their own office (must be open)."""
        p = member(self.principal)
        self._require_office_open(p.user_id)
        return p, self._ofc_ctx(_actor(p, ChangeSource.USER))

    def _ofc_network_admin(self) -> tuple[Principal, OfficeCtx]:
        """The caller, as the admin of their network."""
        p = member(self.principal)
        if p.role != "admin":
            raise Forbidden("Only the network admin defines the pipeline")
        return p, self._ofc_ctx(_actor(p, ChangeSource.ADMIN))

    def _ofc_admin_view(self, member_id: Any) -> tuple[Principal, OfficeCtx, str]:
        p = member(self.principal)
        if p.role != "admin":
            raise Forbidden("This action is not allowed for your role")
        member_id = str(member_id)[:64]
        access.require_admin_view(self.db.session, self.office_access, self.accounts, p,
                                  member_id)
        self._require_office_open(member_id)
        return p, self._ofc_ctx(_actor(p, ChangeSource.ADMIN)), member_id

    # --- leads in the owner's office ----------------------------------------------------------

    @rpc_api
    def office_create_lead(self, data: dict[str, Any]) -> dict[str, Any]:
        """A personal lead, with the same fields (and validation) as a capture."""
        p, ctx = self._ofc_owner()
        return one_lead.create_personal(ctx, p.user_id, network_of(p), data)

    @rpc_internal(services=("gateway",))
    def site_capture(self, owner_id: str, network_id: str, kind: str, page_id: str,
                     fields: dict[str, Any], notice_text: str, notice_version: str,
                     source_url: str, client_ip: str | None = None,
                     note: str | None = None) -> dict[str, Any]:
        """A member's site's capture form (issue 13 §2): the gateway names the owner from
        accounts' answer for the site's slug, after its own checks."""
        ctx = self._ofc_ctx(Actor("site", ChangeSource.SYSTEM, str(network_id)))
        return site_forms.capture_from_site(
            ctx, self.db.autonomous, self._require_office_open, owner_id=str(owner_id),
            network_id=str(network_id), kind=kind, page_id=page_id, fields=fields,
            notice_text=notice_text, notice_version=notice_version, source_url=source_url,
            client_ip=client_ip, note=note)

    @rpc_api
    def office_list_leads(self, filters: dict[str, Any] | None = None, sort: str | None = None,
                          cursor: str | None = None, limit: int | None = None) -> dict[str, Any]:
        p, ctx = self._ofc_owner()
        return queries.list_leads(ctx, p.user_id, network_of(p), filters, sort, cursor,
                                  check_limit(limit))

    @rpc_api
    def office_stale_leads(self) -> dict[str, Any]:
        """How many of the caller's leads are stale, and since when (the dashboard)."""
        p, ctx = self._ofc_owner()
        return stale_leads.owner_stale(ctx, p.user_id)

    @rpc_api
    def office_get_lead(self, lead_id: str) -> dict[str, Any]:
        p, ctx = self._ofc_owner()
        return one_lead.get(ctx, p.user_id, lead_id)

    @rpc_api
    def office_update_lead(self, lead_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        p, ctx = self._ofc_owner()
        return one_lead.update_lead(ctx, p.user_id, lead_id, changes)

    @rpc_api
    def office_delete_lead(self, lead_id: str) -> dict[str, Any]:
        p, ctx = self._ofc_owner()
        return one_lead.delete_lead(ctx, p.user_id, lead_id)

    @rpc_api
    def office_bulk_delete(self, filters: dict[str, Any] | None = None) -> dict[str, Any]:
        """Delete every lead ``filters`` names (``POST /api/leads/bulk-delete``)."""
        p, ctx = self._ofc_owner()
        return bulk_delete.bulk_delete(ctx, p.user_id, network_of(p), filters)

    @rpc_api
    def office_add_note(self, lead_id: str, text: str) -> dict[str, Any]:
        p, ctx = self._ofc_owner()
        return one_lead.add_note(ctx, p.user_id, lead_id, text)

    @rpc_api
    def office_list_notes(self, lead_id: str, cursor: str | None = None,
                          limit: int | None = None) -> dict[str, Any]:
        p, ctx = self._ofc_owner()
        return one_lead.notes(ctx, p.user_id, lead_id, cursor, check_limit(limit))

    @rpc_api
    def office_change_status(self, lead_id: str, status: str,
                             reopen: bool = False) -> dict[str, Any]:
        p, ctx = self._ofc_owner()
        return one_lead.change_status(ctx, p.user_id, lead_id, status, reopen)

    @rpc_api
    def office_lead_history(self, lead_id: str, cursor: str | None = None,
                            limit: int | None = None) -> dict[str, Any]:
        p, ctx = self._ofc_owner()
        return one_lead.lead_history(ctx, p.user_id, lead_id, cursor, check_limit(limit))

    # --- a member's office, read by their admin (terms art. 5) ---------------------------------

    @rpc_api
    def office_member_leads(self, member_id: str, filters: dict[str, Any] | None = None,
                            sort: str | None = None, cursor: str | None = None,
                            limit: int | None = None) -> dict[str, Any]:
        p, ctx, owner = self._ofc_admin_view(member_id)
        return queries.list_leads(ctx, owner, network_of(p), filters, sort, cursor,
                                  check_limit(limit))

    @rpc_api
    def office_member_lead(self, member_id: str, lead_id: str) -> dict[str, Any]:
        _, ctx, owner = self._ofc_admin_view(member_id)
        return one_lead.get(ctx, owner, lead_id)

    @rpc_api
    def office_member_lead_history(self, member_id: str, lead_id: str, cursor: str | None = None,
                                   limit: int | None = None) -> dict[str, Any]:
        _, ctx, owner = self._ofc_admin_view(member_id)
        return one_lead.lead_history(ctx, owner, lead_id, cursor, check_limit(limit))

    # --- pipeline -------------------------------------------------------------------------------

    @rpc_api
    def office_get_pipeline(self) -> dict[str, Any]:
        p = member(self.principal)
        return pipelines.get(self.db.session, network_of(p))

    @rpc_api
    def office_put_pipeline(self, statuses: list[str], initial: str, terminal: list[str],
                            remap: dict[str, str] | None = None) -> dict[str, Any]:
        p, ctx = self._ofc_network_admin()
        return pipelines.replace(ctx, network_of(p), statuses, initial, terminal, remap)

    # --- export -----------------------------------------------------------------------------------

    @rpc_api
    def office_export_start(self, filters: dict[str, Any] | None = None, fmt: str = "xlsx",
                            lang: str = "fr") -> dict[str, Any]:
        """Build the file; then fetch it with ``office_export_chunk(export_id, 0..chunks-1)``."""
        require_permission(self.principal, EXPORT_LEADS)
        p, ctx = self._ofc_owner()
        return export.start(ctx, p.user_id, network_of(p), filters, fmt, lang)

    @rpc_api
    def office_export_chunk(self, export_id: str, n: int) -> dict[str, Any]:
        """``{data: base64, last: bool}``; the last piece deletes the stored file."""
        p = member(self.principal)
        return export.chunk(self._ofc_ctx(_actor(p)), p.user_id, export_id, n)

    # --- refund claims ---------------------------------------------------------------------------

    @rpc_api
    def refund_claim_file(self, lead_id: str, reason: str,
                          comment: str | None = None) -> dict[str, Any]:
        p, ctx = self._ofc_owner()
        return claims.file_claim(ctx, p.user_id, lead_id, reason, comment, self.mail_resolver)

    @rpc_api
    def refund_claims_mine(self, cursor: str | None = None,
                           limit: int | None = None) -> dict[str, Any]:
        p = member(self.principal)
        return claims.mine(self._ofc_ctx(_actor(p)), p.user_id, cursor, check_limit(limit))

    @rpc_api
    def refund_claims_staff(self, status: str | None = None, cursor: str | None = None,
                            limit: int | None = None) -> dict[str, Any]:
        p = require(self.principal, "staff")
        return claims.for_staff(self._ofc_ctx(_actor(p)), status, cursor, check_limit(limit))

    @rpc_api
    def refund_claim_decide(self, claim_id: str, approve: bool,
                            comment: str | None = None) -> dict[str, Any]:
        p = require(self.principal, "staff")
        return claims.decide(self._ofc_ctx(_actor(p)), claim_id, approve, comment)

    # --- data subjects and deliveries -------------------------------------------------------------

    @rpc_internal
    def office_erase_lead(self, lead_id: str) -> dict[str, Any]:
        """Erasure on the data subject's request (terms 3.B.iv), for other services."""
        return one_lead.erase(self._ofc_ctx(_actor(self.principal)), lead_id)

    @rpc_internal
    def lead_contact(self, lead_id: str) -> dict[str, Any]:
        """What an e-mail to an office lead needs, decrypted (the mailer, as itself)."""
        return mailing.contact(self._ofc_ctx(_actor(self.principal)), lead_id)

    @rpc_internal
    def lead_contacts(self, lead_ids: list[str]) -> dict[str, dict[str, Any]]:
        """``lead_contact`` for a batch of the mailer's emails: ``{lead_id: contact}``."""
        return mailing.contacts(self._ofc_ctx(_actor(self.principal)), lead_ids)

    @reliable_handler("mailer", "lead_email_sent")
    def office_on_lead_email_sent(self, payload: dict[str, Any]) -> None:
        """The mailer sent an e-mail to a lead: its history, its count, its last date."""
        mailing.record_email(self._ofc_ctx(_actor(None)), payload)

    @reliable_handler("leads", "lead_delivered")
    def office_on_lead_delivered(self, payload: dict[str, Any]) -> None:
        """A sold lead becomes its buyer's property, in their office (terms 3.B.iv)."""
        one_lead.receive_delivery(self._ofc_ctx(_actor(None)), payload)
