"""What the full-text index receives, and that removing a message removes its terms."""

from __future__ import annotations

from archiver import ftsindex, textindex
from archiver.archive import Archive


def test_ascii_text_goes_in_as_written_and_other_text_case_folded() -> None:
    text = "Price MANDATE ok"
    assert textindex.index_columns(text, "Deal.PDF") == (text, "deal.pdf", "")
    assert textindex.index_columns("Straße MÜLLER") == ("strasse müller", "", "")
    assert textindex.index_columns("見積もり OK") == ("  ok", "", "見積 積も もり")


def test_unindexing_removes_every_term_whatever_the_case(archive: Archive) -> None:
    store = archive.store
    rows = [(1, "Price MANDATE ok"), (2, "Straße Müller PRICE"), (3, "price list")]
    with store.transaction():
        ftsindex.index(store, [(mid, *textindex.index_columns(text)) for mid, text in rows])

    def hits(term: str) -> list[int]:
        found = store.rows("SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?", (term,))
        return sorted(r["rowid"] for r in found)

    assert hits("price") == [1, 2, 3]
    assert hits("strasse") == [2]
    assert hits("muller") == [2]
    with store.transaction():
        store.conn.executemany(
            ftsindex.DELETE, [(mid, *textindex.index_columns(text)) for mid, text in rows[:2]]
        )
    assert hits("price") == [3]
    assert hits("mandate") == hits("strasse") == hits("muller") == []
