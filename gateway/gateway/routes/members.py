"""An admin looking into a member's office (terms art. 5): allowed unless the member
turned admin access off. Later issues add the member's leads here."""
from typing import Any

from gateway.http import Req, api
from gateway.schemas.accounts import MemberOfficeOut
from suivi_common.errors import Forbidden


class MemberOfficeRoutes:
    accounts: Any

    def require_admin_view(self, req: Req, member_id: str) -> None:
        """One place for the privacy rule; an id outside the admin's network is a 404."""
        member = self.accounts.get_member(member_id)  # NotFound outside the admin's network
        if not self.accounts.as_service().admin_can_view(req.principal.user_id, member["id"]):
            raise Forbidden("This member has turned admin access off", code="admin_access_refused")

    @api("GET", "/api/network/members/<member_id>/office", roles=("admin",),
         response=MemberOfficeOut, tags=("network",),
         summary="A member's office summary, unless they turned admin access off")
    def member_office(self, req: Req, member_id: str) -> Any:
        self.require_admin_view(req, member_id)
        return self.accounts.member_office(member_id)
