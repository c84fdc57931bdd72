"""Store transactions: a bulk load does not enforce references row by row; others do. An
exclusive bulk load takes the archive alone under a rollback journal, when it can."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from archiver.archive.session import Archive, open_archive
from archiver.core.errors import ArchiveBusy
from archiver.security.keyring import Secret
from archiver.store import database as store_module
from archiver.store.database import DbError, Waiting


def second(tmp_path: Path, key_file: Path, waiting: Waiting | None = None) -> Archive:
    secret = Secret("keyfile", key_file.read_bytes(), "t")
    return open_archive(tmp_path / "archive", secret, waiting=waiting)


class Reports:
    """A ``Waiting.report`` that records what the operator would be told."""

    def __init__(self) -> None:
        self.events: list[str] = []

    @contextmanager
    def __call__(self, seconds: float) -> Iterator[None]:
        self.events.append(f"waiting up to {seconds:g} s")
        try:
            yield
        except ArchiveBusy:
            self.events.append("gave up")
            raise
        self.events.append("got it")


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
    archive: Archive, tmp_path: Path, key_file: Path
) -> None:
    reports = Reports()
    with archive.store.bulk(exclusive=True):
        dangling(archive)
        started = time.monotonic()
        with pytest.raises(ArchiveBusy) as caught:
            second(tmp_path, key_file, Waiting(0.2, reports))
        assert 0.2 <= time.monotonic() - started < 3
    assert caught.value.exit_code == 75
    assert str(caught.value) == (
        f"{tmp_path / 'archive' / 'archive.db'} is in use by another archiver command (an "
        "ingest or a purge holds the archive until it commits; waited 0.2 s); run this "
        "command again when that one has finished, or give --wait SECONDS to wait longer"
    )
    assert reports.events == ["waiting up to 0.2 s", "gave up"]
    later = second(tmp_path, key_file, Waiting(0.2, reports))
    try:
        assert later.store.one("SELECT count(*) FROM message_custodians") == 1
    finally:
        later.close()
    assert reports.events == ["waiting up to 0.2 s", "gave up"]  # free: nothing to report


def test_a_write_while_another_command_writes_reports_the_archive_busy(
    archive: Archive, tmp_path: Path, key_file: Path
) -> None:
    reports = Reports()
    other = second(tmp_path, key_file, Waiting(0.2, reports))
    try:
        with archive.store.bulk():
            dangling(archive)
            busy = pytest.raises(ArchiveBusy, match="is in use by another archiver command")
            with busy, other.store.transaction():
                pass
        assert reports.events == ["waiting up to 0.2 s", "gave up"]
        with other.store.transaction():
            pass
        assert reports.events == ["waiting up to 0.2 s", "gave up"]
    finally:
        other.close()


def test_a_write_waits_for_the_lock_within_its_limit_and_says_so(
    archive: Archive, tmp_path: Path, key_file: Path
) -> None:
    """The lock is released while the second command waits: it goes on, having reported
    the wait, and its transaction commits."""
    import threading

    reports = Reports()
    other = second(tmp_path, key_file, Waiting(10, reports))
    entered = threading.Event()

    def hold_briefly() -> None:
        with archive.store.transaction():
            entered.set()
            time.sleep(0.5)

    holder = threading.Thread(target=hold_briefly)
    holder.start()
    try:
        entered.wait(5)
        with other.store.transaction():
            other.store.set_meta("touched", "yes")
        holder.join()
        assert reports.events == ["waiting up to 10 s", "got it"]
        assert archive.store.meta("touched") == "yes"
    finally:
        holder.join()
        other.close()
