"""Which archived conversation an export's chat is: decided by evidence, not by title.

WhatsApp exports carry no conversation id: the parser names the chat after the file
(``WhatsApp Chat with Deal Desk EMEA (2).txt`` -> "Deal Desk EMEA"). Titles lie both
ways: a re-download or a renamed group changes the title of one conversation, and two
unrelated groups can share one. So the first batch of an export's messages decides:

1. **Shared messages.** Messages (or tombstones of purged ones) with the same content
   key (``identity.content_key``: sender, minute, kind, comparable text) in an archived
   chat make the export that chat, whatever its title. The chat with most wins.
2. **Same title, then participants.** With nothing shared, an archived chat of the same
   title is the same conversation only if the two do not overlap in time (if they did,
   they would share messages) and at least half of the smaller set of senders is
   common; a chat of that title with no messages at all (an empty export) is taken too.
3. Otherwise a **new chat**; its key is the title, or the title with ``#2``, ``#3`` ...
   when another conversation already holds that title.

Platforms with conversation ids (Telegram) keep the id as identity. The officer
corrects a decision with ``archiver chats merge`` / ``chats split`` (``chats`` module).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from archiver.core import identity
from archiver.core.model import Chat
from archiver.store.database import Store

# Platforms whose exports carry no conversation id.
BY_EVIDENCE = frozenset({"whatsapp"})
# Messages of the first batch that are compared with the archive (spread evenly).
EVIDENCE_SAMPLE = 2000
# Minutes within this many seconds of each other are looked up in one range query.
_CLUSTER_GAP = 3600

Sample = tuple[int | None, str | None, str, str]  # sent second, sender key, kind, text


@dataclass(frozen=True)
class ChatDecision:
    """What the export's chat was taken to be, and why (shown in the ingest summary)."""

    export_key: str
    chat_id: int
    key: str
    title: str | None
    how: str  # new | shared-messages | participants | title | platform-id
    shared: int = 0
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "export_chat": self.export_key,
            "chat_id": self.chat_id,
            "chat": self.title or self.key,
            "how": self.how,
            "shared": self.shared,
            "note": self.note,
        }


def canonical(store: Store, chat_id: int) -> int:
    """Follow ``merged_into`` to the chat that now holds a merged chat's messages."""
    seen = set()
    while chat_id not in seen:
        seen.add(chat_id)
        target = store.one("SELECT merged_into FROM chats WHERE id = ?", (chat_id,))
        if target is None:
            return chat_id
        chat_id = int(target)
    return chat_id


def by_platform_id(store: Store, chat: Chat) -> ChatDecision:
    """A platform that names its conversations: the id is the identity."""
    row = store.execute(
        "SELECT id FROM chats WHERE platform = ? AND key = ?", (chat.platform, chat.key)
    ).fetchone()
    if row is None:
        return _create(store, chat, chat.key, "platform-id")
    chat_id = canonical(store, int(row[0]))
    return _decision(store, chat, chat_id, "platform-id")


def by_evidence(
    store: Store, chat: Chat, samples: Sequence[Sample], tombstone_key: bytes
) -> ChatDecision:
    """The archived chat an export's chat is (or a new one), from its first messages."""
    shared = _shared_messages(store, chat.platform, samples, tombstone_key)
    if shared:
        (chat_id, n), *others = shared.most_common()
        note = None
        if others:
            note = "also shares " + ", ".join(
                f"{k} message(s) with chat {c}" for c, k in others[:3]
            )
        return _decision(store, chat, chat_id, "shared-messages", n, note)
    span = _span(samples)
    senders = {s[1] for s in samples if s[1] is not None}
    same_title = _same_title(store, chat)
    for chat_id in same_title:
        first, last = _chat_span(store, chat_id)
        if first is None:
            return _decision(store, chat, chat_id, "title")
        if span is None:
            return _decision(store, chat, chat_id, "title")
        if span[0] <= last and first <= span[1]:
            continue  # the same period and nothing in common: another group
        theirs = _chat_senders(store, chat_id)
        common = senders & theirs
        if common and len(common) * 2 >= min(len(senders), len(theirs)):
            return _decision(store, chat, chat_id, "participants", len(common))
    key = _free_key(store, chat)
    note = None
    if same_title:
        note = (
            f"chat {same_title[0]} has the same title but no message and too few participants "
            "in common: archived as a separate chat (`archiver chats merge` if they are one)"
        )
    return _create(store, chat, key, "new", note)


def _decision(
    store: Store, chat: Chat, chat_id: int, how: str, shared: int = 0, note: str | None = None
) -> ChatDecision:
    key, title = store.execute("SELECT key, title FROM chats WHERE id = ?", (chat_id,)).fetchone()
    if title is None and chat.title is not None:
        store.execute("UPDATE chats SET title = ? WHERE id = ?", (chat.title, chat_id))
        title = chat.title
    return ChatDecision(chat.key, chat_id, str(key), title, how, shared, note)


def _create(store: Store, chat: Chat, key: str, how: str, note: str | None = None) -> ChatDecision:
    from archiver.ingest.staging import json_value

    cur = store.execute(
        "INSERT INTO chats(platform, key, title, type, extra) VALUES (?, ?, ?, ?, ?)",
        (chat.platform, key, chat.title, chat.type, json_value(dict(chat.extra))),
    )
    return ChatDecision(chat.key, int(cur.lastrowid), key, chat.title, how, 0, note)


