"""The ingest pipeline with a stand-in parser: dedup, merge, versions, custody, atomicity."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from archiver import parsers
from archiver.archive.session import Archive
from archiver.core import identity
from archiver.ingest import exports as ingest_module
from archiver.ingest import staging
from archiver.ingest.exports import IngestOptions, IngestReport, ingest, ingest_merkle_root
from archiver.store import auditlog, blobs
from tests.conftest import inv
from tests.fakeparser import FakeParser, FakeTelegramParser


@pytest.fixture(autouse=True, params=["inline", "child-process"])
def fake_parsers(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> None:
    """Every test runs with the parser inline under WAL, and as a big export is: parsed
    in the forked child process, written holding the archive exclusively."""
    monkeypatch.setattr(parsers, "all_parsers", lambda: [FakeTelegramParser(), FakeParser()])
    if request.param == "child-process":
        monkeypatch.setattr(ingest_module, "BIG_EXPORT_BYTES", 0)


def write(path: Path, *lines: str) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run(archive: Archive, *paths: Path, custodian: str | None = "dana") -> IngestReport:
    return ingest(archive, list(paths), IngestOptions(custodian=custodian), inv("ingest"))


def count(archive: Archive, table: str = "messages") -> int:
    return int(archive.store.one(f"SELECT count(*) FROM {table}"))


A = [
    "2024-03-01T09:00:00+00:00|Deal Desk|Dana|text|Morning, the term sheet is in",
    "2024-03-01T09:01:00+00:00|Deal Desk|Sam|text|ok",
    "2024-03-01T09:01:00+00:00|Deal Desk|Sam|text|ok",
    "2024-03-01T09:02:00+00:00|Deal Desk|Dana|text|Price is 101.5",
]


def test_reingest_adds_nothing(archive: Archive, tmp_path: Path) -> None:
    export = write(tmp_path / "a.fake", *A)
    first = run(archive, export).sources[0]
    assert (first.status, first.messages, first.new, first.existing) == ("ingested", 4, 4, 0)
    second = run(archive, export).sources[0]
    assert (second.status, second.new) == ("already-ingested", 0)
    assert count(archive) == 4
    assert count(archive, "sources") == 1


def test_identical_messages_in_one_minute_stay_two(archive: Archive, tmp_path: Path) -> None:
    run(archive, write(tmp_path / "a.fake", *A))
    oks = archive.store.rows("SELECT occurrence FROM messages WHERE text = 'ok' ORDER BY id")
    assert [r["occurrence"] for r in oks] == [0, 1]


def test_identical_messages_further_apart_than_the_staging_window_stay_two(
    archive: Archive, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # staging numbers repeats within a bounded window; the writer catches the rest
    monkeypatch.setattr(staging, "_OCCURRENCE_WINDOW", 2)
    between = [f"2024-03-01T10:0{i}:00+00:00|Deal Desk|Dana|text|note {i}" for i in range(5)]
    lines = [A[1], *between, A[1]]
    export = write(tmp_path / "a.fake", *lines)
    report = run(archive, export).sources[0]
    assert (report.messages, report.new) == (7, 7)
    oks = archive.store.rows("SELECT occurrence FROM messages WHERE text = 'ok' ORDER BY id")
    assert [r["occurrence"] for r in oks] == [0, 1]
    # a later export of the chat: each "ok" finds its own archived twin
    signed = "2024-03-01T11:00:00+00:00|Deal Desk|Sam|text|Signed."
    again = run(archive, write(tmp_path / "b.fake", *lines, signed)).sources[0]
    assert (again.new, again.existing) == (1, 7)
    linked = archive.store.rows(
        "SELECT m.occurrence FROM message_sources s JOIN messages m ON m.id = s.message_id "
        "WHERE s.source_id = ? AND m.text = 'ok' ORDER BY m.id",
        (again.source_id,),
    )
    assert [r["occurrence"] for r in linked] == [0, 1]


def test_overlapping_exports_merge_exactly(archive: Archive, tmp_path: Path) -> None:
    run(archive, write(tmp_path / "a.fake", *A))
    later = [
        *A[1:],
        "2024-03-01T09:05:00+00:00|Deal Desk|Sam|text|Signed.",
        "2024-03-01T09:06:00+00:00|Deal Desk|Sam|text|ok",
    ]
    report = run(archive, write(tmp_path / "b.fake", *later)).sources[0]
    assert (report.messages, report.new, report.existing) == (5, 2, 3)
    assert count(archive) == 6
    # the second sighting is recorded as provenance
    assert count(archive, "message_sources") == 3


def test_two_custodians_same_group_dedup_only_exact_matches(
    archive: Archive, tmp_path: Path
) -> None:
    run(archive, write(tmp_path / "dana.fake", *A), custodian="dana")
    other_phone = [line.replace("|Dana|", "|Dana Whitfield|") for line in A]
    report = run(archive, write(tmp_path / "sam.fake", *other_phone), custodian="sam").sources[0]
    # Sam's phone shows Dana under another name: those stay separate copies.
    assert (report.new, report.existing) == (2, 2)
    linked = archive.store.rows(
        "SELECT m.text, group_concat(c.name, ',') AS who FROM messages m "
        "JOIN message_custodian_ids mc ON mc.message_id = m.id "
        "JOIN custodians c ON c.id = mc.custodian_id GROUP BY m.id ORDER BY m.id"
    )
    assert [(r["text"], sorted(r["who"].split(","))) for r in linked] == [
        ("Morning, the term sheet is in", ["dana"]),
        ("Morning, the term sheet is in", ["sam"]),
        ("ok", ["dana", "sam"]),
        ("ok", ["dana", "sam"]),
        ("Price is 101.5", ["dana"]),
        ("Price is 101.5", ["sam"]),
    ]


def test_ids_follow_time_even_for_out_of_order_files(archive: Archive, tmp_path: Path) -> None:
    run(
        archive,
        write(
            tmp_path / "a.fake",
            "2024-03-01T10:00:00+00:00|C|X|text|third",
            "2024-03-01T08:00:00+00:00|C|X|text|first",
            "|C|X|system|no time: sorts with the message before it",
            "2024-03-01T09:00:00+00:00|C|X|text|second",
        ),
    )
    texts = [r["text"] for r in archive.store.rows("SELECT text FROM messages ORDER BY id")]
    assert texts == ["first", "no time: sorts with the message before it", "second", "third"]
    later = run(archive, write(tmp_path / "b.fake", "2024-03-01T09:00:00+00:00|C|Y|text|also 9"))
    assert later.sources[0].new == 1
    ids = [
        r["id"] for r in archive.store.rows("SELECT id FROM messages WHERE sent_at = 1709283600")
    ]
    assert sorted(identity.id_second(i) for i in ids) == [1709283600, 1709283600]
    assert len(set(ids)) == 2


def test_telegram_text_change_is_a_new_version_not_a_new_message(
    archive: Archive, tmp_path: Path
) -> None:
    run(
        archive, write(tmp_path / "a.tgfake", "2024-03-01T09:00:00+00:00|-100|user1|text|Buy 100|7")
    )
    report = run(
        archive, write(tmp_path / "b.tgfake", "2024-03-01T09:00:00+00:00|-100|user1|text|Buy 200|7")
    ).sources[0]
    assert (report.new, report.new_versions) == (0, 1)
    row = archive.store.rows("SELECT text, version, edited FROM messages")
    assert row == [{"text": "Buy 200", "version": 2, "edited": 1}]
    old = archive.store.rows("SELECT version, text FROM message_versions")
    assert old == [{"version": 1, "text": "Buy 100"}]
    # the older export again (different bytes: another custodian) adds nothing
    again = run(
        archive,
        write(tmp_path / "c.tgfake", "2024-03-01T09:00:00+00:00|-100|user1|text|Buy 100|7"),
        custodian="sam",
    ).sources[0]
    assert (again.new, again.new_versions, again.existing) == (0, 0, 1)
    hits = archive.store.rows("SELECT rowid FROM messages_fts WHERE messages_fts MATCH '200'")
    assert len(hits) == 1
    assert archive.store.rows("SELECT rowid FROM messages_fts WHERE messages_fts MATCH '100'") == []


def test_failed_export_leaves_archive_exactly_as_before(archive: Archive, tmp_path: Path) -> None:
    run(archive, write(tmp_path / "a.fake", *A))
    before = {t: count(archive, t) for t in ("messages", "sources", "blobs", "messages_fts")}
    lines = [
        f"2024-03-02T{i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}+00:00|Other|Bo|text|m{i}"
        for i in range(12_000)
    ]
    report = run(archive, write(tmp_path / "bad.fake", *lines, "!boom"))
    assert report.sources[0].status == "failed"
    assert report.sources[0].error == "bad.fake: line 12001: boom"
    after = {t: count(archive, t) for t in before}
    assert after == before
    last = archive.store.rows("SELECT outcome, details FROM audit_log ORDER BY seq DESC LIMIT 1")[0]
    assert last["outcome"] == "error"
    assert json.loads(last["details"])["source"] == "bad.fake"


def test_audit_entry_carries_source_hash_and_merkle_root(archive: Archive, tmp_path: Path) -> None:
    report = run(archive, write(tmp_path / "a.fake", *A)).sources[0]
    entry = archive.store.rows("SELECT details FROM audit_log WHERE action = 'ingest'")[0]
    details = json.loads(entry["details"])
    assert details["sha256"] == report.sha256
    assert details["merkle_root"] == report.merkle_root == ingest_merkle_root(archive.store, 1)
    assert details["counts"]["new"] == 4
    assert auditlog.head(archive.store) is not None


def test_original_is_stored_and_attachments_resolved_from_zip(
    archive: Archive, tmp_path: Path
) -> None:
    zpath = tmp_path / "export.zip"
    with zipfile.ZipFile(zpath, "w") as z:
        z.writestr(
            "chat.fake",
            "2024-03-01T09:00:00+00:00|C|X|media|see photo||IMG-1.jpg\n"
            "2024-03-01T09:01:00+00:00|C|X|media|drifted||IMG-2.jpg\n"
            "2024-03-01T09:02:00+00:00|C|X|media|missing||IMG-3.jpg\n",
        )
        z.writestr("IMG-1.jpg", b"\xff\xd8jpeg-one")
        z.writestr("IMG-2.jpg.png", b"png-two")
        z.writestr("__MACOSX/._IMG-1.jpg", b"junk")
    report = run(archive, zpath).sources[0]
    assert (report.attachments, report.attachments_stored, report.attachments_missing) == (3, 2, 1)
    rows = archive.store.rows("SELECT name, sha256 IS NOT NULL AS stored, note FROM attachments")
    assert rows == [
        {"name": "IMG-1.jpg", "stored": 1, "note": None},
        {"name": "IMG-2.jpg", "stored": 1, "note": None},
        {"name": "IMG-3.jpg", "stored": 0, "note": "file not found in the export"},
    ]
    files = archive.store.rows("SELECT path FROM source_files ORDER BY path")
    assert [f["path"] for f in files] == ["IMG-1.jpg", "IMG-2.jpg.png", "chat.fake"]
    stored = archive.store.one("SELECT size FROM blobs WHERE sha256 = ?", (report.sha256,))
    assert stored == zpath.stat().st_size


def test_unparsed_lines_are_kept_and_counted(archive: Archive, tmp_path: Path) -> None:
    report = run(archive, write(tmp_path / "a.fake", "a banner line", *A)).sources[0]
    assert report.unparsed == 1
    assert archive.store.rows("SELECT line, raw FROM unparsed") == [
        {"line": 1, "raw": "a banner line"}
    ]


def test_telegram_reexport_with_another_time_or_sender_spelling_is_not_an_edit(
    archive: Archive, tmp_path: Path
) -> None:
    """An old export read with another --tz shows the same message id at another time:
    the message keeps its first time, and only a changed text makes a new version
    (verify stays clean). (Another sender id is another message: test_platform_ids.)"""
    from archiver.audit.verify import verify

    run(
        archive, write(tmp_path / "a.tgfake", "2024-03-01T09:00:00+00:00|-100|user1|text|Buy 100|7")
    )
    same = run(
        archive,
        write(tmp_path / "b.tgfake", "2024-03-01T10:00:00+00:00|-100|user1|text|Buy 100|7"),
        custodian="sam",
    ).sources[0]
    assert (same.new, same.new_versions, same.existing) == (0, 0, 1)
    edited = run(
        archive,
        write(tmp_path / "c.tgfake", "2024-03-01T10:00:00+00:00|-100|user1|text|Buy 150|7"),
        custodian="lee",
    ).sources[0]
    assert (edited.new, edited.new_versions) == (0, 1)
    row = archive.store.rows("SELECT text, sent_at FROM messages")
    assert row == [{"text": "Buy 150", "sent_at": 1709283600}]
    report = verify(archive, inv("verify"))
    assert report.ok, report.first_problem


def test_staged_ids_give_way_to_messages_already_in_those_seconds(
    archive: Archive, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ingest_module, "BATCH", 2)
    nine = "2024-03-01T09:00:00+00:00"
    run(archive, write(tmp_path / "a.fake", f"{nine}|A|X|text|a1", f"{nine}|A|X|text|a2"))
    report = run(
        archive,
        write(
            tmp_path / "b.fake",
            f"{nine}|B|Y|text|b1",
            "2024-03-01T10:00:00+00:00|B|Y|text|b3",
            f"{nine}|B|Y|text|b2 (out of order, in the next batch)",
            "2024-03-01T10:00:00+00:00|B|Y|text|b4",
        ),
    ).sources[0]
    assert (report.status, report.new) == ("ingested", 4)
    rows = archive.store.rows("SELECT id, text FROM messages ORDER BY id")
    base = identity.id_base(1709283600)
    assert [(r["id"] - base, r["text"][:2]) for r in rows] == [
        (0, "a1"),
        (1, "a2"),
        (2, "b1"),
        (3, "b2"),
        (3600 << identity.SEQ_BITS, "b3"),
        ((3600 << identity.SEQ_BITS) + 1, "b4"),
    ]
    assert ingest_merkle_root(archive.store, report.source_id) == report.merkle_root


def test_a_telegram_id_met_again_in_a_later_batch_is_a_version(
    archive: Archive, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ingest_module, "BATCH", 2)
    t = "2024-03-01T09:00:00+00:00"
    report = run(
        archive,
        write(
            tmp_path / "a.tgfake",
            f"{t}|-100|u1|text|ten|10",
            f"{t}|-100|u1|text|five|5",
            f"{t}|-100|u1|text|ten, edited|10",
            f"{t}|-100|u1|text|eleven|11",
        ),
    ).sources[0]
    assert (report.status, report.new, report.new_versions) == ("ingested", 3, 1)
    rows = archive.store.rows("SELECT msg_id, text, version FROM messages ORDER BY msg_id")
    assert rows == [
        {"msg_id": 5, "text": "five", "version": 1},
        {"msg_id": 10, "text": "ten, edited", "version": 2},
        {"msg_id": 11, "text": "eleven", "version": 1},
    ]
    assert ingest_merkle_root(archive.store, report.source_id) == report.merkle_root


def test_the_original_is_stored_whole_between_and_after_the_batches(
    archive: Archive, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ingest_module, "BATCH", 2)
    monkeypatch.setattr(blobs, "CHUNK_BYTES", 50)  # far more chunks than batches
    lines = [f"2024-03-01T09:{i:02d}:00+00:00|C|X|text|message number {i}" for i in range(7)]
    export = write(tmp_path / "a.fake", *lines)
    report = run(archive, export).sources[0]
    assert (report.status, report.new) == ("ingested", 7)
    assert b"".join(blobs.read_blob(archive.store, report.sha256)) == export.read_bytes()
    chunks = archive.store.one(
        "SELECT count(*) FROM blob_chunks WHERE sha256 = ?", (report.sha256,)
    )
    assert chunks == -(-export.stat().st_size // 50)
    assert archive.store.one("SELECT size FROM blobs WHERE sha256 = ?", (report.sha256,)) == (
        export.stat().st_size
    )


def test_an_original_that_changes_while_stored_is_refused_and_nothing_kept(
    archive: Archive, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    export = write(tmp_path / "a.fake", *A)
    real_steps = blobs.put_steps

    def tampering(*args, **kwargs):  # type: ignore[no-untyped-def]
        steps = real_steps(*args, **kwargs)
        yield next(steps)  # the blob row; then the file changes under us
        export.write_text(export.read_text() + "# appended\n")
        yield from steps

    monkeypatch.setattr(blobs, "put_steps", tampering)
    report = run(archive, export).sources[0]
    assert report.status == "failed"
    assert report.error == "a.fake changed while it was being read; ingest it again"
    assert count(archive) == count(archive, "sources") == count(archive, "blobs") == 0


def test_more_messages_in_one_second_than_ids_allow_is_refused(
    archive: Archive, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(identity, "SEQ_LIMIT", 3)
    t = "2024-03-01T09:00:00+00:00"
    report = run(archive, write(tmp_path / "a.fake", *[f"{t}|C|X|text|m{i}" for i in range(4)]))
    source = report.sources[0]
    assert source.status == "failed"
    assert source.error == (
        "a.fake: more than 3 messages in one second (1709283600): ids are (second, "
        "sequence) pairs; are the export's dates readable?"
    )
    assert count(archive) == 0
