"""What the full-text index receives, and that removing a message removes its terms."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from archiver.archive.session import Archive, create_archive, open_archive
from archiver.core import tokens as textindex
from archiver.security.keyring import Secret
from archiver.store import database as store_module
from archiver.store import fts as ftsindex
from archiver.store.schema import MIGRATIONS, SCHEMA_VERSION
from tests.conftest import inv


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


def test_the_index_is_tuned_for_bulk_ingest(archive: Archive) -> None:
    config = dict(archive.store.execute("SELECT k, v FROM messages_fts_config").fetchall())
    assert (config["automerge"], config["hashsize"], config["secure-delete"]) == (16, 16777216, 1)


def test_an_archive_from_schema_2_is_upgraded_with_an_audit_entry(
    tmp_path: Path, key_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = Secret("keyfile", key_file.read_bytes(), "t")
    with monkeypatch.context() as m:  # an archive made by a build that knew two migrations
        m.setattr(store_module, "MIGRATIONS", MIGRATIONS[:2])
        m.setattr(store_module, "SCHEMA_VERSION", 2)
        create_archive(tmp_path / "old", secret, inv("init"), tz="UTC").archive.close()
    reopened = open_archive(tmp_path / "old", secret, inv("status"))
    try:
        assert reopened.store.schema_version == SCHEMA_VERSION
        automerge = reopened.store.one("SELECT v FROM messages_fts_config WHERE k = 'automerge'")
        assert automerge == 16
        entries = reopened.store.rows("SELECT action, details FROM audit_log ORDER BY seq")
        upgrades = [json.loads(e["details"]) for e in entries if e["action"] == "migrate"]
        assert [u["version"] for u in upgrades] == list(range(3, SCHEMA_VERSION + 1))
        assert upgrades[0]["title"] == "full-text index merges sixteen segments at a time"
        assert [e["action"] for e in entries] == ["init"] + ["migrate"] * len(upgrades)
    finally:
        reopened.close()
