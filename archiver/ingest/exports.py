"""Ingest: exports in, normalized messages out — atomically, idempotently, with evidence.

For every export unit found under the given paths:

1. hash it (the zip or file as received; for a folder, a manifest of its files);
2. if this custodian already ingested these exact bytes, add nothing;
3. otherwise, in ONE transaction: store the original bytes (encrypted, chunked) and the
   hash of every file inside, parse it, write its messages (dedup, versions, custody
   links, attachments), record provenance (custodian, operator, parser and version,
   options, time zone, counts, date-order evidence, notices) and the Merkle root of the
   fingerprints it added, and append the audit entry. A failure rolls all of it back and
   leaves an audit entry saying so; other units carry on, whatever the failure (a damaged
   zip, a full disk, even a bug), except damage to the archive itself, which stops the
   run (``DamageFound``, exit 4).

A chat export found inside another export is reported, not ingested (``inner``).
"""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import itertools
import json
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archiver import parsers
from archiver.archive import custodians
from archiver.archive.session import Archive
from archiver.core import identity, zones
from archiver.core.errors import ArchiveBusy, ArchiverError, DamageFound, InputError
from archiver.core.model import Chat, Notice, ParseFacts, Unparsed
from archiver.ingest import containers, inner, pipeline
from archiver.ingest.containers import Received, sha256_stream
from archiver.ingest.staging import LINE, Batch
from archiver.ingest.writer import COUNT_FIELDS, MessageWriter, WriteCounts
from archiver.parsers.base import DateOrder, ExportUnit, ParseOptions, Parser
from archiver.parsers.limits import UnparsedBudget
from archiver.store import auditlog, blobs
from archiver.store.auditlog import Invocation
from archiver.store.database import Store, is_damage

BATCH = 5000
# Chunks of the original stored per batch of messages: 4 x 512 KiB per 5000 messages
# keeps up with exports of up to 400 bytes per message (the benchmark files have 108
# and 348); what is left is stored after the last batch.
EVIDENCE_CHUNKS_PER_BATCH = 4
# A big export (more text than this) is parsed in a child process beside the writer and,
# when no other command has the archive open, written holding it exclusively
# (``Store.bulk``: every page written once instead of twice). Smaller ones are worth
# neither the fork nor locking others out.
BIG_EXPORT_BYTES = 4 << 20

# progress(phase, done since the last call, total or None): the exports of the run, and
# the lines of a big export's text.
Progress = Callable[[str, int, int | None], None]


@dataclass(frozen=True)
class IngestOptions:
    """The operator's choices for one `archiver ingest` run."""

    custodian: str | None = None
    # A custodian name near an existing one (a probable typo) is refused unless this is set.
    new_custodian: bool = False
    tz: str = "UTC"
    tz_explicit: bool = False
    date_order: DateOrder = "auto"
    platform: str = "auto"


@dataclass(kw_only=True)
class SourceReport(WriteCounts):
    """What happened to one export (a row of the ingest summary): the writer's counts
    plus where the export came from and what was decided about it."""

    name: str
    origin: str
    kind: str
    path: str = ""  # as the operator knows it: relative to the folder they gave
    status: str = "pending"  # ingested | already-ingested | failed
    sha256: str | None = None
    source_id: int | None = None
    platform: str | None = None
    parser: str | None = None
    custodian: str | None = None
    tz: str | None = None
    date_order: str | None = None
    date_order_evidence: str | None = None
    # WhatsApp: the phone's language as the export shows it (None: not in the tables)
    language: str | None = None
    language_name: str | None = None
    language_evidence: str | None = None
    unrecognised_placeholders: int = 0
    notices: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # the notices, naming the export once
    chats_decided: list[dict[str, Any]] = field(default_factory=list)
    merkle_root: str | None = None
    error: str | None = None
    # An export of several chats (a Telegram full-account export): counts per chat.
    per_chat: list[dict[str, Any]] = field(default_factory=list)
    # zips inside this export that hold a chat export, or could not be examined safely
    not_ingested: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class IngestReport:
    """What one run did. ``skipped``: files that are not exports. ``not_ingested``: what
    may hold a chat and was not ingested (a folder that cannot be read, a chat export
    inside another export); ``unexpected``: exceptions that were bugs, kept for the CLI
    to re-raise when debugging (each also failed its export)."""

    sources: list[SourceReport] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    unreadable: list[dict[str, str]] = field(default_factory=list)
    unexpected: list[Exception] = field(default_factory=list)

    @property
    def failed(self) -> list[SourceReport]:
        return [s for s in self.sources if s.status == "failed"]

    @property
    def not_ingested(self) -> list[dict[str, str]]:
        found = [
            {"path": n["path"], "reason": n["reason"]} for s in self.sources for n in s.not_ingested
        ]
        return self.unreadable + found

    def as_dict(self) -> dict[str, Any]:
        totals = {
            k: sum(getattr(s, k) for s in self.sources)
            for k in (
                "messages",
                "new",
                "existing",
                "new_versions",
                "previously_purged",
                "cross_device",
            )
        }
        return {
            "sources": [s.as_dict() for s in self.sources],
            "skipped": self.skipped,
            "not_ingested": self.not_ingested,
            "totals": totals,
            "failed": len(self.failed),
        }


