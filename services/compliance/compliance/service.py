"""Compliance service: GDPR processor duties (skeleton until its issue lands)."""
import suivi_common  # noqa: F401  (first: green psycopg)
from compliance.models import common
from suivi_common.database import Database
from suivi_common.service_base import PlatformService


class ComplianceService(PlatformService):
    name = "compliance"
    db = Database(common)
