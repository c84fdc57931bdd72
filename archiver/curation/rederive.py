"""A source's messages derived again from its stored original, paired with the archive's.

``derive`` re-opens the stored original (as kept, or as redacted after a purge) and runs
it through the source's parser and staging exactly as an ingest does, with the options
given. ``archived`` lists what the archive holds for the source: the messages it brought
first (``messages.source_id``) and its sightings of messages another export brought
first (``message_sources``), each with the line where the source has it.

``pair`` lines the two up. Both describe the same bytes, so a message is found where it
starts: by its platform id (Telegram) or by its line (the k-th message starting on that
line). A redacted original has lost the purged messages' lines, so its lines are first
translated back to the original's numbering (``line_map``): the copy derived with the
options it was ingested with holds exactly the kept messages in file order (the
redaction proved it), so the k-th message of the copy is the k-th archived one. When
that no longer holds (a parser has changed since), the source is not re-derived
(``Unpairable``).
"""

from __future__ import annotations

import bisect
import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from archiver import parsers
from archiver.core.errors import Refused
from archiver.core.model import Chat, Notice, ParseFacts, Unparsed
from archiver.ingest.staging import (
    CHAT,
    EDITED,
    EDITED_AT,
    EXTRA,
    FORWARDED_FROM,
    KIND,
    LINE,
    MSG_ID,
    OCCURRENCE,
    REPLY_TO,
    SENDER,
    TEXT,
    TS,
    TS_TEXT,
    AttachmentRow,
    Batch,
    Stager,
)
from archiver.parsers.base import ExportUnit, ParseOptions, Parser
from archiver.retention import redaction
from archiver.store.database import Store

BATCH = 5000


class Unpairable(Refused):
    """The re-derived messages cannot be lined up with the archived ones."""


class Derived(NamedTuple):
    """One message as the parser derives it now (staging's values, chat by its key)."""

    chat: str
    sender_key: str | None
    sender_name: str | None
    ts: int | None
    ts_text: str | None
    kind: str
    text: str
    edited: int
    edited_at: int | None
    reply_to: str | None
    forwarded_from: str | None
    extra: str | None
    occurrence: int
    msg_id: str | None
    line: int | None
    attachments: tuple[AttachmentRow, ...]


class Archived(NamedTuple):
    """One message the archive holds for the source, with the line the source has it at.
    ``own``: the source brought it first (else a sighting). ``first_kind``/``first_text``
    are its first version's (they differ from ``kind``/``text`` after a later edit)."""

    id: int
    own: bool
    source_id: int
    chat_id: int
    origin_key: str
    sender_key: str | None
    sender_name: str | None
    ts: int | None
    ts_text: str | None
    kind: str
    text: str
    first_kind: str
    first_text: str
    edited: int
    edited_at: int | None
    reply_to: str | None
    forwarded_from: str | None
    extra: str | None
    occurrence: int
    msg_id: str | None
    line: int | None
    version: int
    fingerprint: bytes
    attachments: tuple[tuple[str, str | None], ...]


@dataclass
class Derivation:
    """Everything a parse of the stored original produced."""

    parser: Parser
    unit: ExportUnit
    messages: list[Derived] = field(default_factory=list)
    chats: dict[str, Chat] = field(default_factory=dict)
    unparsed: list[Unparsed] = field(default_factory=list)
    notices: list[dict[str, Any]] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)


def parser_named(name: str) -> Parser:
    return parsers.get(name)


def derive(
    store: Store, source: dict[str, Any], options: ParseOptions, stack: ExitStack
) -> Derivation:
    """Parse and stage the stored original with ``options``."""
    parser = parser_named(source["parser"])
    unit = redaction.open_stored(store, source, stack)
    out = Derivation(parser, unit)
    chat_keys: list[str] = []
    senders: list[tuple[str | None, str | None]] = [(None, None)]
    stager = Stager(parser.platform, source["name"])
    for item in stager.batches(parser.parse(unit, options), BATCH):
        if isinstance(item, Batch):
            senders.extend(item.senders)
            out.messages.extend(_derived(item, chat_keys, senders))
        elif isinstance(item, Chat):
            if item.key not in out.chats:
                out.chats[item.key] = item
                chat_keys.append(item.key)
        elif isinstance(item, Unparsed):
            out.unparsed.append(item)
        elif isinstance(item, Notice):
            out.notices.append(
                {"code": item.code, "message": item.message, "chat_key": item.chat_key}
            )
        elif isinstance(item, ParseFacts):
            out.facts.update(item.facts)
    return out


