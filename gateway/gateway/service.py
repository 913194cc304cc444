"""The gateway: the platform's only public door.

One Nameko service whose ``@http`` routes are grouped by area in ``gateway/routes``;
it holds no data, authenticates through accounts, and calls services over RPC.
"""
import suivi_common  # noqa: F401  (first: green psycopg, even if unused here)
from gateway.auth import Auth
from gateway.routes.account_security import AccountSecurityRoutes
from gateway.routes.auth import AuthRoutes
from gateway.routes.billing import BillingRoutes
from gateway.routes.compliance import ComplianceRoutes
from gateway.routes.documents import DocumentRoutes
from gateway.routes.leads import LeadsRoutes
from gateway.routes.mailer import MailerRoutes
from gateway.routes.mailer_google import MailerGoogleRoutes
from gateway.routes.members import MemberOfficeRoutes
from gateway.routes.mfa import MfaRoutes
from gateway.routes.network import NetworkRoutes
from gateway.routes.office import OfficeRoutes
from gateway.routes.plans import PlansRoutes
from gateway.routes.platform import PlatformRoutes
from gateway.routes.profile import ProfileRoutes
from gateway.routes.sites import SiteAdminRoutes
from gateway.routes.staff import StaffRoutes
from gateway.routes.stats import StatsRoutes
from gateway.sites.boutique_routes import BoutiqueRoutes
from gateway.sites.routes import SiteRoutes
from gateway.web.routes.account import WebAccountRoutes
from gateway.web.routes.admin import WebAdminRoutes
from gateway.web.routes.compliance import WebComplianceRoutes
from gateway.web.routes.office import WebOfficeRoutes
from gateway.web.routes.password import WebPasswordRoutes
from gateway.web.routes.plans import WebPlansRoutes
from gateway.web.routes.session import WebSessionRoutes
from gateway.web.routes.site_editor import WebSiteEditorRoutes
from gateway.web.routes.staff import WebStaffRoutes
from suivi_common import devclock
from suivi_common.auth import CurrentPrincipal
from suivi_common.broadcast import EventDispatcher
from suivi_common.rpc import ServiceRpc


class GatewayService(AuthRoutes, ProfileRoutes, NetworkRoutes, MemberOfficeRoutes, BillingRoutes,
                     PlansRoutes, LeadsRoutes, OfficeRoutes, StaffRoutes, ComplianceRoutes,
                     PlatformRoutes, MailerGoogleRoutes, MailerRoutes, DocumentRoutes,
                     AccountSecurityRoutes, MfaRoutes, StatsRoutes, SiteAdminRoutes, SiteRoutes,
                     BoutiqueRoutes, WebSessionRoutes, WebAccountRoutes, WebOfficeRoutes,
                     WebAdminRoutes, WebStaffRoutes, WebComplianceRoutes, WebPasswordRoutes,
                     WebPlansRoutes, WebSiteEditorRoutes):
    name = "gateway"
    secrets_used = ("CARD_PROVIDER_SECRET",)  # card callbacks (checked at start-up in production)

    auth = Auth()
    principal = CurrentPrincipal()  # of broadcasts (the dev clock is only the gateway's)
    dispatch = EventDispatcher()
    # every call carries the request's signed user principal (none when anonymous);
    # ``.as_service()`` for the few the gateway makes for itself
    accounts = ServiceRpc("accounts", acting_for_request=True)
    plans = ServiceRpc("plans", acting_for_request=True)
    leads = ServiceRpc("leads", acting_for_request=True)
    mailer = ServiceRpc("mailer", acting_for_request=True)
    compliance = ServiceRpc("compliance", acting_for_request=True)


devclock.load_persisted()
