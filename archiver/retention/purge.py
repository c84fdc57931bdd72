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

import fcntl
import hashlib
import json
import os
import time
from array import array
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from archiver.archive.session import Archive
from archiver.core import identity
from archiver.core.errors import ArchiveBusy, InputError, Refused
from archiver.retention.decisions import Evaluator, active_policy, iter_facts
from archiver.retention.redaction import delete_original, redact_source
from archiver.security import signing
from archiver.security.keyring import write_secret_file
from archiver.store import auditlog, blobs
from archiver.store import fts as ftsindex
from archiver.store.auditlog import Invocation
from archiver.store.database import Store

BATCH = 2000
LOCK_NAME = "purge.lock"
# The certificate's commitment to what was deleted: the Merkle root of the keyed
# fingerprints of every deleted version, in (message id, version) order.
TOMBSTONE_MERKLE_FORMAT = (
    "rfc6962-sha256/blocks-1024/blake2b-keyed-fingerprints/message-id-version-order/v1"
)
# Above this many deletions, FTS5's per-row secure-delete (about 80 us a message) costs
# more than rewriting the whole index once: the rows are then deleted plainly and the
# index is merged into fresh pages ('optimize'), the old pages zeroed by secure_delete.
BULK_FTS_DELETE = 5000
# progress(phase, done since the last call, total or None)
Progress = Callable[[str, int, int | None], None]


class Candidates:
    """Messages a plan would delete, with the deciding rule: two flat arrays (a million
    candidates take 10 MB, not the 100 MB of a list of tuples)."""

    def __init__(self) -> None:
        self._ids = array("q")
        self._rules = array("H")
        self._names: list[str] = []
        self._index: dict[str, int] = {}

    def append(self, item: tuple[int, str]) -> None:
        message_id, rule = item
        index = self._index.get(rule)
        if index is None:
            index = self._index[rule] = len(self._names)
            self._names.append(rule)
        self._ids.append(message_id)
        self._rules.append(index)

    def __len__(self) -> int:
        return len(self._ids)

    def __getitem__(self, part: slice) -> list[tuple[int, str]]:
        names = self._names
        return [(i, names[r]) for i, r in zip(self._ids[part], self._rules[part], strict=True)]


@dataclass
class PurgePlan:
    as_of: datetime
    policy_version: int | None
    holds: list[str]
    deletable: Candidates = field(default_factory=Candidates)  # (message id, rule)
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


def make_plan(
    archive: Archive,
    as_of: datetime,
    progress: Progress | None = None,
    evaluator: Evaluator | None = None,
) -> PurgePlan:
    store = archive.store
    ev = evaluator or Evaluator(store, active_policy(store), archive.default_tz)
    policy = ev.policy
    titles = {int(r[0]): r[1] or r[2] for r in store.execute("SELECT id, title, key FROM chats")}
    plan = PurgePlan(as_of, policy.version, ev.holds.names)
    total = int(store.one("SELECT count(*) FROM messages")) if progress else None
    for facts in iter_facts(store):
        plan.examined += 1
        if progress and plan.examined % 10_000 == 0:
            progress("examining", 10_000, total)
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
    if progress:
        progress("examining", plan.examined % 10_000, total)
    return plan


def dry_run(
    archive: Archive, as_of: datetime, inv: Invocation, progress: Progress | None = None
) -> dict[str, Any]:
    with archive.store.transaction():
        plan = make_plan(archive, as_of, progress)
        summary = plan.summary() | {
            "executed": False,
            "interrupted_purges": unfinished(archive.store),
        }
        auditlog.append(archive.store, inv, details=summary)
    return summary


# Audit actions that cannot change what a rule or a hold covers. Every command appends
# its audit entry in the transaction of its effect, so an entry by any other action (or
# one added later and not listed here) means the decisions must be made again.
DECISION_NEUTRAL_ACTIONS = frozenset(
    {
        "audit", "audit.head", "audit.export", "backup", "chats", "export", "hold.list",
        "hold.show", "key.list", "key.public", "policy.explain", "policy.list", "policy.show",
        "purge", "purge.batch", "purge.start", "retention.forecast", "search", "show",
        "status", "people.list", "verify", "verify-signed",
    }
)  # fmt: skip


