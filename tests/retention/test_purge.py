"""Purge: secure deletion, tombstones, originals, re-ingest, certificates."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from archiver import parsers
from archiver.archive.session import Archive, create_archive, open_archive
from archiver.core import identity
from archiver.core.errors import SignatureInvalid
from archiver.ingest.exports import IngestOptions, ingest, ingest_merkle_root
from archiver.retention import purge as purge_module
from archiver.retention.purge import execute
from archiver.security import signing
from archiver.security.keyring import Secret, create_key_file
from tests.conftest import inv
from tests.fakeparser import FakeParser, FakeTelegramParser
from tests.retention_helpers import at, clock, load, texts

NOW = at(2026, 11, 27)
CANARY = "zebracanary"
POLICY = """
[policy]
name = "gdpr-storage-limitation"
[[rules]]
name = "minimise-family"
scope = { chat = ["Family*"] }
delete_after = "1 year"
"""
LINES = [
    f"2019-05-01T18:00:00+00:00|Family|Mum|text|the {CANARY} secret recipe",
    "2019-05-01T18:01:00+00:00|Deal Desk|Dana|text|term sheet v2 attached",
    f"2019-05-01T18:02:00+00:00|Family|Mum|media|{CANARY} photo||photo-1.jpg",
    "2019-05-01T18:03:00+00:00|Deal Desk|Sam|media|signed||contract.pdf",
]


@pytest.fixture(autouse=True)
def fake_parsers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parsers, "all_parsers", lambda: [FakeTelegramParser(), FakeParser()])


def export_zip(folder: Path, name: str = "export.zip", lines: list[str] = LINES) -> Path:
    path = folder / name
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as z:
        z.writestr("chat.fake.txt", "\n".join(lines) + "\n")
        z.writestr("photo-1.jpg", f"JPEG {CANARY} bytes".encode())
        z.writestr("contract.pdf", b"%PDF-1.4 contract")
    return path


def run_ingest(archive: Archive, path: Path) -> dict[str, int]:
    s = ingest(archive, [path], IngestOptions(custodian="dana@broker.example"), inv()).sources[0]
    assert s.status in ("ingested", "already-ingested"), s.error
    return {"new": s.new, "existing": s.existing, "purged": s.previously_purged}


@pytest.fixture
def plain(tmp_path: Path) -> Archive:
    """An UNENCRYPTED test-mode archive, so raw pages can be searched for the canary."""
    key = tmp_path / "k.key"
    create_key_file(key)
    secret = Secret("keyfile", key.read_bytes(), "t")
    create_archive(
        tmp_path / "plain", secret, inv("init"), tz="UTC", plaintext=True
    ).archive.close()
    return open_archive(tmp_path / "plain", secret, plaintext=True)


def raw_files(archive: Archive) -> dict[str, bytes]:
    return {
        p.name: p.read_bytes() for p in archive.path.iterdir() if p.name.startswith("archive.db")
    }


@pytest.mark.parametrize("fts_path", ["per-row secure-delete", "bulk delete then optimize"])
def test_purged_canary_is_gone_from_every_page_and_the_wal(
    plain: Archive, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fts_path: str
) -> None:
    if fts_path.startswith("bulk"):
        monkeypatch.setattr(purge_module, "BULK_FTS_DELETE", 0)
    run_ingest(plain, export_zip(tmp_path))
    assert any(CANARY.encode() in data for data in raw_files(plain).values())  # control
    load(plain, tmp_path, POLICY)
    report = execute(plain, NOW, clock(NOW))
    assert (report["deleted"], report["originals_redacted"], report["attachments_removed"]) == (
        2,
        1,
        1,
    )
    assert texts(plain) == {"term sheet v2 attached", "signed"}
    files = raw_files(plain)
    assert "archive.db" in files
    for name, data in files.items():
        assert CANARY.encode() not in data, f"{CANARY} survives in {name}"
    plain.close()
    for name, data in {p.name: p.read_bytes() for p in plain.path.iterdir()}.items():
        assert CANARY.encode() not in data, f"{CANARY} survives in {name} after close"


def test_redacted_original_keeps_the_rest_and_reingest_adds_nothing(
    archive: Archive, tmp_path: Path
) -> None:
    original = export_zip(tmp_path)
    first = run_ingest(archive, original)
    assert first["new"] == 4
    load(archive, tmp_path, POLICY)
    report = execute(archive, NOW, clock(NOW))
    (outcome,) = report["originals"]  # type: ignore[misc]
    assert outcome["outcome"] == "redacted"
    assert outcome["media_removed"] == ["photo-1.jpg"]
    source = archive.store.rows("SELECT sha256, blob_sha256, status FROM sources")[0]
    assert source["status"] == "redacted"
    assert source["blob_sha256"] != source["sha256"]  # the tombstone keeps the original hash
    from archiver.store import blobs

    data = b"".join(blobs.read_blob(archive.store, source["blob_sha256"]))
    import io

    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert sorted(z.namelist()) == ["chat.fake.txt", "contract.pdf"]
        assert z.read("chat.fake.txt").decode() == "\n".join([LINES[1], LINES[3]]) + "\n"
    # Purged stays purged: the same export, from another custodian, brings nothing back.
    again = ingest(
        archive, [original], IngestOptions(custodian="sam@broker.example"), inv()
    ).sources[0]
    assert (again.new, again.previously_purged, again.existing) == (0, 2, 2)
    assert texts(archive) == {"term sheet v2 attached", "signed"}
    # The ingest's Merkle root still verifies: purged messages count by their tombstone.
    root = archive.store.one("SELECT merkle_root FROM sources WHERE id = 1")
    assert ingest_merkle_root(archive.store, 1) == root


def test_fully_purged_original_is_deleted(archive: Archive, tmp_path: Path) -> None:
    family = [line for line in LINES if "|Family|" in line]
    run_ingest(archive, export_zip(tmp_path, lines=family))
    load(archive, tmp_path, POLICY)
    report = execute(archive, NOW, clock(NOW))
    assert report["originals_deleted"] == 1
    assert archive.store.rows("SELECT status, blob_sha256 FROM sources") == [
        {"status": "purged", "blob_sha256": None}
    ]
    assert archive.store.one("SELECT count(*) FROM blobs") == 0
    assert archive.store.one("SELECT count(*) FROM source_files") == 0


def test_certificate_is_signed_chained_and_tamper_evident(archive: Archive, tmp_path: Path) -> None:
    run_ingest(archive, export_zip(tmp_path))
    load(archive, tmp_path, POLICY)
    cert = tmp_path / "purge-1.json"
    first = execute(archive, NOW, clock(NOW), certificate=cert)
    public = archive.signing_public_key
    doc = signing.verify_document(cert.read_bytes(), public, cert.name)
    payload = doc["payload"]
    assert doc["type"] == "purge-certificate"
    assert payload["counts"]["deleted"] == 2
    assert payload["policy_version"] == 1
    assert payload["tombstones"]["count"] == 2
    keyed = [
        bytes(r[0])
        for r in archive.store.execute(
            "SELECT keyed_fingerprint FROM tombstones ORDER BY message_id, version"
        )
    ]
    assert payload["tombstones"]["merkle_root"] == identity.merkle_root(keyed)
    assert payload["previous_certificate_sha256"] is None
    assert CANARY not in cert.read_text()
    stored = archive.store.one("SELECT certificate FROM purges WHERE id = ?", (first["purge_id"],))
    assert stored.encode() == cert.read_bytes()
    tampered = bytearray(cert.read_bytes())
    i = tampered.index(b'"deleted": 2')
    tampered[i + 11] = ord("3")
    with pytest.raises(SignatureInvalid, match="the signature does not match its content"):
        signing.verify_document(bytes(tampered), public, "purge-1.json")
    second = execute(archive, NOW, clock(NOW))
    doc2 = json.loads(
        archive.store.one("SELECT certificate FROM purges WHERE id = ?", (second["purge_id"],))
    )
    assert doc2["payload"]["previous_certificate_sha256"] == first["certificate_sha256"]


def test_every_batch_is_audited_with_the_purge(archive: Archive, tmp_path: Path) -> None:
    run_ingest(archive, export_zip(tmp_path))
    load(archive, tmp_path, POLICY)
    execute(archive, NOW, clock(NOW))
    actions = [r["action"] for r in archive.store.rows("SELECT action FROM audit_log ORDER BY seq")]
    assert actions[-3:] == ["purge.start", "purge.batch", "test"]


def test_a_second_purge_redacts_an_already_redacted_original(
    archive: Archive, tmp_path: Path
) -> None:
    """The stored file is then a redacted copy whose lines differ from the original's,
    which the archive's line numbers refer to."""
    lines = [
        f"{year}-05-01T18:0{i}:00+00:00|Family|Mum|text|{year} note {i}"
        for year in (2022, 2023, 2024)
        for i in range(3)
    ]
    path = tmp_path / "family.fake.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    run_ingest(archive, path)
    load(archive, tmp_path, POLICY)
    first = execute(archive, at(2024, 1, 1), clock(at(2024, 1, 1)))
    assert (first["deleted"], first["originals_redacted"]) == (3, 1)
    second = execute(archive, at(2025, 1, 1), clock(at(2025, 1, 1)))
    assert (second["deleted"], second["originals_redacted"], second["originals_deleted"]) == (
        3,
        1,
        0,
    )
    assert texts(archive) == {"2024 note 0", "2024 note 1", "2024 note 2"}
    assert archive.store.rows("SELECT status FROM sources") == [{"status": "redacted"}]
    again = run_ingest(archive, path)  # the full original again: nothing comes back
    assert again == {"new": 0, "existing": 3, "purged": 6}