def ingest(
    archive: Archive,
    paths: list[Path],
    options: IngestOptions,
    inv: Invocation,
    progress: Progress | None = None,
) -> IngestReport:
    """Ingest every export found under ``paths``; one transaction per export."""
    options = dataclasses.replace(
        options,
        tz=ingest_zone(options.tz, options.tz_explicit),
        custodian=custodians.check_new(archive.store, options.custodian, options.new_custodian),
    )
    found = containers.discover(paths)
    report = IngestReport(
        skipped=[{"path": shown_path(p, paths), "reason": r} for p, r in found.skipped],
        unreadable=[{"path": shown_path(p, paths), "reason": r} for p, r in found.unreadable],
    )
    if not found.units and not found.unreadable:
        skipped = "".join(f"; skipped {p}: {r}" for p, r in found.skipped[:5])
        if len(found.skipped) > 5:
            skipped += f"; and {len(found.skipped) - 5} more skipped"
        raise InputError(
            "no export found in " + ", ".join(str(p) for p in paths) + "; give WhatsApp .txt/.zip "
            "exports or Telegram export folders (result.json / messages.html)" + skipped
        )
    units = len(found.units)
    if progress and units > 1:
        progress("exports", 0, units)
    for path, kind in found.units:
        shown = shown_path(path, paths)
        source = SourceReport(
            name=path.name, origin=str(path), kind=kind, path=shown, custodian=options.custodian
        )
        report.sources.append(source)
        try:
            with containers.open_unit(path, kind) as received:
                _ingest_unit(archive, (path, kind), received, options, inv, source, progress)
        except ArchiveBusy as exc:
            # The next export would wait for the same command: stop here, loudly.
            done = sum(s.status in ("ingested", "already-ingested") for s in report.sources)
            raise ArchiveBusy(
                f"{exc}. {done} of {units} export(s) were ingested before; "
                "running the same ingest again skips them"
            ) from None
        except DamageFound:
            raise  # the archive is damaged, not this export: stop (exit 4)
        except ArchiverError as exc:
            _failed(archive.store, inv, source, located(str(exc), shown, path))
        except Exception as exc:  # a bug: it must not cost the other exports their ingest
            if is_damage(exc):
                raise
            report.unexpected.append(exc)
            _failed(
                archive.store,
                inv,
                source,
                located(
                    f"unexpected {type(exc).__name__}: {exc}. Nothing from this export was "
                    "kept. This is a bug in archiver; re-run with ARCHIVER_DEBUG=1 for details "
                    "and report it",
                    shown,
                    path,
                ),
            )
        if progress and units > 1:
            progress("exports", 1, units)
    for source in report.sources:  # given in the same run after the export holding it
        source.not_ingested = inner.still_not_ingested(archive.store, source.not_ingested)
    return report


def shown_path(path: Path, roots: list[Path]) -> str:
    """How the operator knows an export found under ``roots`` (the paths they gave): its
    path relative to the folder given (a file or export folder given itself: its name)."""
    for root in roots:
        if path == root:
            return path.name
        if root.is_dir() and path.is_relative_to(root):
            return path.relative_to(root).as_posix()
    return str(path)


