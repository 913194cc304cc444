"""Accounts service: networks, users and credentials, terms, subscriptions, payments,
and the accounts' share of the platform's GDPR duties (data-subject requests, register).

Entry points are thin: each builds a ``Ctx`` and calls one use case. Errors from
``suivi_common.errors`` are the expected refusals the gateway maps to HTTP.
``@rpc_internal`` entry points answer services only (a signed service principal).
"""
from typing import Any

from nameko.timer import timer

import suivi_common  # noqa: F401  (green psycopg: before anything imports psycopg)
from accounts.bootstrap import Bootstrap
from accounts.domain.permissions import PERMISSIONS
from accounts.models import common
from accounts.settings import TUNABLES
from accounts.usecases import (
    auth,
    boutiques,
    email_change,
    factor_reset,
    mfa_login,
    networks,
    own_factor,
    password_change,
    password_tokens,
    payments,
    plan_orders,
    profile,
    queries,
    register,
    reminders,
    retention,
    second_factor,
    sessions,
    settlement,
    sites,
    staff,
    stat_models,
    subject_requests,
    subscriptions,
    terms,
)
from accounts.usecases.context import Ctx, separate
from suivi_common import clock
from suivi_common.consumer import reliable_handler
from suivi_common.database import Database
from suivi_common.rpc import ServiceRpc
from suivi_common.service_base import PlatformService, rpc_api, rpc_internal, rpc_query


