"""The message record every output shares (JSONL, CSV, search --json), built from the store.

``export --format jsonl`` writes one per line and ``search --json`` puts them in
``results``: ``id``, ``platform``, ``chat``, ``sender``, ``sent_at``, ``kind``, ``text``,
``edited``, ``edited_at``, ``attachments``, ``custodians``, ``sources``, plus provenance
keys (``sent_at_text``, ``tz``, ``msg_id``, ``fingerprint``, ...) and ``reply_to_id``: the
archive id of the message replied to, when it is archived too.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from archiver.store.database import Store

_CHUNK = 500


def iso_utc(ts: int | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _in(ids: Sequence[int]) -> str:
    return ",".join("?" * len(ids))


def message_records(store: Store, ids: Sequence[int]) -> list[dict[str, Any]]:
    """Records for ``ids``, in the order given (unknown ids are left out)."""
    out: list[dict[str, Any]] = []
    for start in range(0, len(ids), _CHUNK):
        out.extend(_chunk(store, list(ids[start : start + _CHUNK])))
    return out


def _chunk(store: Store, ids: list[int]) -> list[dict[str, Any]]:
    if not ids:
        return []
    q = _in(ids)
    rows = store.execute(
        "SELECT m.id, c.platform, c.title, c.key, m.sender_name, p.key, m.sent_at, "
        "m.sent_at_text, s.tz, m.kind, m.text, m.edited, m.edited_at, m.msg_id, m.reply_to, "
        "m.forwarded_from, m.extra, m.version, hex(m.fingerprint), m.source_id, m.source_line, "
        "s.name, s.sha256, c.type, r.id "
        "FROM messages m JOIN chats c ON c.id = m.chat_id "
        "JOIN sources s ON s.id = m.source_id "
        "LEFT JOIN participants p ON p.id = m.sender_id "
        "LEFT JOIN messages r ON r.chat_id = m.chat_id AND r.msg_id = m.reply_to "
        f"WHERE m.id IN ({q})",
        ids,
    ).fetchall()
    attachments: dict[int, list[dict[str, Any]]] = {}
    for mid, name, sha, size, mime, note in store.execute(
        f"SELECT message_id, name, sha256, size, mime, note FROM attachments "
        f"WHERE message_id IN ({q}) ORDER BY message_id, ordinal",
        ids,
    ):
        item = {"name": name, "sha256": sha, "size": size, "mime": mime}
        if note:
            item["note"] = note
        attachments.setdefault(mid, []).append(item)
    custodians: dict[int, list[str]] = {}
    for mid, name in store.execute(
        f"SELECT mc.message_id, c.name FROM message_custodian_ids mc "
        f"JOIN custodians c ON c.id = mc.custodian_id WHERE mc.message_id IN ({q}) "
        f"ORDER BY c.name",
        ids,
    ):
        custodians.setdefault(mid, []).append(name)
    sightings: dict[int, list[dict[str, Any]]] = {}
    for mid, line, name, sha in store.execute(
        f"SELECT ms.message_id, ms.line, s.name, s.sha256 FROM message_sources ms "
        f"JOIN sources s ON s.id = ms.source_id WHERE ms.message_id IN ({q}) ORDER BY s.id",
        ids,
    ):
        sightings.setdefault(mid, []).append({"file": name, "sha256": sha, "line": line})
    by_id = {}
    for r in rows:
        mid = r[0]
        by_id[mid] = {
            "id": mid,
            "platform": r[1],
            "chat": r[2],
            "sender": r[4],
            "sent_at": iso_utc(r[6]),
            "kind": r[9],
            "text": r[10],
            "edited": bool(r[11]),
            "edited_at": iso_utc(r[12]),
            "attachments": attachments.get(mid, []),
            "custodians": custodians.get(mid, []),
            "sources": [{"file": r[21], "sha256": r[22], "line": r[20]}, *sightings.get(mid, [])],
            "chat_key": r[3],
            "chat_type": r[23],
            "sender_key": r[5],
            "sent_at_text": r[7],
            "tz": r[8],
            "msg_id": None if r[13] is None else str(r[13]),
            "reply_to": r[14],
            "reply_to_id": r[24],
            "forwarded_from": r[15],
            "extra": json.loads(r[16]) if r[16] else None,
            "version": r[17],
            "fingerprint": r[18].lower(),
        }
    return [by_id[i] for i in ids if i in by_id]


def iter_records(store: Store, ids: Iterator[int], chunk: int = _CHUNK) -> Iterator[dict[str, Any]]:
    """Stream records for a (possibly huge) iterator of ids, in its order."""
    batch: list[int] = []
    for mid in ids:
        batch.append(mid)
        if len(batch) >= chunk:
            yield from _chunk(store, batch)
            batch = []
    if batch:
        yield from _chunk(store, batch)
