"""Writes one export's records into the store: dedup, ids, index, custody links.

Used by ``ingest`` inside the export's single transaction. Messages arrive in batches;
for each batch the writer decides which are new, which are already archived (then it
only links the custodian and records the sighting) and which are new versions of a
Telegram message whose text changed. Hot path: raw ``executemany``.

Dedup rules:
- WhatsApp has no ids: a message is its fingerprint. Identical messages in one file are
  told apart by an occurrence index, so two "ok" in the same minute stay two.
- Telegram: a message is (chat, message id); a different text is a new version.
- Chats that had no messages and no tombstones before this ingest skip the dedup lookups
  (nothing can match); a platform id repeated inside the file falls back to the careful
  path. Everything that needs no database is computed beforehand (``staging``);
  attachments' files are stored by ``attaching``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from typing import Any

from archiver.core import identity
from archiver.core.errors import ParseError
from archiver.core.model import Chat, Unparsed
from archiver.core.names import phone_digits
from archiver.ingest import chat_identity
from archiver.ingest.attachments import AttachmentWriter
from archiver.ingest.chat_identity import ChatDecision
from archiver.ingest.staging import (
    CHAT,
    EDITED_AT,
    EXTRA,
    FP,
    ID,
    KIND,
    LINE,
    MSG_ID,
    OCCURRENCE,
    SENDER,
    SEQ,
    TEXT,
    TS,
    AttachmentRow,
    Batch,
    encode_extra,
    full_text_rows,
)
from archiver.parsers.base import ExportUnit
from archiver.store import fts as ftsindex
from archiver.store.database import DbError, Store

# What a platform id lookup found besides "not archived" (None) and "the same message".
_ID_CONFLICT = "another sender holds this id"
_NEW_VERSION = "recorded as a new version"


def _other_sender(archived: str | None, arriving: str | None) -> bool:
    """Whether two sender keys of one platform message id are two people: both are
    platform ids and differ. A key made from a display name (``name:...``, exports with
    no sender ids) cannot tell, and is not taken for another person."""
    return (
        archived is not None
        and arriving is not None
        and archived != arriving
        and not archived.startswith("name:")
        and not arriving.startswith("name:")
    )


# The messages row as staged (``staging``'s slots), then three values that are the same
# for every row of one ingest, written into the statement as integers. The hot path
# binds only str and int: sqlcipher3 adapts None and bytes parameters through its slow
# adapter protocol (measured: 1M rows 5.9 s with them, 1.2 s without). Absent values
# travel as "" or 0 and become NULL here; the fingerprint travels as hex.
MESSAGE_COLUMNS = (
    "id, chat_id, sender_id, ingest_seq, fingerprint, msg_id, kind, sender_name, sent_at, "
    "sent_at_text, text, edited, edited_at, reply_to, forwarded_from, extra, occurrence, "
    "source_line, source_id, custodian_id, ingested_at"
)
_STAGED_VALUES = (
    "?, ?, nullif(?, 0), ?, unhex(?), nullif(?, ''), ?, nullif(?, ''), nullif(?, 0), "
    "nullif(?, ''), ?, ?, nullif(?, 0), nullif(?, ''), nullif(?, ''), nullif(?, ''), ?, "
    "nullif(?, 0)"
)


def insert_message_sql(source_id: int, custodian_id: int | None, now: int) -> str:
    custodian = "NULL" if custodian_id is None else str(int(custodian_id))
    return (
        f"INSERT INTO messages({MESSAGE_COLUMNS}) VALUES "
        f"({_STAGED_VALUES}, {int(source_id)}, {custodian}, {int(now)})"
    )


@dataclass
class WriteCounts:
    messages: int = 0
    new: int = 0
    existing: int = 0
    new_versions: int = 0
    previously_purged: int = 0
    cross_device: int = 0
    attachments: int = 0
    attachments_stored: int = 0
    attachments_missing: int = 0
    unparsed: int = 0
    chats: int = 0


COUNT_FIELDS = tuple(f.name for f in fields(WriteCounts))


@dataclass(slots=True)
class _Prepared:
    """A staged message on the careful path: its row and full-text row as staged, with
    its chat and sender resolved."""

    row: list[Any]
    fts: list[Any]
    chat_id: int
    sender_id: int | None
    chat_key: str
    sender_key: str | None
    fp: bytes
    keyed: bytes
    attachments: tuple[AttachmentRow, ...]
    order_ts: int

    @property
    def msg_id(self) -> str | None:
        return self.row[MSG_ID] or None

    @property
    def kind(self) -> str:
        return str(self.row[KIND])

    @property
    def text(self) -> str:
        return str(self.row[TEXT])

    @property
    def ts(self) -> int | None:
        return self.row[TS] or None

    @property
    def occurrence(self) -> int:
        return int(self.row[OCCURRENCE])

    @property
    def line(self) -> int | None:
        return self.row[LINE] or None

    @property
    def edited_at(self) -> int | None:
        return self.row[EDITED_AT] or None

    @property
    def extra(self) -> str | None:
        return self.row[EXTRA] or None


class MessageWriter:
    """Writes the records of one export (one ``source_id``) inside a transaction."""

    def __init__(
        self,
        store: Store,
        *,
        source_id: int,
        custodian_id: int | None,
        platform: str,
        now: int,
        unit: ExportUnit,
        tombstone_key: bytes,
    ) -> None:
        self.store = store
        self.source_id = source_id
        self.custodian_id = custodian_id
        self.platform = platform
        self.now = now
        self.unit = unit
        # Keyed fingerprints: Merkle leaves and tombstones (identity.keyed).
        self.keyed = identity.keyer(tombstone_key)
        # Purged stays purged: with tombstones present, every message is checked.
        self.tombstone_key = tombstone_key if self._has_tombstones(store) else None
        # Leaves of this ingest's Merkle root, in the order its messages are added.
        self.merkle = identity.MerkleBuilder()
        self._seq = 0
        self.counts = WriteCounts()
        self.chat_ids: dict[str, int] = {}
        self.chat_fresh: dict[int, bool] = {}
        self.chat_counts: dict[int, dict[str, int]] = {}
        self._participants: dict[str, int] = {}
        # Staging's local numbers: chats in the order they were announced, senders from
        # 1 in the order batches introduced them (0: no sender).
        self._local_chats: list[int] = []
        self._local_chat_keys: list[str] = []
        self._local_senders: list[int] = [0]
        self._local_sender_keys: list[str | None] = [None]
        self._insert_sql = insert_message_sql(source_id, custodian_id, now)
        self.files = AttachmentWriter(store, unit, now, self.counts)
        self._unparsed: list[tuple[Any, ...]] = []
        # Chats whose identity waits for evidence (their first batch), by local number.
        self._tombstone_key = tombstone_key
        self._pending: dict[int, Chat] = {}
        self._local_of: dict[str, int] = {}
        # Local chats archived under another key than the parser's: staged fingerprints
        # are computed again with the archived chat's key.
        self._refingerprint: dict[int, Callable[..., bytes]] = {}
        self.chat_decisions: list[ChatDecision] = []
        self._tombstones_claimed: set[int] = set()
        self.conflicts: list[dict[str, Any]] = []

    @staticmethod
    def _has_tombstones(store: Store) -> bool:
        return store.one("SELECT 1 FROM tombstones LIMIT 1") is not None

    def _purged(self, p: _Prepared) -> bool:
        """Whether ``p`` was purged: by platform id, by fingerprint, or (a message without
        platform id) by its content key in this chat, which recognises it whatever title,
        file name, custodian or phone it arrives from. Repeats pair up in order."""
        if self.tombstone_key is None:
            return False
        if p.msg_id is not None and self.store.one(
            "SELECT 1 FROM tombstones WHERE chat_id = ? AND msg_id = ?",
            (p.chat_id, p.msg_id),
        ):
            return True
        if self.store.one("SELECT 1 FROM tombstones WHERE keyed_fingerprint = ?", (p.keyed,)):
            return True
        if p.msg_id is not None or p.ts is None:
            return False
        lo = identity.id_base(p.ts // 60 * 60)
        content = self.keyed(
            identity.content_key(self.platform, p.sender_key, p.ts, p.kind, p.text)
        )
        for message_id, sent in self.store.execute(
            "SELECT message_id, sent_at FROM tombstones WHERE message_id >= ? AND "
            "message_id < ? AND chat_id = ? AND version = 1 AND keyed_content = ? "
            "ORDER BY message_id",
            (lo, lo + identity.id_base(60), p.chat_id, content),
        ).fetchall():
            if identity.same_moment(p.ts, sent) and message_id not in self._tombstones_claimed:
                self._tombstones_claimed.add(int(message_id))
                return True
        return False

    # -- chats and people --

    def add_chat(self, chat: Chat) -> None:
        """A chat the export announces. A conversation without platform ids (WhatsApp)
        is identified by evidence when its first messages arrive (``chat_identity``)."""
        if chat.key in self._local_of:
            return
        local = self._local_of[chat.key] = len(self._local_chats)
        self._local_chats.append(0)
        self._local_chat_keys.append(chat.key)
        if chat.platform in chat_identity.BY_EVIDENCE:
            self._pending[local] = chat
        else:
            self._settle(local, chat_identity.by_platform_id(self.store, chat))

    def _settle(self, local: int, decision: ChatDecision) -> None:
        chat_id = decision.chat_id
        self._local_chats[local] = chat_id
        if decision.key != self._local_chat_keys[local]:
            self._local_chat_keys[local] = decision.key
            self._refingerprint[local] = identity.fingerprinter(self.platform, decision.key)
        self.chat_ids[decision.export_key] = chat_id
        # Nothing can match in a chat with no messages and no tombstones: the fast path.
        fresh = (
            self.store.one("SELECT 1 FROM messages WHERE chat_id = ? LIMIT 1", (chat_id,)) is None
            and self.store.one("SELECT 1 FROM tombstones WHERE chat_id = ? LIMIT 1", (chat_id,))
            is None
        )
        self.chat_fresh.setdefault(chat_id, fresh)
        self.chat_counts.setdefault(chat_id, {"messages": 0, "new": 0, "senders": 0})
        self.chat_decisions.append(decision)
        self.counts.chats = len(self.chat_ids)

    def _settle_by_evidence(self, batch: Batch) -> None:
        """Decide the pending chats of a batch from their messages in it."""
        keys = self._local_sender_keys
        for local in batch.chats:
            chat = self._pending.pop(local, None)
            if chat is None:
                continue
            samples = [
                (row[TS] or None, keys[row[SENDER]], row[KIND], row[TEXT])
                for row in batch.rows
                if row[CHAT] == local
            ]
            self._settle(
                local,
                chat_identity.by_evidence(self.store, chat, samples, self._tombstone_key),
            )

    def _restage_fingerprints(self, batch: Batch) -> None:
        keys = self._local_sender_keys
        for row in batch.rows:
            again = self._refingerprint.get(row[CHAT])
            if again is not None:
                row[FP] = again(
                    keys[row[SENDER]],
                    row[TS] or None,
                    row[KIND],
                    row[TEXT],
                    row[OCCURRENCE],
                    row[MSG_ID] or None,
                ).hex()

    def finish(self) -> None:
        """Settle chats that brought no message (by title) and write what is buffered."""
        for local, chat in sorted(self._pending.items()):
            self._settle(
                local, chat_identity.by_evidence(self.store, chat, [], self._tombstone_key)
            )
        self._pending.clear()
        self.flush_unparsed()

    def _participant(self, key: str, name: str | None) -> int:
        pid = self._participants.get(key)
        if pid is not None:
            return pid
        row = self.store.execute(
            "SELECT id, name FROM participants WHERE platform = ? AND key = ?", (self.platform, key)
        ).fetchone()
        if row is None:
            cur = self.store.execute(
                "INSERT INTO participants(platform, key, name, phone) VALUES (?, ?, ?, ?)",
                (self.platform, key, name, phone_digits(name) or phone_digits(key)),
            )
            pid = int(cur.lastrowid)
        else:
            pid = int(row[0])
            if name is not None and row[1] != name:
                self.store.execute("UPDATE participants SET name = ? WHERE id = ?", (name, pid))
        self._participants[key] = pid
        return pid

    # -- unparsed input --

    def add_unparsed(self, item: Unparsed) -> None:
        self._unparsed.append((item.chat_key, item.line, item.reason, item.raw))
        self.counts.unparsed += 1
        if len(self._unparsed) >= 1000:
            self.flush_unparsed()

    def flush_unparsed(self) -> None:
        """Write buffered unparsed input; rows of a chat still waiting for its identity
        stay buffered (``finish`` settles every chat, then writes the rest)."""
        waiting = {self._local_chat_keys[local] for local in self._pending}
        ready = [u for u in self._unparsed if u[0] not in waiting]
        if ready:
            self.store.conn.executemany(
                "INSERT INTO unparsed(source_id, chat_id, line, reason, raw) VALUES (?,?,?,?,?)",
                [
                    (self.source_id, self.chat_ids.get(key) if key else None, *rest)
                    for key, *rest in ready
                ],
            )
            self._unparsed = [u for u in self._unparsed if u[0] in waiting]

    # -- messages --

    def add_batch(self, batch: Batch) -> None:
        for key, name in batch.senders:
            self._local_senders.append(self._participant(key, name))
            self._local_sender_keys.append(key)
        if self._pending:
            self._settle_by_evidence(batch)
        if self._refingerprint:
            self._restage_fingerprints(batch)
        rows = batch.rows
        self.counts.messages += len(rows)
        per_chat = self._per_chat(batch)
        for chat_id, n in per_chat.items():
            self.chat_counts[chat_id]["messages"] += n
        fts = full_text_rows(batch)
        if batch.occurrences_sure and all(self.chat_fresh[chat_id] for chat_id in per_chat):
            # Nothing archived can match in chats this export brings first: insert.
            if batch.ids_grow:
                self._insert_staged(batch, fts, per_chat)
                return
            # A platform id that may repeat inside the file would trip the unique index;
            # then the batch rolls back to its savepoint and takes the careful path.
            # Prepared first: the attempt rewrites the four slots the careful path
            # fills again from what it resolved here.
            prepared = self._prepared(batch, fts)
            leaves = b"".join(p.keyed for p in prepared)
            try:
                with self.store.transaction():
                    self._insert_staged(batch, fts, per_chat, leaves)
                return
            except DbError as exc:
                if "UNIQUE" not in str(exc):
                    raise
            self._careful(prepared)
            return
        self._careful(self._prepared(batch, fts), sure=batch.occurrences_sure)

    def _per_chat(self, batch: Batch) -> dict[int, int]:
        """Messages per chat id in a batch (most batches hold one chat)."""
        chats = self._local_chats
        if len(batch.chats) == 1:
            return {chats[batch.chats[0]]: len(batch.rows)}
        counted = Counter(row[CHAT] for row in batch.rows)
        return {chats[local]: n for local, n in counted.items()}

    def _insert_staged(
        self,
        batch: Batch,
        fts: list[list[Any]],
        per_chat: dict[int, int],
        leaves: bytes | None = None,
    ) -> None:
        """A whole batch as staged: only the four slots staging could not fill (and the
        Merkle leaves, unless the careful path's preparation already has them)."""
        rows = batch.rows
        if self._ids_taken(rows):
            self._move_taken_ids(rows, fts)
        chats, senders = self._local_chats, self._local_senders
        seq = self._seq
        for row in rows:
            seq += 1
            row[CHAT] = chats[row[CHAT]]
            row[SENDER] = senders[row[SENDER]]
            row[SEQ] = seq
        if leaves is None:
            leaves = b"".join(map(self.keyed, map(bytes.fromhex, [row[FP] for row in rows])))
        self._write(rows, fts, leaves, batch.attachments, per_chat)

    def _write(
        self,
        rows: list[list[Any]],
        fts: list[list[Any]],
        leaves: bytes,
        attachments: dict[int, tuple[AttachmentRow, ...]],
        per_chat: dict[int, int],
    ) -> None:
        """Insert complete rows (ingest sequence from ``self._seq + 1`` on) with their
        full-text rows and attachments; this ingest's state moves only once they are in
        (a failed insert in a savepoint leaves no Merkle leaf behind)."""
        self.store.conn.executemany(self._insert_sql, rows)
        ftsindex.index(self.store, fts)
        self._seq += len(rows)
        self.merkle.add_packed(leaves)
        for chat_id, n in per_chat.items():
            self.chat_counts[chat_id]["new"] += n
        for index, files in attachments.items():
            self.files.add(rows[index][ID], files, existing=False)
        self.files.flush()
        self.counts.new += len(rows)

    def _ids_taken(self, rows: list[list[Any]]) -> bool:
        """Whether any id in the seconds a batch spans is already used (by an archived or
        purged message, or an earlier batch): then staging's proposed ids cannot stand."""
        lo = identity.id_base(identity.id_second(min(row[ID] for row in rows)))
        hi = identity.id_base(identity.id_second(max(row[ID] for row in rows)) + 1)
        if self.store.one("SELECT 1 FROM messages WHERE id >= ? AND id < ? LIMIT 1", (lo, hi)):
            return True
        if self.store.one(
            "SELECT 1 FROM message_moves WHERE old_id >= ? AND old_id < ? LIMIT 1", (lo, hi)
        ):
            return True
        return self.tombstone_key is not None and (
            self.store.one(
                "SELECT 1 FROM tombstones WHERE message_id >= ? AND message_id < ? LIMIT 1",
                (lo, hi),
            )
            is not None
        )

    def _move_taken_ids(self, rows: list[list[Any]], fts: list[list[Any]]) -> None:
        """Staging's proposed ids where none is used yet; in each second where one is
        (by a message of another chat or file, a purged message, an earlier batch), the
        batch's messages of that second move, in order, past the highest id used there.
        Costs a lookup per message and a probe per such second, whatever the number of
        messages archived around them."""
        proposed = [row[ID] for row in rows]
        taken: set[int] = set()
        # Ids of purged messages and ids a reparse retired are never given again.
        tables = ["messages", "message_moves"]
        if self.tombstone_key is not None:
            tables.append("tombstones")
        columns = {"messages": "id", "message_moves": "old_id", "tombstones": "message_id"}
        for start in range(0, len(proposed), 5000):
            chunk = proposed[start : start + 5000]
            marks = ",".join("?" * len(chunk))
            for table in tables:
                column = columns[table]
                taken.update(
                    int(r[0])
                    for r in self.store.execute(
                        f"SELECT {column} FROM {table} WHERE {column} IN ({marks})", chunk
                    )
                )
        if not taken:
            return
        top = {second: self._top_id(second) for second in {identity.id_second(i) for i in taken}}
        for row, fts_row in zip(rows, fts, strict=True):
            second = identity.id_second(row[ID])
            last = top.get(second)
            if last is None:
                continue
            mid = top[second] = last + 1
            if mid >= identity.id_base(second + 1):
                raise ParseError(
                    f"{self.unit.name}: more than {identity.SEQ_LIMIT} messages in one second"
                )
            row[ID] = fts_row[0] = mid

    def _top_id(self, second: int) -> int:
        """The highest id used in a second (by a message, a purged one, or one a reparse
        retired)."""
        lo, hi = identity.id_base(second), identity.id_base(second + 1)
        return int(
            self.store.one(
                "SELECT max(top) FROM (SELECT max(id) AS top FROM messages WHERE id >= ?1 AND "
                "id < ?2 UNION ALL SELECT max(message_id) FROM tombstones WHERE "
                "message_id >= ?1 AND message_id < ?2 UNION ALL SELECT max(old_id) FROM "
                "message_moves WHERE old_id >= ?1 AND old_id < ?2)",
                (lo, hi),
            )
        )

    def _prepared(self, batch: Batch, fts: list[list[Any]]) -> list[_Prepared]:
        chats, chat_keys = self._local_chats, self._local_chat_keys
        senders, sender_keys = self._local_senders, self._local_sender_keys
        attachments, keyed = batch.attachments, self.keyed
        fps = [bytes.fromhex(row[FP]) for row in batch.rows]
        return [
            _Prepared(
                row,
                fts_row,
                chats[row[CHAT]],
                senders[row[SENDER]] or None,
                chat_keys[row[CHAT]],
                sender_keys[row[SENDER]],
                fps[i],
                keyed(fps[i]),
                attachments.get(i, ()),
                identity.id_second(row[ID]),
            )
            for i, (row, fts_row) in enumerate(zip(batch.rows, fts, strict=True))
        ]

    def _renumbered(self, p: _Prepared) -> _Prepared:
        """The same message with the next occurrence index (a repeat inside the file)."""
        occ = p.occurrence + 1
        fp = identity.fingerprint(
            self.platform, p.chat_key, p.sender_key, p.ts, p.kind, p.text, occ, p.msg_id
        )
        row = list(p.row)
        row[FP], row[OCCURRENCE] = fp.hex(), occ
        return replace(p, row=row, fp=fp, keyed=self.keyed(fp))

    def _careful(self, prepared: list[_Prepared], sure: bool = True) -> None:
        """Message by message against the archive. ``sure=False``: staging may have
        numbered a repeat as a first occurrence (see ``OccurrenceCounter``), so a message
        whose match this ingest already claimed is renumbered too."""
        new: list[_Prepared] = []
        existing: list[tuple[_Prepared, int]] = []
        batch_fps: set[bytes] = set()
        batch_ids: set[tuple[int, str]] = set()
        claimed: set[int] = set()
        for p in prepared:
            if p.msg_id is not None:
                if (p.chat_id, p.msg_id) in batch_ids:
                    # The same message id twice in one batch: write what we have first so
                    # the second becomes a version of the first.
                    self._insert_new(new)
                    new, batch_ids = [], set()
                batch_ids.add((p.chat_id, p.msg_id))
                by_id = self._find_by_platform_id(p)
                found = by_id[0] if by_id is not None else None
                if by_id is not None and by_id[1] == _ID_CONFLICT:
                    p, found = self._without_platform_id(p), None
            if p.msg_id is None:
                found = None
                while True:
                    hit = self._find_by_fingerprint(p)
                    if (
                        p.fp in batch_fps
                        or (hit is not None and hit[1] == self.source_id)
                        or (hit is not None and not sure and self._claimed(hit[0], claimed))
                    ):
                        p = self._renumbered(p)
                        continue
                    found = None if hit is None else hit[0]
                    break
            if found is None and p.msg_id is None:
                found = self._seen_by_another_device(p, claimed)
                if found is not None:
                    self.counts.cross_device += 1
            if found is None:
                if self._purged(p):
                    self.counts.previously_purged += 1
                    continue
                new.append(p)
                batch_fps.add(p.fp)
            else:  # archived (a new version recorded or not): link this export to it
                existing.append((p, found))
                claimed.add(found)
        self._insert_new(new)
        self._link_existing(existing)

    def _seen_by_another_device(self, p: _Prepared, claimed: set[int]) -> int | None:
        """The archived message of this chat that is ``p`` as another phone exported it:
        same sender, kind and comparable text in the same minute, one of the two times
        given to the minute only (Android) or both equal (a chat merged after its
        messages were fingerprinted). Repeats in one minute pair up in order."""
        if p.ts is None:
            return None
        lo = identity.id_base(p.ts // 60 * 60)
        want = identity.content_key(self.platform, p.sender_key, p.ts, p.kind, p.text)
        for mid, sent, sender, kind, text, source_id in self.store.execute(
            "SELECT m.id, m.sent_at, pa.key, m.kind, m.text, m.source_id FROM messages m "
            "LEFT JOIN participants pa ON pa.id = m.sender_id "
            "WHERE m.id >= ? AND m.id < ? AND m.chat_id = ? ORDER BY m.id",
            (lo, lo + identity.id_base(60), p.chat_id),
        ).fetchall():
            if (
                source_id == self.source_id
                or not identity.same_moment(p.ts, sent)
                or identity.content_key(self.platform, sender, sent, kind, text) != want
                or self._claimed(int(mid), claimed)
            ):
                continue
            return int(mid)
        return None

    def _claimed(self, message_id: int, claimed: set[int]) -> bool:
        """Whether this ingest already matched an earlier message of its file to it."""
        return message_id in claimed or bool(
            self.store.one(
                "SELECT 1 FROM message_sources WHERE message_id = ? AND source_id = ?",
                (message_id, self.source_id),
            )
        )

    def _find_by_fingerprint(self, p: _Prepared) -> tuple[int, int] | None:
        """An archived message with this fingerprint: identical messages share their
        second, so only that second's id range is searched."""
        lo = identity.id_base(p.order_ts)
        row = self.store.execute(
            "SELECT id, source_id FROM messages WHERE id >= ? AND id < ? AND fingerprint = ?",
            (lo, lo + identity.SEQ_LIMIT, p.fp),
        ).fetchone()
        return None if row is None else (int(row[0]), int(row[1]))

    def _without_platform_id(self, p: _Prepared) -> _Prepared:
        """A message whose platform id an archived message of another sender holds: it is
        kept as a message of its own, without the id (noted in its extra data and among
        the export's notices), never folded into the other as an edit."""
        msg_id = p.row[MSG_ID]
        extra = json.loads(p.row[EXTRA]) if p.row[EXTRA] else {}
        extra["platform_id_conflict"] = msg_id
        fp = identity.fingerprint(
            self.platform, p.chat_key, p.sender_key, p.ts, p.kind, p.text, 0, None
        )
        row = list(p.row)
        row[MSG_ID], row[EXTRA], row[FP] = "", encode_extra(extra), fp.hex()
        self.conflicts.append(
            {
                "code": "platform-id-conflict",
                "message": f"message id {msg_id} appears with two senders; both are kept, the "
                f"one from {p.sender_key or 'no sender'} without the id (it is not an edit)",
                "chat_key": p.chat_key,
            }
        )
        return replace(p, row=row, fp=fp, keyed=self.keyed(fp))

    def _find_by_platform_id(self, p: _Prepared) -> tuple[int, str | None] | None:
        """The archived message with this (chat, msg_id): its id, and ``_NEW_VERSION``
        when its text changed (recorded as a new version) or ``_ID_CONFLICT`` when it has
        another sender (an edit never changes the sender); ``None`` when not archived."""
        row = self.store.execute(
            "SELECT m.id, m.fingerprint, m.version, p.key, m.sent_at FROM messages m "
            "LEFT JOIN participants p ON p.id = m.sender_id WHERE m.chat_id = ? AND m.msg_id = ?",
            (p.chat_id, p.msg_id),
        ).fetchone()
        if row is None:
            return None
        message_id, fp, version = int(row[0]), bytes(row[1]), int(row[2])
        if _other_sender(row[3], p.sender_key):
            return message_id, _ID_CONFLICT
        # The message keeps the sender and time it was first archived with (an export
        # made with another --tz, or naming the sender differently, is not an edit):
        # only its content is compared, and a new version changes only its content.
        current = identity.fingerprint(
            self.platform, p.chat_key, row[3], row[4], p.kind, p.text, 0, p.msg_id
        )
        if fp == current:
            return message_id, None
        seen_before = self.store.one(
            "SELECT 1 FROM message_versions WHERE message_id = ? AND fingerprint = ?",
            (message_id, current),
        )
        if seen_before:
            return message_id, None
        self._new_version(message_id, version, replace(p, fp=current, keyed=self.keyed(current)))
        return message_id, _NEW_VERSION

    def _new_version(self, message_id: int, version: int, p: _Prepared) -> None:
        old = self.store.execute(
            "SELECT fingerprint, kind, text, edited, edited_at, extra, source_id FROM messages "
            "WHERE id = ?",
            (message_id,),
        ).fetchone()
        self.store.execute(
            "INSERT INTO message_versions(message_id, version, fingerprint, kind, text, edited, "
            "edited_at, extra, source_id, recorded_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (message_id, version, *old, self.now),
        )
        ftsindex.unindex(self.store, [message_id])
        self.store.execute(
            "UPDATE messages SET fingerprint = ?, text = ?, kind = ?, edited = ?, edited_at = ?, "
            "extra = ?, version = ? WHERE id = ?",
            (p.fp, p.text, p.kind, 1, p.edited_at, p.extra, version + 1, message_id),
        )
        ftsindex.reindex(self.store, [message_id])
        self.counts.new_versions += 1

    def _allocate_ids(self, seconds: list[int]) -> list[int]:
        """Time-ordered ids for messages ordered at ``seconds``: the next free sequence
        number within each second."""
        next_seq: dict[int, int] = {}
        clusters: list[list[int]] = []
        for s in sorted(set(seconds)):
            if clusters and s - clusters[-1][-1] <= 86_400:
                clusters[-1].append(s)
            else:
                clusters.append([s])
        for cluster in clusters:
            lo, hi = identity.id_base(cluster[0]), identity.id_base(cluster[-1] + 1)
            # Ids of purged messages are never reused (certificates name them), nor those
            # a reparse retired (audit entries and productions name them).
            for second, top in self.store.execute(
                "SELECT s, max(top) FROM ("
                "SELECT id >> 20 AS s, max(id) AS top FROM messages WHERE id >= ?1 AND id < ?2 "
                "GROUP BY 1 UNION ALL SELECT message_id >> 20, max(message_id) FROM tombstones "
                "WHERE message_id >= ?1 AND message_id < ?2 GROUP BY 1 UNION ALL "
                "SELECT old_id >> 20, max(old_id) FROM message_moves "
                "WHERE old_id >= ?1 AND old_id < ?2 GROUP BY 1) GROUP BY s",
                (lo, hi),
            ):
                next_seq[int(second)] = int(top) - identity.id_base(int(second)) + 1
        ids = []
        for second in seconds:
            seq = next_seq.get(second, 0)
            if seq >= identity.SEQ_LIMIT:
                raise ParseError(
                    f"{self.unit.name}: more than {identity.SEQ_LIMIT} messages in one second"
                )
            next_seq[second] = seq + 1
            ids.append(identity.id_base(second) + seq)
        return ids

    def _insert_new(self, prepared: list[_Prepared]) -> None:
        if not prepared:
            return
        ids = self._allocate_ids([p.order_ts for p in prepared])
        seq = self._seq
        for mid, p in zip(ids, prepared, strict=True):
            seq += 1
            p.row[ID] = p.fts[0] = mid
            p.row[CHAT], p.row[SENDER], p.row[SEQ] = p.chat_id, p.sender_id or 0, seq
        self._write(
            [p.row for p in prepared],
            [p.fts for p in prepared],
            b"".join(p.keyed for p in prepared),
            {i: p.attachments for i, p in enumerate(prepared) if p.attachments},
            dict(Counter(p.chat_id for p in prepared)),
        )

    def _link_existing(self, existing: list[tuple[_Prepared, int]]) -> None:
        if not existing:
            return
        conn = self.store.conn
        if self.custodian_id is not None:
            conn.executemany(
                "INSERT OR IGNORE INTO message_custodians(message_id, custodian_id) "
                "SELECT ?1, ?2 WHERE NOT EXISTS "
                "(SELECT 1 FROM messages WHERE id = ?1 AND custodian_id = ?2)",
                [(mid, self.custodian_id) for _, mid in existing],
            )
        conn.executemany(
            "INSERT OR IGNORE INTO message_sources(message_id, source_id, line) VALUES (?, ?, ?)",
            [(mid, self.source_id, p.line) for p, mid in existing],
        )
        for p, mid in existing:
            if p.attachments:
                self.files.add(mid, p.attachments, existing=True)
        self.counts.existing += len(existing)