def _derived(
    batch: Batch, chat_keys: list[str], senders: list[tuple[str | None, str | None]]
) -> Iterator[Derived]:
    for index, row in enumerate(batch.rows):
        key, name = senders[row[SENDER]]
        yield Derived(
            chat_keys[row[CHAT]],
            key,
            name,
            row[TS] or None,
            row[TS_TEXT] or None,
            row[KIND],
            row[TEXT],
            int(row[EDITED]),
            row[EDITED_AT] or None,
            row[REPLY_TO] or None,
            row[FORWARDED_FROM] or None,
            row[EXTRA] or None,
            int(row[OCCURRENCE]),
            row[MSG_ID] or None,
            row[LINE] or None,
            batch.attachments.get(index, ()),
        )


_ARCHIVED = """
SELECT m.id, m.source_id = :s, m.source_id, m.chat_id, oc.key, p.key, m.sender_name,
    m.sent_at, m.sent_at_text, m.kind, m.text,
    coalesce(v.kind, m.kind), coalesce(v.text, m.text), m.edited, m.edited_at, m.reply_to,
    m.forwarded_from, m.extra, m.occurrence, m.msg_id, {line}, m.version, m.fingerprint
FROM {rows}
JOIN chats oc ON oc.id = coalesce(m.origin_chat_id, m.chat_id)
LEFT JOIN participants p ON p.id = m.sender_id
LEFT JOIN message_versions v ON v.message_id = m.id AND v.version = 1
"""
_OWN = _ARCHIVED.format(line="m.source_line", rows="messages m") + "WHERE m.source_id = :s"
_SIGHTED = (
    _ARCHIVED.format(
        line="ms.line", rows="message_sources ms JOIN messages m ON m.id = ms.message_id"
    )
    + "WHERE ms.source_id = :s"
)


def archived(store: Store, source_id: int) -> list[Archived]:
    """The messages the archive holds for the source, in the order of their lines."""
    files: dict[int, list[tuple[str, str | None]]] = defaultdict(list)
    for mid, name, path in store.execute(
        "SELECT a.message_id, a.name, a.path FROM attachments a WHERE a.message_id IN "
        "(SELECT id FROM messages WHERE source_id = ?1 UNION "
        "SELECT message_id FROM message_sources WHERE source_id = ?1) "
        "ORDER BY a.message_id, a.ordinal",
        (source_id,),
    ):
        files[int(mid)].append((name, path))
    rows = [
        Archived._make(
            [
                int(row[0]),
                bool(row[1]),
                *row[2:19],
                _text(row[19]),
                *row[20:22],
                bytes(row[22]),
                tuple(files.get(int(row[0]), ())),
            ]
        )
        for sql in (_OWN, _SIGHTED)
        for row in store.execute(sql, {"s": source_id})
    ]
    return sorted(rows, key=lambda r: (r.line is None, r.line or 0, r.id))


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


class LineMap:
    """Lines of a redacted copy -> lines of the original. A redaction removes whole
    messages, so a line keeps its distance from the kept message that starts before it
    (lines before the first message are the original's)."""

    def __init__(self, starts: dict[int, int]) -> None:
        self.copy_starts = sorted(starts)
        self.starts = starts

    def __call__(self, line: int | None) -> int | None:
        if line is None:
            return None
        at = bisect.bisect_right(self.copy_starts, line) - 1
        if at < 0:
            return line
        start = self.copy_starts[at]
        return self.starts[start] + line - start


