"""Pure helpers: stored form, edits through the capture pipeline, search keys, export
writers, sealed history values (no database)."""
from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.exceptions import InvalidTag
from openpyxl import load_workbook

from leads.domain import office_records as records
from leads.office_testing import raw_lead
from leads.usecases.office import export
from leads.usecases.office.context import open_value
from suivi_common.errors import Invalid

NOW = datetime(2025, 6, 2, 10, 0, tzinfo=UTC)
#: ``seal_value(bytes(range(32)), "old_value", SEALED_ROW, {"city": "Lyon"})`` as the office
#: wrote it with its own AAD helper, before it used ``crypto.aad``.
SEALED_ROW = uuid.UUID("00000000-0000-4000-8000-00000000a1d0")
SEALED_BEFORE = bytes.fromhex("0189b8522d43715ab5a8f3ce405491a9c8fd7f07831aeedcd9df391d765099f5"
                              "f9d2cc3a8599b1099a4daf8284")


def stored(**overrides: Any) -> dict[str, Any]:
    return records.validate_new(raw_lead(1, consent_at=datetime(2025, 6, 1, tzinfo=UTC),
                                         **overrides), NOW)


def test_a_personal_lead_goes_through_the_capture_pipeline() -> None:
    data = stored(mobile="06 12 34 56 78")
    assert data["mobile"]["e164"] == "+33612345678" and data["email"] == "lead1@example.fr"
    with pytest.raises(Invalid) as caught:
        records.validate_new({"first_name": "Jean"}, NOW)
    assert {"last_name", "country", "contact"} <= set(caught.value.fields)


def test_a_lead_met_in_person_needs_no_source_url_nor_consent_time() -> None:
    """Issue 13 §7: the user is its controller; a form lead still needs its provenance."""
    raw = {"first_name": "Anne", "last_name": "Salon", "country": "FR",
           "mobile": "06 12 34 56 78"}
    with pytest.raises(Invalid) as caught:
        records.validate_new(raw, NOW)
    assert {"source_url", "consent_at"} <= set(caught.value.fields)
    data = records.validate_new({**raw, "source": "direct"}, NOW)
    assert data["source_url"] is None and data["consent_at"] is None
    assert records.source_of(data) == "direct" and records.source_of(stored()) == "form"
    after, changes = records.apply_edit(data, {"city": "Lyon"}, NOW)  # edits stay possible
    assert after["city"] == "Lyon" and [c.field for c in changes] == ["city"]
    with pytest.raises(Invalid) as caught:
        records.validate_new({**raw, "source": "salon"}, NOW)
    assert set(caught.value.fields) == {"source"}
    with pytest.raises(Invalid) as caught:  # what is given is still checked
        records.validate_new({**raw, "source": "direct", "source_url": "ftp://x"}, NOW)
    assert set(caught.value.fields) == {"source_url"}


def test_an_edit_is_revalidated_and_diffed_field_by_field() -> None:
    before = stored()
    after, changes = records.apply_edit(before, {"city": "Lyon", "postal_code": "69001",
                                                 "mobile": "+33 7 00 00 00 01"}, NOW)
    assert after["city"] == "Lyon" and after["mobile"]["e164"] == "+33700000001"
    assert [c.field for c in changes] == ["city", "mobile", "postal_code"]
    assert changes[0].old == "Paris" and changes[0].new == "Lyon"


def test_a_no_op_edit_changes_nothing() -> None:
    before = stored()
    after, changes = records.apply_edit(before, {"city": " Paris ", "mobile": before["mobile"]["e164"]},
                                        NOW)
    assert changes == [] and after == before


@pytest.mark.parametrize(("changes", "field"), [
    ({"consent_at": "2025-01-01T00:00:00+00:00"}, "consent_at"),
    ({"source_url": "https://x.fr"}, "source_url"),
    ({"shoe_size": 42}, "shoe_size"),
    ({"email": "not-an-email"}, "email"),
    ({"postal_code": "ABC"}, "postal_code"),
    ({"email": None, "mobile": None, "landline": None}, "contact"),
])
def test_edits_that_are_refused(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(Invalid) as caught:
        records.apply_edit(stored(), changes, NOW)
    assert field in caught.value.fields


def test_stored_form_rebuilds_the_domain_record() -> None:
    lead = records.lead_from_stored(stored(mobile="0612345678", birth_date="1980-02-03"))
    assert lead.mobile is not None and lead.mobile.valid and lead.birth_date.year == 1980
    assert lead.consent_at.tzinfo is not None


def test_search_keys_are_normalised_like_the_filters() -> None:
    data = stored(city="Saint-Étienne", postal_code="42 000", email="Jean.X@Example.FR")
    keys = records.search_keys(data)
    assert keys["city_bidx"] == records.norm_city("saint etienne") == "saint etienne"
    assert keys["postal_bidx"] == records.norm_postal_code("42000")
    assert keys["email_bidx"] == records.norm_email("JEAN.X@example.fr")
    assert "+33612345678" in records.phone_candidates("06 12 34 56 78")
    assert records.phone_candidates("+32 470 12 34 56") == ["+32470123456"]
    assert records.phone_candidates("0033612345678") == ["+33612345678"]
    with pytest.raises(Invalid):
        records.phone_candidates("call me")


def _rows() -> list[list[Any]]:
    data = stored(first_name="=HYPERLINK(\"http://evil\")", last_name="Martin")
    return [export.row_values(NOW, "new", data), export.row_values(NOW, "client", stored(city="-2+3"))]


def test_xlsx_writer_neutralises_formulas_and_localises_headers() -> None:
    out = io.BytesIO()
    assert export.write_file("xlsx", "fr", _rows(), out) == 2
    out.seek(0)
    ws = load_workbook(out).active
    rows = list(ws.values)
    assert rows[0] == export.HEADERS["fr"]
    assert rows[1][2] == "=HYPERLINK(\"http://evil\")"  # text, not a formula
    assert ws.cell(row=2, column=3).data_type == "s"
    assert rows[1][0] == datetime(2025, 6, 2, 12, 0)  # Paris wall clock
    assert rows[1][4] == "+33600000001" and rows[2][8] == "client"


def test_csv_writer() -> None:
    out = io.BytesIO()
    export.write_file("csv", "en", _rows(), out)
    text = out.getvalue().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == list(export.HEADERS["en"])
    assert rows[1][2].startswith("'=") and rows[2][7] == "'-2+3" and rows[1][4] == "+33600000001"
    out = io.BytesIO()
    export.write_file("csv", "fr", _rows(), out)
    assert out.getvalue().startswith("\ufeffDate de création;Nom;".encode())


def test_history_values_sealed_before_still_open() -> None:
    key = bytes(range(32))
    assert open_value(key, "old_value", SEALED_ROW, SEALED_BEFORE) == {"city": "Lyon"}
    with pytest.raises(InvalidTag):  # bound to its column and row, as before
        open_value(key, "new_value", SEALED_ROW, SEALED_BEFORE)
