"""Retention semantics: the Purview worked examples, Vault's holds, the preservation lock."""

from __future__ import annotations

from pathlib import Path

import pytest

from archiver import parsers
from archiver.archive.session import Archive
from archiver.core.errors import PolicyError, Refused
from archiver.retention import holds
from archiver.retention.decisions import explain
from archiver.retention.policy import parse_duration, parse_policy
from archiver.retention.purge import dry_run, execute
from tests.conftest import inv
from tests.fakeparser import FakeParser, FakeTelegramParser
from tests.retention_helpers import add_export, at, clock, ids_by_text, load, texts


@pytest.fixture(autouse=True)
def fake_parsers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parsers, "all_parsers", lambda: [FakeTelegramParser(), FakeParser()])


MSG_2018 = "2018-03-01T09:00:00+00:00|Deal Desk|Dana|text|trade confirmation 2018"


def explain_at(archive: Archive, text: str, when: object) -> dict[str, object]:
    return explain(archive, ids_by_text(archive)[text], when, inv("policy.explain"))  # type: ignore[arg-type]


def test_purview_example_one_longest_retention_wins(archive: Archive, tmp_path: Path) -> None:
    """delete-only 5y + retain-then-delete 3y + retain-only 7y => retained 7y, deleted at 7y."""
    add_export(archive, tmp_path, "a.fake", [MSG_2018])
    load(
        archive,
        tmp_path,
        """
[policy]
name = "example-1"
[[rules]]
name = "delete-5y"
delete_after = "5 years"
[[rules]]
name = "retain-3y-then-delete"
retain = "3 years"
then = "delete"
[[rules]]
name = "retain-7y"
retain = "P7Y"
""",
    )
    before = explain_at(archive, "trade confirmation 2018", at(2025, 2, 28))
    assert before["deletable"] is False
    assert before["retain_until"] == "2025-03-01T09:00:00.000000Z"
    assert before["retain_rule"] == "example-1/retain-7y"
    assert before["delete_rule"] == "example-1/retain-3y-then-delete"
    assert before["deletable_at"] == "2025-03-01T09:00:00.000000Z"
    assert before["level"] == 2  # retention outlasted the delete time
    after = explain_at(archive, "trade confirmation 2018", at(2025, 3, 2))
    assert after["deletable"] is True


def test_purview_example_two_scoped_delete_beats_org_wide(archive: Archive, tmp_path: Path) -> None:
    """org-wide delete 10y + scoped retain-5y-then-delete + scoped retain-3y-then-delete
    => retained 5y, then deleted (the 3-year delete wins at level 3)."""
    add_export(archive, tmp_path, "a.fake", [MSG_2018])
    load(
        archive,
        tmp_path,
        """
[policy]
name = "example-2"
[[rules]]
name = "org-delete-10y"
delete_after = "10 years"
[[rules]]
name = "desk-retain-5y"
scope = { chat = ["Deal*"] }
retain = "5 years"
then = "delete"
[[rules]]
name = "desk-retain-3y"
scope = { custodian = ["*@broker.example"] }
retain = "3 years"
then = "delete"
""",
    )
    e = explain_at(archive, "trade confirmation 2018", at(2023, 3, 2))
    assert e["delete_rule"] == "example-2/desk-retain-3y"
    assert e["retain_rule"] == "example-2/desk-retain-5y"
    assert e["deletable_at"] == "2023-03-01T09:00:00.000000Z"
    assert e["deletable"] is True
    assert [c["considered"] for c in e["delete_candidates"]] == [False, True, True]  # type: ignore[union-attr]


def test_scoped_delete_beats_a_shorter_org_wide_delete(archive: Archive, tmp_path: Path) -> None:
    add_export(archive, tmp_path, "a.fake", [MSG_2018])
    load(
        archive,
        tmp_path,
        """
[policy]
name = "explicit-wins"
[[rules]]
name = "everything-1y"
scope = { platform = ["*"], chat = ["*"] }
delete_after = "1 year"
[[rules]]
name = "desk-4y"
scope = { chat = ["deal desk"] }
delete_after = "4 years"
""",
    )
    e = explain_at(archive, "trade confirmation 2018", at(2020, 6, 1))
    assert e["deletable"] is False
    assert e["delete_rule"] == "explicit-wins/desk-4y"
    assert "scoped rules beat org-wide rules" in str(e["reason"])


