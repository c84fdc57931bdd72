"""An Android attachment with its caption on the next line, from ingest to purge."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

from archiver.archive.session import Archive
from archiver.ingest.exports import IngestOptions, ingest
from archiver.store import blobs
from tests import hostile
from tests.conftest import inv
from tests.retention.test_redaction import purge_one

PDF = b"%PDF-1.4 quarterly figures, confidential\n%%EOF\n"


def _ingest(archive: Archive, export: Path) -> None:
    report = ingest(archive, [export], IngestOptions(custodian="dana"), inv("ingest"))
    assert [s.status for s in report.sources] == ["ingested"], report.sources[0].error


def test_the_file_is_linked_and_the_caption_kept_as_its_text(
    archive: Archive, tmp_path: Path
) -> None:
    _ingest(archive, hostile.wa_caption_zip(tmp_path, PDF))
    rows = archive.store.rows(
        "SELECT m.kind, m.text, a.name, a.path, a.size, a.sha256 FROM attachments a "
        "JOIN messages m ON m.id = a.message_id"
    )
    assert [dict(r) for r in rows] == [
        {
            "kind": "media",
            "text": "Here is the Q1 report",
            "name": "Q1-report.pdf",
            "path": "Q1-report.pdf",
            "size": len(PDF),
            "sha256": hashlib.sha256(PDF).hexdigest(),
        }
    ]
    assert b"".join(blobs.read_blob(archive.store, hashlib.sha256(PDF).hexdigest())) == PDF


def test_a_purged_attachment_leaves_the_redacted_original(archive: Archive, tmp_path: Path) -> None:
    _ingest(archive, hostile.wa_caption_zip(tmp_path, PDF))
    # everything but the text messages without "Q1" is purged: the PDF's message goes
    report = purge_one(archive, tmp_path, "Hostile", "Q1")
    (outcome,) = report["originals"]  # type: ignore[misc]
    assert (outcome["outcome"], outcome["media_removed"]) == ("redacted", ["Q1-report.pdf"])
    stored = archive.store.one("SELECT blob_sha256 FROM sources")
    with zipfile.ZipFile(io.BytesIO(b"".join(blobs.read_blob(archive.store, stored)))) as z:
        assert z.namelist() == [hostile.WA_TITLE + ".txt"]
        chat = z.read(hostile.WA_TITLE + ".txt").decode()
    assert "Q1" not in chat and "Morning, the café opens at nine" in chat
    assert not archive.store.one(
        "SELECT count(*) FROM blobs WHERE sha256 = ?", (hashlib.sha256(PDF).hexdigest(),)
    )
