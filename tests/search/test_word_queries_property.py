"""No responsive message is missed: random word queries equal a brute-force scan."""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archiver import parsers
from archiver.archive.session import Archive, create_archive, open_archive
from archiver.ingest.exports import IngestOptions, ingest
from archiver.search.engine import search
from archiver.security.keyring import Secret, create_key_file
from tests.conftest import inv
from tests.fakeparser import FakeParser

VOCAB = [
    "deal",
    "price",
    "müller",
    "Muller",
    "straße",
    "strasse",
    "café",
    "cafe",
    "résumé",
    "naïve",
    "garantie",
    "guarantee",
    "bond",
    "Bond",
    "ÉCOLE",
    "ecole",
    "zürich",
    "zurich",
    "señor",
    "senor",
    "ok",
    "OK",
    "fine",
    "q3",
    "2024",
    "tax",
    "TAXI",
    "taxis",
]
PUNCT = [" ", " ", " ", ", ", ". ", "! ", "\n", " - ", "? ", ": "]


def fold(word: str) -> str:
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Archive, list[str]]]:
    rng = random.Random(20261127)
    root = tmp_path_factory.mktemp("prop")
    texts = []
    lines = []
    for i in range(400):
        words = [rng.choice(VOCAB) for _ in range(rng.randint(1, 12))]
        text = "".join(w + rng.choice(PUNCT) for w in words).strip()
        texts.append(text)
        ts = f"2024-01-{1 + i // 60:02d}T{i % 24:02d}:{i % 60:02d}:00+00:00"
        lines.append(f"{ts}|Chat {i % 3}|P{i % 5}|text|{text.replace(chr(10), chr(92) + 'n')}")
    export = root / "random.fake"
    export.write_text("\n".join(lines) + "\n", encoding="utf-8")
    key = root / "k.key"
    create_key_file(key)
    secret = Secret("keyfile", key.read_bytes(), "t")
    create_archive(root / "a", secret, inv("init"), tz="UTC").archive.close()
    archive = open_archive(root / "a", secret)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(parsers, "all_parsers", lambda: [FakeParser()])
        report = ingest(archive, [export], IngestOptions(), inv())
    assert report.sources[0].new == 400
    stored = [
        r["text"] for r in archive.store.rows("SELECT text FROM messages ORDER BY source_line")
    ]
    yield archive, stored
    archive.close()


def brute_force(texts: list[str], words: list[str], prefix: bool) -> int:
    import re

    wanted = [fold(w) for w in words]
    hits = 0
    for text in texts:
        tokens = {fold(t) for t in re.findall(r"\w+", text)}
        if all(any(t.startswith(w) for t in tokens) if prefix else w in tokens for w in wanted):
            hits += 1
    return hits


@settings(max_examples=150, deadline=None)
@given(
    words=st.lists(st.sampled_from(VOCAB), min_size=1, max_size=3),
    prefix=st.booleans(),
    cut=st.integers(min_value=2, max_value=4),
)
def test_word_queries_find_exactly_what_a_scan_finds(
    corpus: tuple[Archive, list[str]], words: list[str], prefix: bool, cut: int
) -> None:
    archive, texts = corpus
    if prefix:
        words = [w[:cut] for w in words]
        query = " ".join(w + "*" for w in words)
    else:
        query = " ".join(words)
    result = search(archive, query, inv(), limit=0)
    assert result.total == brute_force(texts, words, prefix), query


@settings(max_examples=60, deadline=None)
@given(a=st.sampled_from(VOCAB), b=st.sampled_from(VOCAB))
def test_or_and_not_match_set_algebra(corpus: tuple[Archive, list[str]], a: str, b: str) -> None:
    archive, texts = corpus
    only_a = brute_force(texts, [a], False)
    only_b = brute_force(texts, [b], False)
    both = brute_force(texts, [a, b], False)
    assert search(archive, f"{a} OR {b}", inv(), limit=0).total == only_a + only_b - both
    assert search(archive, f"{a} NOT {b}", inv(), limit=0).total == only_a - both
