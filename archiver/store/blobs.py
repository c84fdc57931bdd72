"""Content-addressed file storage inside the encrypted database, in chunks.

Original exports and media are stored once per SHA-256, split into chunks so no single
row holds a whole video and reading never needs the whole file in memory. A chunk that
zstd (level 1) shrinks by at least an eighth is stored compressed (``codec`` 'zstd',
``size`` its plain length): a Telegram ``result.json`` takes a twelfth of its size, a
WhatsApp text a quarter, while photos and videos stay as they are. Compression happens
before SQLCipher encrypts the page, inside the same database; the SHA-256 is always that
of the plain content, so ``verify`` checks what was received.
"""

from __future__ import annotations

import bisect
import hashlib
import io
import os
from collections.abc import Iterator
from typing import Any

import zstandard

from archiver.core.errors import ChunkDamaged, InputError
from archiver.parsers.base import Opener
from archiver.store.database import Store

CHUNK_BYTES = 512 * 1024
# Measured on 1M-message exports: level 1 compresses ~1.3 GB/s here, and storing a
# twelfth of a 348 MB result.json saves more than it costs; higher levels gain <5%.
ZSTD_LEVEL = 1
_COMPRESSOR = zstandard.ZstdCompressor(level=ZSTD_LEVEL, write_checksum=True)
_DECOMPRESSOR = zstandard.ZstdDecompressor()
_INSERT_CHUNK = "INSERT INTO blob_chunks(sha256, seq, data, codec, size) VALUES (?, ?, ?, ?, ?)"


def encode_chunk(piece: bytes) -> tuple[bytes, str]:
    """The stored form of a chunk and its codec: compressed when that saves an eighth."""
    packed = _COMPRESSOR.compress(piece)
    if len(packed) <= len(piece) - (len(piece) >> 3):
        return packed, "zstd"
    return piece, "raw"


def decode_chunk(data: bytes, codec: str, size: int | None, sha256: str, seq: int) -> bytes:
    """A chunk's plain content; a chunk that cannot be decoded is damage, named."""
    if codec == "raw":
        return bytes(data)
    if codec == "zstd" and size is not None:
        try:
            # the frame's own header says how much it holds: checked before allocating
            declared = zstandard.frame_content_size(data)
            if declared != size:
                raise ChunkDamaged(sha256, seq, f"it declares {declared} bytes, not {size}")
            plain = _DECOMPRESSOR.decompress(data)
        except zstandard.ZstdError as exc:
            raise ChunkDamaged(sha256, seq, f"its compressed data is damaged ({exc})") from None
        if len(plain) == size:
            return plain
        raise ChunkDamaged(sha256, seq, f"it decompresses to {len(plain)} bytes, not {size}")
    raise ChunkDamaged(sha256, seq, f"its storage codec {codec!r} is unknown")


def _put_chunk(store: Store, sha256: str, seq: int, piece: bytes) -> None:
    data, codec = encode_chunk(piece)
    store.execute(_INSERT_CHUNK, (sha256, seq, data, codec, len(piece)))


class BlobReader(io.RawIOBase):
    """A stored file as a seekable binary stream, one chunk in memory at a time."""

    def __init__(self, store: Store, sha256: str) -> None:
        self.store = store
        self.sha256 = sha256
        self.sizes = [
            int(n)
            for (n,) in store.execute(
                # chunks stored before schema 4 have no size: they are raw
                "SELECT coalesce(size, length(data)) FROM blob_chunks WHERE sha256 = ? "
                "ORDER BY seq",
                (sha256,),
            )
        ]
        self.starts = [0]
        for n in self.sizes:
            self.starts.append(self.starts[-1] + n)
        self.pos = 0
        self._cached: tuple[int, bytes] = (-1, b"")

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: self.starts[-1]}[whence]
        self.pos = max(0, base + offset)
        return self.pos

    def _chunk(self, seq: int) -> bytes:
        if self._cached[0] != seq:
            data, codec, size = self.store.execute(
                "SELECT data, codec, size FROM blob_chunks WHERE sha256 = ? AND seq = ?",
                (self.sha256, seq),
            ).fetchone()
            self._cached = (seq, decode_chunk(data, codec, size, self.sha256, seq))
        return self._cached[1]

    def readinto(self, buffer: Any) -> int:
        if self.pos >= self.starts[-1]:
            return 0
        seq = bisect.bisect_right(self.starts, self.pos) - 1
        chunk = self._chunk(seq)
        offset = self.pos - self.starts[seq]
        piece = chunk[offset : offset + len(buffer)]
        buffer[: len(piece)] = piece
        self.pos += len(piece)
        return len(piece)


