"""Stored originals after a purge: deleted when nothing of them is left, otherwise
replaced by a redacted copy without the purged messages' lines and media.

A message's lines run from the line where it starts to the line before the next
message of the same file (``.txt``); in JSON and HTML exports, to the end of the object
or block that starts there. The redacted copy is parsed again with the parser and
options of the original ingest: it must hold exactly the original's messages minus the
purged ones, and none of the purged fingerprints. If that proof fails, or the format
gives no line numbers, the original is deleted instead — no purged text may survive.
The source row keeps the original's SHA-256 (its tombstone) and records what happened.

Everything streams: the original is read from the blob store chunk by chunk, the copy
is written back the same way, and only the purged line numbers and keyed fingerprints
are held in memory.
"""

from __future__ import annotations

import codecs
import io
import json
import re
import shutil
import zipfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from typing import Any, BinaryIO

from archiver import parsers
from archiver.core import identity, zones
from archiver.core.errors import ArchiverError
from archiver.core.model import Message
from archiver.ingest import containers
from archiver.parsers.base import DateOrder, ExportFile, ExportUnit, ParseOptions
from archiver.store import blobs
from archiver.store.database import Store

_LINE = re.compile(r"[^\r\n]*(?:\r\r\n|\r\n|\n|\r)")
MAIN_SUFFIXES = (".txt", ".json", ".html")
_READ = 1 << 20
_CHECK_BATCH = 2000  # keyed fingerprints of the redacted copy checked per query


