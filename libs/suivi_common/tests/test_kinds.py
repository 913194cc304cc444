"""The office kinds (issue 13 §1): a missing kind is construction, a subscription covers
a kind or both."""
import pytest

from suivi_common import kinds
from suivi_common.errors import Invalid


def test_a_missing_kind_is_construction() -> None:
    assert kinds.kind_of({}) == kinds.kind_of(None) == kinds.kind_of({"kind": None}) == \
        "construction"
    assert kinds.kind_of({"kind": "distribution"}) == "distribution"


def test_parse_kind_and_coverage() -> None:
    assert kinds.parse_kind(None) == "construction"
    assert kinds.parse_kind("distribution") == "distribution"
    for bad in ("both", "shop", 3):
        with pytest.raises(Invalid) as err:
            kinds.parse_kind(bad)
        assert err.value.code == "kind_unknown" and err.value.fields == {
            "kind": "distribution or construction"}
    assert kinds.parse_coverage("both") == "both"
    with pytest.raises(Invalid):
        kinds.parse_coverage("all")


@pytest.mark.parametrize(("coverage", "kind", "covered"), [
    ("construction", "construction", True), ("construction", "distribution", False),
    ("distribution", "distribution", True), ("distribution", "construction", False),
    ("both", "construction", True), ("both", "distribution", True),
    (None, "construction", True), (None, "distribution", False),
])
def test_covers(coverage: str | None, kind: str, covered: bool) -> None:
    assert kinds.covers(coverage, kind) is covered