def located(message: str, shown: str, path: Path) -> str:
    """``message`` naming the export exactly once, as ``shown``: the path it was found
    at, or its bare name (which parsers use) at the start, becomes ``shown``; a message
    that names no file gets ``shown:`` in front."""
    text = message.replace(str(path), shown)
    if text.startswith(shown):
        return text
    name = path.name
    if text.startswith(name) and text[len(name) : len(name) + 1] in (":", "!", " ", ""):
        return shown + text[len(name) :]
    return f"{shown}: {text}"


def _failed(store: Store, inv: Invocation, source: SourceReport, message: str) -> None:
    """Mark an export failed (its transaction already rolled back) and audit that. When
    even the audit entry cannot be written (a full disk), the report says so."""
    source.status = "failed"
    source.error = message
    details = {"source": source.name, "sha256": source.sha256, "error": message[:500]}
    try:
        auditlog.append(store, inv, outcome="error", details=details)
    except Exception as exc:  # reported in the summary; the run goes on
        source.error += f" (this failure could not be written to the audit log either: {exc})"


def ingest_zone(name: str, explicit: bool) -> str:
    """The zone an ingest reads wall-clock times in, as recorded (``zones.canonical``):
    legacy names such as EST are refused, whether given with --tz or set as the
    archive's default before they were."""
    try:
        return zones.canonical(name)
    except InputError as exc:
        if explicit:
            raise
        raise InputError(
            f"the archive's default zone cannot be used for an ingest: {exc}"
        ) from None


def _digest(received: Received) -> tuple[str, int, list[dict[str, Any]]]:
    """SHA-256 and size of the export as received, and the hash of every file in it
    (for a folder, the export's hash is that of the manifest of its files)."""
    if received.kind == "file":
        sha, size = sha256_stream(containers.file_opener(received.origin))
        return sha, size, [{"path": received.unit.files[0].path, "size": size, "sha256": sha}]
    members: list[dict[str, Any]] = []
    total = 0
    for f in received.unit.files:
        sha, size = sha256_stream(f.open)
        total += size
        members.append({"path": f.path, "size": size, "sha256": sha})
    if received.kind == "zip":
        sha, size = sha256_stream(containers.file_opener(received.origin))
        return sha, size, members
    manifest = json.dumps(members, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(manifest).hexdigest(), total, members


def _text_bytes(unit: ExportUnit) -> int:
    return sum(f.size for f in unit.files if f.name.lower().endswith((".txt", ".json", ".html")))


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Bulk loads allocate millions of short-lived objects; the cyclic GC only slows them."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _ingest_unit(
    archive: Archive,
    found: tuple[Path, containers.Kind],
    received: Received,
    options: IngestOptions,
    inv: Invocation,
    source: SourceReport,
    progress: Progress | None,
) -> None:
    store = archive.store
    unit = received.unit
    parser = _detect(unit, options.platform)
    source.platform, source.parser = parser.platform, parser.name
    source.custodian, source.tz = options.custodian, options.tz
    parse_options = ParseOptions(
        tz=zones.resolve(options.tz), tz_explicit=options.tz_explicit, date_order=options.date_order
    )
    key = identity.tombstone_key(store.secret("archive_secret"))
    # A big export is parsed in a child process from here on, while this one hashes and
    # stores the original; a small one is parsed lazily, inline.
    job = pipeline.Job(*found, parser.name, parse_options, BATCH)
    big = _text_bytes(unit) >= BIG_EXPORT_BYTES
    stream: pipeline.Stream = pipeline.start(job) if big else pipeline.parse_staged(job)
    with closing(stream):
        _write_unit(archive, received, parser, stream, options, inv, source, key, big, progress)


def _detect(unit: ExportUnit, platform: str) -> Parser:
    """The unit's parser; a zip that only bundles other zips says how to ingest them."""
    try:
        return parsers.detect(unit, platform)
    except InputError as exc:
        zips = [f.path for f in unit.files if f.name.lower().endswith(".zip")]
        if not zips:
            raise
        listed = ", ".join(repr(z) for z in zips[:3]) + (" …" if len(zips) > 3 else "")
        raise InputError(
            f"{exc} It holds {len(zips)} zip file(s) ({listed}), which are not opened as "
            "exports: extract it and ingest the extracted folder, so that each export in it "
            "is ingested (and kept as evidence) on its own"
        ) from None


