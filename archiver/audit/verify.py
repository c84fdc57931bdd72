"""`archiver verify`: recompute everything the archive's integrity rests on.

1. The audit chain: every entry's HMAC, seq contiguous from 1, each ``prev_hash`` the
   hash before it, entry 1 bound to the archive id; with a head recorded outside the
   archive, that entry must still exist with exactly that hash (a cut tail shows).
2. The database: SQLite's ``integrity_check`` and ``foreign_key_check`` (bulk ingest
   does not enforce references row by row), SQLCipher's ``cipher_integrity_check``
   (the HMAC of every page, free pages included) and FTS5's own ``integrity-check``.
   These run in C on their own connections in two worker threads, while the main thread
   does the Python work below (SQLite releases the GIL while it steps; one thread runs
   Python, so the two cores are not spent fighting over the GIL).
3. Every message's fingerprint recomputed from its row, its conversation and its
   sender in one ordered pass, and every earlier version's likewise. A message deleted
   behind archiver's back leaves its id in the full-text index (``messages_fts_docsize``):
   it is reported as missing.
4. Every ingest's Merkle root (``ingest.ingest_merkle_root``) against ``sources`` and
   against the root its audit entry anchored in the chain (the latest such entry: a
   reparse records the source's new root).
5. The SHA-256 of every stored file: originals by source id, attachments by id.

Each kind of check reports ok, or the first broken item by id, plus what it counted.
The main thread reads one snapshot (a read transaction); the verify entry is appended
after the result is known. Nothing is loaded whole: rows stream in batches.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archiver.archive.session import Archive
from archiver.audit.trail import Head, check_export
from archiver.core import identity
from archiver.core.errors import ChunkDamaged, DamageFound, InputError
from archiver.ingest import exports as ingest
from archiver.security import signing
from archiver.store import auditlog, blobs
from archiver.store.auditlog import Entry, Invocation
from archiver.store.database import DbError, Store, Waiting, connect, raise_if_busy

Progress = Callable[[str, int, int], None]
BATCH = 5000
CACHE_KIB = 256 * 1024  # page cache of each checking connection: integrity_check seeks indexes


@dataclass
class Check:
    """One kind of check: how much it covered and the first broken item, if any."""

    name: str
    title: str
    unit: str
    checked: int = 0
    problems: int = 0
    first: str | None = None
    _first_at: int | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return self.problems == 0

    def leads(self, at: int) -> bool:
        """Whether a problem at ``at`` would become the one reported (worth explaining)."""
        return self.first is None or (self._first_at is not None and at < self._first_at)

    def fail(self, message: str, at: int | None = None, count: int = 1) -> None:
        """Count problems; keep the message of the lowest ``at`` (else the first seen)."""
        self.problems += count
        if self.first is None or (at is not None and self.leads(at)):
            self.first, self._first_at = message, at

    def as_dict(self) -> dict[str, Any]:
        return {
            "check": self.name,
            "title": self.title,
            "ok": self.ok,
            "checked": self.checked,
            "unit": self.unit,
            "problems": self.problems,
            "first": self.first,
        }


@dataclass
class VerifyReport:
    archive_id: str
    checks: list[Check]
    verified_head: str | None
    expected_head: str | None
    head_after: str | None = None

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def first_problem(self) -> str | None:
        return next((f"{c.title}: {c.first}" for c in self.checks if not c.ok), None)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "archive_id": self.archive_id,
            "verified_head": self.verified_head,
            "expected_head": self.expected_head,
            "audit_head": self.head_after,
            "checks": [c.as_dict() for c in self.checks],
        }

    def raise_if_damaged(self) -> None:
        if not self.ok:
            broken = sum(not c.ok for c in self.checks)
            raise DamageFound(
                f"verification found damage in {broken} check(s); first: {self.first_problem}"
            )


def _no_progress(phase: str, advance: int, total: int) -> None:
    return None


def verify(
    archive: Archive,
    inv: Invocation,
    *,
    head: Head | None = None,
    progress: Progress | None = None,
) -> VerifyReport:
    """Run every check, then log the result. The database checks that run in C go to two
    worker threads on their own connections; the Python work reads one snapshot here."""
    tick = progress or _no_progress
    store = archive.store
    db = (store.db_path, archive.db_key, store.waiting)
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="verify") as pool:
        integrity = pool.submit(_sqlite_integrity, *db)
        pages = pool.submit(_pages_and_index, *db)
        with _snapshot(store):
            chain, anchors, verified = _chain(store, archive.archive_id, head, tick)
            messages = Check("messages", "messages", "messages")
            versions = Check("versions", "message versions", "versions")
            ingests = Check("ingests", "ingest Merkle roots", "sources")
            _guarded(messages, check_messages, store, tick)
            _guarded(versions, check_versions, store)
            _guarded(ingests, check_ingests, store, anchors, tick)
            files = check_files(store, tick)
        database = [*integrity.result(), *pages.result()]
        tick("database checks", 2, 2)
        checks = [chain, *database, messages, versions, ingests, *files]
    report = VerifyReport(
        archive.archive_id,
        checks,
        None if verified is None else str(verified),
        None if head is None else str(head),
    )
    report.head_after = _record(store, inv, report)
    return report


def _chain(
    store: Store, archive_id: str, head: Head | None, tick: Progress
) -> tuple[Check, Anchors, Head | None]:
    try:
        return check_chain(store, archive_id, head, tick)
    except DbError as exc:
        raise_if_busy(exc, store.db_path, store.waiting.seconds)
        check = Check("audit-trail", "audit trail", "entries")
        check.fail(f"stopped: the database cannot be read ({exc})")
        return check, {}, None


def _guarded(check: Check, run: Callable[..., None], store: Store, *args: Any) -> None:
    try:
        run(check, store, *args)
    except DbError as exc:
        raise_if_busy(exc, store.db_path, store.waiting.seconds)
        check.fail(f"stopped: the database cannot be read ({exc})")


@contextmanager
def _snapshot(store: Store) -> Iterator[None]:
    """One read transaction, so every check of the main thread sees the same state."""
    if store.in_transaction:
        yield
        return
    store.execute("BEGIN")
    try:
        yield
    finally:
        store.execute("ROLLBACK")


def _record(store: Store, inv: Invocation, report: VerifyReport) -> str | None:
    """The verify entry (after the result is known). A damaged database may refuse it:
    then the report still stands (None); a clean one that refuses it is an error."""
    details = {
        "ok": report.ok,
        "verified_head": report.verified_head,
        "expected_head": report.expected_head,
        "checked": {c.name: c.checked for c in report.checks},
        "broken": {
            c.name: {"problems": c.problems, "first": c.first} for c in report.checks if not c.ok
        },
    }
    try:
        entry = auditlog.append(
            store, inv, outcome="ok" if report.ok else "damage-found", details=details
        )
    except DbError:
        if report.ok:
            raise
        return None
    return f"{entry.seq}:{entry.hash}"


# --- 1. the audit chain ------------------------------------------------------------------

Anchors = dict[int, tuple[int, str | None]]
_CHAIN = (
    "SELECT seq, at, user, host, action, args, outcome, details, prev_hash, hash "
    "FROM audit_log ORDER BY seq"
)


def check_chain(
    store: Store, archive_id: str, expected: Head | None, tick: Progress = _no_progress
) -> tuple[Check, Anchors, Head | None]:
    """Walk the chain in seq order; returns the check, the Merkle roots anchored by
    ingest entries (source id -> (seq, root)) and the last entry's head."""
    check = Check("audit-trail", "audit trail", "entries")
    anchors: Anchors = {}
    key = auditlog.chain_key(store)
    prev = auditlog.genesis_hash(key, archive_id)
    total = int(store.one("SELECT count(*) FROM audit_log"))
    last: Entry | None = None
    at_expected: str | None = None
    for row in store.execute(_CHAIN):
        entry = Entry(*row)
        expect_seq = 1 if last is None else last.seq + 1
        problem = _entry_problem(store, key, entry, expect_seq, prev, explain=check.ok)
        if problem:
            check.fail(problem, entry.seq)
        _anchor(entry, anchors)
        if expected is not None and entry.seq == expected.seq:
            at_expected = entry.hash
        check.checked += 1
        prev, last = entry.hash, entry
        if check.checked % BATCH == 0:
            tick("audit trail", BATCH, total)
    tick("audit trail", check.checked % BATCH, total)
    if last is None:
        check.fail("the audit trail is empty: even its first entry (init) is gone")
    if expected is not None:
        _check_head(check, expected, at_expected, last)
    return check, anchors, None if last is None else Head(last.seq, last.hash)


