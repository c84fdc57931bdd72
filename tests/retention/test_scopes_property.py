"""Property: on random archives and random rules with scopes and exclusions, the rules a
message falls under are exactly those an independent oracle computes from the test's own
record, and the batch answer (``Evaluator.due``, what purge uses) equals the per-message
answer (``decide``, what explain shows) for every message; the purge dry run counts the
same deletions.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archiver import parsers
from archiver.archive.session import create_archive, open_archive
from archiver.ingest.exports import IngestOptions, ingest
from archiver.retention.decisions import (
    Evaluator,
    active_policy,
    decide,
    explain,
    iter_facts,
    load_policy,
)
from archiver.retention.policy import parse_policy
from archiver.retention.purge import dry_run
from archiver.security.keyring import Secret, create_key_file
from tests.conftest import inv
from tests.fakeparser import FakeParser, FakeTelegramParser

BASE = datetime(2018, 1, 1, tzinfo=UTC)
VALUES = {
    "platform": ["whatsapp", "telegram"],
    "chat": ["Desk", "Family", "Ops"],
    "participant": ["ann", "bob", "cy"],
    "custodian": ["dana", "sam"],
    "kind": ["text", "call", "location"],
}
GLOBS = {key: [*values, "*a*"] for key, values in VALUES.items()}

message = st.fixed_dictionaries(
    {key: st.sampled_from(values) for key, values in VALUES.items() if key != "participant"}
    | {"sender": st.sampled_from(VALUES["participant"]), "day": st.integers(0, 2500)}
)


@st.composite
def scope_table(draw: st.DrawFn, max_keys: int) -> dict[str, list[str]]:
    keys = draw(st.lists(st.sampled_from(list(VALUES)), max_size=max_keys, unique=True))
    return {
        k: draw(st.lists(st.sampled_from(GLOBS[k]), min_size=1, max_size=2, unique=True))
        for k in keys
    }


rule = st.fixed_dictionaries(
    {
        "scope": scope_table(2),
        "exclude": scope_table(2),
        "action": st.sampled_from(["retain-keep", "retain-delete", "delete-after"]),
        "years": st.integers(1, 6),
        "basis": st.sampled_from(["sent", "ingested"]),
    }
)


@dataclass
class Sent:
    platform: str
    chat: str
    sender: str
    custodian: str
    kind: str
    day: int


def toml_for(rules: list[dict[str, object]]) -> str:
    def table(scope: dict[str, list[str]]) -> str:
        return "{ " + ", ".join(f"{k} = {v!r}".replace("'", '"') for k, v in scope.items()) + " }"

    out = ['[policy]\nname = "random"\n']
    for i, r in enumerate(rules):
        out.append(f'[[rules]]\nname = "r{i}"\nbasis = "{r["basis"]}"\n')
        out.append(f"scope = {table(r['scope'])}\nexclude = {table(r['exclude'])}\n")  # type: ignore[arg-type]
        if r["action"] == "delete-after":
            out.append(f'delete_after = "{r["years"]} years"\n')
        else:
            then = "delete" if r["action"] == "retain-delete" else "keep"
            out.append(f'retain = "{r["years"]} years"\nthen = "{then}"\n')
    return "".join(out)


def matches(glob: str, value: str) -> bool:
    return "a" in value.casefold() if glob == "*a*" else glob == value


def oracle(rule_spec: dict[str, object], m: Sent, people: set[str]) -> bool:
    """The rule's scope from the test's own record: every scope key matches some value of
    the message, no exclusion key does."""
    values = {
        "platform": {m.platform},
        "chat": {m.chat},
        "participant": people,
        "custodian": {m.custodian},
        "kind": {m.kind},
    }

    def hit(scope: dict[str, list[str]], key: str) -> bool:
        return any(matches(g, v) for g in scope[key] for v in values[key])

    scope, exclude = rule_spec["scope"], rule_spec["exclude"]
    return all(hit(scope, k) for k in scope) and not any(hit(exclude, k) for k in exclude)  # type: ignore[arg-type, union-attr]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    sent=st.lists(message, min_size=1, max_size=12),
    rules=st.lists(rule, min_size=1, max_size=4),
    as_of_days=st.integers(365, 4500),
)
def test_due_and_decide_agree_with_an_oracle_on_random_scopes_and_exclusions(
    monkeypatch: pytest.MonkeyPatch,
    sent: list[dict[str, object]],
    rules: list[dict[str, object]],
    as_of_days: int,
) -> None:
    monkeypatch.setattr(parsers, "all_parsers", lambda: [FakeTelegramParser(), FakeParser()])
    root = Path(tempfile.mkdtemp())
    key = root / "k.key"
    create_key_file(key)
    secret = Secret("keyfile", key.read_bytes(), "t")
    create_archive(root / "a", secret, inv("init"), tz="UTC").archive.close()
    archive = open_archive(root / "a", secret)
    record: dict[str, Sent] = {}
    try:
        files: dict[tuple[str, str], list[str]] = {}
        for i, m in enumerate(sent):
            text = f"m{i}"
            record[text] = Sent(**m)  # type: ignore[arg-type]
            when = (BASE + timedelta(days=int(m["day"]), minutes=i)).isoformat()  # type: ignore[call-overload]
            line = f"{when}|{m['chat']}|{m['sender']}|{m['kind']}|{text}"
            files.setdefault((str(m["platform"]), str(m["custodian"])), []).append(line)
        for (platform, custodian), lines in files.items():
            path = root / f"{platform}-{custodian}.{'fake' if platform == 'whatsapp' else 'tgfake'}"
            path.write_text("\n".join(lines) + "\n")
            ingest(archive, [path], IngestOptions(custodian=custodian), inv("ingest"))
        policy_path = root / "p.toml"
        policy_path.write_text(toml_for(rules))
        load_policy(archive, [policy_path], inv("policy.load"))
        parsed = parse_policy(toml_for(rules), "p.toml").rules

        store = archive.store
        texts = {
            int(r[0]): (r[1], int(r[2]))
            for r in store.execute("SELECT id, text, chat_id FROM messages")
        }
        people: dict[int, set[str]] = {}
        for text, chat_id in texts.values():
            people.setdefault(chat_id, set()).add(record[text].sender)
        as_of = BASE + timedelta(days=as_of_days)
        ev = Evaluator(store, active_policy(store), "UTC")
        expected_deletions: Counter[str] = Counter()
        for facts in iter_facts(store):
            text, chat_id = texts[facts.id]
            m = record[text]
            want = [
                r for r, spec in zip(parsed, rules, strict=True) if oracle(spec, m, people[chat_id])
            ]
            assert [r.key for r in ev.rules_for(facts)] == [r.key for r in want], text
            slow = decide(facts, want, [], as_of)
            assert ev.due(facts, as_of) == (slow.delete_rule if slow.deletable else None), text
            shown = explain(archive, facts.id, as_of, inv("explain"))
            assert shown["deletable"] == slow.deletable
            assert [m["rule"] for m in shown["rules"] if m["applies"]] == [r.key for r in want]  # type: ignore[union-attr]
            if slow.deletable:
                expected_deletions[str(slow.delete_rule)] += 1
        assert dry_run(archive, as_of, inv("purge"))["by_rule"] == dict(expected_deletions)
    finally:
        archive.close()
