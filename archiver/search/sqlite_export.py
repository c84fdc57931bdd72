"""`archiver export --format sqlite`: the matched messages as a plain SQLite database.

Built with sqlite-utils, for analysts who want SQL: tables ``messages`` (with a
full-text index on ``text``), ``chats``, ``participants`` and ``attachments``, which
Datasette and the sqlite-utils command line open directly. The database is plaintext by
design (like every export), written to a temporary name beside the target with mode
0600 and renamed when complete; SQLite keeps its temporary data in memory.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

_BATCH = 1000


def _rows(
    records: Iterable[dict[str, Any]], seen: dict[str, set[Any]]
) -> Iterable[tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any] | None]]:
    for r in records:
        message = {
            "id": r["id"],
            "chat": r["chat"],
            "chat_key": r["chat_key"],
            "platform": r["platform"],
            "sender": r["sender"],
            "sender_key": r["sender_key"],
            "sent_at": r["sent_at"],
            "kind": r["kind"],
            "text": r["text"],
            "edited": int(r["edited"]),
            "edited_at": r["edited_at"],
            "reply_to_id": r["reply_to_id"],
            "forwarded_from": r["forwarded_from"],
            "custodians": "; ".join(r["custodians"]),
        }
        files = [{"message_id": r["id"], **a} for a in r["attachments"]]
        person = None
        key = (r["platform"], r["sender_key"])
        if r["sender_key"] is not None and key not in seen["participants"]:
            seen["participants"].add(key)
            person = {"platform": r["platform"], "key": r["sender_key"], "name": r["sender"]}
        yield message, files, person


def write(
    out: Path,
    records: Iterable[dict[str, Any]],
    progress: Callable[[int], None],
) -> int:
    """Write ``records`` into a new SQLite database at ``out``; how many were written."""
    import sqlite_utils

    tmp = out.with_name(f".{out.name}.partial-{os.getpid()}")
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    conn = sqlite3.connect(tmp)
    conn.execute("PRAGMA temp_store = MEMORY")
    db = sqlite_utils.Database(conn)
    seen: dict[str, set[Any]] = {"participants": set()}
    n = 0
    chats: dict[tuple[str, str], dict[str, Any]] = {}
    try:
        batch: list[dict[str, Any]] = []
        files: list[dict[str, Any]] = []
        people: list[dict[str, Any]] = []
        for message, attached, person in _rows(records, seen):
            batch.append(message)
            files.extend(attached)
            if person:
                people.append(person)
            chats.setdefault(
                (message["platform"], message["chat_key"]),
                {
                    "platform": message["platform"],
                    "key": message["chat_key"],
                    "title": message["chat"],
                },
            )
            if len(batch) >= _BATCH:
                _flush(db, batch, files, people)
                n += len(batch)
                progress(len(batch))
                batch, files, people = [], [], []
        _flush(db, batch, files, people)
        n += len(batch)
        progress(len(batch))
        for name in ("messages", "chats", "participants", "attachments"):
            db.table(name).create(_EMPTY[name], pk=_PK.get(name), if_not_exists=True)
        db.table("chats").insert_all(list(chats.values()), columns=_EMPTY["chats"])
        db.table("messages").enable_fts(["text"], create_triggers=False)
        conn.commit()
        conn.close()
        os.replace(tmp, out)
    except BaseException:
        conn.close()
        tmp.unlink(missing_ok=True)
        raise
    return n


_PK = {"messages": "id"}
_EMPTY: dict[str, dict[str, type]] = {
    "messages": {
        "id": int,
        "chat": str,
        "chat_key": str,
        "platform": str,
        "sender": str,
        "sender_key": str,
        "sent_at": str,
        "kind": str,
        "text": str,
        "edited": int,
        "edited_at": str,
        "reply_to_id": int,
        "forwarded_from": str,
        "custodians": str,
    },
    "chats": {"platform": str, "key": str, "title": str},
    "participants": {"platform": str, "key": str, "name": str},
    "attachments": {
        "message_id": int,
        "name": str,
        "sha256": str,
        "size": int,
        "mime": str,
        "note": str,
    },
}


def _flush(db: Any, batch: list[Any], files: list[Any], people: list[Any]) -> None:
    if batch:
        db.table("messages").insert_all(batch, pk="id", columns=_EMPTY["messages"])
    if files:
        db.table("attachments").insert_all(files, columns=_EMPTY["attachments"], alter=True)
    if people:
        db.table("participants").insert_all(people, columns=_EMPTY["participants"])
