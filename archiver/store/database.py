"""The store: an archive directory, its SQLCipher database, schema and transactions.

An archive is a directory holding ``archive.db`` (SQLCipher 4) and ``keys.json`` (key
slots). Every connection gets the same pragmas: SQLCipher's own logging silenced, the
raw 256-bit key, 16 KiB pages (``PAGE_SIZE``), ``temp_store = MEMORY`` (SQLCipher would
otherwise spill sorts and temp tables to plaintext ``etilqs_*`` files), WAL journaling
and foreign keys, and the SQL functions the migrations call.

Waiting for another command: a statement that needs a lock another connection holds
(opening the archive during a large ingest, or starting a write transaction) is tried at
once; if the archive is busy, the caller's ``Waiting.report`` is told, and SQLite then
waits up to ``Waiting.seconds`` (``--wait``; default ``BUSY_SECONDS``) before the
command gives up with ``ArchiveBusy`` (exit 75). No raw "database is locked" leaves here.

WAL lets every command read while another writes, at the price of writing each page
twice (to the WAL, then into the database at the checkpoint). A large ingest that finds
the archive otherwise unused takes it exclusively instead (``Store.bulk(exclusive=True)``):
rollback journal, pages written once (a 1M-message ingest measured ~1.3 s faster, a
sixth of its time); other commands wait for it or report the archive busy.

The store never parses input and never prints; use cases call it inside
``Store.transaction()`` together with their audit entry.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext, suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import sqlite_utils
from zoneinfo import ZoneInfo

import sqlcipher3

from archiver.core import zones
from archiver.core.errors import (
    ArchiveBusy,
    BadKey,
    InputError,
    KeysFileDamaged,
    SchemaTooNew,
    WriteFailed,
)
from archiver.store.audit_queries import AuditQueries
from archiver.store.curation_queries import CurationQueries
from archiver.store.ingest_queries import IngestQueries
from archiver.store.production_queries import ProductionQueries
from archiver.store.retention_queries import RetentionQueries
from archiver.store.schema import MIGRATIONS, SCHEMA_VERSION, SQL_FUNCTIONS
from archiver.store.search_queries import SearchQueries

# Database page size, part of the archive format: SQLCipher cannot read it from an
# encrypted file, so every connection sets it. 16 KiB rather than SQLCipher's 4 KiB:
# one HMAC and one IV per 16 KiB, fewer B-tree splits and FTS5 overflow pages (a 1M
# message ingest measured ~2 s faster, mostly at commit).
PAGE_SIZE = 16384
BUSY_SECONDS = 5.0
# Page cache per connection, in KiB. A bulk load mostly appends pages it will not read
# again: half the cache there measured the same speed and 30 MB less peak memory.
CACHE_KIB = 49152
BULK_CACHE_KIB = 24576

DB_NAME = "archive.db"
KEYS_NAME = "keys.json"
DbError = sqlcipher3.dbapi2.DatabaseError


def check_zone(name: str) -> ZoneInfo:
    """A zone name the archive recorded (its default, a source's, a hold's), opened as it
    was used (``zones.recorded``). What an operator types goes through ``zones.resolve``,
    which refuses legacy names such as EST."""
    return zones.recorded(name)


def parse_moment(text: str, zone: str, option: str) -> datetime:
    """What an operator types for a moment: ``YYYY-MM-DD`` (the start of that day in
    ``zone``) or an ISO 8601 time (naive ones are in ``zone``); aware, in UTC."""
    tz = check_zone(zone)
    try:
        if len(text) == 10:
            when = datetime.combine(date.fromisoformat(text), time(), tzinfo=tz)
        else:
            when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(
            f"{option} takes a date (YYYY-MM-DD, in {zone}) or an ISO 8601 time such as "
            f"2026-11-27T09:00:00Z; got {text!r}"
        ) from None
    return (when if when.tzinfo else when.replace(tzinfo=tz)).astimezone(UTC)


def _no_report(seconds: float) -> AbstractContextManager[object]:
    return nullcontext()


@dataclass(frozen=True)
class Waiting:
    """How long a command waits for another one's lock, and who is told that it waits.

    ``report(seconds)`` is entered when the archive turns out to be busy and left when
    the wait ends (the lock obtained, or ``ArchiveBusy`` raised through it)."""

    seconds: float = BUSY_SECONDS
    report: Callable[[float], AbstractContextManager[object]] = _no_report

    @property
    def ms(self) -> int:
        return int(self.seconds * 1000)


def connect(
    db_path: Path, key: bytes | None, waiting: Waiting | None = None
) -> sqlcipher3.Connection:
    """Open ``db_path`` with the archive pragmas. ``key=None`` means a plaintext
    database, used only by tests that must read raw pages (secure-deletion checks)."""
    waiting = waiting or Waiting()
    if not db_path.exists():
        # Owner-only from the first byte; SQLite gives -wal and -shm the same mode.
        os.close(os.open(db_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    conn = sqlcipher3.connect(
        str(db_path), isolation_level=None, check_same_thread=False, timeout=waiting.seconds
    )
    try:
        conn.execute("PRAGMA cipher_log_level = NONE")
        if key is not None:
            conn.execute(f"PRAGMA key = \"x'{key.hex()}'\"")
            conn.execute(f"PRAGMA cipher_page_size = {PAGE_SIZE}")
        else:
            conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")  # only a new file takes it
        # The first read, which a large ingest holding the archive makes wait.
        locked(conn, db_path, waiting, "SELECT count(*) FROM sqlite_master")
        conn.execute("PRAGMA temp_store = MEMORY")
        locked(conn, db_path, waiting, "PRAGMA journal_mode = WAL")
    except DbError:
        conn.close()
        raise BadKey(
            f"{db_path} does not open with the unlocked key (wrong key, or the file is "
            "not an archive database)"
        ) from None
    except BaseException:
        conn.close()
        raise
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")
    for name, function in SQL_FUNCTIONS.items():
        conn.create_function(name, 1, function, deterministic=True)
    conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
    return conn


def page_check(db_path: Path, key: bytes) -> tuple[list[int], int]:
    """SQLCipher's per-page HMAC check of ``db_path`` under ``key``, without reading the
    schema (so it runs when page 1 is damaged): the failing page numbers and the number
    of pages in the file. With a wrong key every page fails; with the right key, only
    damaged ones."""
    pages = -(-db_path.stat().st_size // PAGE_SIZE)
    conn = sqlcipher3.connect(str(db_path), isolation_level=None, timeout=BUSY_SECONDS)
    try:
        conn.execute("PRAGMA cipher_log_level = NONE")
        conn.execute(f"PRAGMA key = \"x'{key.hex()}'\"")
        conn.execute(f"PRAGMA cipher_page_size = {PAGE_SIZE}")
        conn.execute("PRAGMA query_only = ON")
        rows = conn.execute("PRAGMA cipher_integrity_check").fetchall()
    finally:
        conn.close()
    failing = [int(n) for (text,) in rows for n in re.findall(r"page (\d+)", str(text))]
    return failing, pages


def is_damage(exc: BaseException) -> bool:
    """Whether a database error means the file is damaged (SQLITE_CORRUPT, or SQLITE_NOTADB
    after the key was proven right), not a mistake in a command."""
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(exc, DbError) and code is not None and code & 0xFF in (11, 26)


def locked(conn: sqlcipher3.Connection, db_path: Path, waiting: Waiting, sql: str) -> None:
    """Run ``sql`` (a statement that takes a lock) at once if nobody holds the lock;
    otherwise report the wait and let SQLite wait up to ``waiting.seconds`` for it."""
    conn.execute("PRAGMA busy_timeout = 0")
    try:
        try:
            conn.execute(sql).fetchall()
            return
        except DbError as exc:
            if not is_busy(exc):
                raise
        with waiting.report(waiting.seconds):
            conn.execute(f"PRAGMA busy_timeout = {waiting.ms}")
            try:
                conn.execute(sql).fetchall()
            except DbError as exc:
                if is_busy(exc):
                    raise busy(db_path, waiting.seconds) from None
                raise
    finally:
        conn.execute(f"PRAGMA busy_timeout = {waiting.ms}")


def is_busy(exc: BaseException) -> bool:
    """Whether ``exc`` is SQLite saying that another connection holds a lock."""
    text = str(exc)
    return isinstance(exc, DbError) and any(
        words in text for words in ("database is locked", "database is busy", "table is locked")
    )


def raise_if_busy(exc: BaseException, db_path: Path, seconds: float) -> None:
    """Where a database error is reported as a finding (verify), a lock held by another
    command is not one: it becomes ``ArchiveBusy``."""
    if is_busy(exc):
        raise busy(db_path, seconds) from None


def busy(db_path: Path, seconds: float) -> ArchiveBusy:
    return ArchiveBusy(
        f"{db_path} is in use by another archiver command (an ingest or a purge holds the "
        f"archive until it commits; waited {seconds:g} s); run this command again when that "
        "one has finished, or give --wait SECONDS to wait longer"
    )


def is_write_failure(exc: BaseException) -> bool:
    """SQLite could not write: the disk is full or over a quota (SQLITE_FULL), or a write
    failed (SQLITE_IOERR, also what a file-size limit gives)."""
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(exc, DbError) and code is not None and code & 0xFF in (10, 13)


def write_failed(db_path: Path, exc: BaseException) -> WriteFailed:
    return WriteFailed(
        f"writing to {db_path} failed ({exc}): the disk is full or failing. What was being "
        "written was rolled back and the archive is as it was; free disk space (or fix the "
        "disk) and run the command again"
    )


class Store(
    IngestQueries,
    SearchQueries,
    CurationQueries,
    RetentionQueries,
    AuditQueries,
    ProductionQueries,
):
    """A connection to one archive database, with transactions and small helpers; the
    named queries of each use case are mixed in from ``store/*_queries.py``."""

    def __init__(
        self, conn: sqlcipher3.Connection, db_path: Path, waiting: Waiting | None = None
    ) -> None:
        self.conn = conn
        self.db_path = db_path
        self.waiting = waiting or Waiting()
        self._depth = 0

    @cached_property
    def db(self) -> sqlite_utils.Database:
        """sqlite-utils on the same connection, for convenience off the hot paths.

        Imported on first use: sqlite-utils pulls in numpy when it is installed
        (about 90 MB of resident memory that an ingest should not carry)."""
        import sqlite_utils

        return sqlite_utils.Database(self.conn)

    @contextmanager
    def bulk(self, exclusive: bool = False) -> Iterator[Store]:
        """A transaction for a bulk load whose writer resolves every reference itself:
        foreign keys are not enforced row by row inside it (4 lookups per message, ~0.3 s
        of a 1M-message ingest; ``verify`` checks them over the whole archive), and the
        page cache is ``BULK_CACHE_KIB``.

        ``exclusive``: if no other connection has the archive open, hold it exclusively
        under a rollback journal for the whole transaction (pages written once); WAL is
        restored afterwards. Otherwise an ordinary WAL transaction."""
        if self._depth:
            with self.transaction():
                yield self
            return
        alone = exclusive and self._set_journal("delete")
        self.conn.execute("PRAGMA foreign_keys = OFF")
        self.conn.execute(f"PRAGMA cache_size = -{BULK_CACHE_KIB}")
        try:
            with self.transaction(exclusive=alone):
                yield self
        finally:
            # after a failed write these may fail too; they must not hide why it failed
            # (and the next connection restores WAL anyway)
            with suppress(DbError):
                self.conn.execute("PRAGMA foreign_keys = ON")
                self.conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
                if alone:
                    self._set_journal("wal")

    def _set_journal(self, mode: str) -> bool:
        """Switch the journal mode if no other connection is in the way (never waits);
        whether the archive is now in ``mode``. The next connection restores WAL anyway."""
        self.conn.execute("PRAGMA busy_timeout = 0")
        try:
            return str(self.one(f"PRAGMA journal_mode = {mode}")).lower() == mode
        except DbError as exc:
            if is_busy(exc):
                return False
            raise
        finally:
            self.conn.execute(f"PRAGMA busy_timeout = {self.waiting.ms}")

    @property
    def journal_mode(self) -> str:
        return str(self.one("PRAGMA journal_mode")).lower()

    @contextmanager
    def transaction(self, exclusive: bool = False) -> Iterator[Store]:
        """BEGIN IMMEDIATE (or EXCLUSIVE) ... COMMIT, or ROLLBACK on any exception. Nests
        as a savepoint."""
        if self._depth:
            name = f"sp{self._depth}"
            self.conn.execute(f"SAVEPOINT {name}")
            self._depth += 1
            try:
                yield self
            except BaseException:
                # SQLite may already have undone the whole transaction (a full disk)
                if self.conn.in_transaction:
                    self.conn.execute(f"ROLLBACK TO {name}")
                    self.conn.execute(f"RELEASE {name}")
                raise
            else:
                self.conn.execute(f"RELEASE {name}")
            finally:
                self._depth -= 1
            return
        locked(
            self.conn,
            self.db_path,
            self.waiting,
            "BEGIN EXCLUSIVE" if exclusive else "BEGIN IMMEDIATE",
        )
        self._depth = 1
        try:
            yield self
            self.conn.execute("COMMIT")
        except BaseException as exc:
            self._rollback()
            if is_write_failure(exc):
                raise write_failed(self.db_path, exc) from exc
            raise
        finally:
            self._depth = 0

    def _rollback(self) -> None:
        """Undo the open transaction, if SQLite has not already (it does after a full
        disk); a rollback that fails too leaves the journal for the next connection."""
        if self.conn.in_transaction:
            with suppress(DbError):
                self.conn.execute("ROLLBACK")

    @property
    def in_transaction(self) -> bool:
        return self._depth > 0

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
        return self.conn.execute(sql, params)

    def one(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
        """The first column of the first row, or None."""
        row = self.conn.execute(sql, params).fetchone()
        return None if row is None else row[0]

    def rows(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[dict[str, Any]]:
        cur = self.conn.execute(sql, params)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def meta(self, key: str) -> str | None:
        value = self.one("SELECT value FROM meta WHERE key = ?", (key,))
        return None if value is None else str(value)

    def set_meta(self, key: str, value: str) -> None:
        self.execute(
            "INSERT INTO meta(key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def signing_keys(self) -> tuple[bytes, bytes]:
        """The archive's Ed25519 signing key pair (private, public)."""
        from archiver.core import crypto

        return self.secret("signing_private_key"), crypto.b64d(str(self.meta("signing_public_key")))

    def secret(self, name: str) -> bytes:
        value = self.one("SELECT value FROM secrets WHERE name = ?", (name,))
        if value is None:
            raise KeysFileDamaged(f"the archive database has no {name!r}; it is damaged")
        return bytes(value)

    @property
    def schema_version(self) -> int:
        return int(self.one("PRAGMA user_version"))

    def migrate(self, record: Callable[[int, str], object] | None = None) -> list[int]:
        """Apply every migration newer than the database; returns the versions applied.

        ``record(version, title)`` runs inside each migration's transaction (the audit
        entry of an upgrade); the first migration creates the audit log itself."""
        current = self.schema_version
        if current > SCHEMA_VERSION:
            raise SchemaTooNew(
                f"{self.db_path} has schema version {current}, newer than this archiver "
                f"understands ({SCHEMA_VERSION}); upgrade archiver"
            )
        applied = []
        for version, title, statements in MIGRATIONS:
            if version <= current:
                continue
            with self.transaction():
                for sql in statements:
                    self.execute(sql)
                self.execute(f"PRAGMA user_version = {int(version)}")
                if record is not None and current > 0:
                    record(version, title)
            applied.append(version)
        return applied

    def close(self) -> None:
        self.conn.close()


def dir_size(path: Path) -> dict[str, int]:
    """Sizes of the archive's files (db, -wal, -shm, keys.json)."""
    sizes = {}
    for name in (DB_NAME, DB_NAME + "-wal", DB_NAME + "-shm", KEYS_NAME):
        p = path / name
        if p.exists():
            sizes[name] = p.stat().st_size
    return sizes


def fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
