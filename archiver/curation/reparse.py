"""Applying a source's re-derived messages to the archive (``sources.reparse``).

``plan`` decides, for every message the archive holds for the source and every message
derived again (``rederive.pair``), what becomes of it; ``apply`` writes it. The rules:

- A message the source brought first keeps its id while it stays in the same second; a
  message whose time moves gets a new id in its new second (ids are ordered by time), and
  every row that names it follows (search index, attachments, custodians, sightings,
  versions). Its fingerprint and its versions' are computed again from the new values.
- If it now is a message another export brought (the same fingerprint, or the same
  message exported from another phone), it is merged into that one: it becomes a sighting
  of it, with its custodians and sightings; its own id is retired.
- A sighting (a message another export brought first) that the source no longer
  derives is unlinked from it; what the source derives there now is added.
- Derived messages the archive does not hold for the source are added like an ingest
  adds them: linked to an archived message that is the same, counted as purged when a
  tombstone matches (purged stays purged), else new.
- Archived messages no longer derived at all are kept as they are and listed.
- A message under an active legal hold is never changed (``held``): the caller refuses
  the reparse, or with ``force`` leaves those messages exactly as they are.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from archiver.core import identity
from archiver.core.errors import ParseError
from archiver.core.names import phone_digits
from archiver.curation.rederive import Archived, Derived, Pairing
from archiver.ingest.attachments import AttachmentWriter
from archiver.ingest.staging import encode_extra
from archiver.ingest.writer import WriteCounts
from archiver.parsers.base import ExportUnit
from archiver.search.records import iso_utc
from archiver.store import blobs
from archiver.store import fts as ftsindex
from archiver.store.database import Store

# --- deciding against the rest of the archive ------------------------------------------


class Matcher:
    """The archived message (or tombstone) a message of the source now is: the rules of
    the writer's careful path, against messages the source does not hold (neither brought
    first, ``source_id``, nor sighted, ``mine``); each is matched once (``claimed``)."""

    def __init__(
        self, store: Store, platform: str, keyer: Any, source_id: int, mine: set[int]
    ) -> None:
        self.store = store
        self.platform = platform
        self.keyed = keyer
        self.source_id = source_id
        self.mine = mine
        self.claimed: set[int] = set()

    def same_message(self, chat_id: int, fp: bytes, sender: str | None, d: Derived) -> int | None:
        """An archived message that is ``d``: the same fingerprint in its second, or (no
        platform id) the same content in the same minute of the chat."""
        if d.ts is None:
            return None
        lo = identity.id_base(d.ts)
        for (mid,) in self.store.execute(
            "SELECT id FROM messages WHERE id >= ? AND id < ? AND fingerprint = ? "
            "AND source_id <> ?",
            (lo, lo + identity.SEQ_LIMIT, fp, self.source_id),
        ).fetchall():
            if int(mid) not in self.mine and int(mid) not in self.claimed:
                self.claimed.add(int(mid))
                return int(mid)
        if d.msg_id is not None:
            return None
        lo = identity.id_base(d.ts // 60 * 60)
        want = identity.content_key(self.platform, sender, d.ts, d.kind, d.text)
        for mid, sent, key, kind, text in self.store.execute(
            "SELECT m.id, m.sent_at, p.key, m.kind, m.text FROM messages m "
            "LEFT JOIN participants p ON p.id = m.sender_id "
            "WHERE m.id >= ? AND m.id < ? AND m.chat_id = ? AND m.source_id <> ? ORDER BY m.id",
            (lo, lo + identity.id_base(60), chat_id, self.source_id),
        ).fetchall():
            if (
                int(mid) in self.mine
                or int(mid) in self.claimed
                or not identity.same_moment(d.ts, sent)
                or identity.content_key(self.platform, key, sent, kind, text) != want
            ):
                continue
            self.claimed.add(int(mid))
            return int(mid)
        return None

    def by_platform_id(self, chat_id: int, msg_id: str | None) -> int | None:
        if msg_id is None:
            return None
        found = self.store.one(
            "SELECT id FROM messages WHERE chat_id = ? AND msg_id = ?", (chat_id, msg_id)
        )
        return None if found is None else int(found)

    def purged(self, chat_id: int, fp: bytes, sender: str | None, d: Derived) -> bool:
        """Whether a tombstone matches: by platform id, keyed fingerprint, or content."""
        if d.msg_id is not None and self.store.one(
            "SELECT 1 FROM tombstones WHERE chat_id = ? AND msg_id = ?", (chat_id, d.msg_id)
        ):
            return True
        if self.store.one(
            "SELECT 1 FROM tombstones WHERE keyed_fingerprint = ?", (self.keyed(fp),)
        ):
            return True
        if d.msg_id is not None or d.ts is None:
            return False
        lo = identity.id_base(d.ts // 60 * 60)
        content = self.keyed(identity.content_key(self.platform, sender, d.ts, d.kind, d.text))
        return any(
            identity.same_moment(d.ts, sent)
            for (sent,) in self.store.execute(
                "SELECT sent_at FROM tombstones WHERE message_id >= ? AND message_id < ? "
                "AND chat_id = ? AND version = 1 AND keyed_content = ?",
                (lo, lo + identity.id_base(60), chat_id, content),
            )
        )


@dataclass
class Move:
    """An archived message of the source and what becomes of it."""

    archived: Archived
    derived: Derived
    fields: dict[str, tuple[Any, Any]]
    new_id: int | None = None
    into: int | None = None  # merged into this archived message
    how: str = "changed"  # changed | merged | unlinked
    matches_purged: bool = False


@dataclass
class Plan:
    """Everything a reparse would do, decided before anything is written."""

    source_id: int
    platform: str
    chat_of: dict[str, int]
    chat_keys: dict[int, str]
    matcher: Matcher
    unchanged: int = 0
    moves: list[Move] = field(default_factory=list)
    added: list[Derived] = field(default_factory=list)
    gone: list[Archived] = field(default_factory=list)

    def affected(self) -> list[int]:
        return sorted({m.archived.id for m in self.moves})


def plan(
    store: Store,
    source_id: int,
    platform: str,
    pairing: Pairing,
    chats: tuple[dict[str, int], dict[int, str]],
    tombstone_key: bytes,
) -> Plan:
    """Decide what happens to every paired, gone and added message (reads only). A
    message the source brought first that is now a message another export brought (in
    the same chat: after a wrong zone was corrected, or after `chats merge`) is merged
    into it, whether or not its own values changed."""
    mine = {a.id for a, _ in pairing.pairs} | {a.id for a in pairing.gone}
    matcher = Matcher(store, platform, identity.keyer(tombstone_key), source_id, mine)
    out = Plan(source_id, platform, *chats, matcher, gone=list(pairing.gone))
    added = list(pairing.added)
    for a, d in pairing.pairs:
        d = _as_archived_id(a, d)
        if not a.own:
            if _still_sighted(platform, a, d):
                out.unchanged += 1
            else:
                out.moves.append(Move(a, d, {}, how="unlinked"))
                added.append(d)
            continue
        changed = _differences(a, d)
        fp = identity.fingerprint(
            platform, a.origin_key, d.sender_key, d.ts, d.kind, d.text, d.occurrence, d.msg_id
        )
        into = None
        if d.msg_id is None and a.version == 1:
            into = matcher.same_message(a.chat_id, fp, d.sender_key, d)
        if into is not None:
            out.moves.append(Move(a, d, changed, into=into, how="merged"))
        elif changed:
            purged = matcher.purged(a.chat_id, fp, d.sender_key, d)
            out.moves.append(Move(a, d, changed, matches_purged=purged))
        else:
            out.unchanged += 1
    out.added = added
    return out


def _as_archived_id(a: Archived, d: Derived) -> Derived:
    """A derived message paired with one kept without its platform id (the id met with
    another sender at ingest): derived the same way, without the id."""
    if a.msg_id is None and d.msg_id is not None:
        extra = json.loads(d.extra) if d.extra else {}
        extra["platform_id_conflict"] = d.msg_id
        return d._replace(msg_id=None, extra=encode_extra(extra), occurrence=0)
    return d


def _still_sighted(platform: str, a: Archived, d: Derived) -> bool:
    """Whether the source still holds the message another export brought first: the
    same platform id, or the same content in the same minute (one of the two times to
    the minute only, or both equal)."""
    if a.msg_id is not None:
        return a.msg_id == d.msg_id
    return identity.same_moment(a.ts, d.ts) and identity.content_key(
        platform, a.sender_key, a.ts, a.first_kind, a.first_text
    ) == identity.content_key(platform, d.sender_key, d.ts, d.kind, d.text)


def _differences(a: Archived, d: Derived) -> dict[str, tuple[Any, Any]]:
    """The fields in which the re-derivation differs from the archived message (for a
    message edited later, its first version's kind and text; the later version's
    flags stay)."""
    attachments = tuple((r[0], r[1]) for r in d.attachments)
    pairs: dict[str, tuple[Any, Any]] = {
        "sender": (a.sender_key, d.sender_key),
        "sender_name": (a.sender_name, d.sender_name),
        "sent_at": (a.ts, d.ts),
        "sent_at_text": (a.ts_text, d.ts_text),
        "kind": (a.first_kind, d.kind),
        "text": (a.first_text, d.text),
        "reply_to": (a.reply_to, d.reply_to),
        "forwarded_from": (a.forwarded_from, d.forwarded_from),
        "occurrence": (a.occurrence, d.occurrence),
        "attachments": (a.attachments, attachments),
    }
    if a.version == 1:
        pairs.update(
            edited=(a.edited, d.edited),
            edited_at=(a.edited_at, d.edited_at),
            extra=(a.extra, d.extra),
        )
    return {k: v for k, v in pairs.items() if v[0] != v[1]}


# --- writing -----------------------------------------------------------------------------


@dataclass
class Outcome:
    """What was written, for the report."""

    moved: list[dict[str, Any]] = field(default_factory=list)
    changed: list[dict[str, Any]] = field(default_factory=list)
    merged: list[dict[str, Any]] = field(default_factory=list)
    unlinked: list[int] = field(default_factory=list)
    added: list[int] = field(default_factory=list)
    linked: list[int] = field(default_factory=list)
    purged: int = 0
    matches_purged: list[int] = field(default_factory=list)
    conflicts: list[dict[str, Any]] = field(default_factory=list)


class Applier:
    """Writes a plan inside the caller's transaction."""

    def __init__(
        self,
        store: Store,
        plan: Plan,
        *,
        unit: ExportUnit,
        custodian_id: int | None,
        tombstone_key: bytes,
        now: int,
        twins: dict[int, Derived] | None = None,
    ) -> None:
        self.store = store
        self.plan = plan
        self.twins = twins or {}
        self.platform = plan.platform
        self.source_id = plan.source_id
        self.custodian_id = custodian_id
        self.now = now
        self.keyed = identity.keyer(tombstone_key)
        self.files = AttachmentWriter(store, unit, now, WriteCounts())
        self.out = Outcome()
        self._participants: dict[str, int] = {}
        self._next_seq: dict[int, int] = {}
        self.touched: set[int] = set()
        self._reindex: list[int] = []
        self._renames: list[tuple[int, int]] = []
        self._rows: list[tuple[Any, ...]] = []  # rewritten rows, written together

    def run(self, skip: set[int]) -> Outcome:
        """Apply every move not in ``skip`` (held messages), then add what is new (except
        what stands where a held sighting is kept)."""
        self.store.execute("PRAGMA defer_foreign_keys = ON")
        matcher = self.plan.matcher
        moves = [m for m in self.plan.moves if m.archived.id not in skip]
        held_sightings = {
            id(m.derived) for m in self.plan.moves if m.archived.id in skip and m.how == "unlinked"
        }
        rewritten = [m for m in moves if m.how != "unlinked"]
        # The search index is changed in two bulk steps around the row changes: writing
        # another table between two index changes makes FTS5 flush its pending terms
        # each time (measured: 40,000 moved messages 170 s interleaved, a few s in bulk).
        self._each_chunk(ftsindex.unindex, [m.archived.id for m in rewritten])
        for move in moves:
            if move.how == "unlinked":
                self._unlink(move.archived)
        for move in rewritten:
            self._rewrite(move)
        self.store.conn.executemany(
            "UPDATE messages SET sender_id = ?, sender_name = ?, sent_at = ?, sent_at_text = ?, "
            "reply_to = ?, forwarded_from = ?, occurrence = ?, fingerprint = ?, kind = ?, "
            "text = ?, edited = ?, edited_at = ?, extra = ? WHERE id = ?",
            self._rows,
        )
        self._renumber()
        for d in self.plan.added:
            if id(d) not in held_sightings:
                self._add(d, matcher)
        self.files.flush()
        self._each_chunk(ftsindex.reindex, self._reindex)
        return self.out

    def _each_chunk(self, change: Any, ids: list[int]) -> None:
        for start in range(0, len(ids), 5000):
            change(self.store, ids[start : start + 5000])

    # -- a message the source brought first --

    def _rewrite(self, move: Move) -> None:
        a, d = move.archived, move.derived
        if move.into is not None:
            self._merge(a, move.into)
            self.out.merged.append({"id": a.id, "into": move.into})
            return
        fp = identity.fingerprint(
            self.platform, a.origin_key, d.sender_key, d.ts, d.kind, d.text, d.occurrence, d.msg_id
        )
        if move.matches_purged:
            self.out.matches_purged.append(a.id)
        self._update_row(a.id, a, d, fp)
        if "attachments" in move.fields:
            self._replace_attachments(a.id, d)
        new_id = a.id
        if d.ts is not None and identity.id_second(a.id) != d.ts:
            new_id = self._allocate(d.ts)
            self._renames.append((a.id, new_id))
            move.new_id = new_id
            self.out.moved.append(
                {"id": a.id, "new_id": new_id, "from": iso_utc(a.ts), "to": iso_utc(d.ts)}
            )
        self._reindex.append(new_id)
        self.touched.add(new_id)
        if set(move.fields) - {"sent_at"}:
            self.out.changed.append({"id": a.id, "new_id": new_id, "fields": _shown(move.fields)})

    def _update_row(self, mid: int, a: Archived, d: Derived, first_fp: bytes) -> None:
        sender_id = None if d.sender_key is None else self._participant(d.sender_key, d.sender_name)
        common = (
            sender_id,
            d.sender_name,
            d.ts,
            d.ts_text,
            d.reply_to,
            d.forwarded_from,
            d.occurrence,
        )
        if a.version == 1:
            self._rows.append(
                (*common, first_fp, d.kind, d.text, d.edited, d.edited_at, d.extra, mid)
            )
            return
        # Edited later by another export: the first version takes the derived content,
        # every version the derived identity (sender, time, occurrence).
        self.store.execute(
            "UPDATE message_versions SET kind = ?, text = ? WHERE message_id = ? AND version = 1",
            (d.kind, d.text, mid),
        )
        self.store.execute(
            "UPDATE messages SET sender_id = ?, sender_name = ?, sent_at = ?, "
            "sent_at_text = ?, reply_to = ?, forwarded_from = ?, occurrence = ? WHERE id = ?",
            (*common, mid),
        )
        for table, key, version in [
            ("messages", "id", None),
            *[
                ("message_versions", "message_id", int(v))
                for (v,) in self.store.execute(
                    "SELECT version FROM message_versions WHERE message_id = ?", (mid,)
                ).fetchall()
            ],
        ]:
            where = f"{key} = ?" + ("" if version is None else " AND version = ?")
            params: tuple[Any, ...] = (mid,) if version is None else (mid, version)
            kind, text = self.store.execute(
                f"SELECT kind, text FROM {table} WHERE {where}", params
            ).fetchone()
            fp = identity.fingerprint(
                self.platform, a.origin_key, d.sender_key, d.ts, kind, text, d.occurrence, d.msg_id
            )
            self.store.execute(f"UPDATE {table} SET fingerprint = ? WHERE {where}", (fp, *params))

    def _renumber(self) -> None:
        """Give every moved message its new id everywhere (foreign keys are checked at
        commit: ``defer_foreign_keys``); its old id is retired."""
        renames = [(new, old) for old, new in self._renames]
        conn = self.store.conn
        conn.executemany("UPDATE messages SET id = ? WHERE id = ?", renames)
        for table in ("attachments", "message_custodians", "message_sources", "message_versions"):
            conn.executemany(f"UPDATE {table} SET message_id = ? WHERE message_id = ?", renames)
        conn.executemany(
            "INSERT INTO message_moves(old_id, new_id, how, source_id, moved_at) "
            f"VALUES (?, ?, 'moved', {int(self.source_id)}, {int(self.now)})",
            self._renames,
        )
        self._renames.clear()

    def _retire(self, old: int, new: int, how: str) -> None:
        self.store.execute(
            "INSERT INTO message_moves(old_id, new_id, how, source_id, moved_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (old, new, how, self.source_id, self.now),
        )

    def _allocate(self, second: int) -> int:
        """The next free id in ``second``: ids of purged messages and ids retired by a
        reparse (``message_moves``) are never reused."""
        seq = self._next_seq.get(second)
        if seq is None:
            lo, hi = identity.id_base(second), identity.id_base(second + 1)
            top = self.store.one(
                "SELECT max(top) FROM (SELECT max(id) AS top FROM messages WHERE id >= ?1 "
                "AND id < ?2 UNION ALL SELECT max(message_id) FROM tombstones "
                "WHERE message_id >= ?1 AND message_id < ?2 UNION ALL SELECT max(old_id) "
                "FROM message_moves WHERE old_id >= ?1 AND old_id < ?2)",
                (lo, hi),
            )
            seq = 0 if top is None else int(top) - lo + 1
        if seq >= identity.SEQ_LIMIT:
            raise ParseError(f"more than {identity.SEQ_LIMIT} messages in one second ({second})")
        self._next_seq[second] = seq + 1
        return identity.id_base(second) + seq

    def _replace_attachments(self, mid: int, d: Derived) -> None:
        old = [
            str(r[0])
            for r in self.store.execute(
                "SELECT sha256 FROM attachments WHERE message_id = ? AND sha256 IS NOT NULL",
                (mid,),
            )
        ]
        self.store.execute("DELETE FROM attachments WHERE message_id = ?", (mid,))
        self.files.add(mid, d.attachments, existing=False)
        self.files.flush()
        for sha in set(old):
            if not blobs.in_use(self.store, sha):
                blobs.delete_blob(self.store, sha)

    def _merge(self, a: Archived, into: int) -> None:
        """Message ``a`` is ``into`` (brought by another export): it becomes a sighting of
        it, with its custodians, sightings and any file ``into`` lacks; its id retires
        (already out of the search index)."""
        self.store.execute(
            "INSERT OR IGNORE INTO message_sources(message_id, source_id, line) VALUES (?, ?, ?)",
            (into, self.source_id, a.line),
        )
        self.store.execute(
            "INSERT OR IGNORE INTO message_sources(message_id, source_id, line) "
            "SELECT ?, source_id, line FROM message_sources WHERE message_id = ?",
            (into, a.id),
        )
        self.store.execute(
            "UPDATE attachments SET sha256 = (SELECT o.sha256 FROM attachments o WHERE "
            "o.message_id = ?1 AND o.ordinal = attachments.ordinal), size = (SELECT o.size "
            "FROM attachments o WHERE o.message_id = ?1 AND o.ordinal = attachments.ordinal) "
            "WHERE message_id = ?2 AND sha256 IS NULL AND EXISTS (SELECT 1 FROM attachments o "
            "WHERE o.message_id = ?1 AND o.ordinal = attachments.ordinal AND o.sha256 IS NOT "
            "NULL)",
            (a.id, into),
        )
        shas = [
            str(r[0])
            for r in self.store.execute(
                "SELECT sha256 FROM attachments WHERE message_id = ? AND sha256 IS NOT NULL",
                (a.id,),
            )
        ]
        for table in ("message_sources", "message_custodians", "attachments"):
            self.store.execute(f"DELETE FROM {table} WHERE message_id = ?", (a.id,))
        self.store.execute("DELETE FROM messages WHERE id = ?", (a.id,))
        self._retire(a.id, into, "merged")
        for sha in set(shas):
            if not blobs.in_use(self.store, sha):
                blobs.delete_blob(self.store, sha)
        self.touched.add(into)

    # -- sightings and additions --

    def _unlink(self, a: Archived) -> None:
        self.store.execute(
            "DELETE FROM message_sources WHERE message_id = ? AND source_id = ?",
            (a.id, self.source_id),
        )
        self.touched.add(a.id)
        self.out.unlinked.append(a.id)

    def _add(self, d: Derived, matcher: Matcher) -> None:
        twin = self.twins.get(id(d))
        chat_id = self.plan.chat_of[d.chat]
        key = self.plan.chat_keys[chat_id]
        occurrence = d.occurrence
        while True:
            fp = identity.fingerprint(
                self.platform, key, d.sender_key, d.ts, d.kind, d.text, occurrence, d.msg_id
            )
            if not self._own_fingerprint(d.ts, fp):
                break
            occurrence += 1  # a repeat of a message this source holds: the next one
        d = d._replace(occurrence=occurrence)
        found = matcher.by_platform_id(chat_id, d.msg_id)
        if found is not None and found in matcher.claimed | self._own(found):
            # the export holds this platform id twice: the first is archived for it
            self.out.conflicts.append({"id": found, "line": d.line, "msg_id": d.msg_id})
            return
        if found is not None:
            matcher.claimed.add(found)
        if found is None and d.msg_id is None:
            found = matcher.same_message(chat_id, fp, d.sender_key, d)
        if found is not None:
            self._link(found, d.line)
            return
        if matcher.purged(chat_id, fp, d.sender_key, d) or self._twin_purged(twin, chat_id, key):
            self.out.purged += 1
            return
        self._insert(chat_id, fp, d)

    def _twin_purged(self, twin: Derived | None, chat_id: int, key: str) -> bool:
        """Whether a message as the export was read before (its ``twin`` derived with the
        recorded options) is a purged message: then it stays purged, whatever time it
        reads as now."""
        if twin is None:
            return False
        fp = identity.fingerprint(
            self.platform, key, twin.sender_key, twin.ts, twin.kind, twin.text,
            twin.occurrence, twin.msg_id,
        )  # fmt: skip
        return self.plan.matcher.purged(chat_id, fp, twin.sender_key, twin)

    def _own(self, mid: int) -> set[int]:
        """``{mid}`` if the source brought that message first (else empty)."""
        source = self.store.one("SELECT source_id FROM messages WHERE id = ?", (mid,))
        return {mid} if source == self.source_id else set()

    def _own_fingerprint(self, ts: int | None, fp: bytes) -> bool:
        lo = identity.id_base(ts or 0)
        return bool(
            self.store.one(
                "SELECT 1 FROM messages WHERE id >= ? AND id < ? AND fingerprint = ? "
                "AND source_id = ?",
                (lo, lo + identity.SEQ_LIMIT, fp, self.source_id),
            )
        )

    def _link(self, mid: int, line: int | None) -> None:
        self.store.execute(
            "INSERT OR IGNORE INTO message_sources(message_id, source_id, line) VALUES (?, ?, ?)",
            (mid, self.source_id, line),
        )
        self.touched.add(mid)
        self.out.linked.append(mid)

    def _insert(self, chat_id: int, fp: bytes, d: Derived) -> None:
        second = d.ts if d.ts is not None else self._last_second()
        mid = self._allocate(second)
        seq = int(
            self.store.one(
                "SELECT max(s) FROM (SELECT max(ingest_seq) AS s FROM messages WHERE "
                "source_id = ?1 UNION ALL SELECT max(ingest_seq) FROM tombstones WHERE "
                "source_id = ?1)",
                (self.source_id,),
            )
            or 0
        )
        sender_id = None if d.sender_key is None else self._participant(d.sender_key, d.sender_name)
        self.store.execute(
            "INSERT INTO messages(id, chat_id, sender_id, ingest_seq, fingerprint, msg_id, kind, "
            "sender_name, sent_at, sent_at_text, text, edited, edited_at, reply_to, "
            "forwarded_from, extra, occurrence, source_line, source_id, custodian_id, "
            "ingested_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                mid, chat_id, sender_id, seq + 1, fp, d.msg_id, d.kind, d.sender_name, d.ts,
                d.ts_text, d.text, d.edited, d.edited_at, d.reply_to, d.forwarded_from,
                d.extra, d.occurrence, d.line, self.source_id, self.custodian_id, self.now,
            ),
        )  # fmt: skip
        if d.attachments:
            self.files.add(mid, d.attachments, existing=False)
            self.files.flush()
        self._reindex.append(mid)
        self.touched.add(mid)
        self.out.added.append(mid)

    def _last_second(self) -> int:
        top = self.store.one("SELECT max(id) FROM messages WHERE source_id = ?", (self.source_id,))
        return identity.id_second(int(top)) if top is not None else 0

    def _participant(self, key: str, name: str | None) -> int:
        pid = self._participants.get(key)
        if pid is not None:
            return pid
        row = self.store.execute(
            "SELECT id, name FROM participants WHERE platform = ? AND key = ?",
            (self.platform, key),
        ).fetchone()
        if row is None:
            pid = int(
                self.store.execute(
                    "INSERT INTO participants(platform, key, name, phone) VALUES (?, ?, ?, ?)",
                    (self.platform, key, name, phone_digits(name) or phone_digits(key)),
                ).lastrowid
            )
        else:
            pid = int(row[0])
            if name is not None and row[1] != name:
                self.store.execute("UPDATE participants SET name = ? WHERE id = ?", (name, pid))
        self._participants[key] = pid
        return pid


