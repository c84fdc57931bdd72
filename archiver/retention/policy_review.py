"""What a policy change would do, shown before it is stored (``policy load`` and its
``--dry-run``): how many messages each rule applies to under the active set and under the
new one, what a purge run now would delete under each (held messages aside), and a
warning for every scope or exclusion value that matches nothing in the archive.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from archiver.retention.decisions import Evaluator, iter_facts
from archiver.retention.policy import PolicySet
from archiver.retention.scopes import Vocabulary
from archiver.store.database import Store


@dataclass
class Impact:
    """Messages each rule applies to under the active and the new policy set, and what a
    purge now would delete under each (held messages excluded)."""

    messages: int = 0
    before: Counter[str] = field(default_factory=Counter)
    after: Counter[str] = field(default_factory=Counter)
    either: Counter[str] = field(default_factory=Counter)
    deletable_before: int = 0
    deletable_after: int = 0


def measure(store: Store, old: PolicySet, new: PolicySet, now: datetime, tz: str) -> Impact:
    ev_old = Evaluator(store, old, tz)
    ev_new = ev_old.with_policy(new)
    out = Impact()
    for facts in iter_facts(store):
        out.messages += 1
        before = {r.key for r in ev_old.rules_for(facts)}
        after = {r.key for r in ev_new.rules_for(facts)}
        out.before.update(before)
        out.after.update(after)
        out.either.update(before | after)
        due_old, due_new = ev_old.due(facts, now), ev_new.due(facts, now)
        if (due_old or due_new) and not ev_old.holds.held_by(facts):
            out.deletable_before += due_old is not None
            out.deletable_after += due_new is not None
    return out


def scope_warnings(store: Store, policy: PolicySet, impact: Impact) -> list[dict[str, Any]]:
    """A warning for every scope or exclusion value of ``policy`` that matches nothing in
    the archive (with the nearest existing value), and for every rule that applies to no
    message although each of its values exists."""
    vocabulary = Vocabulary(store)
    out: list[dict[str, Any]] = []
    for rule in policy.rules:
        found = []
        for table, entries in (("scope", rule.scope), ("exclude", rule.exclude)):
            label = f"rule {rule.key}: {'exclude ' if table == 'exclude' else ''}"
            for key, globs in entries:
                for glob in globs:
                    hit = vocabulary.unmatched(key, glob, label + key)
                    if hit is not None:
                        found.append({"rule": rule.key, **hit, "field": f"{table}.{key}"})
        if not found and impact.messages and not impact.after[rule.key]:
            parts = "its scope and exclusions together" if rule.exclude else "its scope"
            found.append(
                {
                    "rule": rule.key,
                    "field": None,
                    "value": None,
                    "nearest": None,
                    "message": f"rule {rule.key} applies to none of the {impact.messages} "
                    f"message(s) in the archive: every value of {parts} exists, but no "
                    "message has them all",
                }
            )
        out.extend(found)
    return out


def changes(old: PolicySet, new: PolicySet, impact: Impact) -> list[dict[str, Any]]:
    """Rules added, removed or changed, each with the messages its old or new form
    applies to."""
    before = {r.key: r for r in old.rules}
    after = {r.key: r for r in new.rules}
    out = []
    for key in sorted(before.keys() | after.keys()):
        o, n = before.get(key), after.get(key)
        if o is not None and n is not None and o.as_dict() == n.as_dict():
            continue
        out.append(
            {
                "change": "added" if o is None else "removed" if n is None else "changed",
                "rule": key,
                "before": o.described() if o else None,
                "after": n.described() if n else None,
                "messages_affected": impact.either[key],
            }
        )
    return out


def rule_rows(old: PolicySet, new: PolicySet, impact: Impact) -> list[dict[str, Any]]:
    """Every rule of the new set (then those it removes) with its messages before/after."""
    before = {r.key: r for r in old.rules}
    after = {r.key: r for r in new.rules}
    rows = []
    for key in [*after, *(k for k in before if k not in after)]:
        o, n = before.get(key), after.get(key)
        if o is None:
            change = "added"
        elif n is None:
            change = "removed"
        else:
            change = "unchanged" if o.as_dict() == n.as_dict() else "changed"
        rows.append(
            {
                "rule": key,
                "change": change,
                "before": o.described() if o else None,
                "after": n.described() if n else None,
                "messages_before": impact.before[key] if o else None,
                "messages_after": impact.after[key] if n else None,
            }
        )
    return rows
