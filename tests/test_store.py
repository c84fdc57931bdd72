"""Store transactions: a bulk load does not enforce references row by row; others do. An
exclusive bulk load takes the archive alone under a rollback journal, when it can."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from archiver import store as store_module
from archiver.archive import Archive, open_archive
from archiver.errors import ArchiveBusy
from archiver.keyring import Secret
from archiver.store import DbError


def second(tmp_path: Path, key_file: Path) -> Archive:
    return open_archive(tmp_path / "archive", Secret("keyfile", key_file.read_bytes(), "t"))


def dangling(archive: Archive, custodian: int = 9) -> None:
    archive.store.execute(
        "INSERT INTO message_custodians(message_id, custodian_id) VALUES (1, ?)", (custodian,)
    )


def test_a_bulk_load_skips_reference_checks_and_restores_them(archive: Archive) -> None:
    store = archive.store
    with store.bulk():
        dangling(archive)
        assert store.one("PRAGMA cache_size") == -store_module.BULK_CACHE_KIB
    assert store.one("SELECT count(*) FROM message_custodians") == 1
    assert store.one("PRAGMA foreign_keys") == 1
    assert store.one("PRAGMA cache_size") == -store_module.CACHE_KIB
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


def test_an_exclusive_bulk_load_writes_under_a_rollback_journal_then_wal_again(
    archive: Archive, tmp_path: Path
) -> None:
    store = archive.store
    with store.bulk(exclusive=True):
        dangling(archive)
        assert store.journal_mode == "delete"
        assert (tmp_path / "archive" / "archive.db-journal").exists()
        assert not (tmp_path / "archive" / "archive.db-wal").exists()
    assert store.journal_mode == "wal"
    assert store.one("SELECT count(*) FROM message_custodians") == 1


def test_a_failed_exclusive_bulk_load_rolls_back_and_returns_to_wal(archive: Archive) -> None:
    store = archive.store
    with pytest.raises(RuntimeError), store.bulk(exclusive=True):
        dangling(archive)
        raise RuntimeError("writer failed")
    assert store.one("SELECT count(*) FROM message_custodians") == 0
    assert store.journal_mode == "wal"


def test_an_exclusive_bulk_load_stays_in_wal_while_another_command_has_the_archive(
    archive: Archive, tmp_path: Path, key_file: Path
) -> None:
    reader = second(tmp_path, key_file)
    try:
        with archive.store.bulk(exclusive=True):
            dangling(archive)
            assert archive.store.journal_mode == "wal"
            # the other command still reads, and sees the archive as it was
            assert reader.store.one("SELECT count(*) FROM message_custodians") == 0
        assert reader.store.one("SELECT count(*) FROM message_custodians") == 1
    finally:
        reader.close()


def test_a_command_started_during_an_exclusive_load_reports_the_archive_busy(
    archive: Archive, tmp_path: Path, key_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "BUSY_SECONDS", 0.2)
    with archive.store.bulk(exclusive=True):
        dangling(archive)
        started = time.monotonic()
        with pytest.raises(ArchiveBusy) as caught:
            second(tmp_path, key_file)
        assert time.monotonic() - started < 3
    assert str(caught.value) == (
        f"{tmp_path / 'archive' / 'archive.db'} is in use by another archiver command (a "
        "large ingest holds the archive until it commits; waited 0.2 s); run this again "
        "when it has finished"
    )
    later = second(tmp_path, key_file)
    try:
        assert later.store.one("SELECT count(*) FROM message_custodians") == 1
    finally:
        later.close()


def test_a_write_while_another_command_writes_reports_the_archive_busy(
    archive: Archive, tmp_path: Path, key_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "BUSY_SECONDS", 0.2)
    other = second(tmp_path, key_file)
    try:
        with archive.store.bulk():
            dangling(archive)
            busy = pytest.raises(ArchiveBusy, match="is in use by another archiver command")
            with busy, other.store.transaction():
                pass
    finally:
        other.close()
