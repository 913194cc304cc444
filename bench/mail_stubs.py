"""Stand-ins for ``accounts`` and ``leads`` in the mailer benchmarks (``bench.mailer``).

Why stubs: the benchmarks measure the mailer (events in, SMTP or Gmail out), not the
services it asks. These answer the mailer's RPCs from the ids alone, with no database,
so their cost is one broker round trip each: ``lead_contact`` and its batch form
``lead_contacts`` (leads' contract, answered for services only), ``office_get_pipeline``,
``get_user``, ``office_active`` and their batch form ``senders``. They
also count the mailer's calls, and the ``lead_email_sent`` events leads would consume, so
a run can check that every email was reported once.

Ids encode what the answers need: user ``k`` is ``user_id(k)`` (0 is the network's
admin), lead ``i`` of user ``k`` is ``lead_id(k, i)``, with the address ``lead_email(i)``.
Every lead is in ``STATUS`` (the status the benchmark's automation fires on).
"""
from __future__ import annotations

import threading
from collections import Counter
from typing import Any

from nameko.events import event_handler
from nameko.rpc import rpc

from suivi_common.auth import CurrentPrincipal
from suivi_common.errors import EXPECTED_ERRORS, NotFound

NETWORK_ID = "7b1c0000-0000-4000-8000-00000000be9c"
STATUS = "contacted"
STATUSES = ["new", "contacted", "meeting", "client", "distributor", "not_interested"]
FIRST_NAMES = ("Camille", "Léa", "Hugo", "Chloé", "Lucas", "Manon", "Noé", "Inès")
CITIES = ("Rennes", "Lille", "Saint-Étienne", "Metz", "Nantes", "Pau")


def user_id(k: int) -> str:
    return f"00000000-0000-4000-a000-{k:012x}"


def lead_id(owner: int, i: int) -> str:
    return f"{owner:08x}-0000-4000-8000-{i:012x}"


def lead_email(i: int) -> str:
    return f"lead{i:06d}@bench.example"


def _index(uuid_text: str, start: int, end: int) -> int:
    try:
        return int(str(uuid_text)[start:end], 16)
    except ValueError:
        raise NotFound("No such id") from None


def user(k: int) -> dict[str, Any]:
    return {"id": user_id(k), "role": "admin" if k == 0 else "user", "network_id": NETWORK_ID,
            "status": "active", "first_name": f"Conseiller{k}", "last_name": "Martin",
            "email": f"user{k}@bench.example", "phone": "+33612345678"}


def contact(lead: str) -> dict[str, Any]:
    owner, i = _index(lead, 0, 8), _index(lead, 24, 36)
    return {"lead_id": lead, "owner_id": user_id(owner), "network_id": NETWORK_ID,
            "email": lead_email(i), "first_name": FIRST_NAMES[i % len(FIRST_NAMES)],
            "last_name": f"Nom{i}", "city": CITIES[i % len(CITIES)], "status": STATUS,
            "office_kind": "personal"}


_sent_lock = threading.Lock()
_sent: dict[str, int] = {}
#: RPCs answered, by method (one process: both stubs share it).
_calls: Counter[str] = Counter()


class StubAccounts:
    name = "accounts"

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def get_user(self, uid: str) -> dict[str, Any]:
        _calls["accounts.get_user"] += 1
        return user(_index(uid, 24, 36))

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def office_active(self, uid: str) -> bool:
        _calls["accounts.office_active"] += 1
        return True

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def senders(self, uids: list[str]) -> dict[str, Any]:
        _calls["accounts.senders"] += 1
        return {uid: {"user": user(_index(uid, 24, 36)), "office_active": True} for uid in uids}

    @rpc
    def health(self) -> dict[str, str]:
        return {"status": "ok"}


class StubLeads:
    name = "leads"
    principal = CurrentPrincipal()

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def lead_contact(self, lead: str) -> dict[str, Any]:
        _calls["leads.lead_contact"] += 1
        if self.principal is None or not self.principal.is_service:
            raise NotFound("internal")
        return contact(lead)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def lead_contacts(self, leads: list[str]) -> dict[str, Any]:
        _calls["leads.lead_contacts"] += 1
        if self.principal is None or not self.principal.is_service:
            raise NotFound("internal")
        return {lead: contact(lead) for lead in leads}

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def office_get_pipeline(self) -> dict[str, Any]:
        _calls["leads.office_get_pipeline"] += 1
        return {"statuses": STATUSES, "initial": STATUSES[0], "terminal": []}

    @event_handler("mailer", "lead_email_sent")
    def on_lead_email_sent(self, payload: dict[str, Any]) -> None:
        with _sent_lock:
            key = str(payload.get("email_id"))
            _sent[key] = _sent.get(key, 0) + 1

    @rpc
    def bench_sent_events(self) -> dict[str, int]:
        """``lead_email_sent`` events received: in all, and for how many emails."""
        with _sent_lock:
            return {"events": sum(_sent.values()), "emails": len(_sent)}

    @rpc
    def bench_calls(self) -> dict[str, int]:
        """The mailer's calls to both stubs so far, by method."""
        return dict(_calls)

    @rpc
    def health(self) -> dict[str, str]:
        return {"status": "ok"}
