"""`archiver produce`: select, plan, reserve Bates numbers, then write the production.

1. **Reserve** (one write transaction, with its audit entry): the matter (made on first
   use), the production's number, the selected messages (hits of the query, plus
   ``context`` messages around each hit in its conversation), the documents (slices,
   parts, pages, attachments) and their Bates numbers, taken from the matter's sequence.
   Once this commits the numbers are spent: a production that fails later, or is
   killed, never gives them back, so no number can ever name two things.
2. **Write** (one consistent read of the archive): each document in each format, the
   natives, the load file, ``index.html``, ``manifest.json`` and ``manifest.sig``. A
   message purged or changed since step 1 stops the production with an error.
3. **Finish** (write transaction, with its audit entry: matter, number, query, counts,
   manifest hash): the production is 'complete'. On a failure it is 'failed' and every
   file written is removed (no half production lies around in plaintext).

Messages under a legal hold are produced like any other; purged messages are gone from
the archive and cannot be.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from archiver import __version__
from archiver.archive.session import Archive
from archiver.core.errors import ArchiverError, InputError, Refused
from archiver.production import documents, html, layout, loadfile, manifest, pdf, queries, rsmf
from archiver.production.fonts import Fonts
from archiver.production.outdir import OutDir, Written
from archiver.production.plan import (
    MAX_EVENTS,
    Options,
    Slicer,
    bates,
    check_prefix,
    check_slice,
    default_prefix,
    matter_key,
    parts,
    production_label,
)
from archiver.search import engine as search
from archiver.store import auditlog
from archiver.store.auditlog import Invocation
from archiver.store.blobs import read_blob
from archiver.store.database import Store, check_zone

Progress = Callable[[str, int, int | None], None]
_BATCH = 500


def _ignore(phase: str, n: int, total: int | None) -> None:
    return None


def _select(store: Store, pid: int, options: Options, zone: ZoneInfo) -> list[str]:
    """Fill the selection: hits, then context around each; the query's warnings."""
    warnings: list[str] = []
    if options.query:
        compiled = search.compile_query(store, options.query, zone)
        warnings = list(compiled.warnings)
        batch: list[int] = []
        for mid in search.matching_ids(store, compiled):
            batch.append(mid)
            if len(batch) >= _BATCH:
                queries.select_hits(store, pid, batch)
                batch = []
        queries.select_hits(store, pid, batch)
    else:
        queries.select_all(store, pid)
    if options.context:
        after = (-1, -1)
        while hits := queries.hits_after(store, pid, after, _BATCH):
            for chat_id, mid in hits:
                near = queries.neighbours(store, chat_id, mid, options.context)
                queries.select_context(store, pid, chat_id, near)
            after = hits[-1]
    return warnings


def _spans(store: Store, pid: int, slicer: Slicer) -> Iterator[dict[str, Any]]:
    """The documents of a selection: per chat, per slice, cut in parts past MAX_EVENTS.
    A message without a time belongs to the slice of the message before it in its chat
    (the first dated one, for those at a chat's start; a chat with no dated message is
    one undated slice)."""
    group: dict[str, Any] | None = None
    pending: list[int] = []
    chat = None

    def close() -> list[dict[str, Any]]:
        nonlocal group, pending
        if group is None and pending:
            group = {
                "chat_id": chat,
                "slice_start": 0,
                "slice_end": 0,
                "first_id": pending[0],
                "last_id": pending[-1],
                "events": len(pending),
            }
        done = list(_cut(store, pid, group)) if group is not None else []
        group, pending = None, []
        return done

    for chat_id, mid, sent_at in queries.selection_times(store, pid):
        if chat_id != chat:
            yield from close()
            chat = chat_id
        if sent_at is None:
            if group is None:
                pending.append(mid)
            else:
                group["last_id"], group["events"] = mid, group["events"] + 1
            continue
        start, end = slicer(sent_at)
        if group is not None and group["slice_start"] == start:
            group["last_id"], group["events"] = mid, group["events"] + 1
            continue
        if group is not None:
            yield from _cut(store, pid, group)
        group = {
            "chat_id": chat_id,
            "slice_start": start,
            "slice_end": end,
            "first_id": pending[0] if pending else mid,
            "last_id": mid,
            "events": len(pending) + 1,
        }
        pending = []
    yield from close()