def test_nothing_matches_means_kept(archive: Archive, tmp_path: Path) -> None:
    add_export(archive, tmp_path, "a.fake", [MSG_2018])
    load(
        archive,
        tmp_path,
        '[policy]\nname="p"\n[[rules]]\nname="other"\nscope={chat=["HR*"]}\ndelete_after="1 day"\n',
    )
    e = explain_at(archive, "trade confirmation 2018", at(2040))
    assert (e["deletable"], e["level"], e["reason"]) == (
        False,
        4,
        "kept: no retention rule matches this message",
    )


VAULT = [
    "2019-01-01T09:00:00+00:00|Ops|Dana|text|project X kickoff",
    "2019-01-02T09:00:00+00:00|Ops|Dana|text|budget for Q1",
    "2019-01-03T09:00:00+00:00|Ops|Dana|text|lunch menu",
]
DELETE_ALL = '[policy]\nname="short"\n[[rules]]\nname="all-1y"\ndelete_after="1 year"\n'


def hold(archive: Archive, name: str, **scope: object) -> dict[str, object]:
    args: dict[str, object] = {
        "custodian": [],
        "chat": [],
        "participant": [],
        "sent_after": None,
        "sent_before": None,
        "query": None,
    }
    args.update(scope)
    return holds.create(
        archive, name, matter="Matter", reason="test", inv=inv("hold.create"), **args
    )  # type: ignore[arg-type]


def test_vault_holds_are_additive(archive: Archive, tmp_path: Path) -> None:
    add_export(archive, tmp_path, "a.fake", VAULT)
    load(archive, tmp_path, DELETE_ALL)
    assert hold(archive, "A", query='"project X"')["held_now"] == 1
    assert hold(archive, "B", query="budget")["held_now"] == 1
    holds.release(archive, "A", "matter A closed", inv("hold.release"))
    report = execute(archive, at(2026, 11, 27), clock(at(2026, 11, 27)))
    assert report["deleted"] == 2
    assert texts(archive) == {"budget for Q1"}
    assert report["held"] == {"B": 1}


def test_open_ended_hold_catches_a_message_ingested_later(archive: Archive, tmp_path: Path) -> None:
    load(archive, tmp_path, DELETE_ALL)
    assert hold(archive, "desk", chat=["Ops"], sent_after="2018-06-01")["held_now"] == 0
    add_export(archive, tmp_path, "later.fake", VAULT)
    report = execute(archive, at(2026, 11, 27), clock(at(2026, 11, 27)))
    assert report["deleted"] == 0
    assert len(texts(archive)) == 3


def test_released_hold_makes_messages_eligible(archive: Archive, tmp_path: Path) -> None:
    add_export(archive, tmp_path, "a.fake", VAULT)
    load(archive, tmp_path, DELETE_ALL)
    hold(archive, "everything-ops", chat=["ops"])
    assert dry_run(archive, at(2026, 11, 27), inv("purge"))["would_delete"] == 0
    holds.release(archive, "everything-ops", "settled", inv("hold.release"))
    assert dry_run(archive, at(2026, 11, 27), inv("purge"))["would_delete"] == 3


def test_query_hold_fails_closed_for_media_without_text(archive: Archive, tmp_path: Path) -> None:
    add_export(
        archive,
        tmp_path,
        "a.fake",
        [*VAULT, "2019-01-04T09:00:00+00:00|Ops|Dana|media|||IMG-1.jpg"],
    )
    load(archive, tmp_path, DELETE_ALL)
    assert hold(archive, "q", query="budget")["held_now"] == 2  # the photo cannot be judged
    execute(archive, at(2026, 11, 27), clock(at(2026, 11, 27)))
    assert texts(archive) == {"budget for Q1", ""}


