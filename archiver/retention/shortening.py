"""Whether a new policy set shortens or removes retention: what four-eyes guards.

Two answers, one for the future and one for the archive as it is:

- ``rule_changes`` compares the sets rule by rule (rules are matched by
  ``policy/name``) and lists every change that could make some message, present or
  ingested later, deletable sooner: a rule removed; a rule whose scope, exclusions or
  basis change; a ``retain`` shortened or dropped; a delete period shortened, or a
  delete action added (``then = "delete"`` or ``delete_after`` on an existing rule, or a
  new rule that deletes); a delete action dropped (when a scoped rule stops deleting, an
  org-wide rule's earlier delete may apply instead). What is left out can only keep messages
  longer: new retain-only rules, longer periods, descriptions and citations. It is a
  safe over-approximation: a change it lets through never makes a message deletable
  sooner (a property test checks this against the per-message decision).
- ``sooner`` decides every message in the archive under both sets (rules only, holds
  aside) and counts those whose deletion date moves earlier, or that become deletable at
  all, and those deletable at ``as_of`` under the new set but not the old one.

A change shortens retention when ``rule_changes`` lists anything or ``sooner`` counts
any message.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from archiver.retention.decisions import Evaluator, iter_facts
from archiver.retention.policy import Duration, PolicySet
from archiver.store.database import Store


def _text(duration: Duration | None) -> str:
    return duration.text if duration is not None else "none"


def _longer_or_equal(new: Duration | None, old: Duration | None) -> bool:
    """Whether period ``new`` is never shorter than ``old`` (None: no period)."""
    if old is None:
        return new is None
    return new is not None and new.at_least(old)


def rule_changes(old: PolicySet, new: PolicySet) -> list[str]:
    """Every rule change that could make a message deletable sooner (empty: none can)."""
    found: list[str] = []
    after = {r.key: r for r in new.rules}
    before = {r.key: r for r in old.rules}
    for key, o in before.items():
        n = after.get(key)
        if n is None:
            found.append(f"rule {key} is removed")
            continue
        if (n.scope, n.exclude, n.basis) != (o.scope, o.exclude, o.basis):
            found.append(f"rule {key} changes its scope, exclusions or basis")
        if o.retain is not None and not _longer_or_equal(n.retain, o.retain):
            found.append(f"rule {key} shortens retain from {o.retain.text} to {_text(n.retain)}")
        od, nd = o.delete_duration, n.delete_duration
        if nd is not None and (od is None or not nd.at_least(od)):
            found.append(f"rule {key} deletes after {nd.text} (before: {_text(od)})")
        if od is not None and nd is None:
            found.append(
                f"rule {key} stops deleting (an org-wide rule's earlier delete may then apply)"
            )
    for key, n in after.items():
        if key not in before and n.delete_duration is not None:
            found.append(f"new rule {key} deletes after {n.delete_duration.text}")
    return found


def sooner(
    store: Store, old: PolicySet, new: PolicySet, tz: str, as_of: datetime
) -> dict[str, Any]:
    """Messages of the archive that the new set would delete sooner (rules only)."""
    before, after = Evaluator(store, old, tz), Evaluator(store, new, tz)
    earlier = now_deletable = 0
    for facts in iter_facts(store):
        was = before.decide_without_holds(facts, as_of)
        will = after.decide_without_holds(facts, as_of)
        if will.deletable_at is not None and (
            was.deletable_at is None or will.deletable_at < was.deletable_at
        ):
            earlier += 1
        if will.deletable and not was.deletable:
            now_deletable += 1
    return {"messages_deletable_sooner": earlier, "newly_deletable_now": now_deletable}
