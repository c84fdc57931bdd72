"""Ingested exports: `archiver sources list` and `archiver sources reparse`.

A reparse corrects a mistake made at ingest (a wrong ``--tz``, ``--date-order`` or
``--custodian``), or applies a parser that has improved since: the source's messages
are derived again from its stored original (``rederive``) and the differences applied
(``reparse``), in one transaction with an audit entry naming the options before and
after, every id that changed and the new Merkle root of the source's messages (which
``verify`` then checks). ``dry_run`` does all of it and rolls it back (the audit entry
records the dry run). Messages under an active legal hold are never changed: the
reparse is refused, or with ``force`` (and a reason) they are kept exactly as they are;
a dry run shows the forced change and says it would be refused without ``force``.
"""

from __future__ import annotations

import json
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

from archiver.archive import custodians
from archiver.archive.session import Archive
from archiver.core import identity, zones
from archiver.core.errors import InputError, NotFound, Refused
from archiver.curation import rederive, reparse
from archiver.ingest import chat_identity
from archiver.parsers.base import DateOrder, ParseOptions
from archiver.search.records import iso_utc
from archiver.store import auditlog
from archiver.store.auditlog import Invocation
from archiver.store.database import Store

ORIGINAL = {"complete": "kept", "redacted": "redacted", "purged": "deleted"}


def list_sources(archive: Archive, inv: Invocation) -> list[dict[str, Any]]:
    """Every ingested export: where from, how it was read, what it holds now."""
    store = archive.store
    with store.transaction():
        held = _per_source(
            store,
            "SELECT source_id, count(*) FROM messages GROUP BY 1",
            "SELECT source_id, count(*) FROM message_sources GROUP BY 1",
        )
        purged = _per_source(
            store, "SELECT source_id, count(*) FROM tombstones WHERE version = 1 GROUP BY 1"
        )
        rows = [
            _described(r, held.get(r["id"], 0), purged.get(r["id"], 0))
            for r in store.rows(
                "SELECT s.*, c.name AS custodian FROM sources s "
                "LEFT JOIN custodians c ON c.id = s.custodian_id ORDER BY s.id"
            )
        ]
        auditlog.append(store, inv, details={"sources": len(rows)})
    return rows


def _per_source(store: Store, *queries: str) -> dict[int, int]:
    out: dict[int, int] = {}
    for sql in queries:
        for source_id, n in store.execute(sql):
            out[int(source_id)] = out.get(int(source_id), 0) + int(n)
    return out


def _described(row: dict[str, Any], messages: int, purged: int) -> dict[str, Any]:
    options, facts = json.loads(row["options"]), json.loads(row["facts"])
    notices = json.loads(row["notices"])
    reparsed = options.get("reparsed") or {}
    return {
        "id": row["id"],
        "name": row["name"],
        "platform": row["platform"],
        "custodian": row["custodian"],
        "ingested_at": iso_utc(row["ingested_at"]),
        "tz": row["tz"],
        "date_order": facts.get("date_order") or options.get("date_order"),
        "messages": messages,
        "purged": purged,
        "status": "reparsed" if reparsed else "ingested",
        "reparsed": reparsed.get("count", 0),
        "not_rederived": sum(
            len(n.get("ids", [])) for n in notices if n["code"] == "not-rederived"
        ),
        "original": ORIGINAL.get(row["status"], row["status"]),
        "sha256": row["sha256"],
        "parser": row["parser_version"],
    }


def unrecognised_sources(store: Store) -> list[int]:
    """WhatsApp sources whose original is kept and that hold unrecognised placeholders:
    counted so at ingest, or a one-line text message that the language tables read as a
    placeholder now (archived before a table had it) or that has a placeholder's shape
    (archived before the count existed). The sources a table improvement changes."""
    from archiver.parsers.whatsapp_body import reads_as_marker

    found: set[int] = set()
    kept = "(s.kind = 'folder' OR s.blob_sha256 IS NOT NULL) AND s.status != 'purged'"
    for sid, facts in store.execute(
        f"SELECT s.id, s.facts FROM sources s WHERE s.platform = 'whatsapp' AND {kept}"
    ).fetchall():
        if int(json.loads(facts).get("unrecognised_placeholders") or 0) > 0:
            found.add(int(sid))
    rows = store.execute(
        "SELECT s.id, m.text FROM messages m JOIN sources s ON s.id = m.source_id "
        f"WHERE s.platform = 'whatsapp' AND {kept} AND m.kind = 'text' "
        "AND length(m.text) <= 400 AND instr(m.text, char(10)) = 0 "
        "UNION ALL SELECT s.id, m.text FROM message_sources ms "
        "JOIN messages m ON m.id = ms.message_id JOIN sources s ON s.id = ms.source_id "
        f"WHERE s.platform = 'whatsapp' AND {kept} AND m.kind = 'text' "
        "AND length(m.text) <= 400 AND instr(m.text, char(10)) = 0"
    )
    while chunk := rows.fetchmany(10_000):
        found.update(int(sid) for sid, text in chunk if sid not in found and reads_as_marker(text))
    return sorted(found)


