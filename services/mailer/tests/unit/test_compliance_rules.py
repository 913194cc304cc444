"""The mailer's side of compliance's contract, without broker or database: what a notice
event must carry, the key that makes a notice one email, the notice's wording, the
data-subject task and its report, and the data map against the register's schema
(``suivi_common.datamap``, the one compliance reads it with)."""
from __future__ import annotations

import copy
from typing import Any

import pytest

from mailer import templates
from mailer.domain import compliance_notices as notices
from mailer.domain import datamap
from mailer.domain import subject_requests as dsr
from mailer.domain.messages import InvalidPayload
from mailer.usecases import subject_requests
from suivi_common import dsr as common_dsr
from suivi_common.datamap import DATA_MAP_SCHEMA, MAX_TEXT, parse_data_map

BREACH = {"breach_id": "b-1", "user_id": "u-1", "stage": 1, "subject": "Violation",
          "text": "Bonjour,\n\nUne violation."}


# --- notices ---------------------------------------------------------------------------------

def test_a_notice_key_names_the_notice_whatever_event_asked_for_it() -> None:
    key = notices.recipient_key(notices.BREACH, "b-1", "u-1", 1)
    assert key == notices.recipient_key(notices.BREACH, "b-1", "u-1", 1)
    assert key.version == 5  # derived, not random: stable across processes and releases
    others = {notices.recipient_key(notices.BREACH, "b-1", "u-1", 2),
              notices.recipient_key(notices.BREACH, "b-1", "u-2", 1),
              notices.recipient_key(notices.SUBPROCESSOR, "b-1", "u-1", 1),
              notices.recipient_key(notices.BREACH, "b-1u", "-1", 1)}
    assert key not in others and len(others) == 4
    assert notices.parse_breach(BREACH).key == key


def test_a_breach_notice_needs_its_ids_and_stage_but_not_its_wording() -> None:
    parsed = notices.parse_breach(BREACH)
    assert (parsed.breach_id, parsed.user_id, parsed.stage) == ("b-1", "u-1", 1)
    assert parsed.wording == notices.Wording("Violation", "Bonjour,\n\nUne violation.")
    assert parsed.report("sent") == {"breach_id": "b-1", "user_id": "u-1", "stage": 1,
                                     "status": "sent"}
    assert notices.parse_breach({**BREACH, "text": ""}).wording is None  # reported failed
    assert notices.parse_breach({**BREACH, "subject": None}).wording is None
    for bad in ({**BREACH, "stage": "1"}, {**BREACH, "stage": True}, {**BREACH, "stage": -1},
                {**BREACH, "breach_id": ""}, {**BREACH, "user_id": None},
                {**BREACH, "user_id": "x" * 65}, {**BREACH, "breach_id": "a\nb"}, ["b-1"]):
        with pytest.raises(InvalidPayload):
            notices.parse_breach(bad)


def test_a_change_needs_its_id_and_wording() -> None:
    change = notices.parse_change({"change_id": "c-1", "subject": " Changement ", "text": "T"})
    assert change == notices.Change("c-1", notices.Wording("Changement", "T"))
    for bad in ({"change_id": "c-1", "subject": "S"}, {"subject": "S", "text": "T"}, None):
        with pytest.raises(InvalidPayload):
            notices.parse_change(bad)


def test_the_register_lists_each_controller_once_and_skips_what_is_not_one() -> None:
    answer = {"count": 4, "items": [
        {"user_id": "u-1", "network_id": "n-1", "name": "A", "email": "a@x.test"},
        {"user_id": "u-2", "network_id": None, "name": "B", "email": "b@x.test"},
        {"user_id": "u-1", "network_id": "n-1"}, {"user_id": ""}, "junk", {"name": "C"}]}
    assert notices.controllers(answer) == [notices.Controller("u-1", "n-1"),
                                           notices.Controller("u-2", None)]
    with pytest.raises(ValueError):
        notices.controllers({"count": 0})


def test_a_notice_is_sent_as_written_with_a_safe_html_part() -> None:
    text = ("Madame,\n\nVoir https://app.suivi.test/breaches/1?a=1&b=2 pour répondre.\n"
            "Ligne <b>deux</b>.\n\nL'équipe")
    rendered = templates.compliance_notice("Violation\r\nBcc: x@evil.test", text)
    assert rendered.subject == "Violation Bcc: x@evil.test"  # one line: no header injected
    assert rendered.text == text + "\n"
    assert rendered.html.count("<p>") == 3
    assert "&lt;b&gt;deux&lt;/b&gt;" in rendered.html and "<b>" not in rendered.html
    assert ('<a href="https://app.suivi.test/breaches/1?a=1&amp;b=2">'
            "https://app.suivi.test/breaches/1?a=1&amp;b=2</a>") in rendered.html
    assert "href" not in templates.compliance_notice("S", "javascript:alert(1)").html


