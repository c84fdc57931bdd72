"""Stored originals after a purge: deleted when nothing of them is left, otherwise
replaced by a redacted copy without the purged messages' lines and media.

A message's lines run from the line where it starts to the line before the next
message of the same file (``.txt``); in JSON and HTML exports, to the end of the object
or block that starts there. The redacted copy is parsed again with the parser and
options of the original ingest: it must hold exactly the original's messages minus the
purged ones, and none of the purged fingerprints. If that proof fails, or the format
gives no line numbers, the original is deleted instead — no purged text may survive.
The source row keeps the original's SHA-256 (its tombstone) and records what happened.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo

from archiver import blobs, identity, parsers
from archiver.errors import ArchiverError
from archiver.model import Message
from archiver.parsers.base import DateOrder, ExportFile, ExportUnit, Opener, ParseOptions
from archiver.store import Store

_LINE = re.compile(r"[^\r\n]*(?:\r\r\n|\r\n|\n|\r|$)")
MAIN_SUFFIXES = (".txt", ".json", ".html")


def split_lines(text: str) -> list[str]:
    """Lines with their endings; CR CR LF is one ending (as the WhatsApp parser counts)."""
    lines = [m.group() for m in _LINE.finditer(text)]
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def _block_end(lines: list[str], start: int, kind: str) -> int:
    """Index (exclusive) where the JSON object / HTML block starting at ``start`` ends."""
    depth = 0
    in_string = escaped = False
    opened = False
    for i in range(start, len(lines)):
        text = lines[i]
        if kind == "json":
            for ch in text:
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
                    depth, opened = depth + 1, True
                elif ch == "}":
                    depth -= 1
        else:
            depth += len(re.findall(r"<div\b", text)) - len(re.findall(r"</div>", text))
            opened = opened or "<div" in text
        if opened and depth <= 0:
            return i + 1
    return len(lines)


def redact_text(text: str, remove_starts: set[int], all_starts: set[int], kind: str) -> str:
    """``text`` without the messages starting on the given 1-based lines."""
    lines = split_lines(text)
    ordered = sorted(all_starts)
    drop = [False] * len(lines)
    for n, start in enumerate(ordered):
        if start not in remove_starts or start > len(lines):
            continue
        if kind == "txt":
            end = ordered[n + 1] - 1 if n + 1 < len(ordered) else len(lines)
        else:
            end = _block_end(lines, start - 1, kind)
        for i in range(start - 1, min(end, len(lines))):
            drop[i] = True
    kept = [line for line, gone in zip(lines, drop, strict=True) if not gone]
    out = "".join(kept)
    if kind == "json":
        out = re.sub(r",(\s*)\]", r"\1]", out)  # a removed last element leaves a comma
    return out


def _read(store: Store, sha: str) -> bytes:
    return b"".join(blobs.read_blob(store, sha))


def _unit_from(source: dict[str, Any], store: Store) -> tuple[ExportUnit, dict[str, bytes]]:
    """The original export rebuilt in memory from the blob store."""
    files: dict[str, bytes] = {}
    if source["kind"] == "zip":
        with zipfile.ZipFile(io.BytesIO(_read(store, source["blob_sha256"]))) as z:
            for f in store.rows(
                "SELECT path FROM source_files WHERE source_id = ?", (source["id"],)
            ):
                for info in z.infolist():
                    if (
                        info.filename.replace("\\", "/") == f["path"]
                        or _utf8_name(info) == f["path"]
                    ):
                        files[f["path"]] = z.read(info)
    elif source["kind"] == "file":
        (row,) = store.rows("SELECT path FROM source_files WHERE source_id = ?", (source["id"],))
        files[row["path"]] = _read(store, source["blob_sha256"])
    else:
        for f in store.rows(
            "SELECT path, sha256 FROM source_files WHERE source_id = ?", (source["id"],)
        ):
            if f["path"].lower().endswith(MAIN_SUFFIXES):
                files[f["path"]] = _read(store, f["sha256"])
    return _unit(source["name"], files), files


def _utf8_name(info: zipfile.ZipInfo) -> str:
    try:
        return info.filename.encode("cp437").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return info.filename


def _unit(name: str, files: dict[str, bytes]) -> ExportUnit:
    def opener(data: bytes) -> Opener:
        return lambda: io.BytesIO(data)

    return ExportUnit(name, [ExportFile(p, len(d), opener(d)) for p, d in files.items()])


def _main_path(files: dict[str, bytes], lines_known: bool) -> str | None:
    mains = [
        p
        for p in files
        if p.lower().endswith(MAIN_SUFFIXES) and "/" not in p.strip("/").split("/", 1)[-1]
    ]
    candidates = [p for p in mains if p.lower().endswith((".txt", "result.json"))] or mains
    return candidates[0] if len(candidates) == 1 and lines_known else None


def _parse_fps(store: Store, source: dict[str, Any], unit: ExportUnit) -> list[bytes]:
    """Fingerprints of every message the source's parser finds in ``unit``."""
    from archiver.writer import OccurrenceCounter

    parser = next(p for p in parsers.all_parsers() if p.name == source["parser"])
    options = json.loads(source["options"])
    facts = json.loads(source["facts"])
    order = facts.get("date_order") or options.get("date_order")
    date_order: DateOrder = order if order in ("dmy", "mdy", "ymd") else "auto"
    opts = ParseOptions(
        tz=ZoneInfo(source["tz"]),
        tz_explicit=bool(options.get("tz_explicit")),
        date_order=date_order,
    )
    counter = OccurrenceCounter()
    fps = []
    for rec in parser.parse(unit, opts):
        if isinstance(rec, Message):
            ts = int(rec.sent_at.timestamp()) if rec.sent_at else None
            occ = counter.next(rec, ts)
            sender = rec.sender.key if rec.sender else None
            fps.append(
                identity.fingerprint(
                    parser.platform, rec.chat_key, sender, ts, rec.kind, rec.text, occ, rec.msg_id
                )
            )
    return fps