@dataclass(frozen=True)
class ReparseOptions:
    """The corrections asked for (None: as recorded at ingest)."""

    tz: str | None = None
    date_order: DateOrder | None = None
    custodian: str | None = None
    new_custodian: bool = False
    reason: str = ""
    force: bool = False
    dry_run: bool = False


class _DryRun(Exception):
    def __init__(self, report: dict[str, Any]) -> None:
        self.report = report


def reparse_source(
    archive: Archive, source_id: int, options: ReparseOptions, inv: Invocation
) -> dict[str, Any]:
    """Derive a source's messages again and apply the differences (see the module)."""
    if not options.reason.strip() and (options.force or not options.dry_run):
        raise InputError(
            "a reparse changes archived messages: give --reason (recorded in the audit "
            "trail), or --dry-run to see the change first"
        )
    store = archive.store
    try:
        # One transaction, not a savepoint inside one: SQLite checks foreign keys of a
        # statement inside a savepoint at a cost that grows with every row changed
        # (measured: 40,000 moved messages took 65 s in a savepoint, 0.7 s without).
        with store.transaction():
            source = _source(store, source_id)
            report = _reparse(archive, source, _wanted(store, source, options), options, inv)
            if options.dry_run:
                raise _DryRun(report)  # rolls every change back
            auditlog.append(store, inv, details=_audited(report))
    except _DryRun as dry:
        report = dry.report
        auditlog.append(store, inv, details=_audited(report))
    return report


def reparse_unrecognised(
    archive: Archive, options: ReparseOptions, inv: Invocation
) -> list[dict[str, Any]]:
    """``reparse_source`` for every source of ``unrecognised_sources``, one transaction
    and audit entry each; a source refused (messages under hold without --force) is
    reported as such and the others go on."""
    if not options.reason.strip() and (options.force or not options.dry_run):
        raise InputError(
            "a reparse changes archived messages: give --reason (recorded in the audit "
            "trail), or --dry-run to see the change first"
        )
    reports = []
    for source_id in unrecognised_sources(archive.store):
        try:
            reports.append(reparse_source(archive, source_id, options, inv))
        except Refused as exc:
            reports.append({"source_id": source_id, "refused": str(exc)})
    return reports


def _source(store: Store, source_id: int) -> dict[str, Any]:
    rows = store.rows(
        "SELECT s.*, c.name AS custodian FROM sources s LEFT JOIN custodians c "
        "ON c.id = s.custodian_id WHERE s.id = ?",
        (source_id,),
    )
    if not rows:
        raise NotFound(f"no source with id {source_id}; see `archiver sources list`")
    source = rows[0]
    if source["status"] == "purged" or (source["kind"] != "folder" and not source["blob_sha256"]):
        raise Refused(
            f"source {source_id} ({source['name']}): its original was deleted by a purge, so "
            "there is nothing to derive its messages from again"
        )
    return source


@dataclass(frozen=True)
class _Wanted:
    recorded: ParseOptions
    wanted: ParseOptions
    tz: tuple[str, str]
    date_order: tuple[str, str]
    custodian: tuple[str | None, str | None]


def _wanted(store: Store, source: dict[str, Any], options: ReparseOptions) -> _Wanted:
    recorded = json.loads(source["options"])
    facts = json.loads(source["facts"])
    order: DateOrder = facts.get("date_order") or recorded.get("date_order") or "auto"
    if options.tz is not None:
        tz = zones.canonical(options.tz)
    else:
        try:
            tz = zones.canonical(source["tz"])
        except InputError as exc:
            raise InputError(
                f"source {source['id']} was read in a zone that is refused now: {exc}"
            ) from None
    custodian = source["custodian"]
    if options.custodian is not None:
        custodian = custodians.check_new(store, options.custodian, options.new_custodian)
    explicit = options.tz is not None or bool(recorded.get("tz_explicit"))
    new_order: DateOrder = options.date_order or order
    return _Wanted(
        recorded=ParseOptions(
            zones.recorded(source["tz"]), bool(recorded.get("tz_explicit")), order
        ),
        wanted=ParseOptions(zones.resolve(tz), explicit, new_order),
        tz=(source["tz"], tz),
        date_order=(order, new_order),
        custodian=(source["custodian"], custodian),
    )


