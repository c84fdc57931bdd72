"""Retention decisions, per message, explainable.

For a message at time t:

1. under any active legal hold -> kept (level 1, "hold");
2. retain-until = the latest end of every matching retain period (level 2);
3. delete candidates = matching rules with a delete action; scoped rules beat org-wide
   rules, and among the survivors the earliest delete time wins (level 3);
4. deletable at max(delete time, retain-until) (level 4); no delete candidate -> kept
   forever. Messages no rule matches are kept.

A message's scope values: its platform, its chat (title and key), every custodian it was
collected from, every participant of its conversation (names, keys and linked person
names) and its kind. A rule applies to a message when every key of its scope has a value
matching one of its globs (case-insensitive) and no key of its exclusions does.
``match_rule`` is that test, the only one: ``policy explain``, ``purge`` and
``retention forecast`` all decide through it. The ``sent`` basis uses the message time,
or its ingest time when the export gave it none (never earlier than the truth, so never
deleting early).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from archiver.archive.session import Archive
from archiver.core.errors import NotFound, Refused
from archiver.retention.policy import (
    Duration,
    PolicySet,
    Rule,
    from_document,
    load_files,
    lock_violations,
)
from archiver.retention.scopes import first_match
from archiver.store import auditlog
from archiver.store.auditlog import Invocation
from archiver.store.database import Store


@dataclass(frozen=True)
class MessageFacts:
    id: int
    chat_id: int
    kind: str
    sent_at: int | None
    ingested_at: int
    custodians: tuple[int, ...]
    empty_text: bool

    def basis(self, rule: Rule) -> int:
        if rule.basis == "ingested" or self.sent_at is None:
            return self.ingested_at
        return self.sent_at


class Universe:
    """The names scopes are matched against (as written), loaded once per evaluation."""

    def __init__(self, store: Store) -> None:
        self.chats: dict[int, tuple[str, list[str]]] = {}
        for cid, platform, key, title in store.execute(
            "SELECT id, platform, key, title FROM chats"
        ):
            self.chats[int(cid)] = (platform, list(dict.fromkeys(v for v in (title, key) if v)))
        self.custodians = {int(i): n for i, n in store.execute("SELECT id, name FROM custodians")}
        self.people: dict[int, list[str]] = {}
        found: dict[int, set[str]] = {}
        for chat_id, key, name, person in store.execute(
            "SELECT DISTINCT m.chat_id, p.key, p.name, pe.name FROM messages m "
            "JOIN participants p ON p.id = m.sender_id LEFT JOIN persons pe ON pe.id = p.person_id"
        ):
            found.setdefault(int(chat_id), set()).update(v for v in (key, name, person) if v)
        self.people = {c: sorted(names) for c, names in found.items()}

    def values(self, key: str, facts: MessageFacts) -> list[str]:
        """A message's values for one scope key."""
        platform, chat_names = self.chats.get(facts.chat_id, ("", []))
        if key == "platform":
            return [platform]
        if key == "chat":
            return chat_names
        if key == "custodian":
            return [self.custodians[c] for c in facts.custodians if c in self.custodians]
        if key == "participant":
            return self.people.get(facts.chat_id, [])
        return [facts.kind]


@dataclass(frozen=True)
class RuleMatch:
    """Whether a rule applies to a message, and which glob decided it.

    ``included_by``: per scope key, the glob and the message's value it matched.
    ``missed``: the scope key none of whose globs matched (the rule does not apply).
    ``excluded_by``: the exclusion key, glob and value that took the message out."""

    rule: Rule
    applies: bool
    included_by: tuple[tuple[str, str, str], ...] = ()
    missed: tuple[str, tuple[str, ...], tuple[str, ...]] | None = None
    excluded_by: tuple[str, str, str] | None = None

    @property
    def why(self) -> str:
        if self.missed is not None:
            key, globs, values = self.missed
            have = ", ".join(repr(v) for v in values) if values else "none"
            wanted = ", ".join(repr(g) for g in globs)
            return f"out: its {key} scope ({wanted}) matches none of the message's ({have})"
        if self.excluded_by is not None:
            key, glob, value = self.excluded_by
            return f"out: excluded by {key} {glob!r} (matches {value!r})"
        parts = [f"{key} {glob!r} matches {value!r}" for key, glob, value in self.included_by]
        why = "in: " + ("; ".join(parts) if parts else "org-wide")
        if self.rule.exclude:
            why += "; no exclusion matches"
        return why

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule.key,
            "applies": self.applies,
            "why": self.why,
            "included_by": [{"key": k, "glob": g, "value": v} for k, g, v in self.included_by],
            "excluded_by": (
                None
                if self.excluded_by is None
                else dict(zip(("key", "glob", "value"), self.excluded_by, strict=True))
            ),
        }