class BlobWriter(io.RawIOBase):
    """Stores a stream as a blob without holding it: chunks go under a provisional key and
    are renamed to their SHA-256 on ``finish()`` (or dropped if that blob exists)."""

    def __init__(self, store: Store, now: int) -> None:
        self.store = store
        self.now = now
        self.key = "pending-" + os.urandom(8).hex()
        self.digest = hashlib.sha256()
        self.size = 0
        self.seq = 0
        self.buffer = bytearray()
        store.execute(
            "INSERT INTO blobs(sha256, size, chunk_size, created_at) VALUES (?, 0, ?, ?)",
            (self.key, CHUNK_BYTES, now),
        )

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = bytes(data)
        self.digest.update(view)
        self.size += len(view)
        self.buffer += view
        while len(self.buffer) >= CHUNK_BYTES:
            self._flush(bytes(self.buffer[:CHUNK_BYTES]))
            del self.buffer[:CHUNK_BYTES]
        return len(view)

    def _flush(self, piece: bytes) -> None:
        _put_chunk(self.store, self.key, self.seq, piece)
        self.seq += 1

    def finish(self) -> str:
        if self.buffer:
            self._flush(bytes(self.buffer))
            self.buffer.clear()
        sha = self.digest.hexdigest()
        if has_blob(self.store, sha):
            self.store.execute("DELETE FROM blob_chunks WHERE sha256 = ?", (self.key,))
        else:
            self.store.execute(
                "INSERT INTO blobs(sha256, size, chunk_size, created_at) VALUES (?, ?, ?, ?)",
                (sha, self.size, CHUNK_BYTES, self.now),
            )
            self.store.execute(
                "UPDATE blob_chunks SET sha256 = ? WHERE sha256 = ?", (sha, self.key)
            )
        self.store.execute("DELETE FROM blobs WHERE sha256 = ?", (self.key,))
        return sha


def has_blob(store: Store, sha256: str) -> bool:
    return store.one("SELECT 1 FROM blobs WHERE sha256 = ?", (sha256,)) is not None


def put_stream(store: Store, opener: Opener, sha256: str, now: int, label: str) -> bool:
    """Store the stream under ``sha256`` unless present; True when it was new.

    The content is hashed again while it is written; a mismatch (the file changed
    since it was first hashed) aborts with an error naming ``label``.
    """
    if has_blob(store, sha256):
        return False
    for _ in _steps(store, opener, sha256, now, label):
        pass
    return True


def put_steps(store: Store, opener: Opener, sha256: str, now: int, label: str) -> Iterator[None]:
    """``put_stream`` one step at a time: the blob's row, then one chunk per step, so a
    big original can be stored in between other work of the same transaction. Stores
    nothing when the blob is already present."""
    if not has_blob(store, sha256):
        yield from _steps(store, opener, sha256, now, label)


def _steps(store: Store, opener: Opener, sha256: str, now: int, label: str) -> Iterator[None]:
    digest = hashlib.sha256()
    size = 0
    seq = 0
    store.execute(
        "INSERT INTO blobs(sha256, size, chunk_size, created_at) VALUES (?, 0, ?, ?)",
        (sha256, CHUNK_BYTES, now),
    )
    yield
    with opener() as fh:
        while chunk := fh.read(CHUNK_BYTES):
            digest.update(chunk)
            size += len(chunk)
            _put_chunk(store, sha256, seq, chunk)
            seq += 1
            yield
    if digest.hexdigest() != sha256:
        raise InputError(f"{label} changed while it was being read; ingest it again")
    store.execute("UPDATE blobs SET size = ? WHERE sha256 = ?", (size, sha256))


def read_blob(store: Store, sha256: str) -> Iterator[bytes]:
    for seq, data, codec, size in store.execute(
        "SELECT seq, data, codec, size FROM blob_chunks WHERE sha256 = ? ORDER BY seq", (sha256,)
    ):
        yield decode_chunk(data, codec, size, sha256, seq)


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