def _reparse(
    archive: Archive,
    source: dict[str, Any],
    wanted: _Wanted,
    options: ReparseOptions,
    inv: Invocation,
) -> dict[str, Any]:
    store = archive.store
    key = identity.tombstone_key(store.secret("archive_secret"))
    now = int(inv.now().timestamp())
    with ExitStack() as stack:
        kept = rederive.archived(store, source["id"])
        derivation, twins = _derive(store, source, wanted, kept, stack)
        chats = _chats(store, source["id"], derivation, key)
        pairing = rederive.pair(kept, derivation.messages, chats[0])
        the_plan = reparse.plan(
            store, source["id"], derivation.parser.platform, pairing, chats, key
        )
        custodian_moves = wanted.custodian[0] != wanted.custodian[1]
        affected = set(the_plan.affected())
        if custodian_moves:
            affected |= {a.id for a in kept}
        held = _held(store, archive.default_tz, sorted(affected))
        if held and not options.force and not options.dry_run:
            raise Refused(_held_refusal(held))
        custodian_id = _set_custodian(store, source, wanted.custodian[1])
        applier = reparse.Applier(
            store, the_plan, unit=derivation.unit, custodian_id=custodian_id,
            tombstone_key=key, now=now, twins=twins,
        )  # fmt: skip
        outcome = applier.run(skip=set(held))
        touched = applier.touched | ({a.id for a in kept} if custodian_moves else set())
        reparse.custodian_links(store, touched - set(held))
        unparsed_before = _replace_unparsed(store, source["id"], derivation, chats[0])
        root = _record_source(store, source, wanted, derivation, outcome, the_plan, inv)
        report = _report(
            source, wanted, derivation, the_plan, outcome, held, options, root, unparsed_before
        )
        report["also_in_chat"] = _also_in(store, derivation, chats[0], key)
        if held and not options.force:
            report["refused_without_force"] = _held_refusal(held)
    return report


def _derive(
    store: Store,
    source: dict[str, Any],
    wanted: _Wanted,
    kept: list[rederive.Archived],
    stack: ExitStack,
) -> tuple[rederive.Derivation, dict[int, rederive.Derived]]:
    """The export derived with the wanted options, in the original's line numbers, and
    (when the options change) each message's twin derived with the recorded ones: what
    the ingest saw there, so a message purged then stays purged whatever it reads as now."""
    derivation = rederive.derive(store, source, wanted.wanted, stack)
    previous = derivation
    if wanted.recorded != wanted.wanted:
        previous = rederive.derive(store, source, wanted.recorded, stack)
    pairs = rederive.twins(previous.messages, derivation.messages)
    if source["status"] == "redacted":
        rederive.in_original_lines(derivation, rederive.line_map(previous.messages, kept))
    return derivation, {id(derivation.messages[i]): previous.messages[j] for i, j in pairs}


def _also_in(
    store: Store, derivation: rederive.Derivation, chat_of: dict[str, int], key: bytes
) -> dict[str, Any] | None:
    """Another conversation that now shares messages with the export (WhatsApp): after a
    corrected zone, the copy another custodian's export brought. `chats merge` makes them
    one; a reparse after it merges the copies."""
    platform = derivation.parser.platform
    if platform not in chat_identity.BY_EVIDENCE:
        return None
    samples = [(d.ts, d.sender_key, d.kind, d.text) for d in derivation.messages]
    shared = chat_identity.sharing_chats(store, platform, samples, key)
    for chat_id in set(chat_of.values()):
        shared.pop(chat_id, None)
    if not shared:
        return None
    (chat_id, n), *_ = shared.most_common(1)
    title = store.one("SELECT coalesce(title, key) FROM chats WHERE id = ?", (chat_id,))
    home = sorted(set(chat_of.values()))
    return {"chat_id": chat_id, "chat": title, "shared": n, "this_chat": home[0] if home else None}


