"""Search: a golden table of queries with their exact hits, error positions, people links.

Hits are written as fixture labels: ``d7`` is line 7 of deal-desk.fake, ``t3`` line 3 of
trading.tgfake (see tests/fixtures/search). Date order is newest first.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from archiver import parsers
from archiver.archive.session import Archive, create_archive, open_archive
from archiver.core.errors import QueryError
from archiver.curation.people import link
from archiver.ingest.exports import IngestOptions, ingest
from archiver.retention import holds
from archiver.search.engine import compile_query, page, search, show
from archiver.search.records import message_records
from archiver.security.keyring import Secret, create_key_file
from tests.conftest import inv
from tests.fakeparser import FakeParser, FakeTelegramParser

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "search"
PREFIX = {"deal-desk.fake": "d", "trading.tgfake": "t"}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Archive]:
    root = tmp_path_factory.mktemp("search")
    key = root / "k.key"
    create_key_file(key)
    secret = Secret("keyfile", key.read_bytes(), "test")
    create_archive(root / "archive", secret, inv("init"), tz="Europe/London").archive.close()
    archive = open_archive(root / "archive", secret)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(parsers, "all_parsers", lambda: [FakeTelegramParser(), FakeParser()])
        for name, custodian in (
            ("deal-desk.fake", "dana@broker.example"),
            ("trading.tgfake", "sam@broker.example"),
        ):
            report = ingest(archive, [FIXTURES / name], IngestOptions(custodian=custodian), inv())
            assert report.sources[0].status == "ingested", report.sources[0].error
    yield archive
    archive.close()


def labels(archive: Archive, query: str, **kw: object) -> list[str]:
    result = search(archive, query, inv("search"), limit=100, **kw)  # type: ignore[arg-type]
    assert result.total == len(result.results)
    return [PREFIX[r["sources"][0]["file"]] + str(r["sources"][0]["line"]) for r in result.results]


# every message but d5, the only one with "price" and without "guarantee"
GUARANTEE_OR_NOT_PRICE = [
    "d18", "d17", "d16", "d15", "d14", "d13", "d12", "d11", "t4", "t3", "t2", "d10", "d9",
    "d8", "d7", "d6", "d4", "d3", "d2",
]  # fmt: skip

GOLDEN = [
    ("müller", ["t2", "d9", "d3", "d2"]),
    ("muller", ["t2", "d9", "d3", "d2"]),
    ("MÜLLER", ["t2", "d9", "d3", "d2"]),
    ('"term sheet"', ["d4", "d2"]),  # d4 breaks the phrase across two lines
    ("guarant*", ["t3", "d7", "d5", "d4", "d3"]),
    ("guarantee", ["t3", "d7", "d4", "d3"]),
    ("price guarantee", ["d7", "d4", "d3"]),
    ("price AND guarantee", ["d7", "d4", "d3"]),
    ('"price guarantee"', ["d3"]),
    ("NEAR(price guarantee, 2)", ["d4", "d3"]),
    ("price w/2 guarantee", ["d4", "d3"]),
    ("guarantee OR muller", ["t3", "t2", "d9", "d7", "d4", "d3", "d2"]),
    ("guarantee NOT price", ["t3"]),
    ("guarantee -price", ["t3"]),
    ("(muller OR pérez) signed", ["d12"]),
    ("close*", ["t4", "d9", "d5"]),  # "closing" does not start with "close"
    ("clos*", ["t4", "d10", "d9", "d5"]),
    ("101.5", ["d5"]),
    ("img", ["d6"]),
    ("jpg", ["d6"]),
    ('from:"Dana Whitfield"', ["d7", "d4", "d2"]),
    ("from:dana", ["d17", "d7", "d4", "d2"]),
    ("from:+15550102030", ["d3"]),
    ('from:"+1 555 010 2030"', ["d3"]),
    ('from:"ana perez" patient', ["d11"]),
    ('chat:"Deal Desk" price', ["d7", "d5", "d4", "d3"]),
    ("custodian:sam@broker.example", ["t4", "t3", "t2"]),
    ("platform:telegram guarantee", ["t3"]),
    ("kind:media", ["d6"]),
    ("has:attachment", ["d6"]),
    ("edited:true", ["d7"]),
    ("kind:system", ["d8"]),
    ("kind:deleted", ["d18"]),
    ("kind:location", ["d13"]),
    ("kind:poll", ["t4"]),
    ('participant:"Lee Chen"', ["d10", "d9", "d8", "d7", "d6", "d5", "d4", "d3", "d2"]),
    ("on:2024-01-06", ["d9"]),
    ("after:2024-02-01 before:2024-03-01", ["t4", "t3", "t2"]),
    ("before:2024-01-06", ["d8", "d7", "d6", "d5", "d4", "d3", "d2"]),
    ('after:2024-03-10 from:"Nurse Joy"', ["d18", "d16", "d13", "d12"]),
    ("NOT kind:system on:2024-01-05", ["d7", "d6", "d5", "d4", "d3", "d2"]),
    ("(from:Sam OR from:Lee) guarant*", ["d5"]),
    # OR binds tighter than AND; filters narrow the whole query wherever written
    ("muller signed OR confirmed", ["d9"]),
    ("(muller signed) OR confirmed", ["d12", "t3", "d9"]),
    ("guarantee OR muller from:Dana", ["d7", "d4", "d2"]),
    ("from:Dana guarantee OR muller", ["d7", "d4", "d2"]),
    ("guarantee OR muller -from:Dana", ["t3", "t2", "d9", "d3"]),
    ("guarantee OR muller (from:Sam OR from:user2)", ["t3"]),
    ("(guarantee muller) OR (signed pérez)", ["d12", "d3"]),
    ("guarantee muller OR signed", ["d4", "d3"]),
    ("NOT (kind:system OR kind:deleted) on:2024-01-05", ["d7", "d6", "d5", "d4", "d3", "d2"]),
    ("guarantee OR -price", GUARANTEE_OR_NOT_PRICE),
    ("合同", ["d14"]),
    ("明天签", ["d14"]),
    ("会議", ["d15"]),
    ("午後三時", ["d15"]),
    ("회의", ["d16"]),
    ("Pérez consent", ["d12"]),
]


@pytest.mark.parametrize(("query", "expected"), GOLDEN, ids=[q for q, _ in GOLDEN])
def test_golden_queries(corpus: Archive, query: str, expected: list[str]) -> None:
    assert labels(corpus, query) == expected


@pytest.mark.parametrize(
    ("tz", "expected"),
    [("Europe/London", ["d9"]), ("America/New_York", ["d10", "d9"]), ("Asia/Tokyo", [])],
)
def test_day_boundaries_follow_the_zone(corpus: Archive, tz: str, expected: list[str]) -> None:
    assert labels(corpus, "on:2024-01-06", tz=tz) == expected


def test_relevance_sort_returns_the_same_hits(corpus: Archive) -> None:
    by_date = labels(corpus, "guarantee OR price")
    by_rank = labels(corpus, "guarantee OR price", sort="relevance")
    assert sorted(by_rank) == sorted(by_date)
    assert by_rank[0] in ("d3", "d4", "d7")  # both words beat one word


def test_paging_keeps_the_exact_total(corpus: Archive) -> None:
    first = search(corpus, "guarant*", inv(), limit=2)
    second = search(corpus, "guarant*", inv(), limit=2, offset=2)
    assert (first.total, second.total) == (5, 5)
    assert len(first.ids) == len(second.ids) == 2
    assert set(first.ids).isdisjoint(second.ids)


def test_snippet_marks_every_hit(corpus: Archive) -> None:
    (rec,) = search(corpus, '"price guarantee"', inv()).results
    marked = [rec["snippet"][a:b] for a, b in rec["highlights"]]
    assert marked == ["price", "guarantee"]


ERRORS = [
    ('"term sheet', 'unterminated phrase: add the closing "', 1),
    ("price AND", "AND needs a term after it", 7),
    ("(price OR guarantee", "missing ')' to close the '(' here", 1),
    ("price)", "unmatched ')': remove it or add '(' before", 6),
    ("OR price", "OR needs a term before it", 1),
    ("price NOT", "NOT needs a term after it", 7),
    ('""', "empty phrase", 1),
    ("*", "a lone * matches nothing; put it after a few letters", 1),
    ("gua*rd", "* is only allowed at the end of a word (prefix search)", 1),
    ("NEAR(price, 5)", "NEAR( ) needs at least two words or phrases", 1),
    (
        "price frm:Dana",
        "unknown field 'frm' (did you mean from:?); fields are: from, participant, chat, "
        "custodian, platform, kind, has, edited, after, before, on (to search for the word, "
        "put it in quotes)",
        7,
    ),
    (
        "price Custodain:dana",
        "unknown field 'Custodain' (did you mean custodian:?); fields are: from, participant, "
        "chat, custodian, platform, kind, has, edited, after, before, on (to search for the "
        "word, put it in quotes)",
        7,
    ),
    (
        "price zzz:1",
        "unknown field 'zzz'; fields are: from, participant, chat, custodian, platform, kind, "
        "has, edited, after, before, on (to search for the word, put it in quotes)",
        7,
    ),
    (
        'guarantee OR from:"Nurse Joy"',
        "from: cannot be one side of an OR with words: filters apply to the whole query. "
        "Move it out of the OR to narrow the whole search, or run one search for the words "
        "and one for from:",
        14,
    ),
    (
        "price (muller OR (guarantee kind:text))",
        "kind: cannot be one side of an OR with words: filters apply to the whole query. "
        "Move it out of the OR to narrow the whole search, or run one search for the words "
        "and one for kind:",
        29,
    ),
    (
        "price -(guarantee after:2024-01-01)",
        "after: cannot be negated together with words: filters apply to the whole query. "
        "Negate the filter on its own (-after:...) and the words on their own",
        19,
    ),
    (
        "(guarantee from:Sam) OR (muller from:Sam)",
        "from: cannot be one side of an OR with words: filters apply to the whole query. "
        "Move it out of the OR to narrow the whole search, or run one search for the words "
        "and one for from:",
        12,
    ),
    ("price w/1000001 guarantee", "distance 1000001 is too large: at most 1000000 words", 7),
    ("w/5 price", 'w/5 needs a word or "phrase" before it', 1),
    ("on:9999-12-31", "on: 9999-12-31 is out of range", 1),
    ("(" * 25 + "a" + ")" * 25, "nested too deeply: at most 24 levels of parentheses and NOT", 25),
    ("NOT " * 25 + "a", "nested too deeply: at most 24 levels of parentheses and NOT", 97),
    (
        "after:2024-13-01",
        "after: expects a date as YYYY-MM-DD (e.g. after:2024-01-31), not '2024-13-01'",
        1,
    ),
    (
        "kind:video",
        "kind: is one of text, media, system, deleted, poll, location, contact, call",
        1,
    ),
    ("from:", 'from: needs a value, e.g. from:"Dana Whitfield"', 6),
    ("price - -", "'-' has no letters or digits to search for", 7),
    ("", 'empty query: give words, "a phrase" or a filter such as from:Dana', 1),
]


@pytest.mark.parametrize(
    ("query", "message", "column"), ERRORS, ids=[q or "empty" for q, _, _ in ERRORS]
)
def test_malformed_queries_point_at_the_column(
    corpus: Archive, query: str, message: str, column: int
) -> None:
    with pytest.raises(QueryError) as err:
        search(corpus, query, inv())
    assert err.value.column == column
    caret = f"\n  {query}\n  {' ' * (column - 1)}^ (column {column})" if query else ""
    assert str(err.value) == message + caret


def test_people_link_makes_from_find_every_spelling(tmp_path: Path, corpus: Archive) -> None:
    assert labels(corpus, 'from:"Dana Whitfield"') == ["d7", "d4", "d2"]
    info = link(corpus, ["Dana Whitfield", "Dana", "+1 (555) 010-2030"], inv("people.link"))
    assert info["person"] == "Dana Whitfield"
    try:
        assert labels(corpus, 'from:"Dana Whitfield"') == ["d17", "d7", "d4", "d3", "d2"]
        assert labels(corpus, "from:+15550102030") == ["d17", "d7", "d4", "d3", "d2"]
    finally:
        corpus.store.execute("UPDATE participants SET person_id = NULL")
        corpus.store.execute("DELETE FROM persons")


def test_show_gives_the_conversation_around_a_message(corpus: Archive) -> None:
    (hit,) = search(corpus, '"price guarantee"', inv()).ids
    shown = show(corpus, hit, 2, inv("show"))
    texts = [m["text"][:20] for m in shown["messages"]]
    assert texts == [
        "Morning team, the te",  # the only message before it
        "Thanks. I spoke to M",  # the hit
        "No guarantee on pric",
        "The guaranteed price",
    ]
    assert shown["messages"][1]["id"] == hit


def test_every_search_is_audited(corpus: Archive) -> None:
    before = corpus.store.one("SELECT max(seq) FROM audit_log")
    search(corpus, "muller", inv("search"))
    rows = corpus.store.rows("SELECT action, details FROM audit_log WHERE seq > ?", (before,))
    assert [r["action"] for r in rows] == ["search"]
    assert '"query":"muller"' in rows[0]["details"]
    assert '"total":4' in rows[0]["details"]


OR_WORD = "'or' is searched as a word; use OR (or write \"or\" in quotes to search for the word)"
AND_OR = (
    "AND at column 7 meets OR without parentheses: OR binds tighter, so 'a AND b OR c' means "
    "'a AND (b OR c)'; add parentheses to make the intent explicit"
)
WARNINGS = [
    ("price or guarantee", [OR_WORD]),
    (
        "price and guarantee not muller",
        [
            "'and' is searched as a word; use AND (or write \"and\" in quotes to search for "
            "the word)",
            "'not' is searched as a word; use NOT (or write \"not\" in quotes to search for "
            "the word)",
        ],
    ),
    (
        "price Or guarantee",
        ["'Or' is searched as a word; use OR (or write \"Or\" in quotes to search for the word)"],
    ),
    ('price "or" guarantee', []),
    ("or", []),
    ("price OR guarantee", []),
    ("price AND guarantee OR muller", [AND_OR]),
    ("price AND guarantee OR muller AND x", [AND_OR]),
    ("(price AND guarantee) OR muller", []),
    ("price AND (guarantee OR muller)", []),
    ("price guarantee OR muller", []),  # the documented reading of juxtaposition
    (
        "from:Dnaa price",
        ["from:Dnaa matches no participant in the archive, so nothing can match; nearest: Dana"],
    ),
    (
        "from:Whitfeld",
        [
            "from:Whitfeld matches no participant in the archive, so nothing can match; "
            "nearest: Dana Whitfield"
        ],
    ),
    ("from:Dana price", []),
    (
        'chat:"Deal Dsk"',
        ["chat:Deal Dsk matches no chat in the archive, so nothing can match; nearest: Deal Desk"],
    ),
    (
        "custodian:sam@broker.exampel",
        [
            "custodian:sam@broker.exampel matches no custodian in the archive, so nothing can "
            "match; nearest: sam@broker.example"
        ],
    ),
    ("custodian:zzz", ["custodian:zzz matches no custodian in the archive, so nothing can match"]),
    (
        "after:2024-03-01 before:2024-02-01",
        ["the date filters leave no day between them, so nothing can match"],
    ),
]


@pytest.mark.parametrize(("query", "warnings"), WARNINGS, ids=[q for q, _ in WARNINGS])
def test_queries_that_may_not_mean_what_they_seem_warn(
    corpus: Archive, query: str, warnings: list[str]
) -> None:
    assert search(corpus, query, inv()).warnings == warnings


def syntax_1_labels(archive: Archive, query: str) -> list[str]:
    plan = compile_query(archive.store, query, ZoneInfo("Europe/London"), syntax=1)
    return [
        PREFIX[r["sources"][0]["file"]] + str(r["sources"][0]["line"])
        for r in message_records(archive.store, page(archive.store, plan, "date", 100, 0))
    ]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("guarantee muller OR signed", ["d12", "d6", "d4", "d3"]),  # (a b) OR c
        ('guarantee OR from:"Nurse Joy"', ["d18", "d16", "d13", "d12", "t3", "d7", "d4", "d3"]),
        ("guarantee OR -price", GUARANTEE_OR_NOT_PRICE),
    ],
)
def test_syntax_1_keeps_the_meaning_queries_had(
    corpus: Archive, query: str, expected: list[str]
) -> None:
    assert syntax_1_labels(corpus, query) == expected


def test_a_hold_keeps_the_query_syntax_it_was_written_in(tmp_path: Path, key_file: Path) -> None:
    """A hold from before syntax 2 (no query_syntax in its scope) still preserves what its
    query meant then; a new hold records syntax 2."""
    secret = Secret("keyfile", key_file.read_bytes(), "test")
    create_archive(tmp_path / "a", secret, inv("init"), tz="Europe/London").archive.close()
    archive = open_archive(tmp_path / "a", secret)
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(parsers, "all_parsers", lambda: [FakeParser()])
            ingest(archive, [FIXTURES / "deal-desk.fake"], IngestOptions(), inv())
        query = "guarantee muller OR signed"
        new = holds.create(
            archive, "new", matter="m", reason="r", custodian=[], chat=[], participant=[],
            sent_after=None, sent_before=None, query=query, inv=inv("hold.create"),
        )  # fmt: skip
        assert (new["held_now"], new["scope"]["query_syntax"]) == (2, 2)  # d3, d4
        scope = json.dumps({"query": query, "tz": "Europe/London"})
        archive.store.execute(
            "INSERT INTO holds(name, matter, reason, scope, created_at, created_by) "
            "VALUES ('old', 'm', 'r', ?, 0, 'tester')",
            (scope,),
        )
        old = holds.show(archive, "old", inv("hold.show"))
        assert (old["held_now"], old["scope"]["query_syntax"]) == (4, 1)  # d3, d4, d6, d12
    finally:
        archive.close()


def test_negating_a_filter_keeps_messages_without_that_column(corpus: Archive) -> None:
    """-from:X keeps system messages (they have no sender): NULL is not 'from X'."""
    assert "d8" in labels(corpus, "-from:Dana")
    assert "d8" in labels(corpus, "NOT (from:Dana OR from:Sam)")
    assert "d8" not in labels(corpus, "from:Dana")
