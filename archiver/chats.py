"""Conversations in the archive: `archiver chats`."""

from __future__ import annotations

from typing import Any

from archiver import auditlog
from archiver.archive import Archive
from archiver.auditlog import Invocation
from archiver.records import iso_utc


def list_chats(archive: Archive, inv: Invocation) -> list[dict[str, Any]]:
    """Every conversation: platform, message count, first/last message, who, whose."""
    store = archive.store
    rows = store.rows(
        "SELECT c.id, c.platform, c.key, c.title, c.type, count(m.id) AS messages, "
        "min(m.sent_at) AS first, max(m.sent_at) AS last "
        "FROM chats c LEFT JOIN messages m ON m.chat_id = c.id "
        "GROUP BY c.id ORDER BY c.platform, lower(coalesce(c.title, c.key))"
    )
    people: dict[int, list[str]] = {}
    for chat_id, name in store.execute(
        "SELECT DISTINCT m.chat_id, coalesce(p.name, m.sender_name, p.key) FROM messages m "
        "JOIN participants p ON p.id = m.sender_id ORDER BY 1, 2"
    ):
        people.setdefault(chat_id, []).append(name)
    holders: dict[int, list[str]] = {}
    for chat_id, name in store.execute(
        "SELECT DISTINCT m.chat_id, cu.name FROM messages m "
        "JOIN message_custodian_ids mc ON mc.message_id = m.id "
        "JOIN custodians cu ON cu.id = mc.custodian_id ORDER BY 1, 2"
    ):
        holders.setdefault(chat_id, []).append(name)
    result = [
        {
            "id": r["id"],
            "platform": r["platform"],
            "chat": r["title"],
            "key": r["key"],
            "type": r["type"],
            "messages": r["messages"],
            "first": iso_utc(r["first"]),
            "last": iso_utc(r["last"]),
            "participants": people.get(r["id"], []),
            "custodians": holders.get(r["id"], []),
        }
        for r in rows
    ]
    auditlog.append(store, inv, details={"chats": len(result)})
    return result
