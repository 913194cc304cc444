"""Capture: the one pipeline behind ``POST /api/capture/leads`` and the AMQP queue.

Per item: domain validation, grading, duplicate check through the platform-scope blind
indexes, then storage encrypted under the platform's key and, when accepted, a stock row.

Why duplicates are race-free across instances: every contact key of the batch is upserted
into ``contacts`` first (``ON CONFLICT DO UPDATE`` takes the row lock, in sorted order so
concurrent batches cannot deadlock). A second capture of the same person waits for the
first one's commit and then sees its ``last_accepted_at``. The window counts from the last
*accepted* capture: a duplicate does not extend it (the rule is "not sold twice within the
window", and a duplicate is never sold).
"""
from __future__ import annotations

import hashlib
import json
import logging
import secrets
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, text, update
from sqlalchemy.orm import Session

from leads.domain.capture import has_control_characters, validate_capture
from leads.domain.dedup import dedup_keys, is_duplicate
from leads.domain.grading import Grader
from leads.domain.lead import LeadData
from leads.models import capture_sites
from leads.settings import TUNABLES
from leads.usecases import capture_limits, grading, objections
from suivi_common.crypto import PLATFORM_SCOPE, Vault
from suivi_common.errors import Invalid, NotFound, Unauthorized
from suivi_common.ids import parse_uuid
from suivi_common.kinds import DEFAULT_KIND, KINDS

ACCEPTED, REJECTED, DUPLICATE = "accepted", "rejected", "duplicate"
Emit = Callable[[str, Mapping[str, Any]], Any]
log = logging.getLogger(__name__)
KEY_PREFIX = "lck_"


# --- capture sites and their keys ---------------------------------------------------------

def hash_key(key: str) -> str:
    """Keys are 256-bit random tokens, so a plain SHA-256 is enough (no password hashing)."""
    return hashlib.sha256(key.encode()).hexdigest()


def create_site(session: Session, name: str, url: str, now: datetime,
                kind: Any = None) -> dict[str, Any]:
    """A capture site declares the kind of lead it collects (issue 13 §1; construction
    when not said, as every site before kinds): its leads are graded and sold as that kind."""
    errors = {}
    if kind is not None and kind not in KINDS:
        errors["kind"] = "distribution or construction"
    kind = kind or DEFAULT_KIND
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= 120:
        errors["name"] = "1 to 120 characters"
    elif has_control_characters(name):  # PostgreSQL cannot even store a NUL
        errors["name"] = "contains control characters"
    if not isinstance(url, str) or not url.startswith(("http://", "https://")) or len(url) > 2048 \
            or has_control_characters(url):
        errors["url"] = "must be an http(s) URL"
    if errors:
        raise Invalid("the capture site is invalid", fields=errors)
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    site_id = uuid.uuid4()
    session.execute(insert(capture_sites).values(
        id=site_id, name=name.strip(), url=url, kind=kind, key_hash=hash_key(key),
        key_prefix=key[:12], created_at=now))
    return {**site_out(site_id, name.strip(), url, key[:12], now, None, kind), "key": key}


def site_out(site_id: Any, name: str, url: str, prefix: str, created_at: datetime,
             revoked_at: datetime | None, kind: str = DEFAULT_KIND) -> dict[str, Any]:
    return {"id": str(site_id), "name": name, "url": url, "kind": kind, "key_prefix": prefix,
            "created_at": created_at.isoformat(),
            "revoked_at": revoked_at.isoformat() if revoked_at else None}


def list_sites(session: Session) -> list[dict[str, Any]]:
    rows = session.execute(select(capture_sites).order_by(capture_sites.c.created_at))
    return [site_out(r.id, r.name, r.url, r.key_prefix, r.created_at, r.revoked_at, r.kind)
            for r in rows]


def revoke_site(session: Session, site_id: Any, now: datetime) -> dict[str, Any]:
    """A revoked key is refused at once, by every instance (no cache)."""
    sid = parse_uuid(site_id)
    if sid is None:
        raise NotFound("No such capture site")
    row = session.execute(update(capture_sites).where(capture_sites.c.id == sid)
                          .values(revoked_at=now).returning(capture_sites)).first()
    if row is None:
        raise NotFound("No such capture site")
    return site_out(row.id, row.name, row.url, row.key_prefix, row.created_at, row.revoked_at,
                    row.kind)