class AccountsService(PlatformService):
    name = "accounts"
    db = Database(common)
    bootstrap = Bootstrap()
    compliance_rpc = ServiceRpc("compliance")  # dsr_subject, as accounts
    plans_rpc = ServiceRpc("plans")  # running_plan_owners, for the reminders and retention

    @property
    def ctx(self) -> Ctx:
        return Ctx.from_db(self.db, self.principal)

    # --- authentication (anonymous) ---------------------------------------------------
    @rpc_api
    def login(self, email: str, password: str, ip: str,
              user_agent: str | None = None) -> dict[str, Any]:
        return auth.login(self.ctx, email, password, ip, user_agent)

    @rpc_api
    def login_mfa(self, challenge: str, code: str, ip: str,
                  user_agent: str | None = None) -> dict[str, Any]:
        return mfa_login.login_mfa(self.ctx, challenge, code, ip, user_agent)

    @rpc_internal(services=("gateway",))
    def authenticate(self, token: str) -> dict[str, Any]:
        return auth.authenticate(self.ctx, token)

    @rpc_api
    def logout(self, token: str) -> None:
        auth.logout(self.ctx, token)

    @rpc_api
    def set_password(self, token: str, password: str) -> None:
        auth.set_password(self.ctx, token, password)

    @rpc_api
    def request_password_reset(self, email: str) -> None:
        auth.request_password_reset(self.ctx, email)

    # --- the caller's own account ----------------------------------------------------
    @rpc_query
    def get_me(self) -> dict[str, Any]:
        return profile.get_me(self.ctx)

    @rpc_api
    def update_me(self, changes: dict[str, Any]) -> dict[str, Any]:
        return profile.update_me(self.ctx, changes)

    @rpc_api
    def set_privacy(self, admin_access: bool) -> dict[str, Any]:
        return profile.set_privacy(self.ctx, admin_access)

    @rpc_api
    def terminate(self) -> None:
        profile.terminate(self.ctx)

    # --- the caller's password and sessions (account security) -------------------------
    @rpc_api
    def change_password(self, current_password: str, new_password: str, token: str,
                        ip: str) -> dict[str, Any]:
        return password_change.change_password(self.ctx, current_password, new_password,
                                               token, ip)

    @rpc_api
    def list_sessions(self, token: str, cursor: str | None = None,
                      limit: int | None = None) -> dict[str, Any]:
        return sessions.list_sessions(self.ctx, token, cursor, limit)

    @rpc_api
    def revoke_session(self, session_id: str) -> dict[str, Any]:
        return sessions.revoke_session(self.ctx, session_id)

    @rpc_api
    def revoke_other_sessions(self, token: str) -> dict[str, Any]:
        return sessions.revoke_others(self.ctx, token)

    @rpc_api
    def request_email_change(self, new_email: str, current_password: str,
                             ip: str) -> dict[str, Any]:
        return email_change.request_email_change(self.ctx, new_email, current_password, ip)

    @rpc_api
    def confirm_email_change(self, token: str, current_token: str | None = None) -> dict[str, Any]:
        return email_change.confirm_email_change(self.ctx, token, current_token)

    # --- the second factor (TOTP, issue 14 §1) -------------------------------------------
    @rpc_api
    def start_mfa_enrolment(self) -> dict[str, Any]:
        return second_factor.start_enrolment(self.ctx)

    @rpc_api
    def confirm_mfa_enrolment(self, code: str) -> dict[str, Any]:
        return second_factor.confirm_enrolment(self.ctx, code)

    @rpc_api
    def remove_own_mfa(self, current_password: str, code: str, ip: str) -> dict[str, Any]:
        return own_factor.remove_own_factor(self.ctx, current_password, code, ip)

    @rpc_api
    def regenerate_recovery_codes(self, code: str, ip: str) -> dict[str, Any]:
        return own_factor.regenerate_recovery_codes(self.ctx, code, ip)

    # --- terms -----------------------------------------------------------------------
    @rpc_api
    def current_terms(self) -> dict[str, Any]:
        return terms.current_terms(self.ctx)

    @rpc_api
    def accept_terms(self, version: str, ip: str) -> dict[str, Any]:
        return terms.accept_terms(self.ctx, version, ip)

    @rpc_api
    def publish_terms(self, version: str, text: str) -> dict[str, Any]:
        return terms.publish_terms(self.ctx, version, text)

    @rpc_api
    def list_terms(self, limit: int = 50) -> dict[str, Any]:
        return terms.list_terms(self.ctx, limit)

    # --- networks, members, access levels ----------------------------------------------
    @rpc_api
    def create_network(self, name: str, admin: dict[str, Any]) -> dict[str, Any]:
        return networks.create_network(self.ctx, name, admin)

    @rpc_api
    def get_network(self) -> dict[str, Any]:
        return networks.get_network(self.ctx)

    @rpc_api
    def update_network_settings(self, open_countries: list[str] | None = None,
                                announcement: str | None = None) -> dict[str, Any]:
        return networks.update_network_settings(self.ctx, open_countries, announcement)

    @rpc_api
    def invite_member(self, email: str, first_name: str, last_name: str) -> dict[str, Any]:
        return networks.invite_member(self.ctx, email, first_name, last_name)

    @rpc_api
    def list_members(self, cursor: str | None = None, limit: int = 50) -> dict[str, Any]:
        return networks.list_members(self.ctx, cursor, limit)

    @rpc_api
    def get_member(self, member_id: str) -> dict[str, Any]:
        return networks.get_member(self.ctx, member_id)

    @rpc_api
    def member_office(self, member_id: str) -> dict[str, Any]:
        return networks.member_office(self.ctx, member_id)

    @rpc_api
    def list_access_levels(self) -> dict[str, Any]:
        return networks.list_access_levels(self.ctx)

    @rpc_api
    def create_access_level(self, name: str, permissions: list[str]) -> dict[str, Any]:
        return networks.create_access_level(self.ctx, name, permissions)

    @rpc_api
    def update_access_level(self, level_id: str, name: str,
                            permissions: list[str]) -> dict[str, Any]:
        return networks.update_access_level(self.ctx, level_id, name, permissions)

    @rpc_api
    def delete_access_level(self, level_id: str,
                            replacement_id: str | None = None) -> dict[str, Any]:
        return networks.delete_access_level(self.ctx, level_id, replacement_id)

    @rpc_api
    def assign_access_level(self, member_id: str, access_level_id: str | None) -> dict[str, Any]:
        return networks.assign_access_level(self.ctx, member_id, access_level_id)

    @rpc_api
    def permission_vocabulary(self) -> dict[str, str]:
        return dict(PERMISSIONS)

    # --- statistics models (admin tool 3) -------------------------------------------------
    @rpc_query
    def list_stat_models(self, cursor: str | None = None, limit: int = 50) -> dict[str, Any]:
        return stat_models.list_models(self.ctx, cursor, limit)

    @rpc_api
    def create_stat_model(self, model: dict[str, Any]) -> dict[str, Any]:
        return stat_models.create_model(self.ctx, model)

    @rpc_api
    def update_stat_model(self, model_id: str, model: dict[str, Any]) -> dict[str, Any]:
        return stat_models.update_model(self.ctx, model_id, model)

    @rpc_api
    def delete_stat_model(self, model_id: str) -> dict[str, Any]:
        return stat_models.delete_model(self.ctx, model_id)

    @rpc_query
    def get_stat_model(self, model_id: str) -> dict[str, Any]:
        return stat_models.get_model(self.ctx, model_id)

    @rpc_query
    def stat_scope(self, model_id: str) -> dict[str, Any]:
        return stat_models.stat_scope(self.ctx, model_id)

    # --- the users' websites (admin tool 5) ------------------------------------------------
    @rpc_api
    def list_site_pages(self) -> dict[str, Any]:
        return sites.list_pages(self.ctx)

    @rpc_api
    def get_site_page(self, page_id: str) -> dict[str, Any]:
        return sites.get_page(self.ctx, page_id)

    @rpc_api
    def create_site_page(self, page: dict[str, Any]) -> dict[str, Any]:
        return sites.create_page(self.ctx, page)

    @rpc_api
    def update_site_page(self, page_id: str, page: dict[str, Any]) -> dict[str, Any]:
        return sites.update_page(self.ctx, page_id, page)

    @rpc_api
    def delete_site_page(self, page_id: str) -> dict[str, Any]:
        return sites.delete_page(self.ctx, page_id)

    @rpc_api
    def reset_site_override(self, page_id: str, member_id: str, block_id: str) -> dict[str, Any]:
        return sites.reset_override(self.ctx, page_id, member_id, block_id)

    @rpc_api
    def upload_site_image(self, content_b64: str) -> dict[str, Any]:
        return sites.upload_image(self.ctx, content_b64)

    @rpc_api
    def my_site(self) -> dict[str, Any]:
        return sites.my_site(self.ctx)

    @rpc_api
    def update_my_site(self, changes: dict[str, Any]) -> dict[str, Any]:
        return sites.update_my_settings(self.ctx, changes)

    @rpc_api
    def set_my_site_photo(self, content_b64: str) -> dict[str, Any]:
        return sites.set_my_photo(self.ctx, content_b64)

    @rpc_api
    def override_site_block(self, page_id: str, block_id: str,
                            content: dict[str, Any]) -> dict[str, Any]:
        return sites.override_block(self.ctx, page_id, block_id, content)

    # --- boutiques (admin tool 6) ------------------------------------------------------------
    @rpc_api
    def get_boutique(self) -> dict[str, Any]:
        return boutiques.get_boutique(self.ctx)

    @rpc_api
    def put_boutique(self, boutique: dict[str, Any]) -> dict[str, Any]:
        return boutiques.put_boutique(self.ctx, boutique)

    @rpc_api
    def create_boutique_product(self, product: dict[str, Any]) -> dict[str, Any]:
        return boutiques.create_product(self.ctx, product)

    @rpc_api
    def update_boutique_product(self, product_id: str, product: dict[str, Any]) -> dict[str, Any]:
        return boutiques.update_product(self.ctx, product_id, product)

    @rpc_api
    def delete_boutique_product(self, product_id: str) -> dict[str, Any]:
        return boutiques.delete_product(self.ctx, product_id)

    @rpc_internal(services=("gateway",))
    def public_boutique(self, slug: str) -> dict[str, Any]:
        return boutiques.public_boutique(self.ctx, slug)

    @rpc_internal(services=("gateway",))
    def public_site(self, slug: str, kind: str) -> dict[str, Any]:
        return sites.public_site(self.ctx, slug, kind)

    @rpc_internal(services=("gateway",))
    def public_site_image(self, image_id: str) -> dict[str, Any]:
        return sites.public_image(self.ctx, image_id)

    # --- subscriptions and payments ------------------------------------------------------
    @rpc_api
    def create_subscription(self, period: str, payment_method: str,
                            kind: str | None = None) -> dict[str, Any]:
        return subscriptions.create_subscription(self.ctx, period, payment_method, kind)

    @rpc_api
    def list_subscriptions(self) -> dict[str, Any]:
        return subscriptions.list_subscriptions(self.ctx)

    @rpc_api
    def withdraw_subscription(self, subscription_id: str) -> dict[str, Any]:
        return subscriptions.withdraw_subscription(self.ctx, subscription_id)

    @rpc_api
    def request_payment(self, order_type: str, order_id: str, amount_cents: int, method: str,
                        description: str) -> dict[str, Any]:
        return payments.request_payment(self.ctx, order_type, order_id, amount_cents, method,
                                        description)

    @rpc_internal(services=("gateway",))  # after the gateway checked the provider's signature
    def record_card_result(self, payment_id: str, provider_ref: str, status: str,
                           amount_cents: int) -> dict[str, Any]:
        return settlement.record_card_result(self.ctx, payment_id, provider_ref, status, amount_cents)

    @rpc_api
    def validate_payment(self, payment_id: str) -> dict[str, Any]:
        return settlement.validate_payment(self.ctx, payment_id)

    @rpc_api
    def get_payment(self, payment_id: str) -> dict[str, Any]:
        return payments.get_payment(self.ctx, payment_id)

    @rpc_api
    def list_payments(self, status: str | None = None, cursor: str | None = None, limit: int = 50,
                      refund_status: str | None = None) -> dict[str, Any]:
        return payments.list_payments(self.ctx, status, cursor, limit, refund_status)

    @rpc_api
    def mark_refunded(self, payment_id: str, reference: str) -> dict[str, Any]:
        return payments.mark_refunded(self.ctx, payment_id, reference)

    # --- what plans tells about its orders ------------------------------------------------
    @reliable_handler("plans", "plan_refund_due")
    def on_plan_refund_due(self, payload: dict[str, Any]) -> None:
        plan_orders.on_plan_refund_due(self.ctx, payload)

    @reliable_handler("plans", "plan_cancelled")
    def on_plan_cancelled(self, payload: dict[str, Any]) -> None:
        plan_orders.on_plan_cancelled(self.ctx, payload)

    # --- staff ---------------------------------------------------------------------------
    @rpc_api
    def suspend_user(self, user_id: str) -> dict[str, Any]:
        return staff.suspend_user(self.ctx, user_id)

    @rpc_api
    def close_user(self, user_id: str) -> dict[str, Any]:
        return staff.close_user(self.ctx, user_id)

    @rpc_api
    def reactivate_user(self, user_id: str) -> dict[str, Any]:
        return staff.reactivate_user(self.ctx, user_id)

    @rpc_api
    def find_users(self, query: str) -> dict[str, Any]:
        return staff.find_users(self.ctx, query)

    @rpc_api
    def reset_second_factor(self, user_id: str, current_password: str, code: str | None,
                            ip: str) -> dict[str, Any]:
        """A user lost their factor: staff, re-authenticated, remove it (``factor_reset``)."""
        return factor_reset.reset_second_factor(self.ctx, user_id, current_password, code, ip)

    @rpc_api
    def list_networks(self, cursor: str | None = None, limit: int = 50) -> dict[str, Any]:
        return networks.list_networks(self.ctx, cursor, limit)

    @rpc_api
    def create_staff(self, email: str, password: str, role: str) -> dict[str, Any]:
        return staff.create_staff(self.ctx, email, password, role)

    # --- for other services --------------------------------------------------------------
    @rpc_internal
    def get_user(self, user_id: str) -> dict[str, Any]:
        return queries.get_user(self.ctx, user_id)

    @rpc_internal
    def office_active(self, user_id: str) -> bool:
        return queries.office_active(self.ctx, user_id)

    @rpc_internal
    def office_kinds(self, user_id: str) -> list[str]:
        """The office kinds the user's subscription covers today ([]: office closed)."""
        return queries.office_kinds(self.ctx, user_id)

    @rpc_internal
    def senders(self, user_ids: list[str]) -> dict[str, dict[str, Any]]:
        return queries.senders(self.ctx, user_ids)

    @rpc_internal
    def open_countries(self, network_id: str) -> list[str]:
        return queries.open_countries(self.ctx, network_id)

    @rpc_internal
    def admin_can_view(self, admin_id: str, member_id: str) -> bool:
        return queries.admin_can_view(self.ctx, admin_id, member_id)

    @rpc_internal
    def network_members(self, network_id: str) -> list[str]:
        return queries.network_members(self.ctx, network_id)

    @rpc_internal(services=("mailer",))
    def password_link(self, link_ref: str) -> dict[str, Any]:
        """The set-password link an invitation or reset event refers to, for the mailer."""
        return password_tokens.link_for(self.ctx, link_ref, clock.now())

    # --- GDPR: the register and data-subject requests (compliance README) ----------------
    @rpc_internal
    def register_controllers(self) -> dict[str, Any]:
        return register.register_controllers(self.ctx)

    @rpc_internal
    def data_map(self) -> dict[str, Any]:
        return register.data_map()

    @rpc_internal(services=("plans", "leads", "mailer"))
    def subject_users(self, request_id: str, email: str | None = None,
                      phone: str | None = None) -> dict[str, Any]:
        """The person's accounts, for another service's task of the same request."""
        return subject_requests.subject_users(self.ctx, request_id, email, phone)

    @reliable_handler("compliance", "dsr_task_requested")
    def on_dsr_task_requested(self, payload: dict[str, Any]) -> None:
        subject_requests.on_task_requested(
            self.ctx, subject_requests.ComplianceSubjects(self.compliance_rpc), payload)

    @rpc_internal
    def retention_sweep(self) -> dict[str, Any]:
        """Erase the accounts the retention term says are due today (the timer; operators)."""
        return retention.sweep(lambda: separate(self.db, self.principal),
                               self.plans_rpc.running_plan_owners)

    # --- timers --------------------------------------------------------------------------
    @timer(interval=60)
    def expire_subscriptions(self) -> None:
        subscriptions.expire_due(self.ctx)
        auth.purge_old_failures(self.ctx)

    @TUNABLES.timer("SUBSCRIPTION_REMINDER_INTERVAL_SECONDS")
    def daily_reminders(self) -> None:
        """The day's reminders (once per subscription), and the invoices' names of erased
        accounts whose ten years are over."""
        reminders.remind_ending(self.ctx, self.plans_rpc.running_plan_owners)
        subject_requests.purge_billing_identities(self.ctx)

    @retention.TUNABLES.timer("ACCOUNT_RETENTION_INTERVAL_SECONDS")
    def retention_tick(self) -> None:
        self.retention_sweep()