def _cut(store: Store, pid: int, group: dict[str, Any]) -> Iterator[dict[str, Any]]:
    count = group["events"]
    n, size = parts(count) if count > MAX_EVENTS else (1, count)
    for k in range(n):
        lo, hi = k * size, min(count, (k + 1) * size)
        span = dict(group, part=k + 1, parts=n, events=hi - lo)
        if n > 1:
            span["first_id"] = queries.nth_selected(
                store, pid, group["chat_id"], group["first_id"], lo
            )
            span["last_id"] = queries.nth_selected(
                store, pid, group["chat_id"], group["first_id"], hi - 1
            )
        yield span


def _placeholders(doc: documents.Document, prefix: str) -> dict[int, str]:
    """Attachment Bates numbers before they are known (same width: same layout)."""
    return {a.id: bates(prefix, 0) for a in doc.attachments}


def _reserve(
    archive: Archive, options: Options, inv: Invocation, fonts: Fonts, progress: Progress
) -> dict[str, Any]:
    """Step 1: everything decided and the Bates numbers spent, in one transaction."""
    store, zone = archive.store, check_zone(options.tz)
    now = inv.now()
    with store.transaction():
        key = matter_key(options.matter)
        if queries.matter(store, key) is None:
            queries.add_matter(store, options.matter.strip(), key, int(now.timestamp()))
        matter = queries.matter(store, key)
        assert matter is not None
        prefix = check_prefix(
            options.bates_prefix
            or queries.last_prefix(store, matter["id"])
            or default_prefix(matter["name"])
        )
        number = int(matter["productions"]) + 1
        pid = queries.add_production(
            store,
            {
                "matter_id": matter["id"],
                "number": number,
                "query": options.query,
                "options": options.as_dict(),
                "bates_prefix": prefix,
                "created_at": int(now.timestamp()),
                "created_by": inv.user,
                "out_dir": str(options.out),
            },
        )
        warnings = _select(store, pid, options, zone)
        hits, context = queries.selection_counts(store, pid)
        if hits == 0:
            raise Refused(
                f"the query {options.query!r} matches no message; nothing to produce (no "
                "production number or Bates number was used)"
            )
        progress("planning documents", 0, hits + context)
        slicer = Slicer(zone, check_slice(options.slice))
        spans = []
        for seq, span in enumerate(_spans(store, pid, slicer), 1):
            doc = documents.load(store, pid, {**span, "seq": seq})
            pages = len(layout.layout(doc, zone, fonts, _placeholders(doc, prefix)).pages)
            spans.append({**span, "seq": seq, "pages": pages, "attachments": len(doc.attachments)})
            progress("planning documents", span["events"], hits + context)
        total = sum(s["pages"] + s["attachments"] for s in spans)
        first = queries.reserve_bates(store, matter["id"], total)
        n = first
        for s in spans:
            s["bates_first"], s["pages_last"] = n, n + s["pages"] - 1
            s["bates_last"] = n + s["pages"] + s["attachments"] - 1
            n = s["bates_last"] + 1
        queries.add_documents(store, pid, [[s[c] for c in queries.DOCUMENT_COLUMNS] for s in spans])
        counts = {
            "documents": len(spans),
            "messages": hits + context,
            "hits": hits,
            "context": context,
            "pages": sum(s["pages"] for s in spans),
            "attachments": sum(s["attachments"] for s in spans),
            "bates_numbers": total,
        }
        queries.set_reserved(store, pid, first, first + total - 1, counts)
        facts = {
            "matter": matter["name"],
            "production": production_label(number),
            "query": options.query,
            "bates_prefix": prefix,
            "bates_first": bates(prefix, first),
            "bates_last": bates(prefix, first + total - 1),
            "counts": counts,
            "out": str(options.out),
        }
        auditlog.append(store, inv, outcome="reserved", details=facts)
    return {
        **facts,
        "id": pid,
        "number": number,
        "prefix": prefix,
        "first": first,
        "total": total,
        "warnings": warnings,
        "created": now,
        "matter_id": matter["id"],
    }