def check_key(session: Session, vault: Vault, key: Any, client_ip: str | None,
              now: datetime) -> None:
    """What the gateway asks before it reads an upload: a live key (else 401), whose site
    and address have not used up their rate (else 429; nothing counted)."""
    capture_limits.check(session, capture_limits.limits(vault, require_site(session, key),
                                                        client_ip), now)


def require_site(session: Session, key: Any) -> uuid.UUID:
    """The live site owning ``key``; else Unauthorized (the gateway asks before it reads
    an upload)."""
    site_id = site_for_key(session, key)
    if site_id is None:
        raise Unauthorized("Unknown or revoked capture key", code="capture_key_invalid")
    return site_id


def site_for_key(session: Session, key: Any) -> uuid.UUID | None:
    """The id of the live capture site owning ``key``, else None."""
    if not isinstance(key, str) or not key.startswith(KEY_PREFIX) or len(key) > 200:
        return None
    row = session.execute(
        select(capture_sites.c.id).where(capture_sites.c.key_hash == hash_key(key),
                                         capture_sites.c.revoked_at.is_(None))).first()
    return row.id if row else None


# --- the two ways in ------------------------------------------------------------------------

def capture_request(session: Session, vault: Vault, emit: Emit, key: Any, items: Any,
                    now: datetime, client_ip: str | None = None,
                    separate: Callable[[], AbstractContextManager[Session]] | None = None
                    ) -> dict[str, Any]:
    """HTTP capture (via the gateway): ``{results: [...]}``, one per item, in order. With
    ``separate`` (a transaction of its own), the request is first counted against the
    site's and the address's rate limits: over one, a 429 and nothing stored."""
    if separate is None:
        site_id = require_site(session, key)
    else:
        with separate() as tx:
            site_id = require_site(tx, key)
            refused = capture_limits.count(tx, capture_limits.limits(vault, site_id, client_ip),
                                           now)
        if refused is not None:
            raise refused
    if not isinstance(items, list):
        raise Invalid("leads must be a list", fields={"leads": "must be a list"})
    limit = TUNABLES.get_int("CAPTURE_BATCH_MAX")
    if len(items) > limit:
        raise Invalid(f"At most {limit} leads per batch", fields={"leads": f"at most {limit} items"})
    return {"results": capture(session, vault, emit, site_id, items, now)}


def capture_message(session: Session, vault: Vault, emit: Emit, body: Any, key: Any,
                    message_id: str, now: datetime) -> None:
    """A message of the capture queue: one lead, a list, or ``{leads: [...]}``; a message
    with a wrong key is dropped (acked), never retried."""
    site_id = site_for_key(session, key)
    if site_id is None:
        log.warning("capture message %s dropped: unknown or revoked capture key", message_id)
        return
    items = body.get("leads") if isinstance(body, dict) and "leads" in body else body
    capture(session, vault, emit, site_id, items if isinstance(items, list) else [items], now)


def capture(session: Session, vault: Vault, emit: Emit, site_id: uuid.UUID,
            items: Sequence[Any], now: datetime) -> list[dict[str, Any]]:
    """Store the batch; each group that got stock is served at once (``auto_delivery_due``)."""
    outcome = capture_batch(session, vault, site_id, items, now)
    for (country, tier, kind), count in sorted(outcome.stocked.items()):
        emit("auto_delivery_due", {"country": country, "tier": tier, "kind": kind,
                                   "added": count})
    log.info("captured %s", outcome.counts)
    return outcome.results


# --- the pipeline ---------------------------------------------------------------------------

@dataclass
class _Item:
    index: int
    lead: LeadData | None
    errors: Mapping[str, str] = field(default_factory=dict)
    tier: str = ""
    keys: list[tuple[str, bytes]] = field(default_factory=list)  # (kind, platform digest)
    lead_id: uuid.UUID | None = None
    status: str = REJECTED
    duplicate_of: uuid.UUID | None = None


@dataclass
class CaptureOutcome:
    results: list[dict[str, Any]]
    stocked: dict[tuple[str, str, str], int]  # (country, tier, kind) -> leads added to stock

    @property
    def counts(self) -> dict[str, int]:
        out = {ACCEPTED: 0, REJECTED: 0, DUPLICATE: 0}
        for r in self.results:
            out[r["status"]] += 1
        return out


