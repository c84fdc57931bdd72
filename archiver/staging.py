"""Staging: what can be computed for a message without the database.

Runs beside the parser (in a forked child for big exports, see ``pipeline``): the
occurrence index that tells identical messages of one file apart, the fingerprint and
its keyed form, the full-text columns, a proposed time-ordered id, and the whole
``messages`` row ready to bind. Messages leave in ``Batch``es: columns of plain lists
that cross a process boundary as one ``marshal`` blob and that the writer binds after
filling in four slots. Pure and sequential (occurrences and ids depend on what came
before).
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from archiver import identity, textindex
from archiver.errors import ParseError
from archiver.model import Chat, Message

_OCCURRENCE_WINDOW = 200_000
_SECONDS_WINDOW = 100_000


def json_value(value: Any) -> str | None:
    if not value:
        return None
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


class OccurrenceCounter:
    """Numbers identical messages within one file (same chat, sender, second, kind, text)
    so that two "ok" in the same minute stay two. The window is bounded; a repeat beyond
    it is caught by the fingerprint's uniqueness and renumbered by the writer."""

    def __init__(self) -> None:
        self._seen: dict[int, int] = {}

    def next(self, m: Message, ts: int | None) -> int:
        if m.msg_id is not None:
            return 0
        key = hash((m.chat_key, m.sender.key if m.sender else None, ts, m.kind, m.text))
        if len(self._seen) > _OCCURRENCE_WINDOW:
            self._seen.clear()
        n = self._seen.get(key, 0)
        self._seen[key] = n + 1
        return n


AttachmentRow = tuple[str, str | None, str | None, int | None, str | None]

# The slots of a staged row, in the column order of ``writer.MESSAGE_COLUMNS``. Absent
# values are "" or 0 (the writer's INSERT turns them into NULL): the row binds only
# str and int, which sqlcipher3 binds fast.
ID, CHAT, SENDER, SEQ, FP, MSG_ID, KIND, SENDER_NAME, TS, TS_TEXT, TEXT = range(11)
EDITED, EDITED_AT, REPLY_TO, FORWARDED_FROM, EXTRA, OCCURRENCE, LINE = range(11, 18)
KEYED = 32  # bytes per keyed fingerprint in Batch.keyed


class Batch(NamedTuple):
    """Consecutive staged messages of one file, as columns.

    ``rows`` are ``messages`` rows (slots above) with a proposed id, the chat and the
    sender as local numbers (``Stager.chats`` order; senders from 1, 0 for none) and the
    ingest sequence left at 0: the writer replaces those four. ``fts`` are the full-text
    rows ``[id, body, files, cjk]``; ``keyed`` the keyed fingerprints, concatenated;
    ``attachments`` by row index; ``senders`` the (key, name) pairs first used in this
    batch, numbered on from the previous batch; ``chats`` the local chat numbers
    present; ``ids_grow`` says that no platform message id in the batch can repeat one
    met before in the file (every id is greater than all earlier ones of its chat).
    """

    rows: list[list[Any]]
    fts: list[list[Any]]
    keyed: bytes
    attachments: dict[int, tuple[AttachmentRow, ...]]
    senders: list[tuple[str, str | None]]
    chats: list[int]
    ids_grow: bool