def test_locked_policy_refuses_shortening_and_delete_rules(
    archive: Archive, tmp_path: Path
) -> None:
    add_export(archive, tmp_path, "a.fake", [MSG_2018])
    base = '[policy]\nname="sec"\n[[rules]]\nname="comms"\nretain="6 years"\nthen="delete"\n'
    load(archive, tmp_path, base, lock=True)
    with pytest.raises(Refused) as err:
        load(archive, tmp_path, base.replace("6 years", "3 years"))
    assert str(err.value) == (
        "policy version 1 is locked (preservation lock); refused: rule sec/comms would shorten "
        "retain from 6 years to 3 years"
    )
    with pytest.raises(Refused, match="new rule sec/purge-chat has a delete action"):
        load(archive, tmp_path, base + '[[rules]]\nname="purge-chat"\ndelete_after="1 day"\n')
    longer = load(
        archive,
        tmp_path,
        base.replace("6 years", "P7Y") + '[[rules]]\nname="keep"\nretain="10 years"\n',
    )
    assert longer["version"] == 2 and longer["locked"] is True


def test_policy_load_reports_changes_and_affected_messages(
    archive: Archive, tmp_path: Path
) -> None:
    add_export(archive, tmp_path, "a.fake", [*VAULT, MSG_2018])
    load(archive, tmp_path, DELETE_ALL)
    report = load(
        archive,
        tmp_path,
        DELETE_ALL.replace('"1 year"', '"2 years"')
        + '[[rules]]\nname="desk"\nscope={chat=["Deal*"]}\nretain="7 years"\n',
    )
    changes = {c["rule"]: (c["change"], c["messages_affected"]) for c in report["changes"]}  # type: ignore[index, union-attr]
    assert changes == {"short/all-1y": ("changed", 4), "short/desk": ("added", 1)}


def test_future_execution_needs_allow_future_and_is_marked(
    archive: Archive, tmp_path: Path
) -> None:
    add_export(archive, tmp_path, "a.fake", VAULT)
    load(archive, tmp_path, '[policy]\nname="p"\n[[rules]]\nname="r"\ndelete_after="10 years"\n')
    future = at(2031, 1, 1)
    with pytest.raises(Refused, match="needs --allow-future"):
        execute(archive, future, clock(at(2026, 11, 27)))
    report = execute(archive, future, clock(at(2026, 11, 27)), allow_future=True)
    assert report["ahead_of_time"] is True and report["deleted"] == 3


@pytest.mark.parametrize(
    ("text", "years", "months", "days"),
    [
        ("3 years", 3, 0, 0),
        ("1 year", 1, 0, 0),
        ("18 months", 0, 18, 0),
        ("2 weeks", 0, 0, 14),
        ("90 days", 0, 0, 90),
        ("P6Y", 6, 0, 0),
        ("P18M", 0, 18, 0),
        ("P1Y6M", 1, 6, 0),
        ("P2W", 0, 0, 14),
    ],
)
def test_durations(text: str, years: int, months: int, days: int) -> None:
    d = parse_duration(text, "x")
    assert (d.years, d.months, d.days) == (years, months, days)


