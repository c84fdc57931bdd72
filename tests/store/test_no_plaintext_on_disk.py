"""No plaintext reaches disk: not the database, WAL, keys.json, nor temp files mid-sort."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest

from archiver.archive.session import Archive
from archiver.store.database import Store


def open_file_contents() -> list[tuple[str, bytes]]:
    """Every regular file this process has open, read through /proc (deleted ones too)."""
    found = []
    fd_dir = Path("/proc/self/fd")
    for entry in fd_dir.iterdir():
        try:
            target = os.readlink(entry)
            if not target.startswith("/") or target.startswith(("/dev/", "/proc/")):
                continue
            with open(entry, "rb") as fh:
                found.append((target, fh.read()))
        except OSError:
            continue
    return found


class TempFileProbe:
    """A SQLite progress handler that looks at open files while a statement runs."""

    def __init__(self, needle: bytes, every: int = 40) -> None:
        self.needle = needle
        self.every = every
        self.calls = 0
        self.scans = 0
        self.leaks: set[str] = set()
        self.files_seen: set[str] = set()

    def __call__(self) -> int:
        self.calls += 1
        if self.calls % self.every == 0 and self.scans < 25:
            self.scans += 1
            for name, data in open_file_contents():
                self.files_seen.add(name)
                if self.needle in data:
                    self.leaks.add(name)
        return 0


def fill(store: Store, canary: str, rows: int = 120_000) -> None:
    with store.transaction():
        store.execute("CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT)")
        store.conn.executemany(
            "INSERT INTO notes(body) VALUES (?)",
            ((f"{canary} {i:06d} " + "lorem ipsum " * 20,) for i in range(rows)),
        )
        store.conn.executemany(
            "INSERT INTO messages_fts(rowid, body, files, cjk) VALUES (?, ?, '', '')",
            ((i, f"meeting {canary} notes {i}") for i in range(1, 2001)),
        )


def sort_and_temp_table(store: Store, probe: TempFileProbe) -> None:
    store.conn.set_progress_handler(probe, 20_000)
    try:
        store.execute("CREATE TEMP TABLE scratch AS SELECT body FROM notes ORDER BY body DESC")
        rows = store.execute("SELECT body FROM notes ORDER BY substr(body, 20), id DESC").fetchall()
        assert len(rows) == 120_000
        store.execute("DROP TABLE scratch")
    finally:
        store.conn.set_progress_handler(None, 0)


def test_every_connection_keeps_temp_data_in_memory(archive: Archive) -> None:
    assert archive.store.one("PRAGMA temp_store") == 2  # MEMORY


def test_canary_never_reaches_disk(archive: Archive, tmp_path: Path) -> None:
    canary = "canary" + secrets.token_hex(6)
    needle = canary.encode()
    fill(archive.store, canary)
    probe = TempFileProbe(needle)
    sort_and_temp_table(archive.store, probe)
    assert probe.scans > 0, "the probe must have looked while the sort ran"
    assert probe.leaks == set()
    wal = archive.path / "archive.db-wal"
    assert wal.exists() and wal.stat().st_size > 0  # checked while the WAL still holds data
    for path in archive.path.iterdir():
        assert needle not in path.read_bytes(), path
    archive.close()
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert needle not in path.read_bytes(), path


def test_probe_detects_a_plaintext_temp_file(archive: Archive) -> None:
    """Control: with temp_store = FILE the same probe finds the canary mid-sort, so the
    test above would fail if a connection ever spilled to disk."""
    canary = "canary" + secrets.token_hex(6)
    fill(archive.store, canary)
    archive.store.execute("PRAGMA temp_store = FILE")
    archive.store.execute("PRAGMA cache_size = -1024")
    probe = TempFileProbe(canary.encode(), every=5)
    sort_and_temp_table(archive.store, probe)
    if not probe.leaks:
        pytest.fail(f"probe saw no plaintext temp file; files seen: {sorted(probe.files_seen)}")
