"""Stored files: chunks compressed when that pays, read back byte for byte."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import pytest

from archiver.archive.session import Archive
from archiver.core.errors import ChunkDamaged
from archiver.store import blobs

TEXT = b"".join(
    b"%06d 12/03/2024, 14:05 - Dana: the GBP notional is confirmed\n" % i for i in range(30000)
)
NOISE = os.urandom(blobs.CHUNK_BYTES + 1000)  # like a photo: zstd cannot shrink it


def store(archive: Archive, tmp_path: Path, content: bytes) -> str:
    path = tmp_path / "file.bin"
    path.write_bytes(content)
    sha = hashlib.sha256(content).hexdigest()
    with archive.store.transaction():
        assert blobs.put_stream(archive.store, lambda: path.open("rb"), sha, 0, "file.bin")
    return sha


def chunks(archive: Archive, sha: str) -> list[tuple[str, int, int]]:
    return [
        tuple(r)
        for r in archive.store.execute(
            "SELECT codec, size, length(data) FROM blob_chunks WHERE sha256 = ? ORDER BY seq",
            (sha,),
        )
    ]


def test_text_is_stored_compressed_and_read_back_exactly(archive: Archive, tmp_path: Path) -> None:
    sha = store(archive, tmp_path, TEXT)
    stored = chunks(archive, sha)
    assert [c[0] for c in stored] == ["zstd"] * 4
    assert [c[1] for c in stored] == [blobs.CHUNK_BYTES] * 3 + [len(TEXT) - 3 * blobs.CHUNK_BYTES]
    assert sum(c[2] for c in stored) < len(TEXT) // 4
    assert b"".join(blobs.read_blob(archive.store, sha)) == TEXT
    assert blobs.blob_digest(archive.store, sha) == (sha, len(TEXT))


def test_what_does_not_compress_is_stored_as_it_is(archive: Archive, tmp_path: Path) -> None:
    sha = store(archive, tmp_path, NOISE)
    assert chunks(archive, sha) == [
        ("raw", blobs.CHUNK_BYTES, blobs.CHUNK_BYTES),
        ("raw", 1000, 1000),
    ]
    assert b"".join(blobs.read_blob(archive.store, sha)) == NOISE


@pytest.mark.parametrize("offset", [0, 1, blobs.CHUNK_BYTES - 3, 2 * blobs.CHUNK_BYTES + 17])
def test_a_stored_file_reads_from_any_offset(archive: Archive, tmp_path: Path, offset: int) -> None:
    sha = store(archive, tmp_path, TEXT)
    reader = io.BufferedReader(blobs.BlobReader(archive.store, sha))
    reader.seek(offset)
    assert reader.read(10) == TEXT[offset : offset + 10]
    reader.seek(-5, io.SEEK_END)
    assert reader.read() == TEXT[-5:]


def test_chunks_stored_before_compression_still_read(archive: Archive) -> None:
    # schema 3 wrote raw chunks without codec or size; the migration leaves them so
    content = TEXT[: blobs.CHUNK_BYTES + 10]
    sha = hashlib.sha256(content).hexdigest()
    with archive.store.transaction():
        archive.store.execute(
            "INSERT INTO blobs(sha256, size, chunk_size, created_at) VALUES (?, ?, ?, 0)",
            (sha, len(content), blobs.CHUNK_BYTES),
        )
        for seq, start in enumerate((0, blobs.CHUNK_BYTES)):
            archive.store.execute(
                "INSERT INTO blob_chunks(sha256, seq, data) VALUES (?, ?, ?)",
                (sha, seq, content[start : start + blobs.CHUNK_BYTES]),
            )
    assert chunks(archive, sha) == [("raw", None, blobs.CHUNK_BYTES), ("raw", None, 10)]
    reader = io.BufferedReader(blobs.BlobReader(archive.store, sha))
    reader.seek(blobs.CHUNK_BYTES + 2)
    assert reader.read() == content[blobs.CHUNK_BYTES + 2 :]
    assert blobs.blob_digest(archive.store, sha) == (sha, len(content))


def test_a_damaged_compressed_chunk_is_named_not_returned(archive: Archive, tmp_path: Path) -> None:
    sha = store(archive, tmp_path, TEXT)
    with archive.store.transaction():
        archive.store.execute(
            "UPDATE blob_chunks SET size = size - 1 WHERE sha256 = ? AND seq = 1", (sha,)
        )
    with pytest.raises(ChunkDamaged) as caught:
        b"".join(blobs.read_blob(archive.store, sha))
    assert str(caught.value) == (
        f"stored file {sha[:12]}…, chunk 1: it declares 524288 bytes, not 524287; run "
        "'archiver verify' and restore the archive from a backup"
    )