def iter_lines(stream: BinaryIO) -> Iterator[str]:
    """Decoded lines with their endings; CR CR LF is one ending (as the WhatsApp parser
    counts lines). A BOM stays in the first line, so kept bytes are unchanged."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    pending = ""
    while True:
        block = stream.read(_READ)
        pending += decoder.decode(block, final=not block)
        # A trailing CR may be the start of CR LF or CR CR LF: keep it for the next block.
        cut = len(pending.rstrip("\r")) if block else len(pending)
        end = 0
        for m in _LINE.finditer(pending, 0, cut):
            yield m.group()
            end = m.end()
        pending = pending[end:]
        if not block:
            if pending:
                yield pending
            return


def redact_lines(
    lines: Iterable[str], purged: set[int], starts: Iterator[int], kind: str
) -> Iterator[str]:
    """``lines`` without the messages that start on a purged line.

    ``starts`` yields every message start line of the file (kept and purged) in
    ascending order; for JSON and HTML a purged message ends where its object or block
    closes. A JSON array whose last element was removed loses the comma before ``]``."""
    next_start = next(starts, None)
    dropping = opened = False
    depth = 0
    held: str | None = None  # JSON: one line of look-behind for the comma fix
    for number, line in enumerate(lines, 1):
        while next_start is not None and next_start < number:
            next_start = next(starts, None)
        if number == next_start:
            if kind == "txt":
                dropping = number in purged
            elif number in purged:
                dropping, opened, depth = True, False, 0
        if dropping and kind != "txt":
            depth += _depth_change(line, kind)
            opened = opened or _opens(line, kind)
            if opened and depth <= 0:
                dropping = False
            continue
        if dropping:
            continue
        if kind != "json":
            yield line
            continue
        if held is not None:
            if line.lstrip().startswith("]") and held.rstrip().endswith(","):
                stripped = held.rstrip()
                held = stripped[:-1] + held[len(stripped) :]
            yield held
        held = line
    if held is not None:
        yield held


def _depth_change(line: str, kind: str) -> int:
    if kind == "json":
        return _json_depth(line)
    return len(re.findall(r"<div\b", line)) - len(re.findall(r"</div>", line))


def _opens(line: str, kind: str) -> bool:
    return ("{" in line) if kind == "json" else ("<div" in line)


def _json_depth(line: str) -> int:
    depth = 0
    in_string = escaped = False
    for ch in line:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
    return depth


# --- the stored export --------------------------------------------------------------------


def _members(store: Store, source_id: int) -> dict[str, str]:
    return {
        r["path"]: r["sha256"]
        for r in store.rows(
            "SELECT path, sha256 FROM source_files WHERE source_id = ?", (source_id,)
        )
    }


def _main_path(members: Iterable[str]) -> str | None:
    mains = [p for p in members if p.lower().endswith(MAIN_SUFFIXES)]
    chosen = [p for p in mains if p.lower().endswith((".txt", "result.json"))] or mains
    return chosen[0] if len(chosen) == 1 else None


def _blob_opener(store: Store, sha: str) -> Callable[[], BinaryIO]:
    return lambda: io.BufferedReader(blobs.BlobReader(store, sha))


def _with_unit(
    store: Store, source: dict[str, Any], stack: ExitStack, blob: str, replaced: dict[str, str]
) -> ExportUnit:
    """The export rebuilt from the blob store (``blob`` is the zip or file; for folders,
    ``replaced`` maps member paths to other blobs)."""
    members = _members(store, source["id"])
    if source["kind"] == "zip":
        return stack.enter_context(
            containers.open_zip(io.BufferedReader(blobs.BlobReader(store, blob)), source["name"])
        )
    if source["kind"] == "file":
        (path,) = members
        return ExportUnit(source["name"], [ExportFile(path, 0, _blob_opener(store, blob))])
    files = [
        ExportFile(p, 0, _blob_opener(store, replaced.get(p, sha)))
        for p, sha in members.items()
        if p.lower().endswith(MAIN_SUFFIXES)
    ]
    return ExportUnit(source["name"], files)


def open_stored(store: Store, source: dict[str, Any], stack: ExitStack) -> ExportUnit:
    """A source's stored original as an export unit: as received, or as redacted after a
    purge (``source`` is its ``sources`` row; closed with ``stack``)."""
    return _with_unit(store, source, stack, source["blob_sha256"], {})


def _parser_and_options(source: dict[str, Any]) -> tuple[Any, ParseOptions]:
    """The parser and options the source was (last) read with."""
    parser = parsers.get(source["parser"])
    options = json.loads(source["options"])
    facts = json.loads(source["facts"])
    order = facts.get("date_order") or options.get("date_order")
    date_order: DateOrder = order if order in ("dmy", "mdy", "ymd") else "auto"
    return parser, ParseOptions(
        tz=zones.recorded(source["tz"]),
        tz_explicit=bool(options.get("tz_explicit")),
        date_order=date_order,
    )


def _parse(store: Store, source: dict[str, Any], unit: ExportUnit) -> Iterator[bytes]:
    """Fingerprints of every message the source's parser finds in ``unit``, in order."""
    from archiver.ingest.staging import OccurrenceCounter, fingerprint_of

    parser, opts = _parser_and_options(source)
    counter = OccurrenceCounter()
    for rec in parser.parse(unit, opts):
        if isinstance(rec, Message):
            ts = int(rec.sent_at.timestamp()) if rec.sent_at else None
            yield fingerprint_of(parser.platform, rec, ts, counter.next(rec, ts))


def _in_copy_lines(
    store: Store, source: dict[str, Any], copy: ExportUnit, purged: set[int]
) -> tuple[set[int], list[int]]:
    """A redacted copy holds exactly the messages that were kept, in file order: the k-th
    message starting in the copy is the k-th of the archive's kept and just-purged
    messages by their original line. Returns the purged messages' lines in the copy and
    every message start line of the copy."""
    found = list(_parse_lines(store, source, copy))
    copy_starts = [line for line in found if line is not None]
    if len(copy_starts) != len(found):
        raise ValueError("the redacted copy has a message without a line")
    recorded = store.execute(
        "SELECT source_line FROM messages WHERE source_id = ?1 AND source_line IS NOT NULL "
        "UNION SELECT line FROM message_sources WHERE source_id = ?1 AND line IS NOT NULL",
        (source["id"],),
    )
    original = sorted({int(r[0]) for r in recorded} | purged)
    if len(original) != len(copy_starts):
        raise ValueError(
            f"the redacted copy holds {len(copy_starts)} message(s), the archive "
            f"{len(original)} for it"
        )
    in_copy = dict(zip(original, copy_starts, strict=True))
    return {in_copy[line] for line in purged}, copy_starts