def line_map(previous: list[Derived], kept: list[Archived]) -> LineMap:
    """The line map of a redacted copy: derived with the options it was ingested with
    (``previous``), it holds exactly the kept messages in file order."""
    if len(previous) != len(kept) or any(
        (d.line is None) != (a.line is None) for d, a in zip(previous, kept, strict=True)
    ):
        raise Unpairable(
            f"the redacted original now yields {len(previous)} message(s) where the archive "
            f"holds {len(kept)} for it (the parser has changed since the purge that redacted "
            "it): its messages cannot be lined up, so it is not re-derived"
        )
    starts: dict[int, int] = {}
    for d, a in zip(previous, kept, strict=True):
        if d.line is not None and a.line is not None:
            starts.setdefault(d.line, a.line)
    return LineMap(starts)


def in_original_lines(derivation: Derivation, lines: LineMap) -> None:
    """Renumber a redacted copy's derived messages and unparsed input to the lines of the
    original (what the archive records)."""
    derivation.messages = [d._replace(line=lines(d.line)) for d in derivation.messages]
    derivation.unparsed = [
        Unparsed(u.raw, u.reason, lines(u.line), u.chat_key) for u in derivation.unparsed
    ]


def twins(previous: list[Derived], current: list[Derived]) -> list[tuple[int, int]]:
    """Index pairs (current, previous) of messages that start at the same place of the
    same bytes: the same platform id in the same chat, else the k-th message of a line."""
    if previous is current:
        return []

    def places(messages: list[Derived]) -> Iterator[tuple[Any, ...]]:
        seen: dict[tuple[str, int | None], int] = defaultdict(int)
        for d in messages:
            if d.msg_id is not None:
                yield (d.chat, "id", d.msg_id)
                continue
            k = seen[(d.chat, d.line)]
            seen[(d.chat, d.line)] += 1
            yield (d.chat, "line", d.line, k)

    where = {place: j for j, place in enumerate(places(previous))}
    return [(i, where[p]) for i, p in enumerate(places(current)) if p in where]


@dataclass
class Pairing:
    """The re-derived messages lined up with the archived ones."""

    pairs: list[tuple[Archived, Derived]] = field(default_factory=list)
    gone: list[Archived] = field(default_factory=list)  # no longer derived
    added: list[Derived] = field(default_factory=list)  # derived, not archived for it


def pair(
    kept: list[Archived],
    derived: Iterable[Derived],
    chat_of: dict[str, int],
) -> Pairing:
    """Pair each derived message with the archived one that starts where it starts: the
    same platform id in the same chat, else the k-th message on the same line. A platform
    id met with another sender was kept without the id (``platform_id_conflict`` in its
    extra data): it pairs by line."""
    by_id: dict[tuple[int, str], Archived] = {}
    by_line: dict[tuple[int, int], list[Archived]] = defaultdict(list)
    for a in kept:
        if a.msg_id is not None:
            by_id.setdefault((a.chat_id, a.msg_id), a)
        if a.line is not None:
            by_line[(a.chat_id, a.line)].append(a)
    used: set[int] = set()
    out = Pairing()
    seen_on_line: dict[tuple[int, int], int] = defaultdict(int)
    for d in derived:
        chat_id = chat_of[d.chat]
        line = d.line
        k = 0
        if line is not None:
            k = seen_on_line[(chat_id, line)]
            seen_on_line[(chat_id, line)] += 1
        match = None
        if d.msg_id is not None:
            match = by_id.get((chat_id, d.msg_id))
        if match is None and line is not None:
            on_line = by_line.get((chat_id, line), [])
            candidate = on_line[k] if k < len(on_line) else None
            if candidate is not None and _same_platform_id(candidate, d):
                match = candidate
        if match is None or match.id in used:
            out.added.append(d)
            continue
        used.add(match.id)
        out.pairs.append((match, d))
    out.gone = [a for a in kept if a.id not in used]
    return out


def _same_platform_id(a: Archived, d: Derived) -> bool:
    if a.msg_id == d.msg_id:
        return True
    if a.msg_id is None and d.msg_id is not None and a.extra:
        return str(json.loads(a.extra).get("platform_id_conflict")) == d.msg_id
    return False