def match_rule(rule: Rule, facts: MessageFacts, uni: Universe) -> RuleMatch:
    """Whether ``rule`` applies to the message: every scope key matches, no exclusion does."""
    included = []
    for key, globs in rule.scope:
        if globs == ("*",):
            continue
        values = uni.values(key, facts)
        hit = first_match(globs, values)
        if hit is None:
            return RuleMatch(rule, False, missed=(key, globs, tuple(values)))
        included.append((key, *hit))
    for key, globs in rule.exclude:
        hit = first_match(globs, uni.values(key, facts))
        if hit is not None:
            return RuleMatch(rule, False, tuple(included), excluded_by=(key, *hit))
    return RuleMatch(rule, True, tuple(included))


def rule_matches(rule: Rule, facts: MessageFacts, uni: Universe) -> bool:
    return match_rule(rule, facts, uni).applies


def _ts(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


@dataclass
class Decision:
    """What happens to one message at ``as_of`` and why."""

    message_id: int
    deletable: bool
    level: int
    reason: str
    held_by: list[str] = field(default_factory=list)
    matched: list[str] = field(default_factory=list)
    retain_until: datetime | None = None
    retain_rule: str | None = None
    delete_at: datetime | None = None
    delete_rule: str | None = None
    delete_candidates: list[dict[str, Any]] = field(default_factory=list)
    deletable_at: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        def iso(at: datetime | None) -> str | None:
            return None if at is None else auditlog.format_time(at)

        return {
            "message_id": self.message_id,
            "deletable": self.deletable,
            "level": self.level,
            "reason": self.reason,
            "held_by": self.held_by,
            "matched_rules": self.matched,
            "retain_until": iso(self.retain_until),
            "retain_rule": self.retain_rule,
            "delete_candidates": self.delete_candidates,
            "delete_at": iso(self.delete_at),
            "delete_rule": self.delete_rule,
            "deletable_at": iso(self.deletable_at),
        }


def decide(facts: MessageFacts, rules: list[Rule], held_by: list[str], as_of: datetime) -> Decision:
    """The four levels for one message; ``rules`` are the rules matching it.

    ``level`` says which level decided: 1 a hold; 2 the longest retention (it outlasts the
    delete time); 3 the delete time (scoped before org-wide, then the earliest); 4 no
    delete candidate, so the message is kept."""
    matched = [r.key for r in rules]
    retains = [(r.retain.after(_ts(facts.basis(r))), r) for r in rules if r.retain is not None]
    retain_until, retain_rule = max(retains, key=lambda x: x[0]) if retains else (None, None)
    candidates = [
        (dur.after(_ts(facts.basis(r))), r) for r in rules if (dur := r.delete_duration) is not None
    ]
    scoped = [c for c in candidates if not c[1].org_wide]
    survivors = scoped or candidates
    delete_at, delete_rule = min(survivors, key=lambda x: x[0]) if survivors else (None, None)
    d = Decision(
        facts.id,
        False,
        1,
        "",
        held_by=held_by,
        matched=matched,
        retain_until=retain_until,
        retain_rule=retain_rule.key if retain_rule else None,
        delete_at=delete_at,
        delete_rule=delete_rule.key if delete_rule else None,
        delete_candidates=[
            {
                "rule": r.key,
                "at": auditlog.format_time(at),
                "scope": "org-wide" if r.org_wide else "scoped",
                "considered": (at, r) in survivors,
            }
            for at, r in candidates
        ],
    )
    if held_by:
        d.reason = f"kept: under legal hold {', '.join(held_by)} (a hold beats every rule)"
        return d
    if not rules:
        d.level, d.reason = 4, "kept: no retention rule matches this message"
        return d
    if delete_at is None:
        d.level = 4
        d.reason = "kept forever: the matching rules only retain; none deletes"
        return d
    d.deletable_at = max(delete_at, retain_until) if retain_until else delete_at
    d.deletable = as_of >= d.deletable_at
    deferred = retain_until is not None and retain_until > delete_at
    d.level = 2 if deferred else 3
    why = f"delete by {d.delete_rule}"
    if scoped and len(scoped) < len(candidates):
        why += " (scoped rules beat org-wide rules)"
    if deferred and retain_rule is not None:
        why += (
            f", deferred until the retention of {retain_rule.key} ends (retention beats deletion)"
        )
    when = auditlog.format_time(d.deletable_at)
    d.reason = (f"deletable since {when}: " if d.deletable else f"kept until {when}: ") + why
    return d


# --- loading facts and policies -------------------------------------------------------------


def iter_facts(store: Store, ids: list[int] | None = None) -> Iterator[MessageFacts]:
    """Every message's retention facts in id order (custodians merged in one pass)."""
    where = ""
    params: list[Any] = []
    if ids is not None:
        where = f"WHERE m.id IN ({','.join('?' * len(ids))})"
        params = list(ids)
    custody = store.conn.execute(
        "SELECT message_id, custodian_id FROM message_custodians"
        + (f" WHERE message_id IN ({','.join('?' * len(ids))})" if ids is not None else "")
        + " ORDER BY message_id",
        params,
    )
    pending = custody.fetchone()
    for mid, chat_id, kind, sent_at, ingested_at, empty, first in store.conn.execute(
        "SELECT m.id, m.chat_id, m.kind, m.sent_at, m.ingested_at, m.text = '', m.custodian_id "
        f"FROM messages m {where} ORDER BY m.id",
        params,
    ):
        holders = [] if first is None else [int(first)]
        while pending is not None and pending[0] <= mid:
            if pending[0] == mid:
                holders.append(int(pending[1]))
            pending = custody.fetchone()
        yield MessageFacts(
            int(mid), int(chat_id), kind, sent_at, int(ingested_at), tuple(holders), bool(empty)
        )


def active_policy(store: Store) -> PolicySet:
    row = store.execute(
        "SELECT version, locked, document FROM policy_sets ORDER BY version DESC LIMIT 1"
    ).fetchone()
    if row is None:
        return PolicySet()
    return from_document(json.loads(row[2]), int(row[0]), bool(row[1]))


class Evaluator:
    """Decides messages against the active policy set and the active holds."""

    def __init__(self, store: Store, policy: PolicySet, tz: str) -> None:
        from archiver.retention.holds import HoldMatcher

        self.policy = policy
        self.rules = policy.rules
        self.uni = Universe(store)
        self.holds = HoldMatcher(store, tz)
        self._cache: dict[tuple[int, tuple[int, ...], str], list[Rule]] = {}
        self._cutoffs: dict[tuple[Duration, datetime], int] = {}

    def with_policy(self, policy: PolicySet) -> Evaluator:
        """An evaluator of another policy set over the same archive names and holds."""
        other = Evaluator.__new__(Evaluator)
        other.policy, other.rules = policy, policy.rules
        other.uni, other.holds = self.uni, self.holds
        other._cache, other._cutoffs = {}, self._cutoffs
        return other

    def rules_for(self, facts: MessageFacts) -> list[Rule]:
        key = (facts.chat_id, facts.custodians, facts.kind)
        hit = self._cache.get(key)
        if hit is None:
            hit = [r for r in self.rules if rule_matches(r, facts, self.uni)]
            self._cache[key] = hit
        return hit

    def decide(self, facts: MessageFacts, as_of: datetime) -> Decision:
        return decide(facts, self.rules_for(facts), self.holds.held_by(facts), as_of)

    def decide_without_holds(self, facts: MessageFacts, as_of: datetime) -> Decision:
        """What the rules alone would do (to report what holds are preserving)."""
        return decide(facts, self.rules_for(facts), [], as_of)

    def due(self, facts: MessageFacts, as_of: datetime) -> str | None:
        """The deciding delete rule if the rules alone make the message deletable at
        ``as_of``, else None: the same answer as ``decide``, without calendar arithmetic
        per message (each rule's cutoff is computed once; see ``_cutoff``)."""
        rules = self.rules_for(facts)
        if not rules:
            return None
        for r in rules:
            if r.retain is not None and facts.basis(r) > self._cutoff(r.retain, as_of):
                return None
        candidates = [r for r in rules if r.delete_duration is not None]
        scoped = [r for r in candidates if not r.org_wide]
        survivors = scoped or candidates
        reached = [
            r
            for r in survivors
            if facts.basis(r) <= self._cutoff(r.delete_duration, as_of)  # type: ignore[arg-type]
        ]
        if not reached:
            return None
        if len(survivors) == 1:
            return reached[0].key
        return decide(facts, rules, [], as_of).delete_rule

    def _cutoff(self, duration: Duration, as_of: datetime) -> int:
        """The latest basis time (epoch seconds) whose ``basis + duration`` is at or
        before ``as_of``. Adding a calendar duration never moves a later time before an
        earlier one, so the times that qualify are exactly those up to this cutoff."""
        key = (duration, as_of)
        hit = self._cutoffs.get(key)
        if hit is None:
            limit = int(as_of.timestamp())
            lo, hi = -(1 << 36), limit
            while lo < hi:  # largest b with b + duration <= as_of
                mid = (lo + hi + 1) // 2
                if duration.after(_ts(mid)) <= as_of:
                    lo = mid
                else:
                    hi = mid - 1
            hit = self._cutoffs[key] = lo
        return hit


# --- use cases ------------------------------------------------------------------------------


def load_policy(
    archive: Archive,
    paths: list[Any],
    inv: Invocation,
    *,
    lock: bool = False,
    dry_run: bool = False,
) -> dict[str, Any]:
    """Validate policy files and store them as the new active version (a locked set only
    accepts longer retention and new retain-only rules); ``dry_run`` reports the same and
    stores nothing.

    The report lists every rule with its scope and how many messages it applies to under
    the active version and under the new one, what a purge now would delete under each,
    and a warning for every scope value that matches nothing in the archive."""
    return store_policy_set(archive, load_files(paths), inv, lock=lock, dry_run=dry_run)


def store_policy_set(
    archive: Archive,
    new: PolicySet,
    inv: Invocation,
    *,
    lock: bool = False,
    dry_run: bool = False,
) -> dict[str, Any]:
    """``load_policy`` for a policy set already validated (four-eyes approval stores the
    set a request was filed with)."""
    from archiver.retention import policy_review

    store = archive.store
    now = inv.now()
    with store.transaction():
        old = active_policy(store)
        if old.locked:
            problems = lock_violations(old, new)
            if problems:
                raise Refused(
                    f"policy version {old.version} is locked (preservation lock); refused: "
                    + "; ".join(problems)
                )
        impact = policy_review.measure(store, old, new, now, archive.default_tz)
        warnings = policy_review.scope_warnings(store, new, impact)
        version = (old.version or 0) + 1
        locked = lock or old.locked
        if not dry_run:
            store.execute(
                "INSERT INTO policy_sets(version, loaded_at, loaded_by, locked, sha256, "
                "document) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    version,
                    int(now.timestamp()),
                    inv.user,
                    int(locked),
                    new.sha256(),
                    json.dumps(new.document()),
                ),
            )
        report = {
            "dry_run": dry_run,
            "version": version,
            "previous_version": old.version,
            "locked": locked,
            "sha256": new.sha256(),
            "files": [{"file": p.file, "policy": p.name, "sha256": p.sha256} for p in new.policies],
            "changes": policy_review.changes(old, new, impact),
            "would_delete_now": {
                "as_of": auditlog.format_time(now),
                "before": impact.deletable_before,
                "after": impact.deletable_after,
            },
        }
        auditlog.append(store, inv, details=report | {"warnings": len(warnings)})
    return report | {
        "messages": impact.messages,
        "rules": policy_review.rule_rows(old, new, impact),
        "warnings": warnings,
    }