def _shown(fields: dict[str, tuple[Any, Any]]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for name, (old, new) in fields.items():
        if name == "sent_at":
            old, new = iso_utc(old), iso_utc(new)
        elif name == "attachments":
            old, new = [a[0] for a in old], [a[0] for a in new]
        out[name] = [old, new]
    return out


def custodian_links(store: Store, ids: Iterable[int]) -> int:
    """Make each message's custodians those of the exports that hold it: the first
    export's custodian first, every other one in ``message_custodians``; returns how
    many messages' custodians changed."""
    changed = 0
    for mid in sorted(set(ids)):
        row = store.execute(
            "SELECT m.custodian_id, s.custodian_id FROM messages m JOIN sources s "
            "ON s.id = m.source_id WHERE m.id = ?",
            (mid,),
        ).fetchone()
        if row is None:
            continue
        first = row[1]
        others = {
            int(c)
            for (c,) in store.execute(
                "SELECT s.custodian_id FROM message_sources ms JOIN sources s "
                "ON s.id = ms.source_id WHERE ms.message_id = ? AND s.custodian_id IS NOT NULL",
                (mid,),
            )
        } - {first}
        before = {int(c) for (c,) in store.execute(
            "SELECT custodian_id FROM message_custodians WHERE message_id = ?", (mid,)
        )}  # fmt: skip
        if row[0] == first and before == others:
            continue
        changed += 1
        store.execute("UPDATE messages SET custodian_id = ? WHERE id = ?", (first, mid))
        store.execute("DELETE FROM message_custodians WHERE message_id = ?", (mid,))
        store.conn.executemany(
            "INSERT INTO message_custodians(message_id, custodian_id) VALUES (?, ?)",
            [(mid, c) for c in sorted(others)],
        )
    return changed
