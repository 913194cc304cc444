"""Office pipeline: the ordered statuses a network admin defines for leads.

Transition policy (chosen for users who curate their office carefully):
- any move between non-terminal statuses is allowed, forwards or backwards:
  real prospecting skips steps and goes back (a missed meeting);
- a lead in a terminal status (client, distributor, not_interested) is closed:
  changing it is refused with Conflict "status_terminal" unless the caller
  passes ``reopen=True``, i.e. the user explicitly confirmed reopening. A stale
  screen or a misclick cannot silently reopen a closed lead (and re-fire the
  status automations), yet a genuine mistake can still be corrected;
- setting the status a lead already has is a no-op (returns False) so callers
  neither write history nor fire automations for it.

Pipeline edits: statuses that disappear while leads still sit in them must be
mapped to a status of the new pipeline (``plan_pipeline_change``), otherwise the
edit is refused with Conflict "pipeline_status_in_use".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from suivi_common.errors import Conflict, Invalid

SLUG = re.compile(r"[a-z][a-z0-9_]{0,39}")
MAX_STATUSES = 30


@dataclass(frozen=True)
class Pipeline:
    """A validated pipeline; build it with ``Pipeline(statuses, initial, terminal)``."""

    statuses: tuple[str, ...]
    initial: str
    terminal: frozenset[str]

    def __init__(self, statuses: Iterable[str], initial: str, terminal: Iterable[str]) -> None:
        object.__setattr__(self, "statuses", tuple(statuses))
        object.__setattr__(self, "initial", initial)
        object.__setattr__(self, "terminal", frozenset(terminal))
        errors = _pipeline_errors(self)
        if errors:
            raise Invalid("the pipeline is invalid", fields=errors)

    def is_terminal(self, status: str) -> bool:
        return status in self.terminal

    def as_dict(self) -> dict[str, object]:
        return {
            "statuses": list(self.statuses),
            "initial": self.initial,
            "terminal": [s for s in self.statuses if s in self.terminal],
        }


def _pipeline_errors(p: Pipeline) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not p.statuses:
        errors["statuses"] = "at least one status is required"
    elif len(p.statuses) > MAX_STATUSES:
        errors["statuses"] = f"at most {MAX_STATUSES} statuses"
    elif bad := [s for s in p.statuses if not isinstance(s, str) or not SLUG.fullmatch(s)]:
        errors["statuses"] = f"invalid slugs (lower-case letters, digits, _): {bad}"
    elif len(set(p.statuses)) != len(p.statuses):
        errors["statuses"] = "statuses must be unique"
    if p.initial not in p.statuses:
        errors["initial"] = "must be one of the statuses"
    elif p.initial in p.terminal:
        errors["initial"] = "the initial status cannot be terminal"
    if unknown := p.terminal - set(p.statuses):
        errors["terminal"] = f"not in statuses: {sorted(map(str, unknown))}"
    return errors


DEFAULT_PIPELINE = Pipeline(
    statuses=["new", "contacted", "meeting", "client", "distributor", "not_interested"],
    initial="new",
    terminal={"client", "distributor", "not_interested"},
)


def check_transition(pipeline: Pipeline, current: str, new: str, *, reopen: bool = False) -> bool:
    """Validate a status change; True if it changes something, False for a no-op.

    A `current` status unknown to the pipeline (data predating an edit) does not
    block: the lead may move to any valid status.
    """
    if new not in pipeline.statuses:
        raise Invalid("unknown status", fields={"status": f"must be one of {', '.join(pipeline.statuses)}"})
    if new == current:
        return False
    if pipeline.is_terminal(current) and not reopen:
        raise Conflict(
            f"the lead is closed as {current!r}; confirm reopening to change its status",
            code="status_terminal",
        )
    return True


def plan_pipeline_change(
    old: Pipeline,
    new: Pipeline,
    counts_by_status: Mapping[str, int],
    remap: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Return {removed_status: replacement} for every removed status that holds leads.

    `counts_by_status` is the number of leads per current status (statuses absent
    from `old` count as removed too). `remap` is what the admin supplied; entries
    for removed-but-empty statuses are accepted and ignored, entries for statuses
    that still exist are refused (use a status change for that).
    """
    remap = dict(remap or {})
    kept = set(new.statuses)
    removed_known = set(old.statuses) - kept
    errors: dict[str, str] = {}
    for source, target in remap.items():
        if source in kept:
            errors[f"remap.{source}"] = "this status still exists; only removed statuses can be remapped"
        elif source not in removed_known and not counts_by_status.get(source):
            errors[f"remap.{source}"] = "not a removed status"
        elif target not in kept:
            errors[f"remap.{source}"] = "the replacement must be a status of the new pipeline"
    if errors:
        raise Invalid("the status mapping is invalid", fields=errors)

    in_use = sorted(s for s, n in counts_by_status.items() if n > 0 and s not in kept)
    missing = [s for s in in_use if s not in remap]
    if missing:
        raise Conflict(
            f"leads are still in removed statuses {missing}; map each one to a new status",
            code="pipeline_status_in_use",
        )
    return {status: remap[status] for status in in_use}
