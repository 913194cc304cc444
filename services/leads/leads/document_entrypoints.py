"""The work documents' nameko entrypoints (terms art. 3.A), a mixin of the office's
(``OfficeEntrypoints`` inherits it): thin, who asks, then one use case of
``leads.usecases.documents``.

* The owner works on their own documents while their office is open (the office's one
  check, as for its leads); adding, sharing and deleting need the ``manage_documents``
  permission of their access level, reading one's own documents does not (they stay the
  member's data to take back).
* The admin of the network lists and downloads only what a member shares with it, and only
  while the member's admin-access switch is on (art. 5): the office's admin view check
  (``access.require_admin_view``, asking accounts' ``admin_can_view``).
"""
from __future__ import annotations

from typing import Any

from leads.usecases import documents
from leads.usecases.office.access import network_of
from suivi_common.paging import check_limit
from suivi_common.permissions import MANAGE_DOCUMENTS, require_permission
from suivi_common.service_base import rpc_api


class DocumentEntrypoints:
    principal: Any
    _ofc_owner: Any  # OfficeEntrypoints's: the caller in their open office
    _ofc_admin_view: Any  # OfficeEntrypoints's: the admin, allowed into a member's office

    @rpc_api
    def document_upload(self, name: str | None, data: str,
                        shared_with_network: bool = False) -> dict[str, Any]:
        """``data``: the file's bytes, base64 (at most 10 MiB once decoded)."""
        require_permission(self.principal, MANAGE_DOCUMENTS)
        p, ctx = self._ofc_owner()
        return documents.upload(ctx, p.user_id, network_of(p), name, data, shared_with_network)

    @rpc_api
    def document_list(self, cursor: str | None = None,
                      limit: int | None = None) -> dict[str, Any]:
        p, ctx = self._ofc_owner()
        return documents.list_mine(ctx, p.user_id, cursor, check_limit(limit))

    @rpc_api
    def document_download(self, document_id: str) -> dict[str, Any]:
        """The document's fields and ``data``, its bytes in base64."""
        p, ctx = self._ofc_owner()
        return documents.download(ctx, p.user_id, document_id)

    @rpc_api
    def document_set_shared(self, document_id: str, shared_with_network: bool) -> dict[str, Any]:
        require_permission(self.principal, MANAGE_DOCUMENTS)
        p, ctx = self._ofc_owner()
        return documents.set_shared(ctx, p.user_id, document_id, shared_with_network)

    @rpc_api
    def document_delete(self, document_id: str) -> dict[str, Any]:
        require_permission(self.principal, MANAGE_DOCUMENTS)
        p, ctx = self._ofc_owner()
        return documents.delete_one(ctx, p.user_id, document_id)

    @rpc_api
    def member_documents(self, member_id: str, cursor: str | None = None,
                         limit: int | None = None) -> dict[str, Any]:
        p, ctx, owner = self._ofc_admin_view(member_id)
        return documents.list_shared(ctx, owner, network_of(p), cursor, check_limit(limit))

    @rpc_api
    def member_document_download(self, member_id: str, document_id: str) -> dict[str, Any]:
        p, ctx, owner = self._ofc_admin_view(member_id)
        return documents.download_shared(ctx, owner, network_of(p), document_id)
