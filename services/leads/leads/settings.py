"""The leads service's tunables, the office's included: nameko config, then the environment,
then these defaults (``suivi_common.settings.Tunables``).

Read at each use, not at import: tests and ``nameko run`` install the config after the
service module is imported, and operators retune without a restart.
"""
from __future__ import annotations

from leads.domain.dedup import DEFAULT_WINDOW_DAYS
from leads.domain.documents import DEFAULT_QUOTA_BYTES
from leads.domain.freshness import DEFAULT_MAX_AGE_DAYS
from leads.domain.refunds import REFUND_WINDOW_DAYS
from suivi_common.settings import Tunables

TUNABLES = Tunables(
    DUPLICATE_WINDOW_DAYS=DEFAULT_WINDOW_DAYS,
    FRESHNESS_DAYS=DEFAULT_MAX_AGE_DAYS,
    CAPTURE_BATCH_MAX=1000,
    # HTTP capture requests per window of the platform clock, per site key and per source
    # address (0: no limit); over either, 429 with Retry-After and nothing stored
    CAPTURE_RATE_WINDOW_SECONDS=60,
    CAPTURE_RATE_PER_KEY=300,
    CAPTURE_RATE_PER_IP=600,
    # capture forms of the users' sites (issue 13 §2): forms per address and window
    SITE_FORM_RATE_PER_IP=10,
    CAPTURE_QUEUE="leads.capture",
    GRADING_RULES=None,  # construction leads; None: the domain's defaults (``usecases.grading``)
    GRADING_RULES_DISTRIBUTION=None,  # distribution leads; None: the domain's defaults
    AUTO_DELIVERY_INTERVAL_SECONDS=30,
    STOCK_CHECK_INTERVAL_SECONDS=60,
    DAY_CLOSE_INTERVAL_SECONDS=300,
    REKEY_INTERVAL_SECONDS=2,
    REKEY_BATCH=1000,
    ENTITLEMENT_SYNC_RETRY_SECONDS=10,
    RPC_TIMEOUT_SECONDS=5,
    # the office
    REFUND_WINDOW_DAYS=REFUND_WINDOW_DAYS,
    REFUND_DNS_TIMEOUT_SECONDS=1.5,
    OFFICE_STATUS_CACHE_SECONDS=30,
    OFFICE_ADMIN_VIEW_CACHE_SECONDS=5,
    OFFICE_EXPORT_BATCH=2000,
    OFFICE_EXPORT_CHUNK_BYTES=512 * 1024,
    OFFICE_EXPORT_TTL_MINUTES=30,
    OFFICE_EXPORT_RETRY_AFTER_SECONDS=10,  # told to a second export while one is built
    # moving office rows from the network's key to their owner's (annex IV.12)
    CONTROLLER_REKEY_INTERVAL_SECONDS=30,
    CONTROLLER_REKEY_BATCH=500,
    # work documents: the bytes an office's documents may hold together (terms art. 3.A)
    DOCUMENT_QUOTA_BYTES=DEFAULT_QUOTA_BYTES,
)