def _write_unit(
    archive: Archive,
    received: Received,
    parser: Parser,
    stream: pipeline.Stream,
    options: IngestOptions,
    inv: Invocation,
    source: SourceReport,
    key: bytes,
    big: bool,
    progress: Progress | None,
) -> None:
    store = archive.store
    unit = received.unit
    sha, size, members = _digest(received)
    source.sha256 = sha
    source.not_ingested = inner.not_ingested(store, received, members)
    reported = inner.audit_detail(source.not_ingested)
    now_dt = inv.now()
    now = int(now_dt.timestamp())
    with store.bulk(exclusive=big):
        custodian_id = custodians.custodian_id(store, options.custodian)
        earlier = store.execute(
            "SELECT id, counts FROM sources WHERE sha256 = ? AND custodian_id IS ?",
            (sha, custodian_id),
        ).fetchone()
        if earlier is not None:
            source.status = "already-ingested"
            source.source_id = int(earlier[0])
            _already_ingested(store, source, json.loads(earlier[1]))
            source.notices = _read_otherwise(store, source, options)
            source.warnings = [
                located(n["message"], source.path, Path(source.origin)) for n in source.notices
            ]
            details = {
                "source": source.name,
                "sha256": sha,
                "outcome": "already-ingested",
                "archived": source.existing,
                "previously_purged": source.previously_purged,
            }
            auditlog.append(store, inv, details=details | reported)
            return
        # The original is stored a few chunks per batch of messages, so the parser child
        # is not left waiting while hundreds of megabytes are encrypted; the blob's row
        # goes first, as the source row refers to it.
        evidence = _evidence_steps(store, received, sha, members, now)
        next(evidence, None)
        source_id = _insert_source(store, received, source, options, inv, size, custodian_id, now)
        source.source_id = source_id
        store.conn.executemany(
            "INSERT INTO source_files(source_id, path, size, sha256, role) VALUES (?,?,?,?,?)",
            [(source_id, m["path"], m["size"], m["sha256"], received.kind) for m in members],
        )
        writer = MessageWriter(
            store,
            source_id=source_id,
            custodian_id=custodian_id,
            platform=parser.platform,
            now=now,
            unit=unit,
            tombstone_key=key,
        )
        facts: dict[str, Any] = {}
        notices: list[dict[str, Any]] = []
        unparsed = UnparsedBudget(source.name)
        chats: list[Chat] = []
        advance = _reading(unit, source.path or source.name, progress if big else None)
        with _gc_paused():
            for item in stream:
                if isinstance(item, Batch):
                    writer.add_batch(item)
                    for _ in itertools.islice(evidence, EVIDENCE_CHUNKS_PER_BATCH):
                        pass
                    advance(item)
                elif isinstance(item, Chat):
                    writer.add_chat(item)
                    chats.append(item)
                elif isinstance(item, Unparsed):
                    writer.add_unparsed(unparsed.admit(item))
                elif isinstance(item, Notice):
                    notices.append(dataclasses.asdict(item))
                elif isinstance(item, ParseFacts):
                    facts.update(item.facts)
            writer.finish()
            for _ in evidence:
                pass
        notices.extend(writer.conflicts)
        _fill_report(source, writer, facts, notices)
        if len(chats) > 1:
            source.per_chat = _per_chat(store, source_id, chats, facts)
        source.merkle_root = writer.merkle.root()
        store.execute(
            "UPDATE sources SET facts = ?, counts = ?, notices = ?, merkle_root = ? WHERE id = ?",
            (
                json.dumps(facts, ensure_ascii=False, default=str),
                json.dumps(_counts(source)),
                json.dumps(notices, ensure_ascii=False),
                source.merkle_root,
                source_id,
            ),
        )
        source.status = "ingested"
        auditlog.append(
            store,
            inv,
            details={
                "source": source.name,
                "sha256": sha,
                "source_id": source_id,
                "custodian": options.custodian,
                "counts": _counts(source),
                "merkle_root": source.merkle_root,
                "merkle_format": identity.MERKLE_FORMAT,
            }
            | reported,
        )


