"""Policy scopes an officer can trust: exclusions, warnings for values that match
nothing, per-rule counts before/after, dry runs, and explanations rule by rule."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from archiver import parsers
from archiver.archive.session import Archive
from archiver.core.errors import PolicyError, Refused
from archiver.retention.decisions import explain, load_policy
from archiver.retention.policy import load_files, parse_policy
from archiver.retention.purge import dry_run
from tests.conftest import inv
from tests.fakeparser import FakeParser, FakeTelegramParser
from tests.retention_helpers import add_export, at, ids_by_text, load

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "retention_policies"
Run = Callable[..., Result]
KEY = {"ARCHIVER_KEY_FILE": "k.key"}

DANA = [
    "2024-03-01T09:00:00+00:00|Family|Mum|text|dinner on sunday",
    "2024-03-01T10:00:00+00:00|Deal Desk|Dana|text|term sheet v2 attached",
    "2024-03-02T09:00:00+00:00|Family|Mum|text|school run",
]
SAM = ["2024-03-03T09:00:00+00:00|Ops|Sam|text|server restart tonight"]


@pytest.fixture(autouse=True)
def fake_parsers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parsers, "all_parsers", lambda: [FakeTelegramParser(), FakeParser()])


@pytest.fixture
def desk(archive: Archive, tmp_path: Path) -> Archive:
    add_export(archive, tmp_path, "dana.fake", DANA)
    add_export(archive, tmp_path, "sam.tgfake", SAM, custodian="sam@broker.example")
    return archive


def rule(body: str, name: str = "r") -> str:
    return f'[policy]\nname = "p"\n[[rules]]\nname = "{name}"\n{body}\n'


# --- exclusions ---------------------------------------------------------------------------


def test_six_years_for_business_one_year_for_personal_with_the_shipped_files(
    desk: Archive,
) -> None:
    """finra-4511.toml excludes the chats gdpr.toml deletes: without the exclusion its
    org-wide six-year retention would keep the family chat for six years too."""
    load_policy(desk, [SHIPPED / "finra-4511.toml", SHIPPED / "gdpr.toml"], inv("policy.load"))
    # ingested 2026-11-27 (the test clock): the GDPR year ends 2027-11-27.
    plan = dry_run(desk, at(2027, 12, 1), inv("purge"))
    assert plan["by_rule"] == {"gdpr-storage-limitation/minimise-personal-chats": 2}
    assert plan["by_chat"] == {"Family": 2}
    family = explain(desk, ids_by_text(desk)["school run"], at(2027, 12, 1), inv("explain"))
    assert family["deletable"] is True
    assert [(m["rule"], m["why"]) for m in family["rules"]] == [
        (
            "finra-4511-books-and-records/default-six-years",
            "out: excluded by chat 'Family*' (matches 'Family')",
        ),
        (
            "gdpr-storage-limitation/minimise-personal-chats",
            "in: chat 'Family*' matches 'Family'",
        ),
    ]
    business = explain(desk, ids_by_text(desk)["term sheet v2 attached"], at(2027, 12, 1), inv())
    assert (business["deletable"], business["deletable_at"]) == (
        False,
        "2030-03-01T10:00:00.000000Z",
    )
    assert business["rules"][0]["why"] == "in: org-wide; no exclusion matches"
    assert business["rules"][1]["why"] == (
        "out: its chat scope ('Family*', 'Friends*', '*Private*') matches none of the "
        "message's ('Deal Desk')"
    )


def test_an_exclusion_takes_out_any_matching_key_and_keeps_the_rule_org_wide(
    desk: Archive, tmp_path: Path
) -> None:
    load(
        desk,
        tmp_path,
        rule(
            'exclude = { custodians = ["sam@*"], chat = ["Family"] }\ndelete_after = "1 year"',
            "all-but",
        )
        + '[[rules]]\nname = "desk"\nscope = { chat = ["Deal*"] }\ndelete_after = "5 years"\n',
    )
    plan = dry_run(desk, at(2026, 11, 27), inv("purge"))
    assert plan["would_delete"] == 0  # the scoped 5-year delete beats the org-wide one
    ops = explain(desk, ids_by_text(desk)["server restart tonight"], at(2026, 11, 27), inv())
    assert ops["rules"][0]["why"] == (
        "out: excluded by custodian 'sam@*' (matches 'sam@broker.example')"
    )
    deal = explain(desk, ids_by_text(desk)["term sheet v2 attached"], at(2026, 11, 27), inv())
    assert deal["delete_rule"] == "p/desk"
    assert [c["scope"] for c in deal["delete_candidates"]] == ["org-wide", "scoped"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            'exclude = { chat = ["A"], chats = ["B"] }\nretain = "1 year"',
            "p.toml: rule 'r': exclude: give chat or chats, not both",
        ),
        (
            'exclude = { chat = ["*"] }\nretain = "1 year"',
            "p.toml: rule 'r': exclude.chat: '*' would exclude every message; remove the rule "
            "instead",
        ),
        (
            'exclude = { room = ["x"] }\nretain = "1 year"',
            "p.toml: rule 'r': exclude.room: unknown exclude key; use platform, custodian, chat, "
            "participant, kind",
        ),
        (
            'exclude = ["Family"]\nretain = "1 year"',
            "p.toml: rule 'r': exclude: expected a table such as { chat = [\"Family*\"] }",
        ),
        (
            'scope = { platforms = ["what[sapp"] }\nretain = "1 year"',
            "p.toml: rule 'r': scope.platforms: 'what[sapp' matches no platform (whatsapp, "
            "telegram)",
        ),
        (
            'exclude = { kinds = ["video"] }\nretain = "1 year"',
            "p.toml: rule 'r': exclude.kinds: 'video' matches no kind (text, media, system, "
            "deleted, poll, location, contact, call)",
        ),
        (
            'retain = "1001 years"',
            "p.toml: rule 'r': retain: '1001 years' is longer than 1000 years; a rule that only "
            'retains (no then = "delete", no delete_after) already keeps messages forever',
        ),
    ],
)
def test_exclusion_and_scope_errors_name_the_field(body: str, message: str) -> None:
    with pytest.raises(PolicyError) as err:
        parse_policy(rule(body), "p.toml")
    assert str(err.value) == message


def test_plural_and_singular_keys_are_one_rule() -> None:
    a = parse_policy(
        rule('scope = { chats = ["A"] }\nexclude = { kind = "call" }\nretain="P1Y"'), "x"
    )
    b = parse_policy(
        rule('scope = { chat = ["A"] }\nexclude = { kinds = ["call"] }\nretain="P1Y"'), "x"
    )
    assert a.rules[0].scope == b.rules[0].scope == (("chat", ("A",)),)
    assert a.rules[0].exclude == b.rules[0].exclude == (("kind", ("call",)),)


def test_a_policy_set_without_exclusions_keeps_its_digest(monkeypatch: pytest.MonkeyPatch) -> None:
    """The digest of the README's demo set, loaded before exclusions existed: purge
    certificates of archives that loaded it name the same digest."""
    monkeypatch.chdir(REPO)
    files = [Path("retention_policies/sec-17a-4.toml"), Path("retention_policies/gdpr.toml")]
    assert load_files(files).sha256() == (
        "f642fe10aa0a1eb4732be1d7cc214a9a3669448a52776f346dfa861c8843ef43"
    )


def test_a_locked_rule_keeps_its_exclusions(desk: Archive, tmp_path: Path) -> None:
    base = rule('retain = "6 years"\nthen = "delete"', "comms")
    load(desk, tmp_path, base, lock=True)
    with pytest.raises(Refused) as err:
        load(desk, tmp_path, base + 'exclude = { chat = ["Family"] }\n')
    assert str(err.value) == (
        "policy version 1 is locked (preservation lock); refused: rule p/comms would change "
        "its scope, exclusions, basis or action"
    )


# --- what policy load reports ----------------------------------------------------------------


def test_a_typo_in_a_scope_is_reported_with_the_nearest_value(
    desk: Archive, tmp_path: Path
) -> None:
    report = load(
        desk,
        tmp_path,
        rule('scope = { custodian = ["*@broker.exmaple"] }\nretain = "3 years"\nthen = "delete"'),
    )
    assert report["warnings"] == [
        {
            "rule": "p/r",
            "field": "scope.custodian",
            "value": "*@broker.exmaple",
            "nearest": "dana@broker.example",
            "message": "rule p/r: custodian '*@broker.exmaple' matches no custodian in the "
            "archive (nearest: 'dana@broker.example')",
        }
    ]
    assert report["rules"] == [
        {
            "rule": "p/r",
            "change": "added",
            "before": None,
            "after": report["rules"][0]["after"],  # type: ignore[index]
            "messages_before": None,
            "messages_after": 0,
        }
    ]
    assert report["version"] == 1  # a warning, not a refusal: the set is loaded


@pytest.mark.parametrize(
    ("body", "warning"),
    [
        (
            'scope = { chat = ["Deal Dsk"] }',
            "rule p/r: chat 'Deal Dsk' matches no chat in the archive (nearest: 'Deal Desk')",
        ),
        (
            'scope = { participant = ["Mumm"] }',
            "rule p/r: participant 'Mumm' matches no participant in the archive (nearest: 'Mum')",
        ),
        (
            'scope = { kind = ["call"] }',
            "rule p/r: kind 'call' matches no kind in the archive (no kind in the archive "
            "is close)",
        ),
        (
            'exclude = { chat = ["Famly"] }',
            "rule p/r: exclude chat 'Famly' matches no chat in the archive (nearest: 'Family')",
        ),
        (
            'scope = { chat = ["Family"], custodian = ["sam@broker.example"] }',
            "rule p/r applies to none of the 4 message(s) in the archive: every value of its "
            "scope exists, but no message has them all",
        ),
        (
            'scope = { chat = ["Ops"] }\nexclude = { participant = ["Sam"] }',
            "rule p/r applies to none of the 4 message(s) in the archive: every value of its "
            "scope and exclusions together exists, but no message has them all",
        ),
    ],
)
def test_every_scope_key_that_matches_nothing_warns(
    desk: Archive, tmp_path: Path, body: str, warning: str
) -> None:
    report = load(desk, tmp_path, rule(body + '\ndelete_after = "1 year"'))
    assert [w["message"] for w in report["warnings"]] == [warning]  # type: ignore[union-attr]


def test_a_policy_loaded_before_the_data_warns_that_the_archive_is_empty(
    archive: Archive, tmp_path: Path
) -> None:
    report = load(archive, tmp_path, rule('scope = { chat = ["Family*"] }\nretain = "1 year"'))
    assert [w["message"] for w in report["warnings"]] == [  # type: ignore[union-attr]
        "rule p/r: chat 'Family*' matches no chat in the archive (the archive has no chats yet)"
    ]


def test_load_counts_messages_per_rule_before_and_after_and_a_dry_run_stores_nothing(
    desk: Archive, tmp_path: Path
) -> None:
    v1 = (
        rule('scope = { chat = ["Family*"] }\ndelete_after = "2 years"', "family")
        + '[[rules]]\nname = "desk"\nscope = { chat = ["Deal*"] }\nretain = "3 years"\n'
    )
    load(desk, tmp_path, v1)
    v2 = rule('delete_after = "1 year"\nexclude = { chat = ["Deal*"] }', "everything-else")
    v2 += '[[rules]]\nname = "desk"\nscope = { chat = ["Deal*"] }\nretain = "3 years"\n'
    path = tmp_path / "v2.toml"
    path.write_text(v2)
    report = load_policy(desk, [path], inv("policy.load"), dry_run=True)
    rows = [
        (r["rule"], r["change"], r["messages_before"], r["messages_after"]) for r in report["rules"]
    ]
    assert rows == [
        ("p/everything-else", "added", None, 3),
        ("p/desk", "unchanged", 1, 1),
        ("p/family", "removed", 2, None),
    ]
    assert (report["dry_run"], report["version"], report["previous_version"]) == (True, 2, 1)
    assert report["would_delete_now"] == {
        "as_of": "2026-11-27T12:00:00.000000Z",
        "before": 2,
        "after": 3,
    }
    assert report["warnings"] == []
    stored = desk.store.rows("SELECT version FROM policy_sets")
    assert stored == [{"version": 1}]
    audit = desk.store.rows("SELECT action, details FROM audit_log ORDER BY seq DESC LIMIT 1")[0]
    details = json.loads(audit["details"])
    assert (details["dry_run"], details["version"], details["warnings"]) == (True, 2, 0)


# --- from the command line -------------------------------------------------------------------


@pytest.fixture
def cli_archive(run: Run, tmp_path: Path) -> Path:
    assert run("init", "--tz", "UTC", "--key-file", "k.key").exit_code == 0
    (tmp_path / "chat.fake").write_text("\n".join(DANA) + "\n")
    assert run("ingest", "chat.fake", "--custodian", "dana@broker.example", **KEY).exit_code == 0
    return tmp_path


TYPO = """[policy]
name = "sec"
[[rules]]
name = "comms"
scope = { custodian = ["*@broker.exmaple"] }
exclude = { chats = ["Family*"] }
retain = "3 years"
then = "delete"
"""


def test_policy_load_from_the_cli_shows_scopes_counts_and_warnings(
    run: Run, cli_archive: Path
) -> None:
    (cli_archive / "sec.toml").write_text(TYPO)
    result = run("policy", "load", "sec.toml", "--dry-run", **KEY)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Dry run: policy version 1 would be loaded; nothing was stored")
    assert lines[1:] == [
        "  sec  from sec.toml",
        "Rules, with the messages each applies to (of 3): no policy → new",
        "  added      sec/comms: — → 0",
        "             retain 3 years then delete (from sent)",
        "             scope:  custodian *@broker.exmaple",
        "             except: chat Family*",
        "A purge run now would delete 0 message(s) under it (no policy was loaded before).",
        "Check the 1 warning(s) above: a scope value that matches nothing is usually a typo, "
        "and its rule then applies to fewer messages than meant.",
    ]
    assert result.stderr == (
        "Warning: rule sec/comms: custodian '*@broker.exmaple' matches no custodian in the "
        "archive (nearest: 'dana@broker.example')\n"
    )
    assert json.loads(run("policy", "list", "--json", **KEY).stdout) == []
    loaded = run("policy", "load", "sec.toml", "--json", **KEY)
    as_json = json.loads(loaded.stdout)
    assert as_json["dry_run"] is False and as_json["version"] == 1
    assert [w["nearest"] for w in as_json["warnings"]] == ["dana@broker.example"]
    assert loaded.stderr == result.stderr  # a script's log shows the warning too

    fixed = TYPO.replace("exmaple", "example")
    (cli_archive / "sec.toml").write_text(fixed)
    again = run("policy", "load", "sec.toml", **KEY)
    assert again.stderr == ""
    assert again.stdout.splitlines()[2:5] == [
        "Rules, with the messages each applies to (of 3): version 1 → new",
        "  changed    sec/comms: 0 → 1",
        "             retain 3 years then delete (from sent)",
    ]
    assert "             scope:  custodian *@broker.exmaple → custodian *@broker.example" in (
        again.stdout.splitlines()
    )


def test_policy_show_displays_scopes_and_exclusions(run: Run, cli_archive: Path) -> None:
    (cli_archive / "sec.toml").write_text(TYPO.replace("exmaple", "example"))
    assert run("policy", "load", "sec.toml", **KEY).exit_code == 0
    shown = run("policy", "show", **KEY)
    assert shown.stdout.splitlines()[1:] == [
        "sec/comms",
        "  retain 3 years then delete (from sent)",
        "  scope:  custodian *@broker.example",
        "  except: chat Family*",
    ]
    as_json = json.loads(run("policy", "show", "--json", **KEY).stdout)
    only = as_json["policies"][0]["rules"][0]
    assert (only["scope"], only["exclude"]) == (
        {"custodian": ["*@broker.example"]},
        {"chat": ["Family*"]},
    )


def test_explain_says_why_each_rule_applies_or_not(run: Run, cli_archive: Path) -> None:
    (cli_archive / "sec.toml").write_text(TYPO.replace("exmaple", "example"))
    assert run("policy", "load", "sec.toml", **KEY).exit_code == 0
    found = json.loads(run("search", "sunday", "--json", **KEY).stdout)["results"][0]["id"]
    out = run("policy", "explain", str(found), "--as-of", "2026-11-27", **KEY)
    assert out.stdout.splitlines()[-2:] == [
        "  Why each rule applies or not:",
        "    sec/comms: out: excluded by chat 'Family*' (matches 'Family')",
    ]