def _parse_lines(store: Store, source: dict[str, Any], unit: ExportUnit) -> Iterator[int | None]:
    """The start line of every message the source's parser finds in ``unit``, in order."""
    parser, opts = _parser_and_options(source)
    for rec in parser.parse(unit, opts):
        if isinstance(rec, Message):
            yield rec.line


def _drop_blobs(store: Store, shas: Iterable[str | None]) -> None:
    for sha in set(shas):
        if sha and not blobs.in_use(store, sha):
            blobs.delete_blob(store, sha)


def _delete_original(store: Store, source: dict[str, Any], why: str) -> dict[str, Any]:
    members = list(_members(store, source["id"]).values())
    store.execute("DELETE FROM source_files WHERE source_id = ?", (source["id"],))
    store.execute("DELETE FROM unparsed WHERE source_id = ?", (source["id"],))
    store.execute(
        "UPDATE sources SET blob_sha256 = NULL, status = 'purged' WHERE id = ?", (source["id"],)
    )
    _drop_blobs(store, [source["blob_sha256"], *members])
    return {
        "source_id": source["id"],
        "name": source["name"],
        "original_sha256": source["sha256"],
        "outcome": "deleted",
        "why": why,
    }


def delete_original(store: Store, source_id: int, why: str) -> dict[str, Any]:
    """Delete one stored original outright (when no redacted copy can be proven)."""
    (source,) = store.rows("SELECT * FROM sources WHERE id = ?", (source_id,))
    if source["status"] == "purged":
        return {
            "source_id": source_id,
            "name": source["name"],
            "original_sha256": source["sha256"],
            "outcome": "deleted",
            "why": "already deleted by an earlier purge",
        }
    return _delete_original(store, source, why)


def redact_source(
    store: Store,
    source_id: int,
    purged_lines: set[int],
    removed_media: set[str],
    any_purged: Callable[[list[bytes]], bool],
) -> dict[str, Any]:
    """Delete or redact one stored original after some of its messages were purged.
    ``any_purged`` says whether any of some keyed fingerprints is a purged message's."""
    (source,) = store.rows("SELECT * FROM sources WHERE id = ?", (source_id,))
    anything_left = store.one(
        "SELECT 1 FROM messages WHERE source_id = ?1 "
        "UNION ALL SELECT 1 FROM message_sources WHERE source_id = ?1 LIMIT 1",
        (source_id,),
    )
    if not anything_left:
        return _delete_original(store, source, "every message of this export was purged")
    try:
        return _redact(store, source, purged_lines, removed_media, any_purged)
    except (ArchiverError, ValueError, KeyError, zipfile.BadZipFile, UnicodeDecodeError) as exc:
        return _delete_original(
            store, source, f"could not produce a verified redacted copy ({exc})"
        )


def _starts(store: Store, source_id: int, purged: set[int]) -> Iterator[int]:
    """Every message start line of the source, kept and purged, ascending."""
    kept = store.execute(
        "SELECT source_line FROM messages WHERE source_id = ?1 AND source_line IS NOT NULL "
        "UNION SELECT line FROM message_sources WHERE source_id = ?1 AND line IS NOT NULL "
        "ORDER BY 1",
        (source_id,),
    )
    ordered = iter(sorted(purged))
    a = next(ordered, None)
    row = kept.fetchone()
    b = None if row is None else int(row[0])
    while a is not None or b is not None:
        if b is None or (a is not None and a < b):
            yield a  # type: ignore[misc]
            a = next(ordered, None)
        else:
            yield b
            row = kept.fetchone()
            b = None if row is None else int(row[0])