def _already_ingested(store: Store, source: SourceReport, counts: dict[str, Any]) -> None:
    """The summary row of an export whose bytes this custodian ingested before: of the
    messages it held, how many are still archived and how many were purged since (or
    were already purged when it was first ingested)."""
    source.messages = int(counts.get("messages", 0))
    held = int(counts.get("new", 0)) + int(counts.get("existing", 0))
    live = int(
        store.one(
            "SELECT (SELECT count(*) FROM messages WHERE source_id = ?1) + "
            "(SELECT count(*) FROM message_sources WHERE source_id = ?1)",
            (source.source_id,),
        )
    )
    source.existing = live
    source.previously_purged = int(counts.get("previously_purged", 0)) + max(0, held - live)


def _reading(unit: ExportUnit, label: str, progress: Progress | None) -> Callable[[Batch], None]:
    """How far through a big export the parser is, for ``progress``: in lines of its text
    file when it has one (messages carry their line), else in messages with no total.
    The lines are counted first, only when progress is wanted."""
    if progress is None:
        return lambda batch: None
    texts = [f for f in unit.files if f.name.lower().endswith((".txt", ".json", ".html"))]
    if len(texts) != 1:
        return lambda batch: progress(label, len(batch.rows), None)
    total, last = 0, b"\n"
    with closing(texts[0].open()) as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            total, last = total + block.count(b"\n"), block[-1:]
    total += last != b"\n"  # a last line without a line break
    done = 0

    def advance(batch: Batch) -> None:
        nonlocal done
        line = max((row[LINE] or 0 for row in batch.rows), default=0)
        if line > done:
            progress(label, line - done, total)
            done = line

    return advance


def _read_otherwise(
    store: Store, source: SourceReport, options: IngestOptions
) -> list[dict[str, Any]]:
    """An export ingested before is not read again; when it was asked to be read with
    another zone or date order than it was, say how to correct it (a reparse)."""
    tz, recorded, facts = store.execute(
        "SELECT tz, options, facts FROM sources WHERE id = ?", (source.source_id,)
    ).fetchone()
    order = json.loads(facts).get("date_order") or json.loads(recorded).get("date_order")
    asked = []
    if options.tz_explicit and options.tz != tz:
        asked.append((f"time zone {tz}", f"--tz {options.tz}"))
    if options.date_order != "auto" and options.date_order != order:
        asked.append((f"date order {order}", f"--date-order {options.date_order}"))
    if not asked:
        return []
    return [
        {
            "code": "read-otherwise-before",
            "message": f"this export was ingested before (source {source.source_id}) with "
            + " and ".join(was for was, _ in asked)
            + "; ingesting it again changes nothing. To read it again, run `archiver sources "
            f"reparse {source.source_id} {' '.join(opt for _, opt in asked)} --reason ...`",
            "chat_key": None,
        }
    ]


def _insert_source(
    store: Store,
    received: Received,
    source: SourceReport,
    options: IngestOptions,
    inv: Invocation,
    size: int,
    custodian_id: int | None,
    now: int,
) -> int:
    opts = {
        "tz": options.tz,
        "tz_explicit": options.tz_explicit,
        "date_order": options.date_order,
        "platform": options.platform,
        "custodian": options.custodian,
    }
    from archiver import __version__

    cur = store.execute(
        "INSERT INTO sources(sha256, name, origin_path, size, blob_sha256, kind, platform, "
        "parser, parser_version, custodian_id, operator, host, ingested_at, tz, options, "
        "facts, counts, notices) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            source.sha256,
            source.name,
            str(received.origin.resolve()),
            size,
            source.sha256 if received.kind in ("file", "zip") else None,
            received.kind,
            source.platform,
            source.parser,
            f"{source.parser}/{_parser_version(source.parser)} archiver/{__version__}",
            custodian_id,
            inv.user,
            inv.host,
            now,
            options.tz,
            json.dumps(opts),
            "{}",
            "{}",
            "[]",
        ),
    )
    return int(cur.lastrowid)


def _parser_version(name: str | None) -> str:
    return parsers.get(name).version if name else "?"


