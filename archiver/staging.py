"""Staging: what can be computed for a message without the database.

Runs beside the parser (in a forked child for big exports, see ``pipeline``): the
occurrence index that tells identical messages of one file apart, the fingerprint and
its keyed form, the full-text columns, and the end of the ``messages`` row ready to
bind. Pure and sequential (the occurrence index depends on what came before).
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from archiver import identity, textindex
from archiver.model import Message

_OCCURRENCE_WINDOW = 200_000


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


class Staged(NamedTuple):
    """A message as the writer needs it, computed without the database (beside the
    parser, possibly in another process): only plain values, so a batch can cross a
    process boundary as one ``marshal`` blob. ``tail`` is the end of the messages row,
    ready to bind (str and int only)."""

    chat_key: str
    sender_key: str | None
    sender_name: str | None
    ts: int | None
    order_ts: int
    msg_id: str | None
    kind: str
    text: str
    line: int | None
    edited_at: int | None
    extra: str | None
    attachments: tuple[AttachmentRow, ...]
    occurrence: int
    fp: bytes
    keyed: bytes
    fts_body: str
    fts_files: str
    fts_cjk: str
    tail: tuple[str | int, ...]


def row_tail(
    fp: bytes,
    m: Message,
    sender_name: str | None,
    ts: int | None,
    edited_at: int | None,
    extra: str | None,
    occurrence: int,
) -> tuple[str | int, ...]:
    return (
        fp.hex(),
        m.msg_id or "",
        m.kind,
        sender_name or "",
        ts or 0,
        m.sent_at_text or "",
        m.text,
        1 if m.edited else 0,
        edited_at or 0,
        m.reply_to or "",
        m.forwarded_from or "",
        extra or "",
        occurrence,
        m.line or 0,
    )


class Stager:
    """Turns a file's messages, in file order, into ``Staged`` records. Pure and
    sequential (the occurrence index depends on what came before), so it runs beside
    the parser while the writer talks to the database. ``key`` keys the fingerprints
    that become Merkle leaves and tombstones (identity.keyed)."""

    def __init__(self, platform: str, key: bytes) -> None:
        self.platform = platform
        self.key = key
        self.occurrences = OccurrenceCounter()
        self.last_ts = 0

    def stage(self, m: Message) -> Staged:
        sent = m.sent_at
        if sent is not None:
            ts: int | None = int(sent.timestamp())
            self.last_ts = ts  # type: ignore[assignment]
        else:
            ts = None
        sender = m.sender
        sender_key = sender.key if sender is not None else None
        sender_name = sender.name if sender is not None else None
        occ = self.occurrences.next(m, ts)
        text = m.text
        names = ""
        atts: tuple[AttachmentRow, ...] = ()
        if m.attachments:
            atts = tuple((a.name, a.path, a.mime, a.size, a.note) for a in m.attachments)
            names = " ".join(a[0] for a in atts)
        body, files, cjk = textindex.index_columns(text, names)
        fp = identity.fingerprint(
            self.platform, m.chat_key, sender_key, ts, m.kind, text, occ, m.msg_id
        )
        edited_at = int(m.edited_at.timestamp()) if m.edited_at is not None else None
        extra = json_value(dict(m.extra)) if m.extra else None
        return Staged(
            m.chat_key,
            sender_key,
            sender_name,
            ts,
            self.last_ts,
            m.msg_id,
            m.kind,
            text,
            m.line,
            edited_at,
            extra,
            atts,
            occ,
            fp,
            identity.keyed(self.key, fp),
            body,
            files,
            cjk,
            row_tail(fp, m, sender_name, ts, edited_at, extra, occ),
        )


def fingerprint_of(platform: str, m: Message, ts: int | None, occurrence: int) -> bytes:
    sender = m.sender.key if m.sender else None
    return identity.fingerprint(
        platform, m.chat_key, sender, ts, m.kind, m.text, occurrence, m.msg_id
    )
