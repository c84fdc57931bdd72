"""`archiver purge`: defensible deletion, a dry run unless executed.

Executing deletes in batches, each batch with its audit entry in one transaction:
tombstones first (keyed fingerprints of every version, chat, sent time, rule, purge
time), then the message, its versions, custody links, sightings, attachments and its
full-text entry (FTS5 secure-delete). Then orphaned media are removed, the stored
originals are deleted (fully purged) or replaced by a redacted copy (partly purged;
the copy is re-parsed to prove the purged messages are gone and the rest intact), the
WAL is truncated, and a signed certificate chained to the previous one is stored and
written out. ``secure_delete`` is on for the whole run, so freed pages are zeroed.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from archiver import auditlog, blobs, ftsindex, identity, signing
from archiver.archive import Archive
from archiver.auditlog import Invocation
from archiver.errors import Refused
from archiver.keyring import write_secret_file
from archiver.redaction import redact_source
from archiver.retention import Evaluator, active_policy, iter_facts
from archiver.store import Store

BATCH = 2000
# Above this many deletions, FTS5's per-row secure-delete (about 80 us a message) costs
# more than rewriting the whole index once: the rows are then deleted plainly and the
# index is merged into fresh pages ('optimize'), the old pages zeroed by secure_delete.
BULK_FTS_DELETE = 5000
Progress = Callable[[int], None]


@dataclass
class PurgePlan:
    as_of: datetime
    policy_version: int | None
    holds: list[str]
    deletable: list[tuple[int, str]] = field(default_factory=list)  # (message id, rule)
    by_rule: Counter[str] = field(default_factory=Counter)
    by_chat: Counter[str] = field(default_factory=Counter)
    held: Counter[str] = field(default_factory=Counter)
    held_would_delete: int = 0
    examined: int = 0

    def summary(self) -> dict[str, Any]:
        return {
            "as_of": auditlog.format_time(self.as_of),
            "policy_version": self.policy_version,
            "holds_checked": self.holds,
            "examined": self.examined,
            "would_delete": len(self.deletable),
            "by_rule": dict(sorted(self.by_rule.items())),
            "by_chat": dict(sorted(self.by_chat.items())),
            "held": dict(sorted(self.held.items())),
            "held_but_otherwise_deletable": self.held_would_delete,
        }


def make_plan(archive: Archive, as_of: datetime, progress: Progress | None = None) -> PurgePlan:
    store = archive.store
    policy = active_policy(store)
    ev = Evaluator(store, policy, archive.default_tz)
    titles = {int(r[0]): r[1] or r[2] for r in store.execute("SELECT id, title, key FROM chats")}
    plan = PurgePlan(as_of, policy.version, ev.holds.names)
    for facts in iter_facts(store):
        plan.examined += 1
        if progress and plan.examined % 10_000 == 0:
            progress(10_000)
        rule = ev.due(facts, as_of)
        held_by = ev.holds.held_by(facts)
        if held_by:
            for h in held_by:
                plan.held[h] += 1
            plan.held_would_delete += rule is not None
            continue
        if rule is not None:
            plan.deletable.append((facts.id, rule))
            plan.by_rule[rule] += 1
            plan.by_chat[titles.get(facts.chat_id, str(facts.chat_id))] += 1
    return plan


def dry_run(
    archive: Archive, as_of: datetime, inv: Invocation, progress: Progress | None = None
) -> dict[str, Any]:
    with archive.store.transaction():
        plan = make_plan(archive, as_of, progress)
        summary = plan.summary() | {"executed": False}
        auditlog.append(archive.store, inv, details=summary)
    return summary


def execute(
    archive: Archive,
    as_of: datetime,
    inv: Invocation,
    *,
    allow_future: bool = False,
    certificate: Path | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Delete every deletable message (never a held one) and certify it."""
    store = archive.store
    now = inv.now()
    ahead = as_of > now
    if ahead and not allow_future:
        raise Refused(
            f"--as-of {auditlog.format_time(as_of)} is in the future; executing a purge ahead "
            "of time needs --allow-future (the run is then marked as ahead of time in the audit "
            "trail and the certificate)"
        )
    if certificate is not None and certificate.exists():
        raise Refused(f"{certificate} already exists; choose a new certificate file")
    store.execute("PRAGMA secure_delete = ON")
    with store.transaction():
        plan = make_plan(archive, as_of)
        if plan.policy_version is None:
            raise Refused(
                "no retention policy is loaded; nothing can be purged (see `archiver policy load`)"
            )
        previous = store.one(
            "SELECT certificate_sha256 FROM purges WHERE certificate_sha256 IS NOT NULL "
            "ORDER BY id DESC LIMIT 1"
        )
        purge_id = int(
            store.execute(
                "INSERT INTO purges(executed_at, as_of, ahead_of_time, policy_version, counts, "
                "previous_sha256) VALUES (?, ?, ?, ?, '{}', ?)",
                (
                    int(now.timestamp()),
                    int(as_of.timestamp()),
                    int(ahead),
                    plan.policy_version,
                    previous,
                ),
            ).lastrowid
        )
        auditlog.append(
            store,
            inv,
            action="purge.start",
            details={"purge_id": purge_id, **plan.summary(), "ahead_of_time": ahead},
        )
        bulk = len(plan.deletable) > BULK_FTS_DELETE
        if bulk:
            _fts_secure_delete(store, on=False)
    key = identity.tombstone_key(store.secret("archive_secret"))
    spans: dict[int, set[int]] = {}
    keyed_fps: list[str] = []
    attachment_shas: set[str] = set()
    for start in range(0, len(plan.deletable), BATCH):
        batch = plan.deletable[start : start + BATCH]
        with store.transaction():
            _delete_batch(
                store, batch, purge_id, int(now.timestamp()), key, spans, keyed_fps, attachment_shas
            )
            auditlog.append(
                store,
                inv,
                action="purge.batch",
                details={"purge_id": purge_id, "batch": start // BATCH + 1, "deleted": len(batch)},
            )
        if progress:
            progress(len(batch))
    with store.transaction():
        if bulk or not _fts_secure_delete_is_on(store):
            # Also after an interrupted bulk purge: no deleted term may stay in the index.
            store.execute("INSERT INTO messages_fts(messages_fts) VALUES ('optimize')")
            _fts_secure_delete(store, on=True)
        orphans = _remove_orphans(store, attachment_shas)
        purged_keyed = {bytes.fromhex(k) for k in keyed_fps}
        originals = [
            redact_source(store, source_id, lines, attachment_shas, purged_keyed)
            for source_id, lines in sorted(spans.items())
        ]
        counts = {
            "deleted": len(plan.deletable),
            "by_rule": dict(sorted(plan.by_rule.items())),
            "by_chat": dict(sorted(plan.by_chat.items())),
            "held": dict(sorted(plan.held.items())),
            "held_but_otherwise_deletable": plan.held_would_delete,
            "attachments_removed": orphans,
            "originals_deleted": sum(1 for o in originals if o["outcome"] == "deleted"),
            "originals_redacted": sum(1 for o in originals if o["outcome"] == "redacted"),
        }
        payload = {
            "purge_id": purge_id,
            "executed_at": auditlog.format_time(now),
            "as_of": auditlog.format_time(as_of),
            "ahead_of_time": ahead,
            "policy_version": plan.policy_version,
            "policy_sha256": active_policy(store).sha256(),
            "holds_checked": [
                {"name": name, "held_messages": plan.held.get(name, 0)} for name in plan.holds
            ],
            "counts": counts,
            "originals": originals,
            "tombstones": {
                "keyed_with": "BLAKE2b-256 keyed with a secret held only inside the archive",
                "fingerprints": keyed_fps,
            },
            "previous_certificate_sha256": previous,
        }
        doc = signing.sign_document(store, archive.archive_id, "purge-certificate", payload, now)
        data = signing.dumps(doc)
        digest = hashlib.sha256(data).hexdigest()
        store.execute(
            "UPDATE purges SET counts = ?, certificate = ?, certificate_sha256 = ? WHERE id = ?",
            (json.dumps(counts), data.decode(), digest, purge_id),
        )
        auditlog.append(
            store,
            inv,
            details={
                "purge_id": purge_id,
                "ahead_of_time": ahead,
                "certificate_sha256": digest,
                **counts,
            },
        )
    store.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    if certificate is not None:
        write_secret_file(certificate, data)
    return {
        "purge_id": purge_id,
        "executed": True,
        "ahead_of_time": ahead,
        "certificate_sha256": digest,
        **plan.summary(),
        **counts,
        "originals": originals,
    }


def _delete_batch(
    store: Store,
    batch: list[tuple[int, str]],
    purge_id: int,
    now: int,
    key: bytes,
    spans: dict[int, set[int]],
    keyed_fps: list[str],
    attachment_shas: set[str],
) -> None:
    ids = [mid for mid, _ in batch]
    rule_of = dict(batch)
    q = ",".join("?" * len(ids))
    versions: dict[int, list[tuple[int, bytes]]] = {}
    for mid, version, fp in store.execute(
        f"SELECT message_id, version, fingerprint FROM message_versions WHERE message_id IN ({q})",
        ids,
    ):
        versions.setdefault(int(mid), []).append((int(version), bytes(fp)))
    tombs = []
    keyed_of = identity.keyer(key)
    for mid, fp, version, chat_id, msg_id, source_id, line, sent_at, seq in store.execute(
        f"SELECT id, fingerprint, version, chat_id, msg_id, source_id, source_line, sent_at, "
        f"ingest_seq FROM messages WHERE id IN ({q})",
        ids,
    ).fetchall():
        for v, vfp in [*versions.get(int(mid), []), (int(version), bytes(fp))]:
            keyed = keyed_of(vfp)
            tombs.append(
                (
                    mid,
                    v,
                    keyed,
                    chat_id,
                    msg_id,
                    source_id,
                    seq,
                    sent_at,
                    rule_of[mid],
                    purge_id,
                    now,
                )
            )
            keyed_fps.append(keyed.hex())
        if line is not None:
            spans.setdefault(int(source_id), set()).add(int(line))
    for source_id, line in store.execute(
        f"SELECT source_id, line FROM message_sources WHERE message_id IN ({q})", ids
    ).fetchall():
        if line is not None:
            spans.setdefault(int(source_id), set()).add(int(line))
    for (sha,) in store.execute(
        f"SELECT sha256 FROM attachments WHERE message_id IN ({q}) AND sha256 IS NOT NULL", ids
    ).fetchall():
        attachment_shas.add(sha)
    conn = store.conn
    conn.executemany(
        "INSERT INTO tombstones(message_id, version, keyed_fingerprint, chat_id, msg_id, "
        "source_id, ingest_seq, sent_at, rule, purge_id, purged_at) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        tombs,
    )
    ftsindex.unindex(store, ids)
    for table, column in (
        ("message_versions", "message_id"),
        ("message_custodians", "message_id"),
        ("message_sources", "message_id"),
        ("attachments", "message_id"),
        ("messages", "id"),
    ):
        conn.execute(f"DELETE FROM {table} WHERE {column} IN ({q})", ids)


def _fts_secure_delete(store: Store, *, on: bool) -> None:
    store.execute(
        "INSERT INTO messages_fts(messages_fts, rank) VALUES ('secure-delete', ?)", (int(on),)
    )


def _fts_secure_delete_is_on(store: Store) -> bool:
    value = store.one("SELECT v FROM messages_fts_config WHERE k = 'secure-delete'")
    return value is not None and int(value) == 1


def _remove_orphans(store: Store, candidates: set[str]) -> int:
    """Delete media no remaining message, original or export file refers to."""
    removed = 0
    for sha in sorted(candidates):
        if not blobs.in_use(store, sha):
            blobs.delete_blob(store, sha)
            removed += 1
    return removed


def forecast(archive: Archive, months: int, now: datetime, inv: Invocation) -> dict[str, Any]:
    """How many messages become deletable in each of the next ``months`` months."""
    store = archive.store
    with store.transaction():
        policy = active_policy(store)
        ev = Evaluator(store, policy, archive.default_tz)
        buckets: Counter[str] = Counter()
        overdue = held = never = 0
        labels = []
        y, m = now.year, now.month
        for _ in range(months):
            labels.append(f"{y:04d}-{m:02d}")
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        for facts in iter_facts(store):
            d = ev.decide(facts, now)
            if d.held_by:
                held += 1
            elif d.deletable_at is None:
                never += 1
            elif d.deletable_at <= now:
                overdue += 1
            else:
                label = f"{d.deletable_at.year:04d}-{d.deletable_at.month:02d}"
                if label in labels:
                    buckets[label] += 1
        out = {
            "from": auditlog.format_time(now),
            "policy_version": policy.version,
            "deletable_now": overdue,
            "months": [{"month": lb, "becoming_deletable": buckets.get(lb, 0)} for lb in labels],
            "held": held,
            "kept_forever": never,
        }
        auditlog.append(store, inv, details={"months": months, "deletable_now": overdue})
    return out