def _evidence_steps(
    store: Store, received: Received, sha: str, members: list[dict[str, Any]], now: int
) -> Iterator[None]:
    """The export's bytes, encrypted in the database, one chunk per step: the file or zip
    as received, or every file of a folder export."""
    if received.kind in ("file", "zip"):
        opener = containers.file_opener(received.origin)
        yield from blobs.put_steps(store, opener, sha, now, received.origin.name)
        return
    files = {f.path: f for f in received.unit.files}
    for m in members:
        yield from blobs.put_steps(store, files[m["path"]].open, m["sha256"], now, m["path"])


def ingest_merkle_root(store: Store, source_id: int) -> str | None:
    """Merkle root of the keyed fingerprints of the messages a source added, in the
    order it added them: the version-1 fingerprint of messages that later changed, and
    the tombstone of messages since purged (so a purge never breaks a recorded root).
    The ingest computes the same root as it writes (MessageWriter.merkle)."""
    key = identity.tombstone_key(store.secret("archive_secret"))
    builder = identity.MerkleBuilder()
    rows = store.execute(
        "SELECT ingest_seq, id, fingerprint, version, 0 FROM messages WHERE source_id = ?1 "
        "UNION ALL SELECT ingest_seq, message_id, keyed_fingerprint, 1, 1 FROM tombstones "
        "WHERE source_id = ?1 AND version = 1 ORDER BY 1",
        (source_id,),
    )
    keyed = identity.keyer(key)
    while chunk := rows.fetchmany(10_000):
        leaves = []
        for _, mid, fp, version, is_keyed in chunk:
            if is_keyed:
                leaves.append(bytes(fp))
                continue
            if version > 1:
                fp = store.one(
                    "SELECT fingerprint FROM message_versions WHERE message_id = ? AND version = 1",
                    (mid,),
                )
            leaves.append(keyed(fp))
        builder.add_many(leaves)
    return builder.root()


def _per_chat(
    store: Store, source_id: int, chats: list[Chat], facts: dict[str, Any]
) -> list[dict[str, Any]]:
    """What one export of several chats brought, chat by chat: messages in the export,
    new ones, and ones the archive already had."""
    listed = facts.get("chats") or []
    parsed = {c.get("key"): c.get("messages") for c in listed if isinstance(c, dict)}
    new = dict(
        store.execute(
            "SELECT chat_id, count(*) FROM messages WHERE source_id = ? GROUP BY chat_id",
            (source_id,),
        ).fetchall()
    )
    had = dict(
        store.execute(
            "SELECT m.chat_id, count(*) FROM message_sources s JOIN messages m "
            "ON m.id = s.message_id WHERE s.source_id = ? GROUP BY m.chat_id",
            (source_id,),
        ).fetchall()
    )
    rows = []
    for chat in chats:
        chat_id = store.one(
            "SELECT id FROM chats WHERE platform = ? AND key = ?", (chat.platform, chat.key)
        )
        found = parsed.get(chat.key)
        rows.append(
            {
                "chat": chat.title or chat.key,
                "key": chat.key,
                "messages": found if isinstance(found, int) else new.get(chat_id, 0),
                "new": new.get(chat_id, 0),
                "existing": had.get(chat_id, 0),
            }
        )
    return rows


def _fill_report(
    source: SourceReport,
    writer: MessageWriter,
    facts: dict[str, Any],
    notices: list[dict[str, Any]],
) -> None:
    for name in COUNT_FIELDS:
        setattr(source, name, getattr(writer.counts, name))
    source.chats_decided = [d.as_dict() for d in writer.chat_decisions]
    source.date_order = facts.get("date_order")
    source.date_order_evidence = facts.get("date_order_evidence")
    source.language = facts.get("language")
    source.language_name = facts.get("language_name")
    source.language_evidence = facts.get("language_evidence")
    source.unrecognised_placeholders = int(facts.get("unrecognised_placeholders") or 0)
    where = Path(source.origin)
    source.notices = notices
    source.warnings = [located(n["message"], source.path, where) for n in notices]


def _counts(source: SourceReport) -> dict[str, int]:
    return {name: getattr(source, name) for name in COUNT_FIELDS}
