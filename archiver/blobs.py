"""Content-addressed file storage inside the encrypted database, in chunks.

Original exports and media are stored once per SHA-256, split into chunks so no single
row holds a whole video and reading never needs the whole file in memory.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

from archiver.errors import InputError
from archiver.parsers.base import Opener
from archiver.store import Store

CHUNK_BYTES = 512 * 1024


def has_blob(store: Store, sha256: str) -> bool:
    return store.one("SELECT 1 FROM blobs WHERE sha256 = ?", (sha256,)) is not None


def put_stream(store: Store, opener: Opener, sha256: str, now: int, label: str) -> bool:
    """Store the stream under ``sha256`` unless present; True when it was new.

    The content is hashed again while it is written; a mismatch (the file changed
    since it was first hashed) aborts with an error naming ``label``.
    """
    if has_blob(store, sha256):
        return False
    digest = hashlib.sha256()
    size = 0
    seq = 0
    store.execute(
        "INSERT INTO blobs(sha256, size, chunk_size, created_at) VALUES (?, 0, ?, ?)",
        (sha256, CHUNK_BYTES, now),
    )
    with opener() as fh:
        while chunk := fh.read(CHUNK_BYTES):
            digest.update(chunk)
            size += len(chunk)
            store.execute(
                "INSERT INTO blob_chunks(sha256, seq, data) VALUES (?, ?, ?)", (sha256, seq, chunk)
            )
            seq += 1
    if digest.hexdigest() != sha256:
        raise InputError(f"{label} changed while it was being read; ingest it again")
    store.execute("UPDATE blobs SET size = ? WHERE sha256 = ?", (size, sha256))
    return True


def read_blob(store: Store, sha256: str) -> Iterator[bytes]:
    for (data,) in store.execute(
        "SELECT data FROM blob_chunks WHERE sha256 = ? ORDER BY seq", (sha256,)
    ):
        yield bytes(data)


def blob_digest(store: Store, sha256: str) -> tuple[str, int]:
    """Recomputed SHA-256 and size of a stored blob (for verify)."""
    digest = hashlib.sha256()
    size = 0
    for chunk in read_blob(store, sha256):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def in_use(store: Store, sha256: str) -> bool:
    """Whether anything still refers to a stored file: an attachment, a stored original,
    or a file of a folder export (whose files are stored one by one)."""
    return (
        store.one(
            "SELECT 1 FROM attachments WHERE sha256 = ?1 UNION ALL "
            "SELECT 1 FROM sources WHERE blob_sha256 = ?1 UNION ALL "
            "SELECT 1 FROM source_files f JOIN sources s ON s.id = f.source_id "
            "WHERE f.sha256 = ?1 AND s.kind = 'folder' LIMIT 1",
            (sha256,),
        )
        is not None
    )


def delete_blob(store: Store, sha256: str) -> None:
    store.execute("DELETE FROM blob_chunks WHERE sha256 = ?", (sha256,))
    store.execute("DELETE FROM blobs WHERE sha256 = ?", (sha256,))