def _drop_blobs(store: Store, shas: Iterable[str | None]) -> None:
    for sha in set(shas):
        if sha and not blobs.in_use(store, sha):
            blobs.delete_blob(store, sha)


def _delete_original(store: Store, source: dict[str, Any], why: str) -> dict[str, Any]:
    members = [
        r["sha256"]
        for r in store.rows("SELECT sha256 FROM source_files WHERE source_id = ?", (source["id"],))
    ]
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


def redact_source(
    store: Store, source_id: int, purged_lines: set[int], removed_media: set[str]
) -> dict[str, Any]:
    """Delete or redact one stored original after some of its messages were purged."""
    (source,) = store.rows("SELECT * FROM sources WHERE id = ?", (source_id,))
    remaining = [
        int(r[0])
        for r in store.execute(
            "SELECT source_line FROM messages WHERE source_id = ?1 AND source_line IS NOT NULL "
            "UNION SELECT line FROM message_sources WHERE source_id = ?1 AND line IS NOT NULL",
            (source_id,),
        )
    ]
    anything_left = store.one(
        "SELECT 1 FROM messages WHERE source_id = ?1 "
        "UNION ALL SELECT 1 FROM message_sources WHERE source_id = ?1 LIMIT 1",
        (source_id,),
    )
    if not anything_left:
        return _delete_original(store, source, "every message of this export was purged")
    try:
        return _redact(store, source, purged_lines, set(remaining) | purged_lines, removed_media)
    except (ArchiverError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        return _delete_original(
            store, source, f"could not produce a verified redacted copy ({exc})"
        )


def _redact(
    store: Store,
    source: dict[str, Any],
    purged: set[int],
    starts: set[int],
    removed_media: set[str],
) -> dict[str, Any]:
    unit, files = _unit_from(source, store)
    main = _main_path(files, lines_known=bool(purged))
    if main is None:
        return _delete_original(
            store, source, "this export format gives no line numbers to redact by"
        )
    kind = "txt" if main.lower().endswith(".txt") else main.rsplit(".", 1)[-1].lower()
    original_fps = _parse_fps(store, source, unit)
    text = files[main].decode("utf-8-sig" if files[main].startswith(b"\xef\xbb\xbf") else "utf-8")
    redacted = redact_text(text, purged, starts, kind).encode("utf-8")
    dropped_media = _purged_media(store, source, removed_media)
    new_files = {p: d for p, d in files.items() if p not in dropped_media}
    new_files[main] = redacted
    redacted_fps = _parse_fps(store, source, _unit(source["name"], new_files))
    key = identity.tombstone_key(store.secret("archive_secret"))
    resurrected = any(
        store.one(
            "SELECT 1 FROM tombstones WHERE keyed_fingerprint = ?", (identity.keyed(key, fp),)
        )
        for fp in redacted_fps
    )
    if resurrected or len(redacted_fps) != len(original_fps) - len(purged):
        return _delete_original(
            store, source, "the redacted copy did not re-parse to exactly the kept messages"
        )
    return _store_redacted(store, source, main, redacted, dropped_media)


def _purged_media(store: Store, source: dict[str, Any], removed: set[str]) -> set[str]:
    """Member paths holding media of purged messages that no remaining message uses."""
    out = set()
    for f in store.rows(
        "SELECT path, sha256 FROM source_files WHERE source_id = ?", (source["id"],)
    ):
        if f["sha256"] in removed and not store.one(
            "SELECT 1 FROM attachments WHERE sha256 = ?", (f["sha256"],)
        ):
            out.add(f["path"])
    return out


def _store_redacted(
    store: Store, source: dict[str, Any], main: str, redacted: bytes, dropped: set[str]
) -> dict[str, Any]:
    now = int(store.one("SELECT max(purged_at) FROM tombstones"))
    old_blob = source["blob_sha256"]
    if source["kind"] == "zip":
        data = _rezip(store, old_blob, main, redacted, dropped)
        sha = hashlib.sha256(data).hexdigest()
        blobs.put_stream(store, lambda: io.BytesIO(data), sha, now, source["name"])
        store.execute(
            "UPDATE sources SET blob_sha256 = ?, status = 'redacted' WHERE id = ?",
            (sha, source["id"]),
        )
        result_sha = sha
    else:
        sha = hashlib.sha256(redacted).hexdigest()
        blobs.put_stream(store, lambda: io.BytesIO(redacted), sha, now, main)
        new_blob = sha if source["kind"] == "file" else None
        store.execute(
            "UPDATE sources SET blob_sha256 = ?, status = 'redacted' WHERE id = ?",
            (new_blob, source["id"]),
        )
        result_sha = sha
    old_members = {
        r["path"]: r["sha256"]
        for r in store.rows(
            "SELECT path, sha256 FROM source_files WHERE source_id = ?", (source["id"],)
        )
    }
    store.execute(
        "UPDATE source_files SET sha256 = ?, size = ?, role = 'redacted' "
        "WHERE source_id = ? AND path = ?",
        (hashlib.sha256(redacted).hexdigest(), len(redacted), source["id"], main),
    )
    for path in dropped:
        store.execute(
            "DELETE FROM source_files WHERE source_id = ? AND path = ?", (source["id"], path)
        )
    _drop_blobs(store, [old_blob, old_members.get(main), *(old_members.get(p) for p in dropped)])
    return {
        "source_id": source["id"],
        "name": source["name"],
        "original_sha256": source["sha256"],
        "outcome": "redacted",
        "redacted_sha256": result_sha,
        "media_removed": sorted(dropped),
    }


def _rezip(store: Store, zip_sha: str, main: str, redacted: bytes, dropped: set[str]) -> bytes:
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(_read(store, zip_sha))) as src,
        zipfile.ZipFile(out, "w") as dst,
    ):
        for info in src.infolist():
            name = _utf8_name(info).replace("\\", "/")
            if name in dropped:
                continue
            data = redacted if name == main else src.read(info)
            clone = zipfile.ZipInfo(info.filename, date_time=info.date_time)
            clone.compress_type = info.compress_type
            clone.external_attr = info.external_attr
            clone.flag_bits = info.flag_bits & 0x800
            dst.writestr(clone, data)
    return out.getvalue()
