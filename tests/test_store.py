"""Store transactions: a bulk load does not enforce references row by row; others do."""

from __future__ import annotations

import pytest

from archiver.archive import Archive
from archiver.store import DbError


def dangling(archive: Archive, custodian: int = 9) -> None:
    archive.store.execute(
        "INSERT INTO message_custodians(message_id, custodian_id) VALUES (1, ?)", (custodian,)
    )


def test_a_bulk_load_skips_reference_checks_and_restores_them(archive: Archive) -> None:
    store = archive.store
    with store.bulk():
        dangling(archive)
    assert store.one("SELECT count(*) FROM message_custodians") == 1
    assert store.one("PRAGMA foreign_keys") == 1
    with pytest.raises(DbError, match="FOREIGN KEY"), store.transaction():
        dangling(archive, custodian=8)


def test_a_bulk_load_inside_a_transaction_keeps_enforcing(archive: Archive) -> None:
    store = archive.store
    with pytest.raises(DbError, match="FOREIGN KEY"), store.transaction(), store.bulk():
        dangling(archive)
    assert store.one("PRAGMA foreign_keys") == 1


def test_a_failed_bulk_load_rolls_back_and_restores_checks(archive: Archive) -> None:
    store = archive.store
    with pytest.raises(RuntimeError), store.bulk():
        dangling(archive)
        raise RuntimeError("writer failed")
    assert store.one("SELECT count(*) FROM message_custodians") == 0
    assert store.one("PRAGMA foreign_keys") == 1
