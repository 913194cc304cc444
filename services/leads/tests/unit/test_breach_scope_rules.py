"""A breach's scope as leads reads it (``domain.breach_scope``)."""
from __future__ import annotations

import pytest

from leads.domain.breach_scope import EMAIL, LEAD, NOTE, parse_scope
from suivi_common.errors import Invalid


def test_categories_choose_the_kinds_of_record() -> None:
    assert parse_scope({"kind": "all"}).records == {LEAD, NOTE, EMAIL}
    assert parse_scope({"kind": "all", "data_categories": ["email", "phone"]}).records == {LEAD}
    assert parse_scope({"kind": "all", "data_categories": ["comments",
                                                           "electronic_exchanges"]}).records \
        == {NOTE, EMAIL}


def test_the_window_and_ids_are_checked() -> None:
    s = parse_scope({"kind": "networks", "network_ids": ["n1", "n1", "n2"],
                     "changed_from": "2025-01-01T00:00:00+01:00", "changed_to": None})
    assert s.network_ids == ("n1", "n2") and s.changed_from is not None and s.changed_to is None
    for bad in ({"kind": "planet"}, {"kind": "all", "changed_from": "yesterday"},
                {"kind": "all", "changed_from": "2025-02-01T00:00:00Z",
                 "changed_to": "2025-01-01T00:00:00Z"},
                {"kind": "users", "user_ids": "u1"}, "all"):
        with pytest.raises(Invalid):
            parse_scope(bad)
