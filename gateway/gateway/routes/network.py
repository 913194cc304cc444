"""Networks, members and access levels (terms art. 1, 5)."""
from typing import Any

from gateway.http import Req, api
from gateway.schemas.accounts import (
    AccessLevelAssignIn,
    AccessLevelIn,
    AccessLevelOut,
    MemberOut,
    NetworkCreatedOut,
    NetworkCreateIn,
    NetworkOut,
    NetworkSettingsIn,
    PersonIn,
)
from gateway.schemas.common import PageQuery, page_args, page_of


class NetworkRoutes:
    accounts: Any

    @api("POST", "/api/networks", roles=("staff",), body=NetworkCreateIn,
         response=NetworkCreatedOut, status=201, tags=("staff",),
         summary="Create a network and invite its admin")
    def create_network(self, req: Req) -> Any:
        return self.accounts.create_network(req.body["name"], req.body["admin"])

    @api("GET", "/api/network", roles=("user", "admin"), response=NetworkOut, tags=("network",),
         summary="My network: name, announcement, open countries")
    def get_network(self, req: Req) -> Any:
        return self.accounts.get_network()

    @api("PUT", "/api/network/settings", roles=("admin",), body=NetworkSettingsIn,
         response=NetworkOut, tags=("network",), summary="Open countries and announcement")
    def put_settings(self, req: Req) -> Any:
        return self.accounts.update_network_settings(req.body.get("open_countries"),
                                                     req.body.get("announcement"))

    @api("POST", "/api/network/members", roles=("admin",), body=PersonIn, response=MemberOut,
         status=201, tags=("network",), summary="Invite a member (emailed a set-password link)")
    def invite_member(self, req: Req) -> Any:
        b = req.body
        return self.accounts.invite_member(b["email"], b["first_name"], b["last_name"])

    @api("GET", "/api/network/members", roles=("admin",), query=PageQuery,
         response=page_of(MemberOut), tags=("network",), summary="List my network's members")
    def list_members(self, req: Req) -> Any:
        return self.accounts.list_members(*page_args(req.query))

    @api("GET", "/api/network/members/<member_id>", roles=("admin",), response=MemberOut,
         tags=("network",), summary="One member of my network")
    def get_member(self, req: Req, member_id: str) -> Any:
        return self.accounts.get_member(member_id)

    @api("GET", "/api/network/access-levels", roles=("admin",), response=AccessLevelOut,
         many=True, tags=("network",), summary="Named permission sets")
    def list_access_levels(self, req: Req) -> Any:
        return self.accounts.list_access_levels()

    @api("POST", "/api/network/access-levels", roles=("admin",), body=AccessLevelIn,
         response=AccessLevelOut, status=201, tags=("network",), summary="Define a permission set")
    def create_access_level(self, req: Req) -> Any:
        return self.accounts.create_access_level(req.body["name"], req.body["permissions"])

    @api("PUT", "/api/network/members/<member_id>/access-level", roles=("admin",),
         body=AccessLevelAssignIn, response=MemberOut, tags=("network",),
         summary="Assign a permission set to a member (null removes it)")
    def assign_access_level(self, req: Req, member_id: str) -> Any:
        return self.accounts.assign_access_level(member_id, req.body["access_level_id"])
