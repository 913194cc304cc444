"""Networks, members and access levels (terms art. 1, 5)."""
from typing import Any

from gateway.auth import evict_network
from gateway.http import Req, api
from gateway.schemas.accounts import (
    AccessLevelAssignIn,
    AccessLevelDeletedOut,
    AccessLevelDeleteQuery,
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
    dispatch: Any

    def _levels_changed(self, req: Req) -> None:
        """The members' next requests carry the new permissions, on every gateway."""
        network_id = req.principal.network_id if req.principal else None
        if network_id:
            evict_network(network_id)
            self.dispatch("access_levels_changed", {"network_id": network_id})

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

    @api("GET", "/api/network/access-levels", roles=("admin",), response=page_of(AccessLevelOut),
         tags=("network",), summary="Named permission sets (the default one included)")
    def list_access_levels(self, req: Req) -> Any:
        return self.accounts.list_access_levels()

    @api("POST", "/api/network/access-levels", roles=("admin",), body=AccessLevelIn,
         response=AccessLevelOut, status=201, tags=("network",), summary="Define a permission set")
    def create_access_level(self, req: Req) -> Any:
        return self.accounts.create_access_level(req.body["name"], req.body["permissions"])

    @api("PUT", "/api/network/members/<member_id>/access-level", roles=("admin",),
         body=AccessLevelAssignIn, response=MemberOut, tags=("network",),
         summary="Assign a permission set to a member (null: the network's default)")
    def assign_access_level(self, req: Req, member_id: str) -> Any:
        result = self.accounts.assign_access_level(member_id, req.body["access_level_id"])
        self._levels_changed(req)
        return result

    @api("PUT", "/api/network/access-levels/<level_id>", roles=("admin",), body=AccessLevelIn,
         response=AccessLevelOut, tags=("network",),
         summary="Rename a permission set and replace its permissions")
    def update_access_level(self, req: Req, level_id: str) -> Any:
        result = self.accounts.update_access_level(level_id, req.body["name"],
                                                   req.body["permissions"])
        self._levels_changed(req)
        return result

    @api("DELETE", "/api/network/access-levels/<level_id>", roles=("admin",),
         query=AccessLevelDeleteQuery, response=AccessLevelDeletedOut, tags=("network",),
         errors=(409,), summary="Delete a permission set; its holders move to ?replacement_id "
                                "(required while members hold it; never the default one)")
    def delete_access_level(self, req: Req, level_id: str) -> Any:
        result = self.accounts.delete_access_level(level_id, req.query.get("replacement_id"))
        self._levels_changed(req)
        return result