def list_policies(archive: Archive, inv: Invocation) -> list[dict[str, Any]]:
    store = archive.store
    with store.transaction():
        rows = store.rows(
            "SELECT version, loaded_at, loaded_by, locked, sha256, document FROM policy_sets "
            "ORDER BY version DESC"
        )
        out = []
        for i, r in enumerate(rows):
            doc = json.loads(r["document"])
            out.append(
                {
                    "version": r["version"],
                    "active": i == 0,
                    "loaded_at": auditlog.format_time(_ts(r["loaded_at"])),
                    "loaded_by": r["loaded_by"],
                    "locked": bool(r["locked"]),
                    "sha256": r["sha256"],
                    "policies": [p["name"] for p in doc["policies"]],
                    "rules": sum(len(p["rules"]) for p in doc["policies"]),
                }
            )
        auditlog.append(store, inv, details={"versions": len(out)})
    return out


def show_policy(archive: Archive, inv: Invocation, version: int | None = None) -> dict[str, Any]:
    store = archive.store
    with store.transaction():
        if version is None:
            policy = active_policy(store)
        else:
            row = store.execute(
                "SELECT version, locked, document FROM policy_sets WHERE version = ?", (version,)
            ).fetchone()
            if row is None:
                raise NotFound(f"no policy version {version}; see `archiver policy list`")
            policy = from_document(json.loads(row[2]), int(row[0]), bool(row[1]))
        if policy.version is None:
            raise NotFound(
                "no policy loaded yet; load one with `archiver policy load retention_policies/`"
            )
        auditlog.append(store, inv, details={"version": policy.version})
    return {
        "version": policy.version,
        "locked": policy.locked,
        "sha256": policy.sha256(),
        "policies": [
            {k: v for k, v in p.as_dict().items() if k != "source"}
            | {"rules": [r.described() for r in p.rules]}
            for p in policy.policies
        ],
    }