def site_kind(session: Session, site_id: uuid.UUID) -> str:
    """The kind of lead a capture site collects."""
    kind = session.execute(select(capture_sites.c.kind)
                           .where(capture_sites.c.id == site_id)).scalar()
    return kind or DEFAULT_KIND


def capture_batch(session: Session, vault: Vault, site_id: uuid.UUID, items: Sequence[Any],
                  now: datetime, grader: Grader | None = None,
                  window_days: int | None = None) -> CaptureOutcome:
    """Validate, grade (with the rules of the site's kind), dedupe and store ``items``;
    one result per item, in order. The leads and their stock carry the site's kind."""
    kind = site_kind(session, site_id)
    grader = grader or grading.grader(kind)
    window = window_days or TUNABLES.get_int("DUPLICATE_WINDOW_DAYS")
    parsed = [_parse(i, raw, now, grader, vault) for i, raw in enumerate(items)]
    _refuse_objected(session, parsed)
    valid = [it for it in parsed if it.lead is not None]
    seen = _lock_contacts(session, {k for it in valid for k in it.keys})

    claimed: dict[tuple[str, bytes], uuid.UUID] = {}  # keys accepted earlier in this batch
    for it in valid:
        it.lead_id = uuid.uuid4()
        earlier = next((claimed[k] for k in it.keys if k in claimed), None)
        recent = next((seen[k][1] for k in it.keys
                       if seen.get(k) and seen[k][0] is not None
                       and is_duplicate(seen[k][0], now, window)), None)
        if earlier or recent:
            it.status, it.duplicate_of = DUPLICATE, earlier or recent
        else:
            it.status = ACCEPTED
            claimed.update({k: it.lead_id for k in it.keys})

    _store(session, vault, site_id, valid, now, kind)
    accepted = [it for it in valid if it.status == ACCEPTED]
    if accepted:
        _mark_contacts(session, claimed, now)
        _stock(session, accepted, now, kind)
    stocked: dict[tuple[str, str, str], int] = {}
    for it in accepted:
        group = (it.lead.country, it.tier, kind)  # type: ignore[union-attr]
        stocked[group] = stocked.get(group, 0) + 1
    return CaptureOutcome([_result(it) for it in parsed], stocked)


def _parse(index: int, raw: Any, now: datetime, grader: Grader, vault: Vault) -> _Item:
    result = validate_capture(raw, now)
    if result.lead is None:
        return _Item(index, None, dict(result.errors))
    lead = result.lead
    keys = [(kind, vault.blind_index(PLATFORM_SCOPE, kind, value))
            for kind, value in dedup_keys(lead)]
    return _Item(index, lead, tier=str(grader.grade(lead)),
                 keys=[(k, d) for k, d in keys if d is not None])


def _refuse_objected(session: Session, items: Sequence[_Item]) -> None:
    """A person on the opposition list (GDPR art. 21) is never stored for sale again."""
    hit = objections.objected(session, {k for it in items if it.lead is not None
                                        for k in it.keys})
    for it in items:
        if it.lead is not None and any(k in hit for k in it.keys):
            it.lead, it.errors = None, {"contact": "this person objected to being contacted"}


_LOCK_CONTACTS = text("""
INSERT INTO contacts (kind, digest)
SELECT kind, digest FROM unnest(CAST(:kinds AS text[]), CAST(:digests AS bytea[]))
    AS k(kind, digest)
ORDER BY kind, digest
ON CONFLICT (kind, digest) DO UPDATE SET kind = EXCLUDED.kind
RETURNING kind, digest, last_accepted_at, last_lead_id
""")

_MARK_CONTACTS = text("""
UPDATE contacts c SET last_accepted_at = :now, last_lead_id = k.lead_id
FROM unnest(CAST(:kinds AS text[]), CAST(:digests AS bytea[]), CAST(:lead_ids AS uuid[]))
    AS k(kind, digest, lead_id)
WHERE c.kind = k.kind AND c.digest = k.digest
""")


def _lock_contacts(session: Session, keys: Iterable[tuple[str, bytes]]
                   ) -> dict[tuple[str, bytes], tuple[datetime | None, uuid.UUID | None]]:
    ordered = sorted(set(keys))
    if not ordered:
        return {}
    rows = session.execute(_LOCK_CONTACTS, {"kinds": [k for k, _ in ordered],
                                            "digests": [d for _, d in ordered]})
    return {(r.kind, bytes(r.digest)): (r.last_accepted_at, r.last_lead_id) for r in rows}