def _chats(
    store: Store, source_id: int, derivation: rederive.Derivation, key: bytes
) -> tuple[dict[str, int], dict[int, str]]:
    """The archived chat of each chat the parser announces: by platform id, or (WhatsApp)
    the chat the source's messages are in (decided by evidence if it has none left)."""
    home = _home_chat(store, source_id)
    chat_of: dict[str, int] = {}
    for chat in derivation.chats.values():
        if chat.platform not in chat_identity.BY_EVIDENCE:
            chat_of[chat.key] = chat_identity.by_platform_id(store, chat).chat_id
            continue
        if home is None:
            samples = [
                (d.ts, d.sender_key, d.kind, d.text)
                for d in derivation.messages
                if d.chat == chat.key
            ]
            home = chat_identity.by_evidence(store, chat, samples, key).chat_id
        chat_of[chat.key] = home
    keys = {
        chat_id: str(store.one("SELECT key FROM chats WHERE id = ?", (chat_id,)))
        for chat_id in set(chat_of.values())
    }
    return chat_of, keys


def _home_chat(store: Store, source_id: int) -> int | None:
    found = store.one(
        "SELECT chat_id FROM (SELECT chat_id FROM messages WHERE source_id = ?1 UNION ALL "
        "SELECT m.chat_id FROM message_sources s JOIN messages m ON m.id = s.message_id "
        "WHERE s.source_id = ?1 UNION ALL SELECT chat_id FROM tombstones WHERE source_id = ?1 "
        "UNION ALL SELECT chat_id FROM unparsed WHERE source_id = ?1 AND chat_id IS NOT NULL) "
        "GROUP BY chat_id ORDER BY count(*) DESC, chat_id LIMIT 1",
        (source_id,),
    )
    return None if found is None else chat_identity.canonical(store, int(found))


def _held(store: Store, tz: str, ids: list[int]) -> dict[int, list[str]]:
    """The active holds covering each of ``ids`` that any hold covers."""
    from archiver.retention.decisions import iter_facts
    from archiver.retention.holds import HoldMatcher

    matcher = HoldMatcher(store, tz)
    if not matcher.holds:
        return {}
    out: dict[int, list[str]] = {}
    for start in range(0, len(ids), 5000):
        for facts in iter_facts(store, ids[start : start + 5000]):
            names = matcher.held_by(facts)
            if names:
                out[facts.id] = names
    return out


def _held_refusal(held: dict[int, list[str]]) -> str:
    names = sorted({h for hs in held.values() for h in hs})
    first = ", ".join(str(i) for i in sorted(held)[:5]) + (" …" if len(held) > 5 else "")
    return (
        f"refused: {len(held)} message(s) this reparse would change are under legal hold "
        f"({', '.join(names)}): {first}. With --force and --reason they are kept exactly as "
        "they are and the others are reparsed"
    )


def _set_custodian(store: Store, source: dict[str, Any], name: str | None) -> int | None:
    custodian_id = custodians.custodian_id(store, name)
    if custodian_id == source["custodian_id"]:
        return custodian_id
    twin = store.one(
        "SELECT id FROM sources WHERE sha256 = ? AND custodian_id IS ? AND id <> ?",
        (source["sha256"], custodian_id, source["id"]),
    )
    if twin is not None:
        raise Refused(
            f"source {twin} already holds this export ({source['name']}) for custodian "
            f"{name!r}; the same export is not recorded twice for one custodian"
        )
    store.execute("UPDATE sources SET custodian_id = ? WHERE id = ?", (custodian_id, source["id"]))
    return custodian_id


def _replace_unparsed(
    store: Store, source_id: int, derivation: rederive.Derivation, chat_of: dict[str, int]
) -> int:
    before = int(store.one("SELECT count(*) FROM unparsed WHERE source_id = ?", (source_id,)))
    store.execute("DELETE FROM unparsed WHERE source_id = ?", (source_id,))
    store.conn.executemany(
        "INSERT INTO unparsed(source_id, chat_id, line, reason, raw) VALUES (?, ?, ?, ?, ?)",
        [
            (source_id, chat_of.get(u.chat_key) if u.chat_key else None, u.line, u.reason, u.raw)
            for u in derivation.unparsed
        ],
    )
    return before