def slice_text(doc: documents.Document, zone: ZoneInfo, hours: int) -> str:
    if doc.slice_start == doc.slice_end == 0:
        return "undated"
    start = datetime.fromtimestamp(doc.slice_start, zone)
    if hours == 24:
        return f"{start:%Y-%m-%d}"
    end = datetime.fromtimestamp(doc.slice_end, zone)
    until = "24:00" if end.date() > start.date() else f"{end:%H:%M}"
    return f"{start:%Y-%m-%d %H:%M}-{until}"


class _Writer:
    """Step 2: the files of every document, the load file, index and manifest."""

    def __init__(
        self, archive: Archive, options: Options, plan: dict[str, Any], out: OutDir, fonts: Fonts
    ) -> None:
        self.store, self.archive_id = archive.store, archive.archive_id
        self.options, self.plan, self.out, self.fonts = options, plan, out, fonts
        self.zone = check_zone(options.tz)
        self.hours = check_slice(options.slice)
        self.prefix = plan["prefix"]
        self.label = plan["production"]
        self.formats = set(options.formats)
        self.natives = bool(self.formats & {"html", "pdf", "dat"})
        self.missing: list[dict[str, str]] = []
        self.index_rows: list[dict[str, Any]] = []
        self.summaries: list[dict[str, Any]] = []

    def b(self, n: int) -> str:
        return bates(self.prefix, n)

    def document(self, span: dict[str, Any], dat: Any) -> None:
        doc = documents.load(self.store, self.plan["id"], span)
        if len(doc.events) != span["events"]:
            raise Refused(
                f"{span['events'] - len(doc.events)} message(s) of document "
                f"{self.b(span['bates_first'])} left the archive while producing (a purge); "
                "produce again"
            )
        n = span["pages_last"] + 1
        for att in doc.attachments:
            att.bates, n = n, n + 1
        bates_of = {a.id: self.b(int(a.bates)) for a in doc.attachments if a.bates}
        lay = layout.layout(doc, self.zone, self.fonts, bates_of)
        if len(lay.pages) != span["pages"]:
            raise Refused(
                f"document {self.b(span['bates_first'])} changed while producing; produce again"
            )
        page_bates = [self.b(span["bates_first"] + i) for i in range(span["pages"])]
        begin = page_bates[0]
        self.missing += [
            {
                "document": begin,
                "message_id": str(mid),
                "char": f"U+{ord(ch):04X}",
                "name": unicodedata.name(ch, "unnamed"),
            }
            for mid, ch in lay.missing
        ]
        when = slice_text(doc, self.zone, self.hours)
        written: dict[str, Written] = {}
        natives: list[tuple[str, Written | None]] = []
        if self.natives:
            for att in doc.attachments:
                with self.out.create(f"NATIVES/{bates_of[att.id]}{att.ext}") as fh:
                    for piece in read_blob(self.store, str(att.sha256)):
                        fh.write(piece)
                natives.append((bates_of[att.id], self.out.written[-1]))
        else:
            natives = [(bates_of[a.id], None) for a in doc.attachments]
        if "rsmf" in self.formats:
            man = rsmf.manifest(doc, self.archive_id)
            with self.out.create(f"NATIVES/{begin}.rsmf") as fh:
                subject = rsmf.subject(doc, self.options.tz, when)
                rsmf.write_rsmf(
                    fh,
                    doc,
                    self.store,
                    man,
                    loadfile.body_text(doc, self.zone),
                    subject,
                )
            written["rsmf"] = self.out.written[-1]
        facts = {
            "Bates": f"{begin} - {self.b(span['bates_last'])}",
            "Production": f"{self.label} ({self.plan['matter']})",
            "Platform": str(doc.chat["platform"]),
            "Slice": f"{when} ({self.options.tz})",
            "Part": f"{doc.part} of {doc.parts}",
            "Messages": str(len(doc.events)),
            "Custodians": ", ".join(doc.custodians),
        }
        if "html" in self.formats:
            me = rsmf.custodian_participant(doc)
            page = html.transcript(doc, lay, self.zone, facts, page_bates, bates_of, me, self.store)
            written["html"] = self.out.write(f"HTML/{begin}.html", page.encode())
        if "pdf" in self.formats:
            top = f"{doc.title} - {doc.chat['platform']} - {when} ({self.options.tz})"
            bottom = f"{self.label} - {self.plan['matter']}"
            data = pdf.render(lay, self.fonts, page_bates, top, bottom, self.plan["created"])
            written["pdf"] = self.out.write(f"PDF/{begin}.pdf", data)
        if "dat" in self.formats:
            text = loadfile.text_file(doc, lay, self.zone, page_bates, bates_of)
            written["text"] = self.out.write(f"TEXT/{begin}.txt", text.encode())
            ranges = {
                "begin": begin,
                "end": page_bates[-1],
                "family_end": self.b(span["bates_last"]),
            }
            times = {"begin": rsmf.iso(doc.begin), "end": rsmf.iso(doc.end)}
            dat.write(
                loadfile.document_rows(
                    doc, ranges, written.get("rsmf"), written["text"], natives, times
                ).encode()
            )
        self.summaries.append(
            {
                "bates_begin": begin,
                "bates_end": page_bates[-1],
                "family_end": self.b(span["bates_last"]),
                "conversation": doc.title,
                "platform": doc.chat["platform"],
                "slice": when,
                "part": doc.part,
                "parts": doc.parts,
                "messages": len(doc.events),
                "pages": span["pages"],
                "attachments": [b for b, _ in natives],
                "custodians": doc.custodians,
                "files": {k: w.path for k, w in sorted(written.items())},
            }
        )
        self.index_rows.append(
            {
                "range": facts["Bates"],
                "title": doc.title,
                "platform": str(doc.chat["platform"]),
                "slice": when,
                "messages": str(len(doc.events)),
                "links": [(k.upper(), w.path) for k, w in sorted(written.items())],
            }
        )

    def messages(self, spans: list[dict[str, Any]]) -> Iterator[list[Any]]:
        """[message id, 'hit'|'context', first Bates number of its document] per message."""
        ordered = sorted(spans, key=lambda s: (s["chat_id"], s["first_id"]))
        i = 0
        for chat_id, mid, ctx in queries.produced(self.store, self.plan["id"]):
            while (ordered[i]["chat_id"], ordered[i]["last_id"]) < (chat_id, mid):
                i += 1
            yield [mid, "context" if ctx else "hit", self.b(ordered[i]["bates_first"])]

    def run(self, progress: Progress) -> dict[str, Any]:
        spans = list(queries.documents(self.store, self.plan["id"]))
        total = self.plan["counts"]["messages"]
        with ExitStack() as stack:
            dat = None
            if "dat" in self.formats:
                dat = stack.enter_context(self.out.create(f"DATA/{self.label}.dat"))
                dat.write(loadfile.header().encode())
            for span in spans:
                self.document(span, dat)
                progress("writing documents", span["events"], total)
        if "html" in self.formats:
            head = {
                "Matter": self.plan["matter"],
                "Production": self.label,
                "Bates": f"{self.plan['bates_first']} - {self.plan['bates_last']}",
                "Query": self.options.query or "(every message)",
                "Time zone": self.options.tz,
                "Documents": str(len(spans)),
                "Messages": str(total),
            }
            for r in self.index_rows:
                r["links"] = [(name, path) for name, path in r["links"]]
            page = html.index(f"{self.label} {self.plan['matter']}", head, self.index_rows)
            self.out.write("index.html", page.encode())
        head = {
            "archive_id": self.archive_id,
            "matter": self.plan["matter"],
            "production": self.label,
            "query": self.options.query,
            "filters": {**self.options.as_dict(), "bates_prefix": self.prefix},
            "tz": self.options.tz,
            "counts": self.plan["counts"],
            "created_at": auditlog.format_time(self.plan["created"]),
            "tool": {"name": "archiver", "version": __version__},
            "bates": {
                "prefix": self.prefix,
                "first": self.plan["bates_first"],
                "last": self.plan["bates_last"],
            },
            "fonts": self.fonts.used() if "pdf" in self.formats else [],
            "missing_glyphs": self.missing,
        }
        written = manifest.write(self.out, head, self.summaries, self.messages(spans))
        manifest.sign(
            self.out,
            self.store,
            self.archive_id,
            written,
            {"matter": self.plan["matter"], "production": self.label},
            self.plan["created"],
        )
        return {
            "manifest_sha256": written.sha256,
            "files": len(self.out.written) + 1,
            "missing_glyphs": self.missing,
        }


