"""Telegram message ids: an edit keeps its sender; one id with two senders is two messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from archiver.archive.session import Archive
from archiver.audit.verify import verify
from archiver.ingest.exports import IngestOptions, SourceReport, ingest
from tests.conftest import inv


def message(mid: int, sender: str, sender_id: str, text: str, minute: int) -> dict[str, object]:
    return {
        "id": mid,
        "type": "message",
        "date": f"2024-03-15T10:{minute:02d}:00",
        "date_unixtime": str(1710496800 + minute * 60),
        "from": sender,
        "from_id": sender_id,
        "text": text,
    }


def export(folder: Path, messages: list[dict[str, object]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    doc = {"name": "Rates", "type": "private_group", "id": 555, "messages": messages}
    (folder / "result.json").write_text(json.dumps(doc), encoding="utf-8")
    return folder


def ingest_one(archive: Archive, path: Path) -> SourceReport:
    (source,) = ingest(archive, [path], IngestOptions(tz="UTC"), inv("ingest")).sources
    assert source.status == "ingested", source.error
    return source


def rows(archive: Archive) -> list[tuple[str | None, str, int, str | None]]:
    return [
        (r["msg_id"], r["text"], r["version"], r["key"])
        for r in archive.store.rows(
            "SELECT m.msg_id, m.text, m.version, p.key FROM messages m "
            "JOIN participants p ON p.id = m.sender_id ORDER BY m.id"
        )
    ]


ALICE = ("Alice", "user1")
BOB = ("Bob", "user2")


@pytest.mark.parametrize("same_file", [True, False])
def test_one_id_with_two_senders_keeps_both_messages(
    archive: Archive, tmp_path: Path, same_file: bool
) -> None:
    first = message(7, *ALICE, "Alice: the bid is 101", 0)
    second = message(7, *BOB, "Bob: I will take 102", 1)
    if same_file:
        report = ingest_one(archive, export(tmp_path / "a", [first, second]))
    else:
        ingest_one(archive, export(tmp_path / "a", [first]))
        report = ingest_one(archive, export(tmp_path / "b", [first, second]))
    assert rows(archive) == [
        (7, "Alice: the bid is 101", 1, "user1"),
        (None, "Bob: I will take 102", 1, "user2"),
    ]
    assert report.new_versions == 0
    (conflict,) = [n for n in report.notices if n["code"] == "platform-id-conflict"]
    assert conflict["message"] == (
        "message id 7 appears with two senders; both are kept, the one from user2 without "
        "the id (it is not an edit)"
    )
    extra = archive.store.one("SELECT extra FROM messages WHERE msg_id IS NULL")
    assert json.loads(extra) == {"platform_id_conflict": "7"}
    hits = archive.store.rows("SELECT rowid FROM messages_fts WHERE messages_fts MATCH 'alice'")
    assert len(hits) == 1
    assert verify(archive, inv("verify")).ok


def test_the_same_sender_changing_the_text_is_an_edit(archive: Archive, tmp_path: Path) -> None:
    ingest_one(archive, export(tmp_path / "a", [message(7, *ALICE, "bid 101", 0)]))
    report = ingest_one(archive, export(tmp_path / "b", [message(7, *ALICE, "bid 101.5", 0)]))
    assert report.new_versions == 1
    assert rows(archive) == [(7, "bid 101.5", 2, "user1")]


def test_a_conflicting_export_ingested_again_adds_nothing(archive: Archive, tmp_path: Path) -> None:
    first = message(7, *ALICE, "Alice: the bid is 101", 0)
    second = message(7, *BOB, "Bob: I will take 102", 1)
    ingest_one(archive, export(tmp_path / "a", [first, second]))
    (again,) = ingest(
        archive, [export(tmp_path / "b", [first, second, message(8, *BOB, "done", 2)])],
        IngestOptions(tz="UTC"), inv("ingest"),
    ).sources  # fmt: skip
    assert (again.new, again.existing) == (1, 2)


def test_a_sender_known_only_by_name_is_not_taken_for_another_person(
    archive: Archive, tmp_path: Path
) -> None:
    old = message(7, "Alice", "user1", "bid 101", 0)
    del old["from_id"]  # tdesktop 1.3.8 - 1.4.7 exports have no sender ids
    ingest_one(archive, export(tmp_path / "a", [old]))
    report = ingest_one(archive, export(tmp_path / "b", [message(7, *ALICE, "bid 101", 0)]))
    assert (report.new, report.existing) == (0, 1)


def test_a_new_version_links_the_export_that_brought_it(archive: Archive, tmp_path: Path) -> None:
    ingest_one(archive, export(tmp_path / "a", [message(7, *ALICE, "bid 101", 0)]))
    later = ingest_one(archive, export(tmp_path / "b", [message(7, *ALICE, "bid 102", 0)]))
    assert (later.new_versions, later.existing) == (1, 1)
    assert archive.store.rows("SELECT source_id FROM message_sources") == [
        {"source_id": later.source_id}
    ]


def test_a_message_with_id_zero_is_linked_by_a_later_export(
    archive: Archive, tmp_path: Path
) -> None:
    timeless = {**message(7, *ALICE, "an export with no times", 0), "date": None}
    del timeless["date_unixtime"]
    ingest_one(archive, export(tmp_path / "a", [timeless]))
    assert archive.store.one("SELECT id FROM messages") == 0
    again = ingest_one(archive, export(tmp_path / "b", [timeless, message(8, *BOB, "hi", 1)]))
    assert (again.new, again.existing) == (1, 1)