def _entry_problem(
    store: Store, key: bytes, entry: Entry, expect_seq: int, prev: str, *, explain: bool
) -> str | None:
    """What is wrong with ``entry``; ``explain`` looks for where a moved entry came from
    (a search over the whole trail, so only for the first problem)."""
    if entry.seq != expect_seq:
        gap = f"{expect_seq}" if entry.seq == expect_seq + 1 else f"{expect_seq}-{entry.seq - 1}"
        return f"entry {gap} is missing (the trail jumps from {expect_seq - 1} to {entry.seq})"
    if auditlog.entry_hash(key, entry.fields) != entry.hash:
        moved = _original_seq(store, key, entry) if explain else None
        if moved is not None:
            return f"entry {entry.seq} holds the content of entry {moved}: entries were re-ordered"
        return f"entry {entry.seq} was altered: its HMAC does not match its content"
    if entry.prev_hash != prev:
        if entry.seq == 1:
            return "entry 1 is not bound to this archive: its genesis link differs"
        return (
            f"entry {entry.seq} does not link to entry {entry.seq - 1}: one of them was rewritten"
        )
    return None


def _original_seq(store: Store, key: bytes, entry: Entry) -> int | None:
    """The seq under which this entry's content was written, if it sits elsewhere now."""
    top = int(store.one("SELECT max(seq) FROM audit_log") or 0)
    fields = entry.fields
    for distance in range(1, top + 1):
        for seq in (entry.seq - distance, entry.seq + distance):
            if 1 <= seq <= top and auditlog.entry_hash(key, [seq, *fields[1:]]) == entry.hash:
                return seq
    return None


