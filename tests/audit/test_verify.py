"""`verify`: a clean archive verifies; every kind of tampering is found and named by id."""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from archiver import parsers
from archiver.archive.session import Archive, open_archive
from archiver.audit import trail as audit
from archiver.audit.verify import VerifyReport, verify
from archiver.core import identity
from archiver.ingest.exports import IngestOptions, ingest, ingest_merkle_root
from archiver.search.engine import search
from archiver.security.keyring import Secret
from archiver.store import blobs
from archiver.store import fts as ftsindex
from archiver.store.database import PAGE_SIZE
from tests.conftest import inv
from tests.fakeparser import FakeParser, FakeTelegramParser

DESK = [
    "2024-03-01T09:00:00+00:00|Deal Desk|Dana|text|Morning, the term sheet is in",
    "2024-03-01T09:01:00+00:00|Deal Desk|Sam|media|see photo||IMG-1.jpg",
    "2024-03-01T09:02:00+00:00|Deal Desk|Dana|text|Price is 101.5",
]
TRADES = [
    "2024-03-02T10:00:00+00:00|Trading|Ana|text|buy 10 at market|1",
    "2024-03-02T10:01:00+00:00|Trading|Bo|text|done|2",
]
TRADES_EDITED = [TRADES[0], "2024-03-02T10:01:00+00:00|Trading|Bo|text|done, filled at 99|2"]


@pytest.fixture(autouse=True)
def fake_parsers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parsers, "all_parsers", lambda: [FakeTelegramParser(), FakeParser()])


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def loaded(archive: Archive, tmp_path: Path) -> Archive:
    """Three ingests (a zip with a photo, a Telegram chat and a later export of it that
    changed one text), then two searches: the tail of the trail holds no ingest."""
    zpath = tmp_path / "desk.zip"
    with zipfile.ZipFile(zpath, "w") as z:
        z.writestr("chat.fake", "\n".join(DESK) + "\n")
        z.writestr("IMG-1.jpg", b"\xff\xd8jpeg-bytes")
    exports = [
        zpath,
        write(tmp_path / "t1.tgfake", TRADES),
        write(tmp_path / "t2.tgfake", TRADES_EDITED),
    ]
    for path in exports:
        report = ingest(archive, [path], IngestOptions(custodian="dana"), inv("ingest"))
        assert report.sources[0].status == "ingested", report.sources[0].error
    search(archive, "price", inv("search"))
    search(archive, "term sheet", inv("search"))
    return archive


def run_verify(archive: Archive, head: audit.Head | None = None) -> VerifyReport:
    return verify(archive, inv("verify"), head=head)


def broken(report: VerifyReport) -> dict[str, str | None]:
    return {c.name: c.first for c in report.checks if not c.ok}


def one(archive: Archive, sql: str, *params: object) -> Any:
    return archive.store.one(sql, params)


def test_untouched_archive_verifies_clean_and_counts_what_it_checked(loaded: Archive) -> None:
    entries = int(one(loaded, "SELECT count(*) FROM audit_log"))
    report = run_verify(loaded)
    assert report.ok
    assert broken(report) == {}
    counted = {c.name: c.checked for c in report.checks}
    pages = int(one(loaded, "PRAGMA page_count"))
    assert counted == {
        "audit-trail": entries,
        "sqlite": pages,
        "page-hmacs": pages,
        "search-index": 5,
        "messages": 5,
        "versions": 1,
        "ingests": 3,
        "originals": 3,
        "attachments": 1,
    }
    # the verify entry comes after the result, chained to the verified head
    last = loaded.store.rows("SELECT * FROM audit_log ORDER BY seq DESC LIMIT 1")[0]
    assert (last["action"], last["outcome"], last["seq"]) == ("verify", "ok", entries + 1)
    details = json.loads(last["details"])
    assert details["verified_head"] == report.verified_head
    assert details["broken"] == {}
    assert report.head_after == f"{last['seq']}:{last['hash']}"


