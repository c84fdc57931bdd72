"""Producing messages: JSON Lines (the Contracts' message record) and CSV.

Exports are written atomically (a temporary file beside the target, then a rename) with
mode 0600: they hold message text in the clear by design, so only the owner may read
them. The export's SHA-256 and message count go to the audit log.

Every CSV the tool writes (``export --format csv``, ``search --csv``, ``audit --csv``)
goes through ``SafeCsvWriter``: a text cell that a spreadsheet would run as a formula
(it starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return, or a full-width
``=+-@``) gets a leading single quote, as OWASP advises against CSV injection, so
``=HYPERLINK(...)`` in a chat shows as text. JSON Lines keeps every text exactly.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from archiver.archive.session import Archive
from archiver.core.errors import InputError, Refused
from archiver.search import engine as search
from archiver.search.records import iter_records
from archiver.store import auditlog
from archiver.store.auditlog import Invocation
from archiver.store.database import check_zone

FORMATS = ("jsonl", "csv", "sqlite")
# progress(phase, done since the last call, total or None)
Progress = Callable[[str, int, int | None], None]
CSV_COLUMNS = (
    "id",
    "sent_at",
    "platform",
    "chat",
    "sender",
    "kind",
    "text",
    "edited",
    "edited_at",
    "attachments",
    "attachment_sha256",
    "custodians",
    "source_file",
    "source_sha256",
    "source_line",
)


# What makes a spreadsheet treat a cell as a formula (OWASP, "CSV Injection"), with the
# full-width forms some spreadsheet locales accept too.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def csv_cell(value: Any) -> Any:
    """``value`` as a cell a spreadsheet shows as text: a string it would run as a formula
    gets a leading single quote; everything else is unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class SafeCsvWriter:
    """``csv.writer`` whose every cell goes through ``csv_cell``."""

    def __init__(self, fh: IO[str], lineterminator: str = "\r\n") -> None:
        self._writer = csv.writer(fh, lineterminator=lineterminator)

    def writerow(self, row: Iterable[Any]) -> None:
        self._writer.writerow([csv_cell(v) for v in row])


def _csv_row(rec: dict[str, Any]) -> list[Any]:
    first = rec["sources"][0] if rec["sources"] else {}
    return [
        rec["id"],
        rec["sent_at"] or "",
        rec["platform"],
        rec["chat"] or "",
        rec["sender"] or "",
        rec["kind"],
        rec["text"],
        "true" if rec["edited"] else "false",
        rec["edited_at"] or "",
        "; ".join(a["name"] for a in rec["attachments"]),
        "; ".join(a["sha256"] or "" for a in rec["attachments"]),
        "; ".join(rec["custodians"]),
        first.get("file", ""),
        first.get("sha256", ""),
        "" if first.get("line") is None else first["line"],
    ]


def write_records(records: Iterable[dict[str, Any]], fmt: str, fh: IO[str]) -> int:
    """Write records in ``fmt`` to a text stream; returns how many were written."""
    n = 0
    if fmt == "jsonl":
        for rec in records:
            fh.write(json.dumps(rec, ensure_ascii=False, sort_keys=False) + "\n")
            n += 1
    elif fmt == "csv":
        writer = SafeCsvWriter(fh)
        writer.writerow(CSV_COLUMNS)
        for rec in records:
            writer.writerow(_csv_row(rec))
            n += 1
    else:
        raise InputError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return n


class _HashingWriter(io.TextIOBase):
    """A text stream that encodes to UTF-8, hashes and writes to a binary file."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, s: str) -> int:
        data = s.encode("utf-8")
        self.digest.update(data)
        self.size += len(data)
        self.raw.write(data)
        return len(s)


def export(
    archive: Archive,
    out: Path,
    fmt: str,
    inv: Invocation,
    *,
    query: str | None = None,
    tz: str | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Write the messages matching ``query`` (default: every message), oldest first;
    ``progress("exporting", n, total)`` every thousand messages."""
    if fmt not in FORMATS:
        raise InputError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if out.exists():
        raise Refused(f"{out} already exists; choose a new file name for the export")
    store = archive.store

    plan = None
    if query:
        plan = search.compile_query(store, query, check_zone(tz or archive.default_tz))

    def source() -> Iterator[int]:
        if plan is None:
            return (int(r[0]) for r in store.execute("SELECT id FROM messages ORDER BY id"))
        return search.matching_ids(store, plan)

    def total() -> int:
        if plan is None:
            return int(store.one("SELECT count(*) FROM messages"))
        return search.count(store, plan)

    expected = total() if progress else None
    if fmt == "sqlite":
        return _export_sqlite(archive, out, inv, iter_records(store, source()), query, tz,
                              progress, expected)  # fmt: skip

    tmp = out.with_name(f".{out.name}.partial-{os.getpid()}")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise Refused(
            f"cannot write the export {out}: {exc.strerror} (does its folder exist and may "
            "you write there?)"
        ) from None
    try:
        with os.fdopen(fd, "wb") as raw:
            writer = _HashingWriter(raw)

            def counted() -> Iterator[dict[str, Any]]:
                i = 0
                for i, rec in enumerate(iter_records(store, source()), 1):
                    if progress and i % 1000 == 0:
                        progress("exporting", 1000, expected)
                    yield rec
                if progress:
                    progress("exporting", i % 1000, expected)

            n = write_records(counted(), fmt, writer)  # type: ignore[arg-type]
            raw.flush()
            os.fsync(raw.fileno())
        report = {
            "out": str(out),
            "format": fmt,
            "query": query,
            "tz": tz or archive.default_tz,
            "messages": n,
            "sha256": writer.digest.hexdigest(),
            "bytes": writer.size,
        }
        # The file appears exactly when its audit entry is committed.
        with store.transaction():
            auditlog.append(store, inv, details=report)
            if out.exists():
                raise Refused(f"{out} appeared while exporting; not overwriting it")
            os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return report


def _export_sqlite(
    archive: Archive,
    out: Path,
    inv: Invocation,
    records: Iterator[dict[str, Any]],
    query: str | None,
    tz: str | None,
    progress: Progress | None,
    expected: int | None,
) -> dict[str, Any]:
    """``export --format sqlite``: a plain SQLite database (``sqlite_export``)."""
    from archiver.search import sqlite_export

    def advance(n: int) -> None:
        if progress:
            progress("exporting", n, expected)

    if not out.parent.is_dir():
        raise Refused(f"cannot write the export {out}: its folder does not exist")
    n = sqlite_export.write(out, records, advance)
    digest = hashlib.sha256()
    with out.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    report = {"out": str(out), "format": "sqlite", "query": query,
              "tz": tz or archive.default_tz, "messages": n, "sha256": digest.hexdigest(),
              "bytes": out.stat().st_size}  # fmt: skip
    with archive.store.transaction():
        auditlog.append(archive.store, inv, details=report)
    return report