def _anchor(entry: Entry, anchors: Anchors) -> None:
    """Remember the Merkle root an entry recorded for its source: its ingest, or the
    latest reparse (which derives the source's messages again); the latest one counts."""
    if entry.outcome != "ok" or '"merkle_root"' not in entry.details:
        return
    details = json.loads(entry.details)
    if isinstance(details.get("source_id"), int) and "merkle_root" in details:
        anchors[details["source_id"]] = (entry.seq, details["merkle_root"])


def _check_head(check: Check, expected: Head, found: str | None, last: Entry | None) -> None:
    end = 0 if last is None else last.seq
    if expected.seq > end:
        check.fail(
            f"entry {expected.seq} (the recorded head) is missing: the trail ends at entry "
            f"{end}, so entries after it were removed",
            expected.seq,
        )
    elif found is None:
        check.fail(f"entry {expected.seq} (the recorded head) is missing", expected.seq)
    elif found != expected.hash:
        check.fail(
            f"entry {expected.seq} differs from the recorded head: the trail was rewritten "
            "after the head was recorded",
            expected.seq,
        )


# --- 2. the database (worker threads) ---------------------------------------------------


@contextmanager
def _connection(db_path: Path, key: bytes, waiting: Waiting) -> Iterator[Any]:
    """A checking connection; FTS5's check is a write statement, so it waits for a
    running ingest to commit as long as the command may wait (``--wait``)."""
    conn = connect(db_path, key, waiting)
    try:
        conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        yield conn
    finally:
        conn.close()