# --- the tamper matrix: each returns what verify must report, by check -----------------------


def edit_text(a: Archive) -> dict[str, str]:
    mid = one(a, "SELECT id FROM messages WHERE text = 'Price is 101.5'")
    a.store.execute("UPDATE messages SET text = 'Price is 99.0' WHERE id = ?", (mid,))
    return {
        "messages": f"message {mid}: its fingerprint does not match its content (text, "
        "sender, time or kind changed)"
    }


def _refingerprint(a: Archive, mid: object, text: str) -> None:
    """What an insider with the key would do: change the text and its fingerprint."""
    row: Any = a.store.execute(
        "SELECT c.platform, c.key, p.key, m.sent_at, m.kind, m.occurrence, m.msg_id "
        "FROM messages m JOIN chats c ON c.id = m.chat_id "
        "LEFT JOIN participants p ON p.id = m.sender_id WHERE m.id = ?",
        (mid,),
    ).fetchone()
    platform, chat, sender, sent, kind, occurrence, msg_id = row
    fp = identity.fingerprint(platform, chat, sender, sent, kind, text, occurrence, msg_id)
    a.store.execute("UPDATE messages SET text = ?, fingerprint = ? WHERE id = ?", (text, fp, mid))


def _root_changed(a: Archive, source_id: int) -> str:
    now = ingest_merkle_root(a.store, source_id)
    was = one(a, "SELECT merkle_root FROM sources WHERE id = ?", source_id)
    return (
        f"source {source_id}: the Merkle root of its messages is {str(now)[:16]}…, its "
        f"record says {str(was)[:16]}… (messages were added, removed or changed)"
    )


def edit_text_and_fingerprint(a: Archive) -> dict[str, str]:
    mid, sid = a.store.execute(
        "SELECT id, source_id FROM messages WHERE text = 'Price is 101.5'"
    ).fetchone()
    _refingerprint(a, mid, "Price is 99.0")
    return {"ingests": _root_changed(a, sid)}


def edit_text_fingerprint_and_root(a: Archive) -> dict[str, str]:
    """Even the source's stored root rewritten: the root anchored in the chain differs."""
    mid, sid = a.store.execute(
        "SELECT id, source_id FROM messages WHERE text = 'Price is 101.5'"
    ).fetchone()
    _refingerprint(a, mid, "Price is 99.0")
    root = ingest_merkle_root(a.store, sid)
    a.store.execute("UPDATE sources SET merkle_root = ? WHERE id = ?", (root, sid))
    seq = next(
        r["seq"]
        for r in a.store.rows("SELECT seq, details FROM audit_log ORDER BY seq")
        if json.loads(r["details"]).get("source_id") == sid
    )
    return {
        "ingests": f"source {sid}: its Merkle root differs from the one audit entry {seq} recorded"
    }


def delete_message(a: Archive) -> dict[str, str]:
    mid, sid = a.store.execute(
        "SELECT id, source_id FROM messages WHERE text = 'Price is 101.5'"
    ).fetchone()
    for table in ("message_custodians", "message_sources", "attachments"):
        a.store.execute(f"DELETE FROM {table} WHERE message_id = ?", (mid,))
    a.store.execute("DELETE FROM messages WHERE id = ?", (mid,))
    return {
        "messages": f"message {mid} is missing (the search index still holds its id)",
        "ingests": _root_changed(a, sid),
    }


def unindex_message(a: Archive) -> dict[str, str]:
    mid = one(a, "SELECT id FROM messages WHERE text = 'Price is 101.5'")
    ftsindex.unindex(a.store, [mid])
    return {"messages": f"message {mid} is not in the search index"}


