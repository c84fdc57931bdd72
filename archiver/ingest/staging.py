"""Staging: what can be computed for a message without the database.

Runs beside the parser (in a forked child for big exports, see ``pipeline``): the
occurrence index that tells identical messages of one file apart, the fingerprint, the
full-text columns, a proposed time-ordered id, and the whole ``messages`` row ready to
bind. The keyed fingerprints (Merkle leaves) are the writer's: staging is given no key.
Messages leave in ``Batch``es: columns of plain lists that cross a process boundary as
one ``marshal`` blob and that the writer binds after filling in four slots. Pure and
sequential (occurrences and ids depend on what came before).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple

from archiver.core import identity
from archiver.core import tokens as textindex
from archiver.core.errors import ParseError
from archiver.core.model import Chat, Message, Record

_OCCURRENCE_WINDOW = 50_000
_SECONDS_WINDOW = 100_000


# How a message's or a chat's extra data is stored: sorted keys, text as written.
_EXTRA_JSON = json.JSONEncoder(ensure_ascii=False, sort_keys=True, default=str)


def _extra_encoder() -> Callable[[Any], str]:
    """``_EXTRA_JSON.encode``, or the same C encoder built once instead of per call
    (``JSONEncoder.encode`` builds it every time: 2.3 -> 1.3 us per Telegram message with
    entities). The test suite holds both equal."""
    make = getattr(json.encoder, "c_make_encoder", None)
    quote = getattr(json.encoder, "c_encode_basestring", None)
    if make is None or quote is None:
        return _EXTRA_JSON.encode
    iterencode = make(None, str, quote, None, ": ", ", ", True, False, True)
    return lambda value: "".join(iterencode(value, 0))


encode_extra = _extra_encoder()


def json_value(value: Any) -> str | None:
    if not value:
        return None
    return encode_extra(value)


class OccurrenceCounter:
    """Numbers identical messages within one file (same chat, sender, second, kind, text)
    so that two "ok" in the same minute stay two.

    Memory is bounded: two generations of at most ``_OCCURRENCE_WINDOW`` entries; when
    the young one fills, the old one is forgotten and ``forgotten_until`` rises to the
    latest second it held. A message at or before that second may repeat one forgotten:
    its number is not sure (``sure``), and the writer checks it against what this ingest
    already wrote. In a file in time order that never happens."""

    def __init__(self) -> None:
        self._young: dict[int, int] = {}
        self._old: dict[int, int] = {}
        self._young_latest = -(1 << 62)
        self._old_latest = -(1 << 62)
        self.forgotten_until = -(1 << 62)

    def next(self, m: Message, ts: int | None) -> int:
        if m.msg_id is not None:
            return 0
        key = hash((m.chat_key, m.sender.key if m.sender else None, ts, m.kind, m.text))
        young = self._young
        n = young.get(key)
        if n is None:
            n = self._old.get(key, 0)
            if len(young) >= _OCCURRENCE_WINDOW:
                self.forgotten_until = max(self.forgotten_until, self._old_latest)
                self._old, self._old_latest = young, self._young_latest
                self._young = young = {}
                self._young_latest = -(1 << 62)
        young[key] = n + 1
        if ts is not None and ts > self._young_latest:
            self._young_latest = ts
        return n

    def sure(self, ts: int | None) -> bool:
        """Whether numbers given to messages of second ``ts`` count every earlier repeat."""
        return ts is not None and ts > self.forgotten_until


AttachmentRow = tuple[str, str | None, str | None, int | None, str | None]

# The slots of a staged row, in the column order of ``writer.MESSAGE_COLUMNS``. Absent
# values are "" or 0 (the writer's INSERT turns them into NULL): the row binds only
# str and int, which sqlcipher3 binds fast.
ID, CHAT, SENDER, SEQ, FP, MSG_ID, KIND, SENDER_NAME, TS, TS_TEXT, TEXT = range(11)
EDITED, EDITED_AT, REPLY_TO, FORWARDED_FROM, EXTRA, OCCURRENCE, LINE = range(11, 18)


class Batch(NamedTuple):
    """Consecutive staged messages of one file, as columns.

    ``rows`` are ``messages`` rows (slots above) with a proposed id, the chat and the
    sender as local numbers (``Stager.chats`` order; senders from 1, 0 for none) and the
    ingest sequence left at 0: the writer replaces those four. ``fts`` holds, by row
    index, the full-text columns ``[body, files, cjk]`` of the messages whose indexed
    text is not their text as written (``textindex.index_columns``: non-ASCII text,
    attachments); ``full_text_rows`` completes them. ``attachments`` by row index;
    ``senders`` the (key, name) pairs first used in this batch, numbered on from the
    previous batch; ``chats`` the local chat numbers present; ``ids_grow`` says that no
    platform message id in the batch can repeat one met before in the file (every id is
    greater than all earlier ones of its chat); ``occurrences_sure`` that every
    occurrence index counts all earlier repeats in the file (``OccurrenceCounter.sure``),
    else the writer checks the batch message by message.
    """

    rows: list[list[Any]]
    fts: dict[int, list[str]]
    attachments: dict[int, tuple[AttachmentRow, ...]]
    senders: list[tuple[str, str | None]]
    chats: list[int]
    ids_grow: bool
    occurrences_sure: bool


def full_text_rows(batch: Batch) -> list[list[Any]]:
    """The ``messages_fts`` rows ``[id, body, files, cjk]`` of a batch, in row order: most
    messages are indexed as written and cross from the parser without a second copy."""
    full = [[row[ID], row[TEXT], "", ""] for row in batch.rows]
    for index, columns in batch.fts.items():
        full[index][1:] = columns
    return full


class Stager:
    """Turns a file's records, in file order, into batches. ``name`` is the export's,
    for errors."""

    def __init__(self, platform: str, name: str) -> None:
        self.platform = platform
        self.name = name
        self.occurrences = OccurrenceCounter()
        self.chats: dict[str, int] = {}
        self._senders: dict[tuple[str, str | None], int] = {}
        self._max_msg_id: dict[int, int] = {}

    def batches(self, records: Iterable[Record], size: int) -> Iterator[Record | Batch]:
        """Messages in batches of up to ``size``; every other record passes through in
        order (a batch is closed before it, so a Chat precedes its messages).

        Hot loop (a million messages is ~3 s here): everything is a local name."""
        platform, chats, senders = self.platform, self.chats, self._senders
        max_msg_id = self._max_msg_id
        occurrence_of = self.occurrences.next
        occurrence_sure = self.occurrences.sure
        index_columns, as_written = textindex.index_columns, textindex.indexed_as_written
        encode_json = encode_extra
        # by local chat number, like everything else here
        fingerprinters = [identity.fingerprinter(platform, key) for key in chats]
        next_seq: dict[int, int] = {}
        seq_limit = identity.SEQ_LIMIT
        last_ts = 0
        batch = _Open()
        rows, indexed = batch.rows, batch.fts
        for m in records:
            if type(m) is not Message:
                if rows:
                    yield batch.close()
                    batch = _Open()
                    rows, indexed = batch.rows, batch.fts
                    _bound(next_seq)
                if type(m) is Chat and m.key not in chats:
                    chats[m.key] = len(chats)
                    fingerprinters.append(identity.fingerprinter(platform, m.key))
                yield m
                continue
            try:
                chat = chats[m.chat_key]
            except KeyError:
                raise ParseError(
                    f"{self.name}: the parser produced a message for chat {m.chat_key!r} "
                    "before announcing the chat (a bug in the parser)"
                ) from None
            sent = m.sent_at
            ts = None if sent is None else int(sent.timestamp())
            if ts is not None:
                last_ts = ts
            sender = m.sender
            if sender is None:
                sender_key = sender_name = None
                sender_no = 0
            else:
                sender_key, sender_name = sender.key, sender.name
                sender_no = senders.get((sender_key, sender_name), 0)
                if not sender_no:
                    sender_no = senders[(sender_key, sender_name)] = len(senders) + 1
                    batch.senders.append((sender_key, sender_name))
            occ = occurrence_of(m, ts)
            msg_id = m.msg_id
            if msg_id is None and not occurrence_sure(ts):
                batch.occurrences_sure = False
            text = m.text
            names = ""
            if m.attachments:
                atts = tuple((a.name, a.path, a.mime, a.size, a.note) for a in m.attachments)
                batch.attachments[len(rows)] = atts
                names = " ".join(a[0] for a in atts)
            if not as_written(text, names):
                indexed[len(rows)] = list(index_columns(text, names))
            fp = fingerprinters[chat](sender_key, ts, m.kind, text, occ, msg_id)
            if msg_id is not None:
                # ids_grow: every platform id greater than all earlier ones of its chat
                # (then none can repeat one); a non-numeric id may repeat anything.
                try:
                    value = int(msg_id)
                except ValueError:
                    batch.ids_grow = False
                else:
                    top = max_msg_id.get(chat)
                    if top is None or value > top:
                        max_msg_id[chat] = value
                    else:
                        batch.ids_grow = False
            seq = next_seq.get(last_ts, 0)
            if seq >= seq_limit:
                raise ParseError(
                    f"{self.name}: more than {seq_limit} messages in one second "
                    f"({last_ts}): ids are (second, sequence) pairs; are the export's dates "
                    "readable?"
                )
            next_seq[last_ts] = seq + 1
            mid = (last_ts << identity.SEQ_BITS) + seq
            edited_at = m.edited_at
            extra = m.extra
            rows.append(
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
                    0 if edited_at is None else int(edited_at.timestamp()),
                    m.reply_to or "",
                    m.forwarded_from or "",
                    encode_json(dict(extra)) if extra else "",
                    occ,
                    m.line or 0,
                ]
            )
            batch.chats.add(chat)
            if len(rows) >= size:
                yield batch.close()
                batch = _Open()
                rows, indexed = batch.rows, batch.fts
                _bound(next_seq)
        if rows:
            yield batch.close()


def _bound(next_seq: dict[int, int]) -> None:
    """Bounded memory, between batches only (ids stay unique within a batch): a second
    met again later is caught by the writer's check that a batch's id range is free,
    and renumbered there."""
    if len(next_seq) > _SECONDS_WINDOW:
        next_seq.clear()


class _Open:
    """A batch being filled."""

    __slots__ = (
        "attachments", "chats", "fts", "ids_grow", "occurrences_sure", "rows", "senders",
    )  # fmt: skip

    def __init__(self) -> None:
        self.rows: list[list[Any]] = []
        self.fts: dict[int, list[str]] = {}
        self.attachments: dict[int, tuple[AttachmentRow, ...]] = {}
        self.senders: list[tuple[str, str | None]] = []
        self.chats: set[int] = set()
        self.ids_grow = True
        self.occurrences_sure = True

    def close(self) -> Batch:
        return Batch(
            self.rows,
            self.fts,
            self.attachments,
            self.senders,
            sorted(self.chats),
            self.ids_grow,
            self.occurrences_sure,
        )


def fingerprint_of(platform: str, m: Message, ts: int | None, occurrence: int) -> bytes:
    sender = m.sender.key if m.sender else None
    return identity.fingerprint(
        platform, m.chat_key, sender, ts, m.kind, m.text, occurrence, m.msg_id
    )