def _free_key(store: Store, chat: Chat) -> str:
    key, n = chat.key, 1
    while store.one("SELECT 1 FROM chats WHERE platform = ? AND key = ?", (chat.platform, key)):
        n += 1
        key = f"{chat.key} #{n}"
    return key


def _same_title(store: Store, chat: Chat) -> list[int]:
    """Archived chats of this platform named like the export's, oldest first."""
    wanted = identity.comparable_text(chat.title or chat.key).casefold()
    found = []
    for chat_id, key, title in store.execute(
        "SELECT id, key, title FROM chats WHERE platform = ? AND merged_into IS NULL ORDER BY id",
        (chat.platform,),
    ):
        names = {identity.comparable_text(v).casefold() for v in (key, title) if v}
        if wanted in names:
            found.append(int(chat_id))
    return found


def _span(samples: Sequence[Sample]) -> tuple[int, int] | None:
    times = [s[0] for s in samples if s[0] is not None]
    return (min(times), max(times)) if times else None


def _chat_span(store: Store, chat_id: int) -> tuple[int | None, int]:
    lo, hi = store.execute(
        "SELECT min(id), max(id) FROM messages WHERE chat_id = ?", (chat_id,)
    ).fetchone()
    if lo is None:
        return None, 0
    return identity.id_second(int(lo)), identity.id_second(int(hi))


def _chat_senders(store: Store, chat_id: int) -> set[str]:
    return {
        str(r[0])
        for r in store.execute(
            "SELECT DISTINCT p.key FROM messages m JOIN participants p ON p.id = m.sender_id "
            "WHERE m.chat_id = ?",
            (chat_id,),
        )
    }


def sharing_chats(
    store: Store, platform: str, samples: Sequence[Sample], tombstone_key: bytes
) -> Counter[int]:
    """The archived chats that share messages with ``samples`` (rule 1), with how many:
    what a reparse reports when corrected times make an export another chat's copy."""
    return _shared_messages(store, platform, samples, tombstone_key)


def _shared_messages(
    store: Store, platform: str, samples: Sequence[Sample], tombstone_key: bytes
) -> Counter[int]:
    """Archived chats that hold messages (or tombstones) with the samples' content keys,
    with how many. A chat counts only if it shares at least half of the samples sent in
    minutes where it has messages, and two or more of them (or every sample): one
    coincidence (the same "ok" sent to two groups in one minute) is not an identity."""
    timed = [s for s in samples if s[0] is not None]
    if not timed:
        return Counter()
    timed = timed[:: max(1, len(timed) // EVIDENCE_SAMPLE)]
    wanted: dict[bytes, int] = {}
    sample_minutes: Counter[int] = Counter()
    for ts, sender, kind, text in timed:
        minute = int(ts) // 60  # type: ignore[arg-type]
        wanted[identity.content_key(platform, sender, ts, kind, text)] = minute
        sample_minutes[minute] += 1
    keyed = identity.keyer(tombstone_key)
    wanted_keyed = {keyed(k) for k in wanted}
    shared: Counter[int] = Counter()
    minutes: dict[int, set[int]] = {}
    for lo, hi in _clusters(sorted(m * 60 for m in sample_minutes)):
        lo_id, hi_id = identity.id_base(lo), identity.id_base(hi + 60)
        for chat_id, sender, sent, kind, text in store.execute(
            "SELECT m.chat_id, p.key, m.sent_at, m.kind, m.text FROM messages m "
            "JOIN chats c ON c.id = m.chat_id AND c.platform = ? "
            "LEFT JOIN participants p ON p.id = m.sender_id WHERE m.id >= ? AND m.id < ?",
            (platform, lo_id, hi_id),
        ):
            if sent is not None:
                minutes.setdefault(int(chat_id), set()).add(int(sent) // 60)
            if identity.content_key(platform, sender, sent, kind, text) in wanted:
                shared[int(chat_id)] += 1
        for chat_id, sent, content in store.execute(
            "SELECT t.chat_id, t.sent_at, t.keyed_content FROM tombstones t JOIN chats c "
            "ON c.id = t.chat_id AND c.platform = ? WHERE t.message_id >= ? AND "
            "t.message_id < ? AND t.version = 1 AND t.keyed_content IS NOT NULL",
            (platform, lo_id, hi_id),
        ):
            if sent is not None:
                minutes.setdefault(int(chat_id), set()).add(int(sent) // 60)
            if bytes(content) in wanted_keyed:
                shared[int(chat_id)] += 1
    found: Counter[int] = Counter()
    for chat_id, n in shared.items():
        covered = sum(sample_minutes[m] for m in minutes.get(chat_id, ()))
        if (n >= 2 or n >= len(timed)) and n * 2 >= covered:
            found[canonical(store, chat_id)] += n
    return found


def _clusters(minutes: list[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for m in minutes:
        if out and m - out[-1][1] <= _CLUSTER_GAP:
            out[-1] = (out[-1][0], m)
        else:
            out.append((m, m))
    return out
