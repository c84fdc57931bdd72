"""The engine finds exactly what a brute-force evaluator finds, on random queries.

Queries are generated as trees (words, prefixes, phrases, w/N, AND, OR, NOT, parentheses,
filters), written out as text with the fewest parentheses the documented precedence
needs (so the parser's precedence is under test too), run through ``search``, and
compared with a pure-Python evaluation of the same tree over every message of a small
random archive. Syntax 2 places filters anywhere among the top-level clauses (they apply
to the whole query); syntax 1, kept for older holds, places them anywhere in the tree.
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archiver import parsers
from archiver.archive.session import Archive, create_archive, open_archive
from archiver.core.errors import QueryError
from archiver.ingest.exports import IngestOptions, ingest
from archiver.search.engine import compile_query, hit_ids, stream
from archiver.security.keyring import Secret, create_key_file
from tests.conftest import inv
from tests.fakeparser import FakeParser, FakeTelegramParser

ZONE = "America/New_York"
VOCAB = ["deal", "price", "müller", "Muller", "straße", "café", "bond", "coupon", "q3", "2024"]
VOCAB += ["garantie", "guarantee", "señor", "ok", "tax", "taxi", "résumé"]
SENDERS = ["Ann Lee", "Bob Stone", "Cara", "Dan Lee"]
CHATS = {"fake": ["Alpha Desk", "Beta Desk"], "tgfake": ["Gamma Ops"]}
CUSTODIANS = {"fake": "ann@firm.example", "tgfake": "sam@firm.example"}
FIRST_DAY = date(2024, 3, 8)  # the days span New York's change to summer time (March 10)
DAYS = 6


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def tokens(text: str) -> list[str]:
    return [fold(t) for t in re.findall(r"\w+", text)]


@dataclass(frozen=True)
class Msg:
    id: int
    tokens: list[str]
    sender: str | None
    chat: str
    platform: str
    custodian: str
    kind: str
    edited: bool
    sent: datetime


# --- the archive ------------------------------------------------------------------------------


def _export_lines(rng: random.Random, chats: list[str], n: int) -> list[str]:
    lines = []
    start = datetime(FIRST_DAY.year, FIRST_DAY.month, FIRST_DAY.day, tzinfo=UTC)
    for i in range(n):
        sent = start + timedelta(minutes=rng.randrange(DAYS * 24 * 60))
        kind = rng.choice(["text"] * 8 + ["system", "deleted"])
        sender = "" if kind == "system" else rng.choice(SENDERS)
        words = [rng.choice(VOCAB) for _ in range(rng.randint(1, 9))]
        text = "" if kind == "deleted" else " ".join(words)
        edited = "1" if rng.random() < 0.2 else ""
        chat = rng.choice(chats)
        lines.append(f"{sent.isoformat()}|{chat}|{sender}|{kind}|{text}|{i + 1}||{edited}")
    return lines


class Messages(list[Msg]):
    def __repr__(self) -> str:  # hypothesis prints the arguments of a failing example
        return f"<{len(self)} messages>"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Archive, list[Msg]]]:
    rng = random.Random(20261204)
    root = tmp_path_factory.mktemp("brute")
    key = root / "k.key"
    create_key_file(key)
    secret = Secret("keyfile", key.read_bytes(), "t")
    create_archive(root / "a", secret, inv("init"), tz=ZONE).archive.close()
    archive = open_archive(root / "a", secret)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(parsers, "all_parsers", lambda: [FakeTelegramParser(), FakeParser()])
        for ext, chats in CHATS.items():
            export = root / f"random.{ext}"
            export.write_text("\n".join(_export_lines(rng, chats, 150)) + "\n", encoding="utf-8")
            options = IngestOptions(custodian=CUSTODIANS[ext])
            report = ingest(archive, [export], options, inv())
            assert report.sources[0].new == 150, report.sources[0].error
    rows = archive.store.rows(
        "SELECT m.id, m.text, m.sender_name, c.title, c.platform, cu.name AS custodian, "
        "m.kind, m.edited, m.sent_at FROM messages m JOIN chats c ON c.id = m.chat_id "
        "JOIN custodians cu ON cu.id = m.custodian_id"
    )
    messages = Messages(
        Msg(
            r["id"],
            tokens(r["text"]),
            r["sender_name"],
            r["title"],
            r["platform"],
            r["custodian"],
            r["kind"],
            bool(r["edited"]),
            datetime.fromtimestamp(r["sent_at"], UTC),
        )
        for r in rows
    )
    yield archive, messages
    archive.close()


# --- queries as trees, evaluated by brute force --------------------------------------------------


@dataclass(frozen=True)
class Word:
    text: str
    prefix: bool = False

    def instances(self, toks: list[str]) -> list[tuple[int, int]]:
        w = fold(self.text)
        return [(i, 1) for i, t in enumerate(toks) if (t.startswith(w) if self.prefix else t == w)]


@dataclass(frozen=True)
class Phrase:
    words: tuple[str, ...]

    def instances(self, toks: list[str]) -> list[tuple[int, int]]:
        want = [fold(w) for w in self.words]
        n = len(want)
        return [(i, n) for i in range(len(toks) - n + 1) if toks[i : i + n] == want]


@dataclass(frozen=True)
class Within:
    a: Word | Phrase
    b: Word | Phrase
    n: int
    spelled_near: bool


@dataclass(frozen=True)
class All:
    children: tuple[Any, ...]
    written_and: bool


@dataclass(frozen=True)
class AnyOf:
    children: tuple[Any, ...]


@dataclass(frozen=True)
class Negated:
    child: Any
    dash: bool


@dataclass(frozen=True)
class Filter:
    name: str
    value: str


@dataclass(frozen=True)
class Grouped:
    """Parentheses that change nothing (written for the parser to get through)."""

    child: Any


def near(a: Word | Phrase, b: Word | Phrase, n: int, toks: list[str]) -> bool:
    """FTS5's NEAR: instances of each side, the last start at most n tokens past the end of
    every instance (one token may serve both sides)."""
    for sa, la in a.instances(toks):
        for sb, lb in b.instances(toks):
            last = max(sa, sb)
            if last - (sa + la) <= n and last - (sb + lb) <= n:
                return True
    return False


def name_matches(pattern: str, name: str | None) -> bool:
    if not name:
        return False
    want, words = tokens(pattern), tokens(name)
    return fold(pattern) == fold(name) or any(
        words[i : i + len(want)] == want for i in range(len(words))
    )


def local_day(msg: Msg) -> date:
    return msg.sent.astimezone(ZoneInfo(ZONE)).date()


def holds(node: Any, msg: Msg, talkers: dict[str, set[str]]) -> bool:
    if isinstance(node, Word | Phrase):
        return bool(node.instances(msg.tokens))
    if isinstance(node, Within):
        return near(node.a, node.b, node.n, msg.tokens)
    if isinstance(node, All):
        return all(holds(c, msg, talkers) for c in node.children)
    if isinstance(node, AnyOf):
        return any(holds(c, msg, talkers) for c in node.children)
    if isinstance(node, Negated):
        return not holds(node.child, msg, talkers)
    if isinstance(node, Grouped):
        return holds(node.child, msg, talkers)
    assert isinstance(node, Filter)
    return filter_holds(node, msg, talkers)


def filter_holds(f: Filter, msg: Msg, talkers: dict[str, set[str]]) -> bool:
    if f.name == "from":
        return name_matches(f.value, msg.sender)
    if f.name == "participant":
        return any(name_matches(f.value, s) for s in talkers[msg.chat])
    if f.name == "chat":
        return name_matches(f.value, msg.chat)
    if f.name == "custodian":
        return name_matches(f.value, msg.custodian)
    if f.name == "platform":
        return msg.platform == f.value
    if f.name == "kind":
        return msg.kind == f.value
    if f.name == "edited":
        return msg.edited == (f.value == "true")
    day = date.fromisoformat(f.value)
    return {
        "after": local_day(msg) >= day,
        "before": local_day(msg) < day,
        "on": local_day(msg) == day,
    }[f.name]


# --- writing a tree as query text ----------------------------------------------------------


def _quoted(value: str) -> str:
    return f'"{value}"' if " " in value else value


def write(node: Any, syntax: int) -> str:
    """The query text of a tree, parenthesised only where the precedence of ``syntax``
    needs it (AND loosest in syntax 2, OR loosest in syntax 1)."""
    return _write(node, 0, syntax)


def _level(node: Any, syntax: int) -> int:
    if isinstance(node, All):
        return 1 if syntax == 2 else 2
    if isinstance(node, AnyOf):
        return 2 if syntax == 2 else 1
    if isinstance(node, Negated):
        return 3
    return 5


def _write(node: Any, outer: int, syntax: int) -> str:
    text = _bare(node, syntax)
    return f"({text})" if _level(node, syntax) <= outer else text


def _bare(node: Any, syntax: int) -> str:
    if isinstance(node, Word):
        return node.text + ("*" if node.prefix else "")
    if isinstance(node, Phrase):
        return '"' + " ".join(node.words) + '"'
    if isinstance(node, Within):
        a, b = _bare(node.a, syntax), _bare(node.b, syntax)
        return f"NEAR({a} {b}, {node.n})" if node.spelled_near else f"{a} w/{node.n} {b}"
    if isinstance(node, All):
        joiner = " AND " if node.written_and else " "
        return joiner.join(_write(c, _level(node, syntax), syntax) for c in node.children)
    if isinstance(node, AnyOf):
        return " OR ".join(_write(c, _level(node, syntax), syntax) for c in node.children)
    if isinstance(node, Negated):
        inner = _write(node.child, 2, syntax)
        return ("-" + inner) if node.dash and not inner.startswith("-") else "NOT " + inner
    if isinstance(node, Grouped):
        return "(" + _write(node.child, 0, syntax) + ")"
    assert isinstance(node, Filter)
    return f"{node.name}:{_quoted(node.value)}"


# --- strategies ------------------------------------------------------------------------------

words = st.sampled_from(VOCAB)
word = st.builds(Word, words) | st.builds(
    lambda w, k: Word(w[:k], True), words, st.integers(min_value=2, max_value=4)
)
phrase = st.builds(lambda ws: Phrase(tuple(ws)), st.lists(words, min_size=2, max_size=3))
item = word | phrase
within = st.builds(Within, item, item, st.integers(min_value=0, max_value=5), st.booleans())
day = st.integers(min_value=-1, max_value=DAYS).map(
    lambda d: (FIRST_DAY + timedelta(days=d)).isoformat()
)
one_filter = st.one_of(
    st.builds(Filter, st.just("from"), st.sampled_from([*SENDERS, "Lee", "ann", "Zed"])),
    st.builds(Filter, st.just("participant"), st.sampled_from(["Cara", "Bob"])),
    st.builds(Filter, st.just("chat"), st.sampled_from(["Alpha Desk", "Desk", "Gamma Ops"])),
    st.builds(Filter, st.just("custodian"), st.sampled_from([*CUSTODIANS.values(), "sam"])),
    st.builds(Filter, st.just("platform"), st.sampled_from(["whatsapp", "telegram"])),
    st.builds(Filter, st.just("kind"), st.sampled_from(["text", "system", "deleted"])),
    st.builds(Filter, st.just("edited"), st.sampled_from(["true", "false"])),
    st.builds(Filter, st.sampled_from(["after", "before", "on"]), day),
)


def _trees(leaf: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    def extend(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        many = st.lists(inner, min_size=2, max_size=3).map(tuple)
        return st.one_of(
            st.builds(All, many, st.booleans()),
            st.builds(AnyOf, many),
            st.builds(Negated, inner, st.booleans()),
            st.builds(Grouped, inner),
        )

    return st.recursive(leaf, extend, max_leaves=6)


text_tree = _trees(word | phrase | within)
filter_group = _trees(one_filter)
mixed_tree = _trees(word | phrase | within | one_filter)


@st.composite
def whole_queries(draw: st.DrawFn) -> All:
    """Syntax 2: text clauses and filter clauses in any order at the top level."""
    clauses = draw(st.lists(text_tree, min_size=0, max_size=2))
    clauses += draw(st.lists(filter_group, min_size=0, max_size=2))
    if not clauses:
        clauses = [draw(text_tree)]
    return All(tuple(draw(st.permutations(clauses))), draw(st.booleans()))


def talkers(messages: list[Msg]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for m in messages:
        out.setdefault(m.chat, set())
        if m.sender:
            out[m.chat].add(m.sender)
    return out


def engine(archive: Archive, query: str, syntax: int) -> set[int]:
    plan = compile_query(archive.store, query, ZoneInfo(ZONE), syntax=syntax)
    return set(hit_ids(archive.store, plan, "date", None, 0))


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(tree=whole_queries())
def test_engine_equals_brute_force(corpus: tuple[Archive, list[Msg]], tree: All) -> None:
    archive, messages = corpus
    query = write(tree, 2)
    who = talkers(messages)
    expected = {m.id for m in messages if holds(tree, m, who)}
    try:
        found = engine(archive, query, 2)
    except QueryError as exc:
        # the only refusals a well-formed tree can meet: a top-level NOT-only text clause
        # whose words have no letters is impossible here, so none is expected
        raise AssertionError(f"{query!r} refused: {exc}") from None
    assert found == expected, query


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tree=mixed_tree)
def test_syntax_1_equals_brute_force_with_filters_where_written(
    corpus: tuple[Archive, list[Msg]], tree: Any
) -> None:
    archive, messages = corpus
    query = write(tree, 1)
    who = talkers(messages)
    assert engine(archive, query, 1) == {m.id for m in messages if holds(tree, m, who)}, query


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(words=text_tree, filters=filter_group, use_or=st.booleans())
def test_a_filter_beside_words_inside_a_group_is_refused(
    corpus: tuple[Archive, list[Msg]], words: Any, filters: Any, use_or: bool
) -> None:
    """Never half-applied: words and a filter as the two sides of an OR, or negated
    together, are a QueryError pointing at a filter."""
    archive, _ = corpus
    group = AnyOf((words, filters)) if use_or else Negated(All((words, filters), False), True)
    query = "deal " + write(group, 2)
    with pytest.raises(QueryError) as err:
        engine(archive, query, 2)
    assert err.value.column is not None
    assert re.match(r"[a-z]+:", query[err.value.column - 1 :])


def test_the_stream_gives_every_hit_the_engine_counts(corpus: tuple[Archive, list[Msg]]) -> None:
    archive, messages = corpus
    hits = stream(archive, "NOT kind:system", inv("search"))
    ids = list(hits.ids())
    assert hits.total == hits.expected == hits.delivered == len(ids)
    assert set(ids) == {m.id for m in messages if m.kind != "system"}
    assert ids == sorted(ids, reverse=True)  # newest first
