"""Retention from the command line, the way a cron job and an officer use it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from archiver import parsers
from tests.fakeparser import FakeParser, FakeTelegramParser

Run = Callable[..., Result]
KEY = {"ARCHIVER_KEY_FILE": "k.key"}
EXPORT = [
    "2019-05-01T18:00:00+00:00|Family|Mum|text|dinner on sunday",
    "2019-05-02T09:00:00+00:00|Deal Desk|Dana|text|term sheet v2 attached",
    "2025-05-02T09:00:00+00:00|Family|Mum|text|recent family news",
]
POLICY = """
[policy]
name = "gdpr-storage-limitation"
citation = "GDPR Art. 5(1)(e)"
[[rules]]
name = "minimise-family"
scope = { chat = ["Family*"] }
delete_after = "2 years"
[[rules]]
name = "desk"
scope = { chat = ["Deal*"] }
retain = "3 years"
"""


@pytest.fixture(autouse=True)
def fake_parsers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parsers, "all_parsers", lambda: [FakeTelegramParser(), FakeParser()])


@pytest.fixture
def ready(run: Run, tmp_path: Path) -> Path:
    assert run("init", "--tz", "UTC", "--key-file", "k.key").exit_code == 0
    (tmp_path / "chat.fake").write_text("\n".join(EXPORT) + "\n")
    (tmp_path / "policy.toml").write_text(POLICY)
    assert run("ingest", "chat.fake", "--custodian", "dana", **KEY).exit_code == 0
    loaded = run("policy", "load", "policy.toml", "--json", **KEY)
    assert loaded.exit_code == 0, loaded.output
    return tmp_path


def ids(run: Run) -> dict[str, int]:
    out = json.loads(run("search", "kind:text", "--json", **KEY).stdout)
    return {r["text"]: r["id"] for r in out["results"]}


def test_unattended_purge_certifies_and_verifies(run: Run, ready: Path) -> None:
    assert run("key", "public", "--out", "pub.pem", **KEY).exit_code == 0
    result = run("purge", "--execute", "--json", "--certificate", "cert.json", **KEY)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["deleted"], report["by_rule"]) == (
        1,
        {"gdpr-storage-limitation/minimise-family": 1},
    )
    assert sorted(ids(run)) == ["recent family news", "term sheet v2 attached"]
    checked = run("verify-signed", "cert.json", "--public-key", "pub.pem")
    assert checked.exit_code == 0, checked.output
    assert "purge-certificate" in checked.stdout
    cert = ready / "cert.json"
    cert.write_text(cert.read_text().replace('"deleted": 1', '"deleted": 0'))
    assert run("verify-signed", "cert.json", "--public-key", "pub.pem").exit_code == 4
    assert run("verify", **KEY).exit_code == 0


def test_a_failing_unattended_purge_exits_non_zero(run: Run, ready: Path) -> None:
    result = run("purge", "--execute", "--as-of", "2031-01-01", "--json", **KEY)
    assert result.exit_code == 1
    failure = json.loads(result.stdout)  # with --json, the error is JSON on stdout too
    assert failure["exit_code"] == 1
    assert failure["error"].startswith("--as-of 2031-01-01T00:00:00.000000Z is in the future")
    assert result.stderr == ""
    locked = run("purge", "--execute", "--json")  # no secret, no terminal
    assert locked.exit_code == 3
    assert json.loads(locked.stdout)["exit_code"] == 3


def test_explain_tells_which_level_decided(run: Run, ready: Path) -> None:
    message = ids(run)["term sheet v2 attached"]
    out = run("policy", "explain", str(message), "--as-of", "2026-11-27", **KEY)
    assert out.exit_code == 0, out.output
    lines = out.stdout.splitlines()
    assert lines[0] == f"Message {message} as of 2026-11-27T00:00:00.000000Z"
    assert "  Decision: kept forever: the matching rules only retain; none deletes" in lines
    assert "  Retain until: 2022-05-02T09:00:00.000000Z (gdpr-storage-limitation/desk)" in lines
    assert "  Deletable at: never" in lines


def test_hold_lifecycle_from_the_cli(run: Run, ready: Path) -> None:
    made = run(
        "hold",
        "create",
        "family-matter",
        "--matter",
        "Estate 2026",
        "--reason",
        "letter",
        "--chat",
        "Family",
        **KEY,
    )
    assert made.stdout == "Hold family-matter placed for Estate 2026: 2 message(s) held now\n"
    assert json.loads(run("purge", "--json", **KEY).stdout)["would_delete"] == 0
    shown = json.loads(run("hold", "show", "family-matter", "--json", **KEY).stdout)
    assert (shown["active"], shown["held_now"]) == (True, 2)
    assert shown["scope"] == {"chat": ["Family"], "tz": "UTC"}
    again = run("hold", "create", "family-matter", "--matter", "x", "--reason", "y", **KEY)
    assert again.exit_code == 1
    assert "already exists" in again.stderr
    released = run("hold", "release", "family-matter", "--reason", "settled", **KEY)
    assert released.stdout == "Hold family-matter released: settled\n"
    assert json.loads(run("purge", "--json", **KEY).stdout)["would_delete"] == 1


def test_forecast_counts_what_becomes_deletable_each_month(run: Run, ready: Path) -> None:
    out = run("retention", "forecast", "--months", "36", "--json", **KEY)
    report = json.loads(out.stdout)
    assert report["deletable_now"] == 1
    months = {m["month"]: m["becoming_deletable"] for m in report["months"]}
    assert months["2027-05"] == 1  # recent family news: sent 2025-05-02, + 2 years
    assert sum(months.values()) == 1
    assert report["kept_forever"] == 1
    text = run("retention", "forecast", "--months", "12", **KEY).stdout
    assert "deletable now: 1" in text


def test_policy_list_and_show(run: Run, ready: Path) -> None:
    versions = json.loads(run("policy", "list", "--json", **KEY).stdout)
    assert [(v["version"], v["active"], v["rules"]) for v in versions] == [(1, True, 2)]
    shown = json.loads(run("policy", "show", "--json", **KEY).stdout)
    assert [r["name"] for r in shown["policies"][0]["rules"]] == ["minimise-family", "desk"]
    missing = run("policy", "show", "7", **KEY)
    assert missing.exit_code == 1
    assert missing.stderr == "Error: no policy version 7; see `archiver policy list`\n"
