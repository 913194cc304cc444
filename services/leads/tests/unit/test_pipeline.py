"""Office pipeline: definition, transitions, pipeline edits."""

from typing import Any

import pytest

from leads.domain.pipeline import DEFAULT_PIPELINE, Pipeline, check_transition, plan_pipeline_change
from suivi_common.errors import Conflict, Invalid


def test_default_pipeline() -> None:
    assert DEFAULT_PIPELINE.statuses == (
        "new",
        "contacted",
        "meeting",
        "client",
        "distributor",
        "not_interested",
    )
    assert DEFAULT_PIPELINE.initial == "new"
    assert DEFAULT_PIPELINE.terminal == {"client", "distributor", "not_interested"}
    assert DEFAULT_PIPELINE.as_dict() == {
        "statuses": ["new", "contacted", "meeting", "client", "distributor", "not_interested"],
        "initial": "new",
        "terminal": ["client", "distributor", "not_interested"],
    }


def test_a_minimal_pipeline_is_valid() -> None:
    p = Pipeline(["todo"], "todo", [])
    assert p.statuses == ("todo",) and p.terminal == frozenset()


def test_pipelines_compare_by_value() -> None:
    assert Pipeline(["a", "b"], "a", {"b"}) == Pipeline(("a", "b"), "a", ["b"])


@pytest.mark.parametrize(
    ("statuses", "initial", "terminal", "field"),
    [
        ([], "new", [], "statuses"),
        (["new", "new"], "new", [], "statuses"),
        (["new", "Contacted"], "new", [], "statuses"),
        (["new", "a b"], "new", [], "statuses"),
        (["new", "1st"], "new", [], "statuses"),
        (["new", ""], "new", [], "statuses"),
        (["new", "x" * 41], "new", [], "statuses"),
        ([f"s{i}" for i in range(31)], "s0", [], "statuses"),
        (["new", "done"], "start", [], "initial"),
        (["new", "done"], "done", ["done"], "initial"),
        (["new", "done"], "new", ["closed"], "terminal"),
    ],
)
def test_pipeline_validation(statuses: Any, initial: str, terminal: list[Any], field: str) -> None:
    with pytest.raises(Invalid) as caught:
        Pipeline(statuses, initial, terminal)
    assert field in caught.value.fields


def test_pipeline_validation_reports_every_problem() -> None:
    with pytest.raises(Invalid) as caught:
        Pipeline(["a", "a"], "z", ["y"])
    assert set(caught.value.fields) == {"statuses", "initial", "terminal"}


@pytest.mark.parametrize(
    ("current", "new"),
    [
        ("new", "contacted"),
        ("new", "meeting"),  # skipping a step
        ("meeting", "contacted"),  # going back
        ("contacted", "new"),
        ("meeting", "client"),
        ("new", "not_interested"),
        ("contacted", "distributor"),
    ],
)
def test_allowed_transitions(current: str, new: str) -> None:
    assert check_transition(DEFAULT_PIPELINE, current, new) is True


@pytest.mark.parametrize("status", DEFAULT_PIPELINE.statuses)
def test_same_status_is_a_no_op(status: str) -> None:
    assert check_transition(DEFAULT_PIPELINE, status, status) is False


@pytest.mark.parametrize("new", ["closed", "", "NEW", "Client"])
def test_unknown_target_status_is_invalid(new: str) -> None:
    with pytest.raises(Invalid) as caught:
        check_transition(DEFAULT_PIPELINE, "new", new)
    assert list(caught.value.fields) == ["status"]


@pytest.mark.parametrize("current", ["client", "distributor", "not_interested"])
@pytest.mark.parametrize("new", ["new", "contacted", "client", "distributor", "not_interested"])
def test_leaving_a_terminal_status_needs_an_explicit_reopen(current: str, new: str) -> None:
    if new == current:
        assert check_transition(DEFAULT_PIPELINE, current, new) is False
        return
    with pytest.raises(Conflict) as caught:
        check_transition(DEFAULT_PIPELINE, current, new)
    assert caught.value.code == "status_terminal"
    assert check_transition(DEFAULT_PIPELINE, current, new, reopen=True) is True