class _Decider:
    """Decides, inside each batch's own transaction, which planned messages may still be
    deleted: the facts are read again and the rules and holds are those in force then
    (the evaluator is rebuilt whenever another command changed anything since). A hold
    placed while a purge runs therefore protects every message it reported held."""

    def __init__(self, archive: Archive, evaluator: Evaluator, as_of: datetime, seen: int) -> None:
        self.archive = archive
        self.as_of = as_of
        self.seen = seen
        self.evaluator = evaluator
        self.newly_held: Counter[str] = Counter()
        self.no_longer_due = 0

    def _current(self, store: Store) -> Evaluator:
        neutral = ",".join(f"'{a}'" for a in sorted(DECISION_NEUTRAL_ACTIONS))
        latest = int(store.one("SELECT coalesce(max(seq), 0) FROM audit_log"))
        changed = store.one(
            f"SELECT 1 FROM audit_log WHERE seq > ? AND outcome = 'ok' "
            f"AND action NOT IN ({neutral}) LIMIT 1",
            (self.seen,),
        )
        self.seen = latest
        if changed:
            self.evaluator = Evaluator(store, active_policy(store), self.archive.default_tz)
        return self.evaluator

    def still_deletable(self, store: Store, batch: list[tuple[int, str]]) -> list[tuple[int, str]]:
        ev = self._current(store)
        keep = []
        for facts in iter_facts(store, [mid for mid, _ in batch]):
            held_by = ev.holds.held_by(facts)
            if held_by:
                for name in held_by:
                    self.newly_held[name] += 1
                continue
            rule = ev.due(facts, self.as_of)
            if rule is None:
                self.no_longer_due += 1
                continue
            keep.append((facts.id, rule))
        return keep


def execute(
    archive: Archive,
    as_of: datetime,
    inv: Invocation,
    *,
    allow_future: bool = False,
    certificate: Path | None = None,
    certificate_dir: Path | None = None,
    progress: Progress | None = None,
    approval: dict[str, Any] | None = None,
    max_deletions: int | None = None,
) -> dict[str, Any]:
    """Delete every deletable message (never a held one) and certify it.

    First certifies any purge an earlier run left unfinished (killed mid-way): every
    committed deletion ends up in a signed certificate.

    Four-eyes hooks: ``approval`` (the request and both identities) is written on the
    certificate; ``max_deletions`` refuses a run that would delete more messages than
    were approved or than the threshold allows one slot alone."""
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
    if certificate_dir is not None and not certificate_dir.is_dir():
        raise InputError(
            f"--certificate-dir {certificate_dir} is not a directory; create it first "
            f"(mkdir -m 700 {certificate_dir})"
        )
    with purge_lock(archive):
        recovered = [
            _certify(archive, purge_id, inv, certificate_dir, interrupted=True)
            for purge_id in unfinished(store)
        ]
        store.execute("PRAGMA secure_delete = ON")
        with store.transaction():
            evaluator = Evaluator(store, active_policy(store), archive.default_tz)
            plan = make_plan(archive, as_of, progress, evaluator=evaluator)
            if plan.policy_version is None:
                raise Refused(
                    "no retention policy is loaded; nothing can be purged "
                    "(see `archiver policy load`)"
                )
            if max_deletions is not None and len(plan.deletable) > max_deletions:
                raise Refused(
                    f"this purge would now delete {len(plan.deletable)} messages, more than "
                    f"the {max_deletions} allowed (approved, or the four-eyes threshold); "
                    "nothing was deleted. Run `archiver purge` to see why, and file a new "
                    "request."
                )
            purge_id = int(
                store.execute(
                    "INSERT INTO purges(executed_at, as_of, ahead_of_time, policy_version, "
                    "counts, previous_sha256) VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        int(now.timestamp()),
                        int(as_of.timestamp()),
                        int(ahead),
                        plan.policy_version,
                        json.dumps(_planned(plan)),
                        _latest_certificate(store),
                    ),
                ).lastrowid
            )
            start = auditlog.append(
                store,
                inv,
                action="purge.start",
                details={"purge_id": purge_id, **plan.summary(), "ahead_of_time": ahead},
            )
            if len(plan.deletable) > BULK_FTS_DELETE:
                _fts_secure_delete(store, on=False)
        decider = _Decider(archive, evaluator, as_of, start.seq)
        key = identity.tombstone_key(store.secret("archive_secret"))
        for first in range(0, len(plan.deletable), BATCH):
            with store.transaction():
                batch = decider.still_deletable(store, plan.deletable[first : first + BATCH])
                _delete_batch(store, batch, purge_id, int(now.timestamp()), key)
                store.execute(
                    "UPDATE purges SET counts = ? WHERE id = ?",
                    (json.dumps(_planned(plan, decider)), purge_id),
                )
                auditlog.append(
                    store,
                    inv,
                    action="purge.batch",
                    details={
                        "purge_id": purge_id,
                        "batch": first // BATCH + 1,
                        "deleted": len(batch),
                        "kept_on_recheck": len(plan.deletable[first : first + BATCH]) - len(batch),
                    },
                )
            if progress:
                progress("deleting", min(BATCH, len(plan.deletable) - first), len(plan.deletable))
        result = _certify(
            archive, purge_id, inv, certificate_dir, certificate=certificate, approval=approval
        )
    return {
        **plan.summary(),
        **result,
        "executed": True,
        "would_delete": len(plan.deletable),
        "recovered": recovered,
    }