def _sqlite_integrity(db_path: Path, key: bytes, waiting: Waiting) -> list[Check]:
    check = Check("sqlite", "SQLite integrity", "pages")
    with _connection(db_path, key, waiting) as conn:
        try:
            check.checked = int(conn.execute("PRAGMA page_count").fetchone()[0])
            rows = [str(r[0]) for r in conn.execute("PRAGMA integrity_check").fetchall()]
            if rows == ["ok"]:
                # Bulk ingest does not enforce references row by row (Store.bulk).
                rows = [
                    f"{table} row {rowid} refers to a missing {parent} row"
                    for table, rowid, parent, _ in conn.execute("PRAGMA foreign_key_check")
                ] or rows
        except DbError as exc:
            raise_if_busy(exc, db_path, waiting.seconds)
            rows = [f"the database cannot be read ({exc})"]
    if rows != ["ok"]:
        check.fail(rows[0], count=len(rows))
    return [check]


def _pages_and_index(db_path: Path, key: bytes, waiting: Waiting) -> list[Check]:
    """Page HMACs (free pages included) and the FTS5 index's own integrity check."""
    pages = Check("page-hmacs", "page HMACs", "pages")
    index = Check("search-index", "search index", "entries")
    with _connection(db_path, key, waiting) as conn:
        try:
            pages.checked = int(conn.execute("PRAGMA page_count").fetchone()[0])
            for (problem,) in conn.execute("PRAGMA cipher_integrity_check").fetchall():
                pages.fail(str(problem))
        except DbError as exc:
            raise_if_busy(exc, db_path, waiting.seconds)
            pages.fail(f"the database cannot be read ({exc})")
        try:
            index.checked = int(
                conn.execute("SELECT count(*) FROM messages_fts_docsize").fetchone()[0]
            )
            conn.execute("INSERT INTO messages_fts(messages_fts) VALUES ('integrity-check')")
        except DbError as exc:
            raise_if_busy(exc, db_path, waiting.seconds)
            index.fail(str(exc))
    return [pages, index]


# --- 3. messages and their versions -------------------------------------------------------

_MESSAGES = (
    "SELECT m.id, coalesce(c.platform, ''), coalesce(c.key, ''), p.key, m.sent_at, m.kind, "
    "m.text, m.occurrence, m.msg_id, m.fingerprint, d.id IS NOT NULL FROM messages m "
    "LEFT JOIN chats c ON c.id = coalesce(m.origin_chat_id, m.chat_id) "
    "LEFT JOIN participants p ON p.id = m.sender_id "
    "LEFT JOIN messages_fts_docsize d ON d.id = m.id ORDER BY m.id"
)


def check_messages(check: Check, store: Store, tick: Progress = _no_progress) -> None:
    """Recompute every fingerprint in one ordered pass (messages ⨝ chats ⨝ participants,
    and the search index's row for each), batch by batch."""
    total = int(store.one("SELECT count(*) FROM messages"))
    per_chat: dict[tuple[str, str], Callable[..., bytes]] = {}
    cur = store.execute(_MESSAGES)
    below = _MIN_ID
    while rows := cur.fetchmany(BATCH):
        indexed = 0
        for mid, platform, chat, sender, sent, kind, text, occ, msg_id, stored, found in rows:
            fingerprint = per_chat.get((platform, chat))
            if fingerprint is None:
                fingerprint = per_chat[platform, chat] = identity.fingerprinter(platform, chat)
            if fingerprint(sender, sent, kind, text, occ, msg_id) != stored:
                check.fail(_message_problem(store, mid) if check.leads(mid) else "", mid)
            if found:
                indexed += 1
            else:
                check.fail(f"message {mid} is not in the search index", mid)
        _orphans(check, store, below, rows[-1][0], indexed)
        below = rows[-1][0]
        check.checked += len(rows)
        tick("messages", len(rows), total)
    _orphans(check, store, below, _MAX_ID, 0)


