"""Attachments of ingested messages: the export's files they name, stored once.

Used by the writer inside the export's transaction. A message's attachment names a file
of the export (WhatsApp: by name, with the stored-name drift of some phones; Telegram:
a path relative to ``result.json``); the file is stored content-addressed in chunks
(``blobs``) and the attachment row records its SHA-256, or a note when it is missing.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Sequence
from typing import TYPE_CHECKING

from archiver.core.model import Attachment
from archiver.ingest.containers import sha256_stream
from archiver.ingest.staging import AttachmentRow
from archiver.parsers.base import ExportFile, ExportUnit
from archiver.store import blobs
from archiver.store.database import Store

if TYPE_CHECKING:
    from archiver.ingest.writer import WriteCounts

_INVISIBLE = dict.fromkeys(map(ord, "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\ufeff"))


class AttachmentWriter:
    """Stores the files of one export's attachments and writes their rows."""

    def __init__(self, store: Store, unit: ExportUnit, now: int, counts: WriteCounts) -> None:
        self.store = store
        self.unit = unit
        self.now = now
        self.counts = counts
        self._rows: list[tuple[int, int, str, str, str, int, str, str]] = []
        self._media_index: (
            tuple[dict[str, list[ExportFile]], dict[str, list[ExportFile]]] | None
        ) = None

    def _resolve(self, att: Attachment) -> ExportFile | None:
        """The export file an attachment names, tolerating WhatsApp's stored-name drift
        (``x.jpg`` stored as ``x.jpg.png`` or the reverse) and wrapping folders."""
        if att.path is None:
            return None
        path = att.path.translate(_INVISIBLE).strip().replace("\\", "/").removeprefix("./")
        direct = self.unit.get(path)
        if direct is not None:
            return direct
        by_name, by_stem = self._media_indexes()
        name = path.rsplit("/", 1)[-1].lower()
        hits = by_name.get(name)
        if hits:
            return next((f for f in hits if f.path.endswith("/" + path)), hits[0])
        drift = by_stem.get(name) or by_name.get(name.rsplit(".", 1)[0])
        return drift[0] if drift else None

    def _media_indexes(self) -> tuple[dict[str, list[ExportFile]], dict[str, list[ExportFile]]]:
        if self._media_index is None:
            by_name: dict[str, list[ExportFile]] = {}
            by_stem: dict[str, list[ExportFile]] = {}
            for f in self.unit.files:
                lower = f.name.lower()
                by_name.setdefault(lower, []).append(f)
                if "." in lower:
                    by_stem.setdefault(lower.rsplit(".", 1)[0], []).append(f)
            self._media_index = (by_name, by_stem)
        return self._media_index

    def add(self, message_id: int, rows: Sequence[AttachmentRow], *, existing: bool) -> None:
        """Store the files of one message's attachments and gather their rows (for an
        already archived message, only fill in a file that was missing)."""
        inserts = []
        for ordinal, row in enumerate(rows):
            att = Attachment(*row)
            found = self._resolve(att)
            sha = ""
            size = 0
            note = att.note
            if found is not None:
                sha, size = sha256_stream(found.open)
                blobs.put_stream(self.store, found.open, sha, self.now, found.path)
                self.counts.attachments_stored += 1
            else:
                if att.path is not None:
                    note = note or "file not found in the export"
                self.counts.attachments_missing += 1
            if existing:
                if sha:
                    self.store.execute(
                        "UPDATE attachments SET sha256 = ?, size = ? WHERE message_id = ? "
                        "AND ordinal = ? AND sha256 IS NULL",
                        (sha, size, message_id, ordinal),
                    )
                continue
            mime = att.mime or mimetypes.guess_type(att.name)[0]
            inserts.append(
                (
                    message_id,
                    ordinal,
                    att.name,
                    att.path or "",
                    mime or "",
                    size or att.size or 0,
                    sha,
                    note or "",
                )
            )
            self.counts.attachments += 1
        self._rows.extend(inserts)

    def flush(self) -> None:
        """Write the attachment rows gathered for the last batch (str/int binds only)."""
        if self._rows:
            self.store.conn.executemany(
                "INSERT INTO attachments(message_id, ordinal, name, path, mime, size, sha256, "
                "note) VALUES (?, ?, ?, nullif(?, ''), nullif(?, ''), nullif(?, 0), "
                "nullif(?, ''), nullif(?, ''))",
                self._rows,
            )
            self._rows.clear()
