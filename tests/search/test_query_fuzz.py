"""Fuzzing the query language: whatever is typed, the only failure is a ``QueryError``.

Random text and structured junk (operators, quotes, parentheses, filters, digits, CJK,
control characters in odd places) go through the parser alone, and through the whole
path to FTS5 and SQL on a small archive, in both query syntaxes. A ``QueryError`` must
point at a column inside the query (or just after its end).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archiver import parsers
from archiver.archive.session import Archive, create_archive, open_archive
from archiver.core.errors import QueryError
from archiver.ingest.exports import IngestOptions, ingest
from archiver.search.engine import compile_query, count, search
from archiver.search.query import SYNTAXES, analyze
from archiver.security.keyring import Secret, create_key_file
from archiver.store.database import check_zone
from tests.conftest import inv
from tests.fakeparser import FakeParser

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "search" / "deal-desk.fake"

JUNK = [
    "(", ")", "((", "))", '"', '""', '"a b"', "*", "**", "-", "--", ",", ":", "::", "w/", "w/3",
    "W/0", "w/99999999999999999999", "w/-1", "NEAR(", "NEAR", "near(", "AND", "OR", "NOT",
    "and", "or", "not", "from:", "from:Dana", 'from:"', 'from:"Dana', "chat:()", "kind:text",
    "kind:video", "after:2024-01-01", "after:0001-01-01", "before:9999-12-31", "on:2024-02-30",
    "on:", "has:attachment", "edited:maybe", "frm:x", "http://x.example", "price", "pric*",
    "müller", "合同", "会議は", "٣", "²", "𝟘", "\x00", "\t", "\n", "\u200b", "\ufeff", "'", "\\",
    "%", "_", "a\x00b", "\x1b[2J", "é\x7f", "NEAR(a b, 5)", "NEAR(a, 5)", "NEAR(a b,", "a w/5",
    "-from:x", "(from:x OR y)",
]  # fmt: skip
SEPARATORS = ["", " ", "  ", "\t"]

junk = st.lists(
    st.tuples(st.sampled_from(JUNK), st.sampled_from(SEPARATORS)), min_size=1, max_size=12
).map(lambda parts: "".join(p + s for p, s in parts))
anything = st.text(max_size=40) | st.text(st.characters(max_codepoint=0x2FF), max_size=12)
queries = junk | anything
syntaxes = st.sampled_from(SYNTAXES)


def _column_is_sane(err: QueryError, query: str) -> None:
    if err.column is not None and query:
        assert 1 <= err.column <= len(query) + 1, (query, err.column)


@settings(max_examples=400, deadline=None)
@given(query=queries, syntax=syntaxes)
def test_the_parser_raises_nothing_but_query_errors(query: str, syntax: int) -> None:
    try:
        analyze(query, syntax)
    except QueryError as err:
        _column_is_sane(err, query)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Archive]:
    root = tmp_path_factory.mktemp("fuzz")
    key = root / "k.key"
    create_key_file(key)
    secret = Secret("keyfile", key.read_bytes(), "t")
    create_archive(root / "a", secret, inv("init"), tz="Asia/Tokyo").archive.close()
    archive = open_archive(root / "a", secret)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(parsers, "all_parsers", lambda: [FakeParser()])
        ingest(archive, [FIXTURE], IngestOptions(custodian="dana@broker.example"), inv())
    yield archive
    archive.close()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(query=queries, syntax=syntaxes)
def test_the_whole_search_path_raises_nothing_but_query_errors(
    small: Archive, query: str, syntax: int
) -> None:
    """Parsed, compiled to FTS5 and SQL, counted and paged: FTS5 never sees a syntax error
    and no date overflows."""
    try:
        plan = compile_query(small.store, query, check_zone("Asia/Tokyo"), syntax=syntax)
        count(small.store, plan)
        if syntax == 2:
            search(small, query, inv("search"), limit=3)
    except QueryError as err:
        _column_is_sane(err, query)


@pytest.mark.parametrize(
    "query",
    [
        "(" * 24 + "price" + ")" * 24,  # as deep as allowed: FTS5's parser copes
        " ".join(f"-w{i}" for i in range(300)) + " price",  # many NOTs: one FTS5 NOT
        " OR ".join(f"(a{i} b{i})" for i in range(300)),
        "NOT " * 24 + "price",
        "price " + " ".join(f"-from:p{i}" for i in range(200)),
    ],
    ids=["deep", "many-nots", "wide-or", "not-chain", "many-negated-filters"],
)
def test_big_queries_run(small: Archive, query: str) -> None:
    search(small, query, inv("search"), limit=1)