def test_calendar_arithmetic_is_exact() -> None:
    d = parse_duration("1 year", "x")
    assert d.after(at(2024, 2, 29)) == at(2025, 2, 28)
    assert parse_duration("P18M", "x").at_least(parse_duration("1 year", "x"))
    assert not parse_duration("365 days", "x").at_least(parse_duration("1 year", "x"))


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        (
            '[[rules]]\nname="r"\nretain="1 year"\n',
            'p.toml: missing [policy] table with name = "..."',
        ),
        (
            '[policy]\nname="p"\n[[rules]]\nname="r"\nretain="six years"\n',
            "p.toml: rule 'r': retain: 'six years' is not a duration; write e.g. \"6 years\", "
            '"18 months", "90 days" or ISO 8601 "P6Y", "P18M"',
        ),
        (
            '[policy]\nname="p"\n[[rules]]\nname="r"\nretain="1 year"\nscope={room=["x"]}\n',
            "p.toml: rule 'r': scope.room: unknown scope key; use platform, custodian, chat, "
            "participant, kind",
        ),
        (
            '[policy]\nname="p"\n[[rules]]\nname="r"\nretain="1 year"\nbasis="received"\n',
            "p.toml: rule 'r': basis must be \"sent\" or \"ingested\", not 'received'",
        ),
        (
            '[policy]\nname="p"\n[[rules]]\nname="r"\nthen="delete"\ndelete_after="1 year"\n',
            'p.toml: rule \'r\': then = "delete" needs retain = "..." '
            "(use delete_after alone instead)",
        ),
        (
            '[policy]\nname="p"\n[[rules]]\nname="r"\nretain="1 year"\nscope={kind=["video"]}\n',
            "p.toml: rule 'r': scope.kind: 'video' matches no kind (text, media, system, deleted, "
            "poll, location, contact, call)",
        ),
        (
            '[policy]\nname="p"\n[[rules]]\nname="r"\n',
            'p.toml: rule \'r\': give retain = "..." (keep at least) or delete_after = "..."',
        ),
    ],
)
def test_validation_names_file_rule_and_field(toml: str, message: str) -> None:
    with pytest.raises(PolicyError) as err:
        parse_policy(toml, "p.toml")
    assert str(err.value) == message


def test_shipped_policies_validate() -> None:
    from archiver.retention.policy import load_files

    folder = Path(__file__).resolve().parents[2] / "retention_policies"
    policy_set = load_files([folder])
    names = {p.name for p in policy_set.policies}
    assert {
        "sec-17a-4-communications",
        "finra-4511-books-and-records",
        "mifid-ii-recordkeeping",
        "hipaa-documentation",
        "gdpr-storage-limitation",
    } <= names
    assert all(r.citation or p.citation for p in policy_set.policies for r in p.rules)


def test_fast_cutoffs_agree_with_calendar_arithmetic() -> None:
    """Evaluator.due (one cutoff per rule) decides exactly like decide() (calendar
    arithmetic per message), month ends and leap days included."""
    from datetime import UTC, datetime

    from hypothesis import given, settings
    from hypothesis import strategies as st

    from archiver.retention.decisions import Evaluator, MessageFacts, decide
    from archiver.retention.policy import parse_policy

    durations = st.sampled_from(
        ["1 day", "30 days", "1 month", "18 months", "1 year", "3 years", "P1Y6M", "2 weeks"]
    )
    moments = st.integers(
        int(datetime(2015, 1, 1, tzinfo=UTC).timestamp()),
        int(datetime(2030, 1, 1, tzinfo=UTC).timestamp()),
    )

    @settings(max_examples=300, deadline=None)
    @given(
        retain=st.one_of(st.none(), durations),
        delete=durations,
        org_wide=st.booleans(),
        sent=moments,
        as_of=moments,
    )
    def check(retain: str | None, delete: str, org_wide: bool, sent: int, as_of: int) -> None:
        scope = "" if org_wide else 'scope = { chat = ["*"], platform = ["whatsapp"] }\n'
        text = f'[policy]\nname = "p"\n[[rules]]\nname = "del"\n{scope}delete_after = "{delete}"\n'
        if retain:
            text += f'[[rules]]\nname = "keep"\nretain = "{retain}"\n'
        rules = list(parse_policy(text, "p.toml").rules)
        ev = Evaluator.__new__(Evaluator)
        ev._cutoffs = {}
        ev.rules_for = lambda facts: rules  # type: ignore[method-assign]
        facts = MessageFacts(1, 1, "text", sent, sent, (), False)
        when = datetime.fromtimestamp(as_of, UTC)
        slow = decide(facts, rules, [], when)
        assert ev.due(facts, when) == (slow.delete_rule if slow.deletable else None)

    check()