def _planned(plan: PurgePlan, decider: _Decider | None = None) -> dict[str, Any]:
    """What a running purge records about its plan (and what re-checks kept since), so
    that the certificate of a purge killed mid-way can still say what was held."""
    held = Counter(plan.held)
    if decider is not None:
        held.update(decider.newly_held)
    return {
        "holds_checked": plan.holds,
        "examined": plan.examined,
        "planned": len(plan.deletable),
        "held": dict(sorted(held.items())),
        "held_but_otherwise_deletable": plan.held_would_delete
        + (sum(decider.newly_held.values()) if decider else 0),
        "no_longer_due_on_recheck": decider.no_longer_due if decider else 0,
    }


def _latest_certificate(store: Store) -> str | None:
    value = store.one(
        "SELECT certificate_sha256 FROM purges WHERE certificate_sha256 IS NOT NULL "
        "ORDER BY id DESC LIMIT 1"
    )
    return None if value is None else str(value)


def unfinished(store: Store) -> list[int]:
    """Purges that deleted (or began to) but never wrote their certificate: killed."""
    return [
        int(r[0])
        for r in store.execute("SELECT id FROM purges WHERE certificate IS NULL ORDER BY id")
    ]


@contextmanager
def purge_lock(archive: Archive) -> Iterator[None]:
    """One purge at a time per archive; a lock the kernel releases when its holder dies,
    so a purge left unfinished by a killed process is told from one still running."""
    path = archive.path / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if not _try_lock(fd):
            waiting = archive.store.waiting
            with waiting.report(waiting.seconds):
                # As long as the command may wait (--wait), looking again 5 times a second.
                for _ in range(int(waiting.seconds * 5)):
                    time.sleep(0.2)
                    if _try_lock(fd):
                        break
                else:
                    raise ArchiveBusy(
                        f"another `archiver purge --execute` is running on {archive.path} "
                        f"(waited {waiting.seconds:g} s); run this again when it has finished, "
                        "or give --wait SECONDS to wait longer"
                    )
        yield
    finally:
        os.close(fd)


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _certify(
    archive: Archive,
    purge_id: int,
    inv: Invocation,
    certificate_dir: Path | None,
    *,
    certificate: Path | None = None,
    interrupted: bool = False,
    approval: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Finish a purge: restore the index's secure-delete, remove orphaned media, redact or
    delete the originals it touched, and sign a certificate of every deletion it committed
    (read back from its tombstones, so a purge killed mid-way is certified as well)."""
    store = archive.store
    now = inv.now()
    with store.transaction():
        (row,) = store.rows("SELECT * FROM purges WHERE id = ?", (purge_id,))
        planned = json.loads(row["counts"])
        if not _fts_secure_delete_is_on(store):
            # After a bulk delete (or one interrupted): no deleted term may stay in the index.
            store.execute("INSERT INTO messages_fts(messages_fts) VALUES ('optimize')")
            _fts_secure_delete(store, on=True)
        media = {
            str(r[0])
            for r in store.execute("SELECT sha256 FROM purge_media WHERE purge_id = ?", (purge_id,))
        }
        orphans = _remove_orphans(store, media)
        spans: dict[int, set[int]] = {}
        for source_id, line in store.execute(
            "SELECT source_id, line FROM purge_lines WHERE purge_id = ?1 UNION "
            # A purge killed before purge_lines existed: its lines are unknown (line 0).
            "SELECT DISTINCT source_id, 0 FROM tombstones WHERE purge_id = ?1 AND source_id "
            "NOT IN (SELECT source_id FROM purge_lines WHERE purge_id = ?1)",
            (purge_id,),
        ):
            spans.setdefault(int(source_id), set()).add(int(line))
        tombstones = identity.MerkleBuilder()
        for (keyed,) in store.execute(
            "SELECT keyed_fingerprint FROM tombstones WHERE purge_id = ? "
            "ORDER BY message_id, version",
            (purge_id,),
        ):
            tombstones.add(bytes(keyed))
        originals = [
            redact_source(store, source_id, lines, media, _purged_by(store, purge_id))
            if 0 not in lines
            else delete_original(
                store, source_id, "a purged message has no line in it to redact by"
            )
            for source_id, lines in sorted(spans.items())
        ]
        deleted = _deleted_counts(store, purge_id)
        counts = {
            **deleted,
            "held": planned.get("held", {}),
            "held_but_otherwise_deletable": planned.get("held_but_otherwise_deletable", 0),
            "no_longer_due_on_recheck": planned.get("no_longer_due_on_recheck", 0),
            "attachments_removed": orphans,
            "originals_deleted": sum(1 for o in originals if o["outcome"] == "deleted"),
            "originals_redacted": sum(1 for o in originals if o["outcome"] == "redacted"),
        }
        held = counts["held"]
        payload = {
            "purge_id": purge_id,
            "executed_at": auditlog.format_time(_at(row["executed_at"])),
            "as_of": auditlog.format_time(_at(row["as_of"])),
            "ahead_of_time": bool(row["ahead_of_time"]),
            "policy_version": row["policy_version"],
            "policy_sha256": _policy_sha(store, row["policy_version"]),
            "holds_checked": [
                {"name": name, "held_messages": held.get(name, 0)}
                for name in planned.get("holds_checked", [])
            ],
            "counts": counts,
            "originals": originals,
            "tombstones": {
                "count": tombstones.count,
                "merkle_root": tombstones.root(),
                "merkle_format": TOMBSTONE_MERKLE_FORMAT,
                "keyed_with": "BLAKE2b-256 keyed with a secret held only inside the archive",
            },
            "previous_certificate_sha256": row["previous_sha256"],
        }
        if interrupted:
            payload["interrupted"] = {
                "note": "the purge was stopped before it finished; this certificate covers "
                "every deletion it had committed",
                "certified_at": auditlog.format_time(now),
                "certified_by": inv.user,
            }
        if approval is not None:
            payload["approval"] = approval
        doc = signing.sign_document(
            store.signing_keys(), archive.archive_id, "purge-certificate", payload, now
        )
        data = signing.dumps(doc)
        digest = hashlib.sha256(data).hexdigest()
        store.execute(
            "UPDATE purges SET counts = ?, certificate = ?, certificate_sha256 = ? WHERE id = ?",
            (json.dumps(counts), data.decode(), digest, purge_id),
        )
        store.execute("DELETE FROM purge_lines WHERE purge_id = ?", (purge_id,))
        store.execute("DELETE FROM purge_media WHERE purge_id = ?", (purge_id,))
        auditlog.append(
            store,
            inv,
            action="purge.recovered" if interrupted else None,
            details={
                "purge_id": purge_id,
                "ahead_of_time": bool(row["ahead_of_time"]),
                "certificate_sha256": digest,
                **counts,
            },
        )
    store.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    written = []
    if certificate_dir is not None:
        name = f"purge-{now.strftime('%Y%m%dT%H%M%SZ')}-{purge_id}.json"
        certificate = certificate_dir / name
    if certificate is not None:
        write_secret_file(certificate, data)
        written.append(str(certificate))
    return {
        "purge_id": purge_id,
        "certificate_sha256": digest,
        "certificate_file": written[0] if written else None,
        "ahead_of_time": bool(row["ahead_of_time"]),
        **counts,
        "originals": originals,
    }


def _purged_by(store: Store, purge_id: int) -> Callable[[list[bytes]], bool]:
    """Whether any of some keyed fingerprints is one this purge deleted (looked up in
    the archive, so a purge of millions holds none of them in memory)."""

    def any_purged(keyed: list[bytes]) -> bool:
        marks = ",".join("?" * len(keyed))
        return (
            store.one(
                f"SELECT 1 FROM tombstones WHERE purge_id = ? AND keyed_fingerprint IN ({marks}) "
                "LIMIT 1",
                (purge_id, *keyed),
            )
            is not None
        )

    return any_purged


def _at(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def _policy_sha(store: Store, version: int) -> str | None:
    value = store.one("SELECT sha256 FROM policy_sets WHERE version = ?", (version,))
    return None if value is None else str(value)


def _deleted_counts(store: Store, purge_id: int) -> dict[str, Any]:
    """What a purge deleted, from its tombstones (one per version; counted per message)."""
    by_rule = {
        str(rule): int(n)
        for rule, n in store.execute(
            "SELECT rule, count(DISTINCT message_id) FROM tombstones WHERE purge_id = ? "
            "GROUP BY rule ORDER BY rule",
            (purge_id,),
        )
    }
    by_chat: Counter[str] = Counter()
    for title, n in store.execute(
        "SELECT coalesce(c.title, c.key, t.chat_id), count(DISTINCT t.message_id) "
        "FROM tombstones t LEFT JOIN chats c ON c.id = t.chat_id WHERE t.purge_id = ? "
        "GROUP BY t.chat_id",
        (purge_id,),
    ):
        by_chat[str(title)] += int(n)
    return {
        "deleted": sum(by_rule.values()),
        "by_rule": by_rule,
        "by_chat": dict(sorted(by_chat.items())),
    }


def _delete_batch(
    store: Store, batch: list[tuple[int, str]], purge_id: int, now: int, key: bytes
) -> None:
    """Tombstones first, then the messages and everything hanging off them. What the
    purge must finish later (lines of stored originals to redact, media that may now be
    orphaned) is recorded in the same transaction, so a killed purge can be finished."""
    if not batch:
        return
    ids = [mid for mid, _ in batch]
    rule_of = dict(batch)
    q = ",".join("?" * len(ids))
    versions: dict[int, list[tuple[int, bytes, str, str]]] = {}
    for mid, version, fp, kind, text in store.execute(
        "SELECT message_id, version, fingerprint, kind, text FROM message_versions "
        f"WHERE message_id IN ({q})",
        ids,
    ):
        versions.setdefault(int(mid), []).append((int(version), bytes(fp), kind, text))
    tombs = []
    lines: set[tuple[int, int]] = set()
    keyed_of = identity.keyer(key)
    for (
        mid, fp, version, chat_id, msg_id, source_id, line, sent_at, seq, kind, text, platform,
        sender,
    ) in store.execute(
        "SELECT m.id, m.fingerprint, m.version, m.chat_id, m.msg_id, m.source_id, "
        "m.source_line, m.sent_at, m.ingest_seq, m.kind, m.text, c.platform, p.key "
        "FROM messages m JOIN chats c ON c.id = m.chat_id "
        f"LEFT JOIN participants p ON p.id = m.sender_id WHERE m.id IN ({q})",
        ids,
    ).fetchall():  # fmt: skip
        for v, vfp, vkind, vtext in [*versions.get(int(mid), []), (int(version), fp, kind, text)]:
            content = identity.content_key(platform, sender, sent_at, vkind, vtext)
            tombs.append(
                (mid, v, keyed_of(bytes(vfp)), chat_id, msg_id, source_id, seq, sent_at,
                 rule_of[mid], purge_id, now, keyed_of(content))
            )  # fmt: skip
        lines.add((int(source_id), int(line or 0)))
    for source_id, line in store.execute(
        f"SELECT source_id, line FROM message_sources WHERE message_id IN ({q})", ids
    ).fetchall():
        lines.add((int(source_id), int(line or 0)))
    conn = store.conn
    conn.executemany(
        "INSERT OR IGNORE INTO purge_lines(purge_id, source_id, line) VALUES (?, ?, ?)",
        [(purge_id, s, n) for s, n in sorted(lines)],
    )
    conn.execute(
        f"INSERT OR IGNORE INTO purge_media(purge_id, sha256) SELECT ?, sha256 FROM attachments "
        f"WHERE message_id IN ({q}) AND sha256 IS NOT NULL",
        [purge_id, *ids],
    )
    conn.executemany(
        "INSERT INTO tombstones(message_id, version, keyed_fingerprint, chat_id, msg_id, "
        "source_id, ingest_seq, sent_at, rule, purge_id, purged_at, keyed_content) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
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
