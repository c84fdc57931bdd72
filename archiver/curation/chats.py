"""Conversations in the archive: `archiver chats` (list, merge, split)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from archiver.archive.session import Archive
from archiver.core.errors import InputError, NotFound, Refused
from archiver.ingest import chat_identity
from archiver.search.records import iso_utc
from archiver.store import auditlog
from archiver.store.auditlog import Invocation
from archiver.store.database import Store


def list_chats(archive: Archive, inv: Invocation) -> list[dict[str, Any]]:
    """Every conversation: platform, message count, first/last message, who, whose."""
    store = archive.store
    rows = store.rows(
        "SELECT c.id, c.platform, c.key, c.title, c.type, count(m.id) AS messages, "
        "min(m.sent_at) AS first, max(m.sent_at) AS last "
        "FROM chats c LEFT JOIN messages m ON m.chat_id = c.id WHERE c.merged_into IS NULL "
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


def _chat(store: Store, chat_id: int) -> dict[str, Any]:
    rows = store.rows("SELECT * FROM chats WHERE id = ?", (chat_id,))
    if not rows:
        raise NotFound(f"no chat with id {chat_id}; see `archiver chats`")
    row = rows[0]
    if row["merged_into"] is not None:
        raise Refused(
            f"chat {chat_id} was merged into chat {row['merged_into']}; use that id "
            "(`archiver chats split` takes an export back out)"
        )
    if row["platform"] not in chat_identity.BY_EVIDENCE:
        raise Refused(
            f"chat {chat_id} is a {row['platform']} chat, identified by the platform's own "
            "chat id; only conversations identified by evidence (WhatsApp) are merged or split"
        )
    return row


def _held(store: Store, tz: str, ids: list[int]) -> dict[int, list[str]]:
    from archiver.retention.decisions import iter_facts
    from archiver.retention.holds import HoldMatcher

    matcher = HoldMatcher(store, tz)
    out = {}
    for start in range(0, len(ids), 5000):
        for facts in iter_facts(store, ids[start : start + 5000]):
            out[facts.id] = matcher.held_by(facts)
    return out


def _rules(store: Store, ids: list[int]) -> Counter[tuple[str, ...]]:
    from archiver.retention.decisions import Evaluator, active_policy, iter_facts

    ev = Evaluator(store, active_policy(store), "UTC")
    found: Counter[tuple[str, ...]] = Counter()
    for start in range(0, len(ids), 5000):
        for facts in iter_facts(store, ids[start : start + 5000]):
            found[tuple(r.key for r in ev.rules_for(facts))] += 1
    return found


def _ids(store: Store, chat_id: int) -> list[int]:
    return [
        int(r[0]) for r in store.execute("SELECT id FROM messages WHERE chat_id = ?", (chat_id,))
    ]


def _move(
    store: Store,
    tz: str,
    where: str,
    params: tuple[Any, ...],
    target: int,
    held_before: dict[int, list[str]] | None = None,
) -> dict[str, Any]:
    """Move the messages ``where`` selects into chat ``target``, keeping the chat each
    was fingerprinted under. Refused if a message would leave the scope of a hold that
    covers it (``held_before``, default: now): a hold never narrows."""
    ids = [int(r[0]) for r in store.execute(f"SELECT id FROM messages WHERE {where}", params)]
    if held_before is None:
        held_before = _held(store, tz, ids)
    rules_before = _rules(store, ids)
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        store.execute(
            "UPDATE messages SET origin_chat_id = nullif(coalesce(origin_chat_id, chat_id), ?), "
            f"chat_id = ? WHERE id IN ({','.join('?' * len(chunk))})",
            (target, target, *chunk),
        )
    held_after = _held(store, tz, ids)
    lost = sorted(
        {h for mid, hs in held_before.items() for h in hs if h not in held_after.get(mid, [])}
    )
    if lost:
        raise Refused(
            "refused: messages would leave the scope of hold(s) "
            + ", ".join(lost)
            + " (their chat scope names the chat they are in now); keep the title the hold "
            "names, or widen the hold first"
        )
    return {
        "messages": len(ids),
        "rules_before": _rule_counts(rules_before),
        "rules_after": _rule_counts(_rules(store, ids)),
    }


def _rule_counts(found: Counter[tuple[str, ...]]) -> list[dict[str, Any]]:
    """Which retention rules match the moved messages (before or after the move)."""
    return [{"rules": list(k), "messages": n} for k, n in sorted(found.items())]


def merge(
    archive: Archive, target: int, sources: list[int], reason: str, inv: Invocation
) -> dict[str, Any]:
    """Make several chats one (an export taken for a new chat that is not): their
    messages, tombstones and unparsed input move to ``target``; each merged chat stays
    as an alias (its names still count for holds) and later exports of it arrive in
    ``target``. Fingerprints are not rewritten (ingest Merkle roots stay valid)."""
    store = archive.store
    if not reason.strip():
        raise InputError("merging chats needs --reason (recorded in the audit trail)")
    if not sources or target in sources:
        raise InputError("give the chat to keep and one or more other chats to merge into it")
    with store.transaction():
        into = _chat(store, target)
        merged = []
        for source in sources:
            row = _chat(store, source)
            if row["platform"] != into["platform"]:
                raise Refused(f"chat {source} is {row['platform']}, chat {target} is not")
            held_before = _held(store, archive.default_tz, _ids(store, source))
            store.execute(
                "UPDATE chats SET merged_into = ?1 WHERE id = ?2 OR merged_into = ?2",
                (target, source),
            )
            moved = _move(store, archive.default_tz, "chat_id = ?", (source,), target, held_before)
            for table in ("tombstones", "unparsed"):
                store.execute(f"UPDATE {table} SET chat_id = ? WHERE chat_id = ?", (target, source))
            merged.append({"chat_id": source, "chat": row["title"] or row["key"], **moved})
        report = {
            "chat_id": target,
            "chat": into["title"] or into["key"],
            "merged": merged,
            "reason": reason,
        }
        auditlog.append(store, inv, details=report)
    return report


def split(
    archive: Archive,
    chat_id: int,
    source_id: int,
    reason: str,
    inv: Invocation,
    title: str | None = None,
) -> dict[str, Any]:
    """Take the messages one export brought into a chat out into a chat of their own
    (an export taken for a conversation it is not). Messages that other exports of the
    chat also hold stay; they are counted."""
    store = archive.store
    if not reason.strip():
        raise InputError("splitting a chat needs --reason (recorded in the audit trail)")
    with store.transaction():
        row = _chat(store, chat_id)
        source = store.one("SELECT name FROM sources WHERE id = ?", (source_id,))
        if source is None:
            raise NotFound(f"no source with id {source_id}; see `archiver sources list`")
        n = store.one(
            "SELECT count(*) FROM messages WHERE chat_id = ? AND source_id = ?",
            (chat_id, source_id),
        )
        if not n:
            raise Refused(f"source {source_id} ({source}) brought no message of chat {chat_id}")
        new_title = title or row["title"] or row["key"]
        key, k = new_title, 1
        while store.one(
            "SELECT 1 FROM chats WHERE platform = ? AND key = ?", (row["platform"], key)
        ):
            k += 1
            key = f"{new_title} #{k}"
        new_id = int(
            store.execute(
                "INSERT INTO chats(platform, key, title, type, extra) VALUES (?, ?, ?, ?, ?)",
                (row["platform"], key, new_title, row["type"], row["extra"]),
            ).lastrowid
        )
        moved = _move(
            store, archive.default_tz, "chat_id = ? AND source_id = ?", (chat_id, source_id), new_id
        )
        store.execute(
            "UPDATE tombstones SET chat_id = ? WHERE chat_id = ? AND source_id = ?",
            (new_id, chat_id, source_id),
        )
        store.execute(
            "UPDATE unparsed SET chat_id = ? WHERE chat_id = ? AND source_id = ?",
            (new_id, chat_id, source_id),
        )
        shared = store.one(
            "SELECT count(*) FROM message_sources s JOIN messages m ON m.id = s.message_id "
            "WHERE s.source_id = ? AND m.chat_id = ?",
            (source_id, chat_id),
        )
        report = {
            "chat_id": chat_id,
            "chat": row["title"] or row["key"],
            "source_id": source_id,
            "source": source,
            "new_chat_id": new_id,
            "new_chat": new_title,
            "also_in_other_exports": int(shared),
            "reason": reason,
            **moved,
        }
        auditlog.append(store, inv, details=report)
    return report
