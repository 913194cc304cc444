"""Compliance, as accounts asks it for a data-subject request's person (``dsr_subject``,
called as accounts through ``suivi_common.rpc.ServiceRpc``).

A task no longer open (done, denied) is None: there is nothing to do. Compliance being
unreachable raises: the task's reliable handler is retried, then dead-lettered, and
compliance itself asks again a late task.
"""
from __future__ import annotations

from typing import Any, Protocol

from accounts.domain.subject_requests import Subject, subject_of
from suivi_common.errors import NotFound


class SubjectSource(Protocol):
    def subject(self, request_id: str) -> Subject | None: ...


class ComplianceSubjects:
    def __init__(self, client: Any) -> None:
        self.client = client

    def subject(self, request_id: str) -> Subject | None:
        try:
            answer = self.client.dsr_subject(request_id)
        except NotFound:
            return None
        return subject_of(answer)