def _record_source(
    store: Store,
    source: dict[str, Any],
    wanted: _Wanted,
    derivation: rederive.Derivation,
    outcome: reparse.Outcome,
    the_plan: reparse.Plan,
    inv: Invocation,
) -> str | None:
    """The source row as re-derived: options, facts, counts, notices, parser, Merkle root."""
    from archiver import __version__
    from archiver.ingest.exports import ingest_merkle_root

    options = json.loads(source["options"])
    previous = options.get("reparsed") or {}
    options.update(
        tz=wanted.tz[1],
        tz_explicit=wanted.wanted.tz_explicit,
        date_order=wanted.date_order[1],
        custodian=wanted.custodian[1],
        reparsed={
            "count": int(previous.get("count", 0)) + 1,
            "at": iso_utc(int(inv.now().timestamp())),
            "by": inv.user,
        },
    )
    counts = json.loads(source["counts"])
    counts.update(
        messages=len(derivation.messages),
        new=int(store.one("SELECT count(*) FROM messages WHERE source_id = ?", (source["id"],))),
        existing=int(
            store.one("SELECT count(*) FROM message_sources WHERE source_id = ?", (source["id"],))
        ),
        previously_purged=outcome.purged,
        unparsed=len(derivation.unparsed),
    )
    notices = list(derivation.notices)
    gone = [a.id for a in the_plan.gone]
    if gone:
        notices.append(
            {
                "code": "not-rederived",
                "message": f"{len(gone)} archived message(s) are no longer derived from this "
                "export (reparse); kept as they were",
                "chat_key": None,
                "ids": gone,
            }
        )
    parser = derivation.parser
    root = ingest_merkle_root(store, source["id"])
    store.execute(
        "UPDATE sources SET tz = ?, options = ?, facts = ?, counts = ?, notices = ?, "
        "parser_version = ?, merkle_root = ? WHERE id = ?",
        (
            wanted.tz[1],
            json.dumps(options),
            json.dumps(derivation.facts, ensure_ascii=False, default=str),
            json.dumps(counts),
            json.dumps(notices, ensure_ascii=False),
            f"{parser.name}/{parser.version} archiver/{__version__}",
            root,
            source["id"],
        ),
    )
    return root


def _report(
    source: dict[str, Any],
    wanted: _Wanted,
    derivation: rederive.Derivation,
    the_plan: reparse.Plan,
    outcome: reparse.Outcome,
    held: dict[int, list[str]],
    options: ReparseOptions,
    root: str | None,
    unparsed_before: int,
) -> dict[str, Any]:
    parser = derivation.parser
    return {
        "source_id": source["id"],
        "source": source["name"],
        "platform": parser.platform,
        "dry_run": options.dry_run,
        "reason": options.reason,
        "forced": options.force,
        "options": {
            "tz": list(wanted.tz),
            "date_order": list(wanted.date_order),
            "custodian": list(wanted.custodian),
            "parser": [source["parser_version"], f"{parser.name}/{parser.version}"],
        },
        "counts": {
            "derived": len(derivation.messages),
            "unchanged": the_plan.unchanged,
            "moved": len(outcome.moved),
            "changed": len(outcome.changed),
            "merged": len(outcome.merged),
            "unlinked": len(outcome.unlinked),
            "added": len(outcome.added),
            "linked": len(outcome.linked),
            "previously_purged": outcome.purged,
            "held": len(held),
            "not_rederived": len(the_plan.gone),
            "unparsed": [unparsed_before, len(derivation.unparsed)],
        },
        "moved": outcome.moved,
        "changed": outcome.changed,
        "merged": outcome.merged,
        "unlinked": outcome.unlinked,
        "added": outcome.added,
        "linked": outcome.linked,
        "held": [{"id": mid, "holds": held[mid]} for mid in sorted(held)],
        "not_rederived": [a.id for a in the_plan.gone],
        "matches_purged": outcome.matches_purged,
        "duplicate_platform_ids": outcome.conflicts,
        "merkle_root": root,
        "merkle_format": identity.MERKLE_FORMAT,
    }


def _audited(report: dict[str, Any]) -> dict[str, Any]:
    """The audit entry: ids, times, counts and option changes, never a text. A dry run
    records no Merkle root (``verify`` anchors a source's root in the latest entry)."""
    details = dict(report)
    details["changed"] = [
        {"id": c["id"], "new_id": c["new_id"], "fields": sorted(c["fields"])}
        for c in report["changed"]
    ]
    if report["dry_run"]:
        details["would_be_merkle_root"] = details.pop("merkle_root")
    return details