class Stager:
    """Turns a file's records, in file order, into batches. ``key`` keys the
    fingerprints that become Merkle leaves and tombstones (``identity.keyed``)."""

    def __init__(self, platform: str, key: bytes) -> None:
        self.platform = platform
        self.keyed = identity.keyer(key)
        self.occurrences = OccurrenceCounter()
        self.last_ts = 0
        self.chats: dict[str, int] = {}
        self._senders: dict[tuple[str, str | None], int] = {}
        self._new_senders: list[tuple[str, str | None]] = []
        self._next_seq: dict[int, int] = {}
        self._max_msg_id: dict[int, int] = {}
        self._clear()

    def _clear(self) -> None:
        self._rows: list[list[Any]] = []
        self._fts: list[list[Any]] = []
        self._keyed: list[bytes] = []
        self._attachments: dict[int, tuple[AttachmentRow, ...]] = {}
        self._chats_in_batch: set[int] = set()
        self._ids_grow = True

    def __len__(self) -> int:
        return len(self._rows)

    def chat(self, chat: Chat) -> None:
        self.chats.setdefault(chat.key, len(self.chats))

    def add(self, m: Message) -> None:
        try:
            chat = self.chats[m.chat_key]
        except KeyError:
            raise ParseError(
                f"the parser produced a message for chat {m.chat_key!r} before announcing "
                "the chat (a bug in the parser)"
            ) from None
        sent = m.sent_at
        if sent is not None:
            ts: int | None = int(sent.timestamp())
            self.last_ts = ts  # type: ignore[assignment]
        else:
            ts = None
        sender = m.sender
        if sender is None:
            sender_key = None
            sender_name = None
            sender_no = 0
        else:
            sender_key, sender_name = sender.key, sender.name
            pair = (sender_key, sender_name)
            sender_no = self._senders.get(pair, 0)
            if not sender_no:
                sender_no = self._senders[pair] = len(self._senders) + 1
                self._new_senders.append(pair)
        occ = self.occurrences.next(m, ts)
        text = m.text
        names = ""
        if m.attachments:
            atts = tuple((a.name, a.path, a.mime, a.size, a.note) for a in m.attachments)
            self._attachments[len(self._rows)] = atts
            names = " ".join(a[0] for a in atts)
        body, files, cjk = textindex.index_columns(text, names)
        msg_id = m.msg_id
        fp = identity.fingerprint(
            self.platform, m.chat_key, sender_key, ts, m.kind, text, occ, msg_id
        )
        if msg_id is not None and not self._grows(chat, msg_id):
            self._ids_grow = False
        second = self.last_ts
        seq = self._next_seq.get(second, 0)
        self._next_seq[second] = seq + 1
        mid = identity.id_base(second) + seq
        edited_at = m.edited_at
        self._rows.append(
            [
                mid,
                chat,
                sender_no,
                0,
                fp.hex(),
                msg_id or "",
                m.kind,
                sender_name or "",
                ts or 0,
                m.sent_at_text or "",
                text,
                1 if m.edited else 0,
                int(edited_at.timestamp()) if edited_at is not None else 0,
                m.reply_to or "",
                m.forwarded_from or "",
                (json_value(dict(m.extra)) or "") if m.extra else "",
                occ,
                m.line or 0,
            ]
        )
        self._fts.append([mid, body, files, cjk])
        self._keyed.append(self.keyed(fp))
        self._chats_in_batch.add(chat)

    def _grows(self, chat: int, msg_id: str) -> bool:
        """Records ``msg_id`` for its chat; False when it is not greater than every id met
        before in that chat (then it might repeat one) or is not a number."""
        try:
            value = int(msg_id)
        except ValueError:
            return False
        top = self._max_msg_id.get(chat)
        self._max_msg_id[chat] = value if top is None else max(top, value)
        return top is None or value > top

    def take(self) -> Batch:
        """The messages added since the last ``take``."""
        batch = Batch(
            self._rows,
            self._fts,
            b"".join(self._keyed),
            self._attachments,
            self._new_senders,
            sorted(self._chats_in_batch),
            self._ids_grow,
        )
        self._new_senders = []
        self._clear()
        if len(self._next_seq) > _SECONDS_WINDOW:
            # Bounded memory, between batches only (ids stay unique within a batch): a
            # second met again later is caught by the writer's check that a batch's id
            # range is free, and renumbered there.
            self._next_seq.clear()
        return batch


def fingerprint_of(platform: str, m: Message, ts: int | None, occurrence: int) -> bytes:
    sender = m.sender.key if m.sender else None
    return identity.fingerprint(
        platform, m.chat_key, sender, ts, m.kind, m.text, occurrence, m.msg_id
    )
