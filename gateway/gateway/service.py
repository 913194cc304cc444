"""The gateway: the platform's only public door.

One Nameko service whose ``@http`` routes are grouped by area in ``gateway/routes``;
it holds no data, authenticates through accounts, and calls services over RPC.
"""
from nameko.events import EventDispatcher

import suivi_common  # noqa: F401  (first: green psycopg, even if unused here)
from gateway.auth import Auth
from gateway.routes.auth import AuthRoutes
from gateway.routes.billing import BillingRoutes
from gateway.routes.leads import LeadsRoutes
from gateway.routes.members import MemberOfficeRoutes
from gateway.routes.network import NetworkRoutes
from gateway.routes.office import OfficeRoutes
from gateway.routes.plans import PlansRoutes
from gateway.routes.platform import PlatformRoutes
from gateway.routes.profile import ProfileRoutes
from gateway.routes.staff import StaffRoutes
from suivi_common import devclock
from suivi_common.rpc import ServiceRpc


class GatewayService(AuthRoutes, ProfileRoutes, NetworkRoutes, MemberOfficeRoutes, BillingRoutes,
                     PlansRoutes, LeadsRoutes, OfficeRoutes, StaffRoutes,
                     PlatformRoutes):
    name = "gateway"
    secrets_used = ("CARD_PROVIDER_SECRET",)  # card callbacks (checked at start-up in production)

    auth = Auth()
    dispatch = EventDispatcher()
    accounts = ServiceRpc("accounts")
    plans = ServiceRpc("plans")
    leads = ServiceRpc("leads")
    mailer = ServiceRpc("mailer")
    compliance = ServiceRpc("compliance")


devclock.load_persisted()