def _mark_contacts(session: Session, claimed: Mapping[tuple[str, bytes], uuid.UUID],
                   now: datetime) -> None:
    ordered = sorted(claimed.items())
    session.execute(_MARK_CONTACTS, {"now": now, "kinds": [k for (k, _), _ in ordered],
                                     "digests": [d for (_, d), _ in ordered],
                                     "lead_ids": [lid for _, lid in ordered]})


def lead_blind_indexes(vault: Vault, scope: str, lead: Mapping[str, Any]
                       ) -> dict[str, bytes | None]:
    """The searchable columns of a lead (stored form) under ``scope``."""
    email = lead.get("email")
    return {
        "email_bidx": vault.blind_index(scope, "email", email.lower() if email else None),
        "mobile_bidx": vault.blind_index(scope, "phone", _e164(lead.get("mobile"))),
        "landline_bidx": vault.blind_index(scope, "phone", _e164(lead.get("landline"))),
    }


def _e164(phone: Any) -> str | None:
    if isinstance(phone, Mapping):
        return phone.get("e164")
    return phone or None


_STORE_LEADS = text("""
INSERT INTO leads (id, capture_site_id, status, duplicate_of, country, tier, kind, captured_at,
                   key_scope, pii, email_bidx, mobile_bidx, landline_bidx)
SELECT id, :site_id, status, duplicate_of, country, tier, :kind, :now, :scope, pii, email_bidx,
       mobile_bidx, landline_bidx
FROM unnest(CAST(:ids AS uuid[]), CAST(:statuses AS text[]), CAST(:duplicate_of AS uuid[]),
            CAST(:countries AS text[]), CAST(:tiers AS text[]), CAST(:piis AS bytea[]),
            CAST(:emails AS bytea[]), CAST(:mobiles AS bytea[]), CAST(:landlines AS bytea[]))
    AS l(id, status, duplicate_of, country, tier, pii, email_bidx, mobile_bidx, landline_bidx)
""")

_STOCK_LEADS = text("""
INSERT INTO stock (lead_id, country, tier, kind, captured_at)
SELECT lead_id, country, tier, :kind, :now
FROM unnest(CAST(:ids AS uuid[]), CAST(:countries AS text[]), CAST(:tiers AS text[]))
    AS s(lead_id, country, tier)
""")


def _store(session: Session, vault: Vault, site_id: uuid.UUID, items: Sequence[_Item],
           now: datetime, kind: str) -> None:
    """One statement for the whole batch, whatever its size."""
    if not items:
        return
    cols: dict[str, list[Any]] = {k: [] for k in (
        "ids", "statuses", "duplicate_of", "countries", "tiers", "piis", "emails", "mobiles",
        "landlines")}
    for it in items:
        data = it.lead.as_dict()  # type: ignore[union-attr]
        bidx = lead_blind_indexes(vault, PLATFORM_SCOPE, data)
        for col, value in (
                ("ids", it.lead_id), ("statuses", it.status), ("duplicate_of", it.duplicate_of),
                ("countries", data["country"]), ("tiers", it.tier),
                ("piis", vault.encrypt(PLATFORM_SCOPE, "leads", "pii", it.lead_id,
                                       json.dumps(data))),
                ("emails", bidx["email_bidx"]), ("mobiles", bidx["mobile_bidx"]),
                ("landlines", bidx["landline_bidx"])):
            cols[col].append(value)
    session.execute(_STORE_LEADS, {"site_id": site_id, "now": now, "scope": PLATFORM_SCOPE,
                                   "kind": kind, **cols})


def _stock(session: Session, items: Sequence[_Item], now: datetime, kind: str) -> None:
    session.execute(_STOCK_LEADS, {
        "now": now, "kind": kind, "ids": [it.lead_id for it in items],
        "countries": [it.lead.country for it in items],  # type: ignore[union-attr]
        "tiers": [it.tier for it in items]})


def _result(it: _Item) -> dict[str, Any]:
    if it.lead is None:
        return {"status": REJECTED, "errors": dict(it.errors)}
    return {"status": it.status, "id": str(it.lead_id)}