def test_unknown_target_is_invalid_even_from_a_terminal_status() -> None:
    with pytest.raises(Invalid):
        check_transition(DEFAULT_PIPELINE, "client", "nope", reopen=True)


def test_a_lead_in_a_status_unknown_to_the_pipeline_can_move() -> None:
    assert check_transition(DEFAULT_PIPELINE, "legacy_status", "contacted") is True


# --- pipeline edits ---------------------------------------------------------------

NEW_PIPELINE = Pipeline(["new", "called", "meeting", "client", "lost"], "new", ["client", "lost"])


def test_removed_statuses_with_leads_must_be_mapped() -> None:
    counts = {"new": 4, "contacted": 3, "not_interested": 2, "distributor": 0}
    remap = {"contacted": "called", "not_interested": "lost"}
    assert plan_pipeline_change(DEFAULT_PIPELINE, NEW_PIPELINE, counts, remap) == {
        "contacted": "called",
        "not_interested": "lost",
    }


def test_missing_mapping_is_a_conflict() -> None:
    counts = {"contacted": 3, "not_interested": 2}
    with pytest.raises(Conflict) as caught:
        plan_pipeline_change(DEFAULT_PIPELINE, NEW_PIPELINE, counts, {"contacted": "called"})
    assert caught.value.code == "pipeline_status_in_use"
    assert "not_interested" in caught.value.message


def test_no_remap_needed_when_removed_statuses_are_empty() -> None:
    counts = {"new": 10, "contacted": 0, "meeting": 1}
    assert plan_pipeline_change(DEFAULT_PIPELINE, NEW_PIPELINE, counts, None) == {}


def test_mapping_for_an_empty_removed_status_is_accepted_and_ignored() -> None:
    counts = {"new": 1}
    assert plan_pipeline_change(DEFAULT_PIPELINE, NEW_PIPELINE, counts, {"contacted": "called"}) == {}


def test_leads_in_a_status_unknown_to_the_old_pipeline_must_be_mapped_too() -> None:
    counts = {"legacy": 2}
    with pytest.raises(Conflict):
        plan_pipeline_change(DEFAULT_PIPELINE, NEW_PIPELINE, counts, {})
    assert plan_pipeline_change(DEFAULT_PIPELINE, NEW_PIPELINE, counts, {"legacy": "new"}) == {
        "legacy": "new"
    }


@pytest.mark.parametrize(
    ("remap", "field"),
    [
        ({"contacted": "gone"}, "remap.contacted"),  # target not in the new pipeline
        ({"contacted": "contacted"}, "remap.contacted"),
        ({"meeting": "called"}, "remap.meeting"),  # meeting still exists
        ({"whatever": "new"}, "remap.whatever"),  # not a status at all
    ],
)
def test_invalid_mappings(remap: dict[str, Any], field: str) -> None:
    with pytest.raises(Invalid) as caught:
        plan_pipeline_change(DEFAULT_PIPELINE, NEW_PIPELINE, {"contacted": 1}, remap)
    assert field in caught.value.fields


def test_a_removed_terminal_status_may_map_to_a_non_terminal_one() -> None:
    counts = {"distributor": 5}
    assert plan_pipeline_change(DEFAULT_PIPELINE, NEW_PIPELINE, counts, {"distributor": "meeting"}) == {
        "distributor": "meeting"
    }


def test_unchanged_pipeline_needs_nothing() -> None:
    counts = dict.fromkeys(DEFAULT_PIPELINE.statuses, 3)
    assert plan_pipeline_change(DEFAULT_PIPELINE, DEFAULT_PIPELINE, counts, {}) == {}
