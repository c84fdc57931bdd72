"""What counts as a policy change that shortens or removes retention (four-eyes guards it):
named cases, and a property: a change the rule-by-rule comparison lets through never makes
any message deletable sooner."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from archiver.retention.decisions import MessageFacts, Universe, decide, rule_matches
from archiver.retention.policy import Duration, Policy, PolicySet, Rule
from archiver.retention.shortening import rule_changes

Y1, Y2, Y3 = Duration("1 year", 1), Duration("2 years", 2), Duration("3 years", 3)
M18 = Duration("18 months", 0, 18)
EVERYWHERE: tuple[tuple[str, tuple[str, ...]], ...] = ()
DESK = (("chat", ("desk*",)),)


def rule(
    name: str = "r",
    scope: tuple[tuple[str, tuple[str, ...]], ...] = EVERYWHERE,
    retain: Duration | None = None,
    then: str = "keep",
    delete_after: Duration | None = None,
    basis: str = "sent",
) -> Rule:
    return Rule("p", name, scope, basis, retain, then, delete_after)


def policy(*rules: Rule) -> PolicySet:
    return PolicySet((Policy("p", "p.toml", "0", None, None, tuple(rules), ""),))


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (policy(rule(delete_after=Y2)), policy(rule(delete_after=Y3)), []),
        (policy(rule(retain=Y2)), policy(rule(retain=Y3)), []),
        (policy(rule(delete_after=Y2)), policy(rule(delete_after=Y2), rule("k", retain=Y3)), []),
        (
            policy(rule(delete_after=Y2)),
            policy(rule(delete_after=M18)),
            ["rule p/r deletes after 18 months (before: 2 years)"],
        ),
        (
            policy(rule(retain=Y3, then="delete")),
            policy(rule(retain=Y2, then="delete")),
            [
                "rule p/r shortens retain from 3 years to 2 years",
                "rule p/r deletes after 2 years (before: 3 years)",
            ],
        ),
        (
            policy(rule(retain=Y3)),
            policy(rule(retain=Y3, then="delete")),
            ["rule p/r deletes after 3 years (before: none)"],
        ),
        (policy(rule(retain=Y3)), policy(), ["rule p/r is removed"]),
        (PolicySet(), policy(rule(delete_after=Y3)), ["new rule p/r deletes after 3 years"]),
        (PolicySet(), policy(rule(retain=Y3)), []),
        (
            policy(rule(delete_after=Y2)),
            policy(rule(delete_after=Y2, scope=DESK)),
            ["rule p/r changes its scope, exclusions or basis"],
        ),
        (
            policy(rule(retain=Y3)),
            policy(dataclasses.replace(rule(retain=Y3), exclude=DESK)),
            ["rule p/r changes its scope, exclusions or basis"],
        ),
        (
            policy(rule("scoped", DESK, delete_after=Y3), rule("all", delete_after=Y1)),
            policy(rule("scoped", DESK, retain=Y3), rule("all", delete_after=Y1)),
            ["rule p/scoped stops deleting (an org-wide rule's earlier delete may then apply)"],
        ),
    ],
    ids=[
        "longer-delete",
        "longer-retain",
        "new-retain-only-rule",
        "shorter-delete",
        "shorter-retain-then-delete",
        "delete-added",
        "rule-removed",
        "first-policy-deletes",
        "first-policy-retains",
        "scope-changed",
        "exclusion-added",
        "scoped-delete-dropped",
    ],
)
def test_rule_changes(old: PolicySet, new: PolicySet, expected: list[str]) -> None:
    assert rule_changes(old, new) == expected


# --- the property ---------------------------------------------------------------------------

DURATIONS = [Y1, M18, Y2, Y3]
SCOPES = [EVERYWHERE, DESK, (("kind", ("media",)),), (("chat", ("family*",)),)]


@st.composite
def rules(draw: st.DrawFn, name: str) -> Rule:
    scope = draw(st.sampled_from(SCOPES))
    basis = draw(st.sampled_from(["sent", "ingested"]))
    shape = draw(st.sampled_from(["retain", "retain-then-delete", "delete"]))
    period = draw(st.sampled_from(DURATIONS))
    if shape == "delete":
        return rule(name, scope, delete_after=period, basis=basis)
    return rule(
        name, scope, retain=period, then="delete" if shape != "retain" else "keep", basis=basis
    )


@st.composite
def policy_sets(draw: st.DrawFn) -> PolicySet:
    names = draw(st.lists(st.sampled_from("abcd"), unique=True, max_size=4))
    return policy(*[draw(rules(n)) for n in sorted(names)])


def universe() -> Universe:
    uni = object.__new__(Universe)
    uni.chats = {
        1: ("whatsapp", ["desk emea"]),
        2: ("whatsapp", ["family"]),
        3: ("telegram", ["ops"]),
    }
    uni.custodians = {}
    uni.people = {}
    return uni


MESSAGES = [
    MessageFacts(i, chat, kind, sent, sent + 86400 * 30, (), False)
    for i, (chat, kind, sent) in enumerate(
        [
            (c, k, s)
            for c in (1, 2, 3)
            for k in ("text", "media")
            for s in (1_600_000_000, 1_700_000_000)
        ]
    )
]
AS_OF = datetime(2030, 1, 1, tzinfo=UTC)


def deletable_at(ps: PolicySet, facts: MessageFacts, uni: Universe) -> datetime | None:
    matching = [r for r in ps.rules if rule_matches(r, facts, uni)]
    return decide(facts, matching, [], AS_OF).deletable_at


def longer(d: Duration) -> Duration:
    """A period six months longer than ``d``."""
    return Duration(f"{d.text} and 6 months", d.years, d.months + 6, d.days)


@st.composite
def changed(draw: st.DrawFn, old: PolicySet) -> PolicySet:
    """``old`` after a few edits, most of which only lengthen retention."""
    current = {r.name: r for r in old.rules}
    for _ in range(draw(st.integers(1, 3))):
        edit = draw(
            st.sampled_from(
                [
                    "lengthen",
                    "lengthen",
                    "add-retain",
                    "describe",
                    "shorten",
                    "remove",
                    "add",
                    "stop-deleting",
                    "rescope",
                    "exclude",
                ]
            )
        )
        name = draw(st.sampled_from(sorted(current) or ["a"]))
        r = current.get(name)
        if edit == "lengthen" and r is not None:
            current[name] = dataclasses.replace(
                r,
                retain=longer(r.retain) if r.retain else None,
                delete_after=longer(r.delete_after) if r.delete_after else None,
            )
        elif edit == "add-retain":
            extra = draw(st.sampled_from("wxyz"))
            current[extra] = rule(
                extra, draw(st.sampled_from(SCOPES)), retain=draw(st.sampled_from(DURATIONS))
            )
        elif edit == "describe" and r is not None:
            current[name] = dataclasses.replace(r, description="edited")
        elif edit == "shorten" and r is not None:
            current[name] = dataclasses.replace(
                r, retain=Y1 if r.retain else None, delete_after=Y1 if r.delete_after else None
            )
        elif edit == "stop-deleting" and r is not None:
            current[name] = dataclasses.replace(
                r, then="keep", delete_after=None, retain=r.retain or Y1
            )
        elif edit == "rescope" and r is not None:
            current[name] = dataclasses.replace(r, scope=draw(st.sampled_from(SCOPES)))
        elif edit == "exclude" and r is not None:
            current[name] = dataclasses.replace(r, exclude=draw(st.sampled_from(SCOPES[1:])))
        elif edit == "remove":
            current.pop(name, None)
        elif edit == "add":
            extra = draw(st.sampled_from("wxyz"))
            current[extra] = draw(rules(extra))
    return policy(*[current[n] for n in sorted(current)])


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_a_change_with_no_listed_rule_change_deletes_no_message_sooner(data: st.DataObject) -> None:
    old = data.draw(policy_sets())
    new = data.draw(changed(old))
    listed = rule_changes(old, new)
    event("rule changes listed" if listed else "no rule change listed")
    if listed:
        return
    uni = universe()
    for facts in MESSAGES:
        before, after = deletable_at(old, facts, uni), deletable_at(new, facts, uni)
        assert after is None or (before is not None and after >= before), (facts, old, new)


def test_a_scoped_rule_that_stops_deleting_lets_an_earlier_org_wide_delete_apply() -> None:
    """Why dropping a delete action counts as shortening (scoped rules beat org-wide)."""
    old = policy(rule("scoped", DESK, delete_after=Y3), rule("all", delete_after=Y1))
    new = policy(rule("scoped", DESK, retain=Y1), rule("all", delete_after=Y1))
    desk_message = MESSAGES[0]
    before, after = (deletable_at(p, desk_message, universe()) for p in (old, new))
    assert before is not None and after is not None and after < before
    assert rule_changes(old, new) != []