def produce(
    archive: Archive, options: Options, inv: Invocation, *, progress: Progress | None = None
) -> dict[str, Any]:
    """Produce the messages ``options`` select into ``options.out`` (see the module)."""
    progress = progress or _ignore
    check_zone(options.tz)
    check_slice(options.slice)
    if options.bates_prefix:
        check_prefix(options.bates_prefix)
    fonts = Fonts.load()
    if not fonts.faces:
        raise InputError(
            "no fonts found: reinstall archiver (its dependency manimgx-fonts provides them)"
        )
    out = OutDir(options.out)
    out.open()
    try:
        plan = _reserve(archive, options, inv, fonts, progress)
    except BaseException:
        out.remove_all()
        raise
    store = archive.store
    try:
        with queries.read_snapshot(store):
            written = _Writer(archive, options, plan, out, fonts).run(progress)
    except BaseException as exc:
        out.remove_all()
        reason = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
        with store.transaction():
            queries.finish(store, plan["id"], "failed", int(inv.now().timestamp()), error=reason)
            auditlog.append(
                store,
                inv,
                outcome="failed",
                details={
                    "matter": plan["matter"],
                    "production": plan["production"],
                    "error": reason,
                },
            )
        if not isinstance(exc, Exception):
            raise
        failed = Refused(
            f"production {plan['production']} of matter {plan['matter']!r} failed: {reason}. "
            f"The files written were removed; Bates numbers {plan['bates_first']} to "
            f"{plan['bates_last']} stay reserved and are never used again "
            "(`archiver production list` shows it as failed)"
        )
        failed.exit_code = exc.exit_code if isinstance(exc, ArchiverError) else 1
        raise failed from exc
    result = {
        **{
            k: plan[k]
            for k in (
                "matter",
                "production",
                "query",
                "bates_prefix",
                "bates_first",
                "bates_last",
                "counts",
                "out",
            )
        },
        "formats": list(options.formats),
        "tz": options.tz,
        **written,
        "warnings": plan["warnings"],
    }
    with store.transaction():
        queries.finish(
            store,
            plan["id"],
            "complete",
            int(inv.now().timestamp()),
            manifest_sha256=written["manifest_sha256"],
        )
        auditlog.append(
            store,
            inv,
            details={
                k: result[k]
                for k in (
                    "matter",
                    "production",
                    "query",
                    "counts",
                    "bates_first",
                    "bates_last",
                    "manifest_sha256",
                    "out",
                )
            },
        )
    return result