def delete_message_and_its_index_entry(a: Archive) -> dict[str, str]:
    """An insider who also removes the index entry: the ingest's Merkle root still shows."""
    mid, sid = a.store.execute(
        "SELECT id, source_id FROM messages WHERE text = 'Price is 101.5'"
    ).fetchone()
    ftsindex.unindex(a.store, [mid])
    for table in ("message_custodians", "message_sources", "attachments"):
        a.store.execute(f"DELETE FROM {table} WHERE message_id = ?", (mid,))
    a.store.execute("DELETE FROM messages WHERE id = ?", (mid,))
    return {"ingests": _root_changed(a, sid)}


def edit_version(a: Archive) -> dict[str, str]:
    mid = one(a, "SELECT message_id FROM message_versions")
    a.store.execute("UPDATE message_versions SET text = 'cancelled' WHERE message_id = ?", (mid,))
    return {"versions": f"version 1 of message {mid}: its fingerprint does not match its content"}


def _first_search(a: Archive) -> int:
    return int(one(a, "SELECT min(seq) FROM audit_log WHERE action = 'search'"))


def edit_entry(a: Archive) -> dict[str, str]:
    seq = _first_search(a)
    a.store.execute('UPDATE audit_log SET args = \'{"query":"lunch"}\' WHERE seq = ?', (seq,))
    return {"audit-trail": f"entry {seq} was altered: its HMAC does not match its content"}


def delete_entry(a: Archive) -> dict[str, str]:
    seq = _first_search(a)
    a.store.execute("DELETE FROM audit_log WHERE seq = ?", (seq,))
    return {"audit-trail": f"entry {seq} is missing (the trail jumps from {seq - 1} to {seq + 1})"}


def swap_entries(a: Archive) -> dict[str, str]:
    seq = _first_search(a)
    cols = "at, user, host, action, args, outcome, details, prev_hash, hash"
    rows = a.store.execute(
        f"SELECT seq, {cols} FROM audit_log WHERE seq IN (?, ?) ORDER BY seq", (seq, seq + 1)
    ).fetchall()
    sets = ", ".join(f"{c.strip()} = ?" for c in cols.split(","))
    for (target, *_), (_, *content) in zip(rows, reversed(rows), strict=True):
        a.store.execute(f"UPDATE audit_log SET {sets} WHERE seq = ?", (*content, target))
    return {
        "audit-trail": f"entry {seq} holds the content of entry {seq + 1}: entries were re-ordered"
    }


def _change_blob(a: Archive, sha: str) -> str:
    """Change a stored file's content, storing it back the way archiver would."""
    content = bytearray(b"".join(blobs.read_blob(a.store, sha)))
    assert len(content) <= blobs.CHUNK_BYTES
    content[-1] ^= 0x01
    data, codec = blobs.encode_chunk(bytes(content))
    a.store.execute(
        "UPDATE blob_chunks SET data = ?, codec = ? WHERE sha256 = ?", (data, codec, sha)
    )
    return hashlib.sha256(bytes(content)).hexdigest()


def change_attachment(a: Archive) -> dict[str, str]:
    aid, sha = a.store.execute(
        "SELECT id, sha256 FROM attachments WHERE sha256 IS NOT NULL"
    ).fetchone()
    now = _change_blob(a, sha)
    return {"attachments": f"attachment {aid} ({sha[:12]}…): its content now hashes to {now[:12]}…"}


def change_original(a: Archive) -> dict[str, str]:
    sid, sha = a.store.execute("SELECT id, blob_sha256 FROM sources WHERE kind = 'zip'").fetchone()
    now = _change_blob(a, sha)
    return {
        "originals": f"source {sid} (original {sha[:12]}…): its content now hashes to {now[:12]}…"
    }