def explain(archive: Archive, message_id: int, as_of: datetime, inv: Invocation) -> dict[str, Any]:
    """Which rules and holds apply to a message, which level decided, and when (if ever)
    it becomes deletable; for every rule of the active set, why it applies or not (the
    glob that matched each scope key, the key that matched nothing, or the exclusion
    that took the message out)."""
    store = archive.store
    with store.transaction():
        facts = next(iter_facts(store, [message_id]), None)
        if facts is None:
            tomb = store.execute(
                "SELECT rule, purged_at FROM tombstones WHERE message_id = ? LIMIT 1", (message_id,)
            ).fetchone()
            if tomb is not None:
                raise NotFound(
                    f"message {message_id} was purged on {auditlog.format_time(_ts(tomb[1]))} "
                    f"under rule {tomb[0]}; only its tombstone remains"
                )
            raise NotFound(f"no message with id {message_id}; find ids with `archiver search`")
        policy = active_policy(store)
        ev = Evaluator(store, policy, archive.default_tz)
        decision = ev.decide(facts, as_of)
        matches = [match_rule(r, facts, ev.uni).as_dict() for r in ev.rules]
        auditlog.append(
            store,
            inv,
            details={"id": message_id, "deletable": decision.deletable, "level": decision.level},
        )
    out = decision.as_dict()
    out["as_of"] = auditlog.format_time(as_of)
    out["policy_version"] = policy.version
    out["rules"] = matches
    return out
