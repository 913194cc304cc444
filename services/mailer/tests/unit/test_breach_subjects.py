"""What the mailer reads of leads' breach notice requests and batch erasures."""
from __future__ import annotations

import uuid

import pytest

from mailer.domain import breach_subjects as rules
from mailer.domain.messages import InvalidPayload

LEAD = str(uuid.uuid4())


def event(**over: object) -> dict[str, object]:
    return {"breach_id": "b1", "user_id": "u1", "network_id": "n1", "lead_id": LEAD,
            "subject": "Violation de données", "text": "Madame, Monsieur,\n\n...", "dpo": None,
            **over}


def test_one_email_id_per_breach_and_person_whatever_the_event() -> None:
    a, b = rules.parse_mail(event()), rules.parse_mail(event(subject="Autre", network_id=None))
    assert a.email_id == b.email_id
    assert rules.parse_mail(event(breach_id="b2")).email_id != a.email_id
    assert rules.parse_mail(event(lead_id=str(uuid.uuid4()))).email_id != a.email_id
    assert (b.network_id, a.network_id, a.lead_id) == (None, "n1", uuid.UUID(LEAD))


@pytest.mark.parametrize("over", [{"lead_id": "nope"}, {"breach_id": ""}, {"user_id": None},
                                  {"subject": " "}, {"text": None}, {"breach_id": "x" * 65}])
def test_an_unusable_request_is_refused(over: dict[str, object]) -> None:
    with pytest.raises(InvalidPayload):
        rules.parse_mail(event(**over))


def test_the_opposition_list_does_not_stop_a_breach_notice_only() -> None:
    assert not rules.opposable(rules.ORIGIN)
    assert rules.opposable("office") and rules.opposable("automation")


def test_erased_lead_ids_are_well_formed_unique_and_sorted() -> None:
    ids = [uuid.uuid4() for _ in range(3)]
    payload = {"lead_ids": [str(ids[2]), "bad", str(ids[0]), str(ids[2]), None, str(ids[1])]}
    assert rules.erased_lead_ids(payload) == sorted(ids)
    assert rules.erased_lead_ids({"lead_ids": "x"}) == rules.erased_lead_ids(None) == []