def damage_compressed_original(a: Archive) -> dict[str, str]:
    sid, sha = a.store.execute("SELECT id, blob_sha256 FROM sources WHERE kind = 'zip'").fetchone()
    data, codec = a.store.execute(
        "SELECT data, codec FROM blob_chunks WHERE sha256 = ? AND seq = 0", (sha,)
    ).fetchone()
    assert codec == "zstd"  # a zipped text export still compresses by an eighth
    damaged = bytearray(data)
    damaged[len(damaged) // 2] ^= 0xFF
    a.store.execute(
        "UPDATE blob_chunks SET data = ? WHERE sha256 = ? AND seq = 0", (bytes(damaged), sha)
    )
    return {
        "originals": f"source {sid} (original {sha[:12]}…): chunk 0 of the stored file cannot "
        "be read: its compressed data is damaged (decompression error: Restored data doesn't "
        "match checksum)"
    }


TAMPERING: list[Callable[[Archive], dict[str, str]]] = [
    edit_text,
    edit_text_and_fingerprint,
    edit_text_fingerprint_and_root,
    delete_message,
    unindex_message,
    delete_message_and_its_index_entry,
    edit_version,
    edit_entry,
    delete_entry,
    swap_entries,
    change_attachment,
    change_original,
    damage_compressed_original,
]


@pytest.mark.parametrize("tamper", TAMPERING, ids=lambda f: f.__name__)
def test_tampering_is_found_and_named(
    loaded: Archive, tamper: Callable[[Archive], dict[str, str]]
) -> None:
    with loaded.store.transaction():
        expected = tamper(loaded)
    report = run_verify(loaded)
    assert broken(report) == expected
    assert not report.ok
    last = loaded.store.rows("SELECT action, outcome, details FROM audit_log ORDER BY seq DESC")[0]
    assert (last["action"], last["outcome"]) == ("verify", "damage-found")
    assert json.loads(last["details"])["broken"].keys() == expected.keys()


def test_reordered_entries_count_as_two_problems(loaded: Archive) -> None:
    with loaded.store.transaction():
        swap_entries(loaded)
    chain = run_verify(loaded).checks[0]
    assert (chain.name, chain.problems) == ("audit-trail", 2)


def test_truncated_tail_is_found_only_against_a_recorded_head(loaded: Archive) -> None:
    head = audit.current_head(loaded.store)
    assert head is not None
    loaded.store.execute("DELETE FROM audit_log WHERE seq > ?", (head.seq - 2,))
    # Without a head recorded outside, a cut tail is a shorter valid chain (the threat
    # model: what was recorded outside the archive is the evidence).
    assert broken(run_verify(loaded)) == {}
    report = run_verify(loaded, head=head)
    assert broken(report) == {
        "audit-trail": f"entry {head.seq} (the recorded head) is missing: the trail ends at "
        f"entry {head.seq - 1}, so entries after it were removed"
    }


def test_a_head_whose_entry_was_rewritten_is_found(loaded: Archive) -> None:
    head = audit.current_head(loaded.store)
    assert head is not None
    forged = audit.Head(head.seq, "0" * 64)
    assert broken(run_verify(loaded, head=forged)) == {
        "audit-trail": f"entry {head.seq} differs from the recorded head: the trail was "
        "rewritten after the head was recorded"
    }
    assert broken(run_verify(loaded, head=head)) == {}


def test_flipped_byte_in_a_free_page_is_found(
    archive: Archive, tmp_path: Path, key_file: Path
) -> None:
    """Free pages hold no table: only SQLCipher's per-page HMAC check can see them."""
    store = archive.store
    before = int(store.one("PRAGMA page_count"))
    with store.transaction():
        store.execute("CREATE TABLE filler(x)")
        store.conn.executemany(
            "INSERT INTO filler VALUES (?)", [(bytes([i % 251]) * 3000,) for i in range(100)]
        )
    after = int(store.one("PRAGMA page_count"))
    store.execute("DROP TABLE filler")
    assert int(store.one("PRAGMA freelist_count")) >= after - before
    archive.close()  # the last connection: checkpoints the WAL into archive.db
    db = tmp_path / "archive" / "archive.db"
    assert not (tmp_path / "archive" / "archive.db-wal").exists()
    page = (before + after) // 2
    data = bytearray(db.read_bytes())
    assert len(data) == after * PAGE_SIZE
    data[(page - 1) * PAGE_SIZE + 1000] ^= 0x01
    db.write_bytes(bytes(data))
    reopened = open_archive(tmp_path / "archive", Secret("keyfile", key_file.read_bytes(), "t"))
    try:
        report = run_verify(reopened)
    finally:
        reopened.close()
    assert broken(report) == {"page-hmacs": f"HMAC verification failed for page {page}"}


def test_progress_reports_every_message(loaded: Archive) -> None:
    seen: dict[str, list[int]] = {}

    def progress(phase: str, n: int, total: int) -> None:
        seen.setdefault(phase, [0, total])[0] += n

    verify(loaded, inv("verify"), progress=progress)
    assert seen["messages"] == [5, 5]
    assert seen["ingests"] == [3, 3]
    assert seen["database checks"] == [2, 2]
    assert seen["audit trail"][0] == seen["audit trail"][1]


def test_the_benchmark_runs_on_a_small_archive(loaded: Archive, key_file: Path) -> None:
    import importlib.util

    path = Path(__file__).resolve().parents[2] / "bench" / "verify_bench.py"
    spec = importlib.util.spec_from_file_location("verify_bench", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    loaded.close()
    result = module.bench(loaded.path, key_file, runs=1)
    assert (result["messages"], result["clean"], len(result["runs_s"])) == (5, True, 1)
    assert result["messages_per_s"] > 0


PURGE_POLICY = """
[policy]
name = "minimise"
[[rules]]
name = "family"
scope = { chat = ["Family*"] }
delete_after = "1 year"
"""


@pytest.mark.parametrize("keep_desk", [True, False], ids=["original-redacted", "original-deleted"])
def test_a_purge_leaves_an_archive_that_verifies_clean(
    archive: Archive, tmp_path: Path, keep_desk: bool
) -> None:
    """Purged messages count in their ingest's Merkle root by their tombstones, and the
    purged originals and media go with their references: nothing looks tampered."""
    from archiver.retention.purge import execute
    from tests.retention_helpers import at, clock, load

    lines = [
        "2019-05-01T18:00:00+00:00|Family|Mum|text|the secret recipe",
        "2019-05-01T18:01:00+00:00|Family|Mum|media|photo||photo-1.jpg",
    ]
    if keep_desk:
        lines.append("2019-05-01T18:02:00+00:00|Deal Desk|Dana|media|signed||contract.pdf")
    zpath = tmp_path / "export.zip"
    with zipfile.ZipFile(zpath, "w") as z:
        z.writestr("chat.fake.txt", "\n".join(lines) + "\n")
        z.writestr("photo-1.jpg", b"JPEG bytes")
        z.writestr("contract.pdf", b"%PDF-1.4 contract")
    ingest(archive, [zpath], IngestOptions(custodian="dana"), inv("ingest"))
    load(archive, tmp_path, PURGE_POLICY)
    now = at(2026, 11, 27)
    execute(archive, now, clock(now))
    assert one(archive, "SELECT count(*) FROM messages") == (1 if keep_desk else 0)
    report = run_verify(archive)
    assert broken(report) == {}


def test_a_reference_to_a_missing_row_is_found(loaded: Archive) -> None:
    """Bulk ingest does not enforce references row by row (Store.bulk): verify does."""
    mid = one(loaded, "SELECT min(id) FROM messages")
    loaded.store.execute("PRAGMA foreign_keys = OFF")
    loaded.store.execute("UPDATE messages SET custodian_id = 999 WHERE id = ?", (mid,))
    loaded.store.execute("PRAGMA foreign_keys = ON")
    assert broken(run_verify(loaded)) == {
        "sqlite": f"messages row {mid} refers to a missing custodians row"
    }
