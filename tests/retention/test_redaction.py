"""Redacting stored originals: line streaming, JSON/HTML blocks, real exports."""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path

import pytest

from archiver.archive.session import Archive
from archiver.ingest.exports import IngestOptions, ingest
from archiver.retention import redaction
from archiver.retention.purge import execute
from archiver.store import blobs
from tests.conftest import inv
from tests.retention_helpers import at, clock, load

SAMPLES = Path(__file__).resolve().parents[2] / "sample_exports"
NOW = at(2026, 11, 27)


@pytest.mark.parametrize("block", [1, 2, 3, 7, 1 << 20])
def test_lines_keep_their_endings_across_read_boundaries(
    monkeypatch: pytest.MonkeyPatch, block: int
) -> None:
    monkeypatch.setattr(redaction, "_READ", block)
    text = "\ufeffa: 1\r\r\nb: 2\r\nc: ü\rd: 3\ne: last"
    lines = list(redaction.iter_lines(io.BytesIO(text.encode())))
    assert lines == ["\ufeffa: 1\r\r\n", "b: 2\r\n", "c: ü\r", "d: 3\n", "e: last"]


def test_txt_messages_span_to_the_next_start() -> None:
    lines = ["banner\n", "1 a\n", "cont\n", "\n", "2 b\n", "3 c\n", "more\n"]
    kept = redaction.redact_lines(lines, {2, 6}, iter([2, 5, 6]), "txt")
    assert list(kept) == ["banner\n", "2 b\n"]


def test_json_objects_end_where_they_close_and_commas_stay_valid() -> None:
    doc = (
        '{\n "messages": [\n  {\n   "id": 1,\n   "text": "a } not the end"\n  },\n'
        '  {\n   "id": 2\n  }\n ]\n}\n'
    )
    lines = list(redaction.iter_lines(io.BytesIO(doc.encode())))
    # message 2 starts on line 7, message 1 on line 3
    last_removed = "".join(redaction.redact_lines(lines, {7}, iter([3, 7]), "json"))
    assert json.loads(last_removed) == {"messages": [{"id": 1, "text": "a } not the end"}]}
    first_removed = "".join(redaction.redact_lines(lines, {3}, iter([3, 7]), "json"))
    assert json.loads(first_removed) == {"messages": [{"id": 2}]}


def run(archive: Archive, path: Path) -> None:
    report = ingest(archive, [path], IngestOptions(custodian="dana", tz="UTC"), inv())
    assert report.sources[0].status == "ingested", report.sources[0].error


def purge_one(archive: Archive, tmp_path: Path, chat: str, text_word: str) -> dict[str, object]:
    load(
        archive,
        tmp_path,
        f'[policy]\nname = "p"\n[[rules]]\nname = "r"\nscope = {{ chat = ["{chat}"] }}\n'
        'delete_after = "1 day"\n',
    )
    # hold everything except the messages containing the word: a partial purge
    from archiver.retention import holds

    holds.create(
        archive,
        "keep-rest",
        matter="m",
        reason="r",
        custodian=[],
        chat=[],
        participant=[],
        sent_after=None,
        sent_before=None,
        query=f"NOT {text_word} kind:text",
        inv=inv(),
    )
    return execute(archive, NOW, clock(NOW))


def test_telegram_json_original_is_redacted_and_still_parses(
    archive: Archive, tmp_path: Path
) -> None:
    folder = tmp_path / "ChatExport_2024-03-15"
    shutil.copytree(SAMPLES / "telegram" / "ChatExport_2024-03-15", folder)
    run(archive, folder)
    report = purge_one(archive, tmp_path, "FX Desk*", "mandate")
    (outcome,) = report["originals"]  # type: ignore[misc]
    assert outcome["outcome"] == "redacted", outcome
    sha = archive.store.one("SELECT sha256 FROM source_files WHERE path = 'result.json'")
    doc = json.loads(b"".join(blobs.read_blob(archive.store, sha)))
    texts = [m["text"] for m in doc["messages"] if isinstance(m["text"], str)]
    assert not any("mandate" in t for t in texts)
    assert "Yes, renewed in January. Booking now." in texts


def test_whatsapp_zip_is_rebuilt_without_the_purged_lines(archive: Archive, tmp_path: Path) -> None:
    source = SAMPLES / "whatsapp" / "WhatsApp Chat - Projekt Nordlicht.zip"
    run(archive, source)
    report = purge_one(archive, tmp_path, "Projekt*", "Kaufpreis")
    (outcome,) = report["originals"]  # type: ignore[misc]
    assert outcome["outcome"] == "redacted", outcome
    blob = archive.store.one("SELECT blob_sha256 FROM sources")
    data = b"".join(blobs.read_blob(archive.store, blob))
    with zipfile.ZipFile(io.BytesIO(data)) as z, zipfile.ZipFile(source) as orig:
        chat = z.read("_chat.txt").decode()
        before = orig.read("_chat.txt").decode()
        assert "Kaufpreis" in before and "Kaufpreis" not in chat
        assert len(chat.splitlines()) < len(before.splitlines())
        assert set(z.namelist()) <= set(orig.namelist())
