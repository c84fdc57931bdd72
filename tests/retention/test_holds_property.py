"""Property: whatever happens — ingests, holds placed and released, policies loaded, purges
at any time — a purge never deletes a message held at purge time, never deletes one
before its longest matching retention ends, and never deletes one no delete rule matches.

The oracle below recomputes holds and retention from the test's own record of what was
ingested, independently of the archive's evaluator.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from archiver import parsers
from archiver.archive.session import create_archive, open_archive
from archiver.ingest.exports import IngestOptions, ingest
from archiver.retention import holds
from archiver.retention.decisions import load_policy
from archiver.retention.purge import execute
from archiver.security.keyring import Secret, create_key_file
from tests.conftest import inv
from tests.fakeparser import FakeParser
from tests.retention_helpers import clock

BASE = datetime(2015, 1, 1, tzinfo=UTC)
NOW = datetime(2026, 11, 27, tzinfo=UTC)
CHATS = ["Desk", "Family"]
PEOPLE = ["dana", "sam"]
WORDS = ["alpha", "beta", "gamma"]

msg = st.tuples(st.sampled_from(CHATS), st.sampled_from(WORDS), st.integers(0, 3000))
rule = st.tuples(
    st.sampled_from(["", "chat:Desk", "chat:Family", "custodian:dana"]),
    st.sampled_from(["retain-keep", "retain-delete", "delete-after"]),
    st.integers(1, 6),
)
action = st.one_of(
    st.tuples(st.just("ingest"), st.sampled_from(PEOPLE), st.lists(msg, min_size=1, max_size=4)),
    st.tuples(st.just("hold"), st.sampled_from(["chat", "custodian", "query"]), st.integers(0, 2)),
    st.tuples(st.just("release"), st.integers(0, 5)),
    st.tuples(st.just("policy"), st.lists(rule, min_size=1, max_size=3)),
    st.tuples(st.just("purge"), st.integers(0, 4500)),
)


@dataclass
class Sent:
    chat: str
    word: str
    day: int
    custodian: str

    @property
    def at(self) -> datetime:
        return BASE + timedelta(days=self.day, hours=12)


def scope_ok(scope: str, m: Sent) -> bool:
    if not scope:
        return True
    key, value = scope.split(":")
    return m.chat == value if key == "chat" else m.custodian == value


def toml_for(rules: list[tuple[str, str, int]]) -> str:
    out = ['[policy]\nname = "random"\n']
    for i, (scope, act, years) in enumerate(rules):
        out.append(f'[[rules]]\nname = "r{i}"\n')
        if scope:
            key, value = scope.split(":")
            out.append(f'scope = {{ {key} = ["{value}"] }}\n')
        if act == "delete-after":
            out.append(f'delete_after = "{years} years"\n')
        else:
            then = "delete" if act == "retain-delete" else "keep"
            out.append(f'retain = "{years} years"\nthen = "{then}"\n')
    return "".join(out)


scenario = st.tuples(
    st.tuples(st.just("ingest"), st.sampled_from(PEOPLE), st.lists(msg, min_size=4, max_size=10)),
    st.tuples(st.just("policy"), st.lists(rule, min_size=1, max_size=3)),
    st.lists(action, min_size=1, max_size=8),
    st.tuples(st.just("purge"), st.integers(1500, 4500)),
).map(lambda t: [t[0], t[1], *t[2], t[3]])


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(actions=scenario)
def test_purge_never_deletes_held_or_retained_messages(
    monkeypatch: pytest.MonkeyPatch, actions: list[tuple[object, ...]]
) -> None:
    monkeypatch.setattr(parsers, "all_parsers", lambda: [FakeParser()])
    root = Path(tempfile.mkdtemp())
    key = root / "k.key"
    create_key_file(key)
    secret = Secret("keyfile", key.read_bytes(), "t")
    create_archive(root / "a", secret, inv("init"), tz="UTC").archive.close()
    archive = open_archive(root / "a", secret)
    sent: dict[str, Sent] = {}
    active_holds: dict[str, tuple[str, str]] = {}
    hold_names: list[str] = []
    rules: list[tuple[str, str, int]] = []
    try:
        for step, act in enumerate(actions):
            kind = act[0]
            if kind == "ingest":
                _, custodian, msgs = act
                lines = []
                for chat, word, day in msgs:  # type: ignore[attr-defined]
                    text = f"{word} m{len(sent)}"
                    sent[text] = Sent(chat, word, day, custodian)  # type: ignore[arg-type]
                    when = (BASE + timedelta(days=day, hours=12)).isoformat()
                    lines.append(f"{when}|{chat}|{custodian}|text|{text}")
                path = root / f"export{step}.fake"
                path.write_text("\n".join(lines) + "\n")
                ingest(archive, [path], IngestOptions(custodian=str(custodian)), inv())
            elif kind == "hold":
                _, what, pick = act
                value = {"chat": CHATS, "custodian": PEOPLE, "query": WORDS}[what][
                    pick % (2 if what != "query" else 3)
                ]  # type: ignore[index, operator]
                name = f"hold{step}"
                scope: dict[str, object] = {
                    "custodian": [],
                    "chat": [],
                    "participant": [],
                    "sent_after": None,
                    "sent_before": None,
                    "query": None,
                }
                if what == "query":
                    scope["query"] = value
                else:
                    scope[str(what)] = [value]
                holds.create(archive, name, matter="m", reason="r", inv=inv(), **scope)  # type: ignore[arg-type]
                active_holds[name] = (str(what), str(value))
                hold_names.append(name)
            elif kind == "release":
                if hold_names:
                    name = hold_names[int(act[1]) % len(hold_names)]  # type: ignore[call-overload]
                    if name in active_holds:
                        holds.release(archive, name, "done", inv())
                        del active_holds[name]
            elif kind == "policy":
                path = root / f"policy{step}.toml"
                path.write_text(toml_for(act[1]))  # type: ignore[arg-type]
                load_policy(archive, [path], inv())
                rules = list(act[1])  # type: ignore[call-overload]
            elif kind == "purge" and rules:
                as_of = BASE + timedelta(days=int(act[1]))  # type: ignore[call-overload]
                before = {r["text"] for r in archive.store.rows("SELECT text FROM messages")}
                execute(archive, as_of, clock(NOW), allow_future=True)
                after = {r["text"] for r in archive.store.rows("SELECT text FROM messages")}
                event(f"purge deleted {min(len(before - after), 3)}+, kept {min(len(after), 3)}+")
                for text in before - after:
                    m = sent[text]
                    held = [
                        h
                        for h, (what, value) in active_holds.items()
                        if (what == "chat" and m.chat == value)
                        or (what == "custodian" and m.custodian == value)
                        or (what == "query" and m.word == value)
                    ]
                    assert not held, f"{text} deleted under hold {held}"
                    matching = [r for r in rules if scope_ok(r[0], m)]
                    retains = [
                        m.at + relativedelta(years=y)
                        for _, a, y in matching
                        if a.startswith("retain")
                    ]
                    assert not retains or max(retains) <= as_of, (
                        f"{text} deleted before retention ended"
                    )
                    assert any(a in ("retain-delete", "delete-after") for _, a, _ in matching), text
    finally:
        archive.close()