def _redact(
    store: Store,
    source: dict[str, Any],
    purged: set[int],
    removed_media: set[str],
    any_purged: Callable[[list[bytes]], bool],
) -> dict[str, Any]:
    members = _members(store, source["id"])
    main = _main_path(members) if purged else None
    if main is None:
        return _delete_original(
            store, source, "this export format gives no line numbers to redact by"
        )
    kind = "txt" if main.lower().endswith(".txt") else main.rsplit(".", 1)[-1].lower()
    dropped = {
        p for p, sha in members.items() if sha in removed_media and not blobs.in_use(store, sha)
    }
    now = int(store.one("SELECT max(purged_at) FROM tombstones"))
    key = identity.tombstone_key(store.secret("archive_secret"))
    with ExitStack() as stack:
        original = _with_unit(store, source, stack, source["blob_sha256"], {})
        starts: list[int] | None = None
        if source["status"] == "redacted":
            # The stored file is already a redacted copy: the archive's line numbers are
            # the first original's; find the purged messages' lines in this copy.
            purged, starts = _in_copy_lines(store, source, original, purged)
            expected = len(starts) - len(purged)
        else:
            expected = sum(1 for _ in _parse(store, source, original)) - len(purged)
        main_file = original.get(main)
        if main_file is None:
            raise KeyError(main)

        def redacted_main() -> Iterator[bytes]:
            every = iter(starts) if starts is not None else _starts(store, source["id"], purged)
            with main_file.open() as fh:
                lines = redact_lines(iter_lines(fh), purged, every, kind)
                for line in lines:
                    yield line.encode("utf-8")

        new_blob, main_sha = _write_copy(store, source, original, main, redacted_main, dropped, now)
    with ExitStack() as stack:
        copy = _with_unit(store, source, stack, new_blob, {main: main_sha})
        found = 0
        keyed = identity.keyer(key)
        pending: list[bytes] = []
        for fp in _parse(store, source, copy):
            found += 1
            pending.append(keyed(fp))
            if len(pending) == _CHECK_BATCH:
                if any_purged(pending):
                    found = -1
                    break
                pending.clear()
        if found >= 0 and pending and any_purged(pending):
            found = -1
    if found != expected:
        _drop_blobs(store, [new_blob, main_sha])
        return _delete_original(
            store, source, "the redacted copy did not re-parse to exactly the kept messages"
        )
    return _record_redaction(store, source, main, main_sha, new_blob, dropped)


def _write_copy(
    store: Store,
    source: dict[str, Any],
    original: ExportUnit,
    main: str,
    redacted_main: Callable[[], Iterator[bytes]],
    dropped: set[str],
    now: int,
) -> tuple[str, str]:
    """Store the redacted copy; returns (blob of the copy as stored, blob of the new main
    file). For a zip both are new; for a file they are the same; for a folder only the
    main file is new (its other files stay separate blobs)."""
    writer = blobs.BlobWriter(store, now)
    for piece in redacted_main():
        writer.write(piece)
    main_sha = writer.finish()
    if source["kind"] != "zip":
        return main_sha, main_sha
    out = blobs.BlobWriter(store, now)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for f in original.files:
            if f.path in dropped:
                continue
            with dst.open(zipfile.ZipInfo(f.path, date_time=(1980, 1, 1, 0, 0, 0)), "w") as target:
                source_stream = (
                    io.BufferedReader(blobs.BlobReader(store, main_sha))
                    if f.path == main
                    else f.open()
                )
                with source_stream as src:
                    shutil.copyfileobj(src, target, _READ)
    return out.finish(), main_sha


def _record_redaction(
    store: Store, source: dict[str, Any], main: str, main_sha: str, new_blob: str, dropped: set[str]
) -> dict[str, Any]:
    old = _members(store, source["id"])
    new_blob_col = None if source["kind"] == "folder" else new_blob
    store.execute(
        "UPDATE sources SET blob_sha256 = ?, status = 'redacted' WHERE id = ?",
        (new_blob_col, source["id"]),
    )
    size = int(store.one("SELECT size FROM blobs WHERE sha256 = ?", (main_sha,)))
    store.execute(
        "UPDATE source_files SET sha256 = ?, size = ?, role = 'redacted' "
        "WHERE source_id = ? AND path = ?",
        (main_sha, size, source["id"], main),
    )
    for path in dropped:
        store.execute(
            "DELETE FROM source_files WHERE source_id = ? AND path = ?", (source["id"], path)
        )
    _drop_blobs(store, [source["blob_sha256"], old.get(main), *(old.get(p) for p in dropped)])
    if source["kind"] == "zip" and main_sha != new_blob:
        _drop_blobs(store, [main_sha])
    return {
        "source_id": source["id"],
        "name": source["name"],
        "original_sha256": source["sha256"],
        "outcome": "redacted",
        "redacted_sha256": new_blob,
        "media_removed": sorted(dropped),
    }