# --- data-subject tasks ----------------------------------------------------------------------

def test_only_the_mailers_tasks_with_a_request_id_are_taken() -> None:
    assert dsr.parse_task({"request_id": "r-1", "service": "mailer", "kind": "erasure"}) == \
        dsr.Task("r-1", "erasure")
    assert dsr.parse_task({"request_id": "r-1", "service": "leads", "kind": "erasure"}) is None
    assert dsr.parse_task({"service": "mailer", "kind": "erasure"}) is None
    assert dsr.parse_task({"request_id": "r" * 65, "service": "mailer"}) is None
    assert dsr.parse_task("mailer") is None


def test_addresses_are_indexed_as_the_mailer_indexes_them() -> None:
    assert dsr.address_of(" Lea.Martin@Example.TEST ") == "lea.martin@example.test"
    assert dsr.address_of("no-at-sign") is None and dsr.address_of(None) is None
    assert dsr.address_of("a@b\n.test") is None
    assert dsr.new_address({"email": " New@Example.test "}) == "New@Example.test"
    assert dsr.new_address({"first_name": "Léa"}) is None and dsr.new_address(None) is None


def test_the_kinds_are_the_contracts() -> None:
    assert dsr.KINDS == {kind.value for kind in common_dsr.Kind}
    assert dsr.READS == {kind.value for kind in common_dsr.DATA_KINDS} and dsr.READS < dsr.KINDS


class Emitting:
    """Enough of a ``Ctx`` for a task refused before any work: the outbox only."""

    def __init__(self) -> None:
        self.emitted: list[tuple[str, dict[str, Any]]] = []

    def emit(self, event_type: str, payload: dict[str, Any]) -> None:
        self.emitted.append((event_type, payload))


def test_an_unknown_kind_is_reported_failed_and_another_services_task_ignored() -> None:
    ctx = Emitting()
    task = {"request_id": "r-1", "service": "mailer", "kind": "forget_me", "attempt": 1}
    report = subject_requests.on_task_requested(ctx, task)
    assert report == {"request_id": "r-1", "service": "mailer", "found": False,
                      "records_affected": 0, "error": "unknown kind 'forget_me'"}
    assert ctx.emitted == [("dsr_task_reported", report)]
    assert subject_requests.on_task_requested(ctx, {**task, "service": "leads"}) is None
    assert len(ctx.emitted) == 1


# --- the data map ----------------------------------------------------------------------------

def test_the_data_map_parses_as_compliance_reads_it() -> None:
    answer = datamap.data_map()
    parsed = parse_data_map(answer)  # raises on any field out of the format
    assert parsed.service == "mailer" and len(parsed.activities) == len(answer["activities"])
    broken = copy.deepcopy(answer)
    broken["activities"][0]["role"] = "owner"
    with pytest.raises(ValueError):
        parse_data_map(broken)


def test_the_data_map_is_valid_against_compliances_schema() -> None:
    jsonschema_rs = pytest.importorskip("jsonschema_rs")
    answer = datamap.data_map()
    jsonschema_rs.validator_for(DATA_MAP_SCHEMA).validate(answer)
    texts = [a[k] for a in answer["activities"] for k in ("name", "legal_basis", "retention")]
    texts += [t for a in answer["activities"] for k in ("purposes", "data_subjects",
                                                         "categories", "recipients",
                                                         "security_measures") for t in a[k]]
    assert all(t.strip() and len(t) <= MAX_TEXT for t in texts)
    broken = copy.deepcopy(answer)
    broken["activities"][0]["role"] = "owner"
    with pytest.raises(jsonschema_rs.ValidationError):
        jsonschema_rs.validator_for(DATA_MAP_SCHEMA).validate(broken)


def test_the_data_map_names_what_the_mailer_keeps() -> None:
    answer = datamap.data_map()
    names = " ".join(a["name"] for a in answer["activities"])
    for thing in ("prospects", "opposition", "système", "Gmail"):
        assert thing in names
    answer["activities"][0]["purposes"].append("changed")  # a copy: the next call is intact
    assert "changed" not in datamap.data_map()["activities"][0]["purposes"]