_MIN_ID, _MAX_ID = -(2**63), 2**63 - 1


def _orphans(check: Check, store: Store, above: int, upto: int, indexed: int) -> None:
    """A message deleted behind archiver's back leaves its id in the contentless search
    index (a docsize row): more index rows in (above, upto] than indexed messages there
    means missing messages, named by the first such id."""
    rows_in_index = int(
        store.one(
            "SELECT count(*) FROM messages_fts_docsize WHERE id > ? AND id <= ?", (above, upto)
        )
    )
    if rows_in_index == indexed:
        return
    first = store.one(
        "SELECT min(d.id) FROM messages_fts_docsize d WHERE d.id > ? AND d.id <= ? "
        "AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.id = d.id)",
        (above, upto),
    )
    message = f"message {first} is missing (the search index still holds its id)"
    check.fail(message, first, rows_in_index - indexed)


def _message_problem(store: Store, mid: int) -> str:
    row = store.execute(
        "SELECT c.id IS NULL, m.chat_id, m.sender_id IS NOT NULL AND p.id IS NULL, m.sender_id "
        "FROM messages m LEFT JOIN chats c ON c.id = coalesce(m.origin_chat_id, m.chat_id) "
        "LEFT JOIN participants p ON p.id = m.sender_id WHERE m.id = ?",
        (mid,),
    ).fetchone()
    if row[0]:
        return f"message {mid}: its conversation (chat {row[1]}) is missing"
    if row[2]:
        return f"message {mid}: its sender (participant {row[3]}) is missing"
    return (
        f"message {mid}: its fingerprint does not match its content (text, sender, time or "
        "kind changed)"
    )


def check_versions(check: Check, store: Store) -> None:
    """Every earlier version: its own kind and text with the message's identity."""
    cur = store.execute(
        "SELECT v.message_id, v.version, m.id IS NULL, coalesce(c.platform, ''), "
        "coalesce(c.key, ''), p.key, m.sent_at, v.kind, v.text, m.occurrence, m.msg_id, "
        "v.fingerprint FROM message_versions v LEFT JOIN messages m ON m.id = v.message_id "
        "LEFT JOIN chats c ON c.id = coalesce(m.origin_chat_id, m.chat_id) "
        "LEFT JOIN participants p ON p.id = m.sender_id "
        "ORDER BY v.message_id, v.version"
    )
    while rows := cur.fetchmany(BATCH):
        for mid, version, orphan, *fields, stored in rows:
            if orphan:
                check.fail(f"version {version} of message {mid}: the message is missing", mid)
            elif identity.fingerprint(*fields) != stored:
                check.fail(
                    f"version {version} of message {mid}: its fingerprint does not match its "
                    "content",
                    mid,
                )
        check.checked += len(rows)


# --- 4. ingests -----------------------------------------------------------------------------


def check_ingests(
    check: Check, store: Store, anchors: Anchors, tick: Progress = _no_progress
) -> None:
    """Each source's Merkle root recomputed, against its row and its audit entry."""
    sources = store.execute("SELECT id, merkle_root FROM sources ORDER BY id").fetchall()
    for source_id, recorded in sources:
        root = ingest.ingest_merkle_root(store, source_id)
        anchor = anchors.get(source_id)
        if root != recorded:
            check.fail(
                f"source {source_id}: the Merkle root of its messages is {_short(root)}, its "
                f"record says {_short(recorded)} (messages were added, removed or changed)",
                source_id,
            )
        elif anchor is None:
            check.fail(
                f"source {source_id}: no audit entry anchors its Merkle root (added outside "
                "archiver, or its ingest entry was removed)",
                source_id,
            )
        elif anchor[1] != root:
            check.fail(
                f"source {source_id}: its Merkle root differs from the one audit entry "
                f"{anchor[0]} recorded",
                source_id,
            )
        check.checked += 1
        tick("ingests", 1, len(sources))


def _short(root: str | None) -> str:
    return "none" if root is None else root[:16] + "…"


# --- 5. stored files -------------------------------------------------------------------------

_ORIGINALS = (
    "SELECT s.id, s.blob_sha256, b.sha256 IS NOT NULL FROM sources s "
    "LEFT JOIN blobs b ON b.sha256 = s.blob_sha256 WHERE s.blob_sha256 IS NOT NULL "
    "UNION ALL SELECT f.source_id, f.sha256, b.sha256 IS NOT NULL FROM source_files f "
    "JOIN sources s ON s.id = f.source_id LEFT JOIN blobs b ON b.sha256 = f.sha256 "
    "WHERE s.kind = 'folder' ORDER BY 1"
)
_ATTACHMENTS = (
    "SELECT a.id, a.sha256, b.sha256 IS NOT NULL FROM attachments a "
    "LEFT JOIN blobs b ON b.sha256 = a.sha256 WHERE a.sha256 IS NOT NULL ORDER BY a.id"
)


def check_files(store: Store, tick: Progress = _no_progress) -> list[Check]:
    """Re-hash every stored file once; report damage by source id and attachment id."""
    originals = Check("originals", "stored originals", "files")
    attachments = Check("attachments", "attachments", "files")
    try:
        bad = _damaged_blobs(store, tick)
        for check, sql, what in (
            (originals, _ORIGINALS, "source {} (original {})"),
            (attachments, _ATTACHMENTS, "attachment {} ({})"),
        ):
            for item, sha, present in store.execute(sql):
                check.checked += 1
                if not present:
                    check.fail(
                        what.format(item, sha[:12] + "…") + ": the stored file is missing", item
                    )
                elif sha in bad:
                    check.fail(what.format(item, sha[:12] + "…") + ": " + bad[sha], item)
    except DbError as exc:
        raise_if_busy(exc, store.db_path, store.waiting.seconds)
        for check in (originals, attachments):
            check.fail(f"stopped: the database cannot be read ({exc})")
    return [originals, attachments]


def _damaged_blobs(store: Store, tick: Progress) -> dict[str, str]:
    damaged: dict[str, str] = {}
    listed = store.execute("SELECT sha256, size FROM blobs ORDER BY sha256").fetchall()
    for sha, size in listed:
        try:
            digest, actual = blobs.blob_digest(store, sha)
        except ChunkDamaged as exc:
            damaged[sha] = f"chunk {exc.seq} of the stored file cannot be read: {exc.reason}"
            tick("stored files", 1, len(listed))
            continue
        if digest != sha:
            damaged[sha] = f"its content now hashes to {digest[:12]}…"
        elif actual != size:
            damaged[sha] = f"it holds {actual} bytes, not {size}"
        tick("stored files", 1, len(listed))
    return damaged


# --- signed files, without the archive ---------------------------------------------------------


def verify_signed(path: Path, public_key: Path, recorded: Head | None = None) -> dict[str, Any]:
    """Check a file archiver signed with only its public key; raises ``SignatureInvalid``
    (or ``DamageFound`` for a broken chain inside a validly signed audit export)."""
    public = signing.load_public_key(public_key)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None
    doc = signing.verify_document(data, public, str(path))
    summary: dict[str, Any] = {
        "file": str(path),
        "valid": True,
        "type": doc.get("type"),
        "archive_id": doc.get("archive_id"),
        "signed_at": doc.get("signed_at"),
        "key_fingerprint": doc.get("key_fingerprint"),
    }
    if doc.get("type") == "audit-export":
        payload = doc.get("payload") or {}
        problem = check_export(payload, recorded)
        if problem:
            raise DamageFound(f"{path}: the signature is valid, but {problem}")
        summary["entries"] = payload["count"]
        summary["head"] = f"{payload['head']['seq']}:{payload['head']['hash']}"
    elif recorded is not None:
        raise InputError(f"--head applies to audit exports; {path} is a {doc.get('type')}")
    return summary
