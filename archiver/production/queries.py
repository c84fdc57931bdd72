"""Every SQL statement of productions, as functions that take the store.

Nothing else in ``archiver.production`` holds a cursor: the use cases call these inside
the transactions they open (``Store.transaction``) or inside ``read_snapshot``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from archiver.store.database import Store

_CHUNK = 500


def _marks(values: Sequence[Any]) -> str:
    return ",".join("?" * len(values))


@contextmanager
def read_snapshot(store: Store) -> Iterator[None]:
    """One consistent read of the archive (WAL keeps it while others write)."""
    store.execute("BEGIN")
    try:
        yield
    finally:
        store.execute("COMMIT")


# --- matters and productions --------------------------------------------------------------


def matter(store: Store, name_key: str) -> dict[str, Any] | None:
    rows = store.rows("SELECT * FROM matters WHERE name_key = ?", (name_key,))
    return rows[0] if rows else None


def add_matter(store: Store, name: str, name_key: str, now: int) -> None:
    store.execute(
        "INSERT INTO matters(name, name_key, created_at) VALUES (?, ?, ?)", (name, name_key, now)
    )


def last_prefix(store: Store, matter_id: int) -> str | None:
    value = store.one(
        "SELECT bates_prefix FROM productions WHERE matter_id = ? ORDER BY number DESC LIMIT 1",
        (matter_id,),
    )
    return None if value is None else str(value)


def add_production(store: Store, row: dict[str, Any]) -> int:
    """A new production row (status 'reserved'); its number counts in the matter."""
    store.execute(
        "UPDATE matters SET productions = productions + 1 WHERE id = ?", (row["matter_id"],)
    )
    cur = store.execute(
        "INSERT INTO productions(matter_id, number, status, query, options, bates_prefix, "
        "counts, created_at, created_by, out_dir) VALUES (?,?,?,?,?,?,?,?,?,?)",
        (
            row["matter_id"],
            row["number"],
            "reserved",
            row["query"],
            json.dumps(row["options"], sort_keys=True),
            row["bates_prefix"],
            "{}",
            row["created_at"],
            row["created_by"],
            row["out_dir"],
        ),
    )
    return int(cur.lastrowid)


def reserve_bates(store: Store, matter_id: int, count: int) -> int:
    """Take ``count`` numbers from the matter's sequence; the first of them."""
    first = int(store.one("SELECT next_bates FROM matters WHERE id = ?", (matter_id,)))
    store.execute("UPDATE matters SET next_bates = next_bates + ? WHERE id = ?", (count, matter_id))
    return first


def set_reserved(
    store: Store, production_id: int, first: int | None, last: int | None, counts: dict[str, Any]
) -> None:
    store.execute(
        "UPDATE productions SET bates_first = ?, bates_last = ?, counts = ? WHERE id = ?",
        (first, last, json.dumps(counts, sort_keys=True), production_id),
    )


def finish(
    store: Store,
    production_id: int,
    status: str,
    at: int,
    manifest_sha256: str | None = None,
    error: str | None = None,
) -> None:
    store.execute(
        "UPDATE productions SET status = ?, finished_at = ?, manifest_sha256 = ?, error = ? "
        "WHERE id = ?",
        (status, at, manifest_sha256, error, production_id),
    )


_PRODUCTION = (
    "SELECT p.*, m.name AS matter FROM productions p JOIN matters m ON m.id = p.matter_id "
)


def productions(store: Store, matter_key: str | None = None) -> list[dict[str, Any]]:
    if matter_key is None:
        return store.rows(_PRODUCTION + "ORDER BY m.name_key, p.number")
    return store.rows(_PRODUCTION + "WHERE m.name_key = ? ORDER BY p.number", (matter_key,))


def production(store: Store, matter_key: str, number: int) -> dict[str, Any] | None:
    rows = store.rows(_PRODUCTION + "WHERE m.name_key = ? AND p.number = ?", (matter_key, number))
    return rows[0] if rows else None


# --- the selection: hits and their context -----------------------------------------------


def select_all(store: Store, production_id: int) -> None:
    store.execute(
        "INSERT INTO production_messages(production_id, chat_id, message_id, context) "
        "SELECT ?, chat_id, id, 0 FROM messages",
        (production_id,),
    )


def select_hits(store: Store, production_id: int, ids: Sequence[int]) -> None:
    """Mark ``ids`` as hits (a context row of one of them becomes a hit)."""
    if not ids:
        return
    store.execute(
        "INSERT INTO production_messages(production_id, chat_id, message_id, context) "
        f"SELECT ?, chat_id, id, 0 FROM messages WHERE id IN ({_marks(ids)}) "
        "ON CONFLICT DO UPDATE SET context = 0",
        (production_id, *ids),
    )


def hits_after(
    store: Store, production_id: int, after: tuple[int, int], limit: int
) -> list[tuple[int, int]]:
    """The next ``limit`` hits (chat id, message id) after ``after``, in that order."""
    rows = store.execute(
        "SELECT chat_id, message_id FROM production_messages WHERE production_id = ? "
        "AND context = 0 AND (chat_id, message_id) > (?, ?) ORDER BY chat_id, message_id "
        "LIMIT ?",
        (production_id, after[0], after[1], limit),
    ).fetchall()
    return [(int(c), int(m)) for c, m in rows]


def neighbours(store: Store, chat_id: int, message_id: int, n: int) -> list[int]:
    """The ``n`` messages before and the ``n`` after ``message_id`` in its chat."""
    before = store.execute(
        "SELECT id FROM messages WHERE chat_id = ? AND id < ? ORDER BY id DESC LIMIT ?",
        (chat_id, message_id, n),
    ).fetchall()
    after = store.execute(
        "SELECT id FROM messages WHERE chat_id = ? AND id > ? ORDER BY id LIMIT ?",
        (chat_id, message_id, n),
    ).fetchall()
    return [int(r[0]) for r in before + after]


def select_context(store: Store, production_id: int, chat_id: int, ids: Iterable[int]) -> None:
    store.conn.executemany(
        "INSERT OR IGNORE INTO production_messages(production_id, chat_id, message_id, "
        "context) VALUES (?, ?, ?, 1)",
        [(production_id, chat_id, i) for i in ids],
    )


def selection_counts(store: Store, production_id: int) -> tuple[int, int]:
    """(hits, context messages) of a production."""
    row = store.execute(
        "SELECT count(*) - coalesce(sum(context), 0), coalesce(sum(context), 0) "
        "FROM production_messages WHERE production_id = ?",
        (production_id,),
    ).fetchone()
    return int(row[0]), int(row[1])


def selection_times(store: Store, production_id: int) -> Iterator[tuple[int, int, int | None]]:
    """(chat id, message id, sent_at) of every selected message, by chat then time."""
    cur = store.execute(
        "SELECT pm.chat_id, pm.message_id, m.sent_at FROM production_messages pm "
        "JOIN messages m ON m.id = pm.message_id WHERE pm.production_id = ? "
        "ORDER BY pm.chat_id, pm.message_id",
        (production_id,),
    )
    for chat_id, mid, sent_at in cur:
        yield int(chat_id), int(mid), None if sent_at is None else int(sent_at)


def nth_selected(store: Store, production_id: int, chat_id: int, lo: int, offset: int) -> int:
    """The id of the selected message ``offset`` places after ``lo`` (included) in a chat."""
    return int(
        store.one(
            "SELECT message_id FROM production_messages WHERE production_id = ? "
            "AND chat_id = ? AND message_id >= ? ORDER BY message_id LIMIT 1 OFFSET ?",
            (production_id, chat_id, lo, offset),
        )
    )


def document_messages(
    store: Store, production_id: int, chat_id: int, first: int, last: int
) -> list[tuple[int, bool]]:
    """(message id, is context) of one document, oldest first."""
    rows = store.execute(
        "SELECT message_id, context FROM production_messages WHERE production_id = ? "
        "AND chat_id = ? AND message_id BETWEEN ? AND ? ORDER BY message_id",
        (production_id, chat_id, first, last),
    ).fetchall()
    return [(int(m), bool(c)) for m, c in rows]


def produced(store: Store, production_id: int) -> Iterator[tuple[int, int, bool]]:
    """(chat id, message id, is context) of every produced message, by chat then time."""
    cur = store.execute(
        "SELECT chat_id, message_id, context FROM production_messages "
        "WHERE production_id = ? ORDER BY chat_id, message_id",
        (production_id,),
    )
    for chat_id, mid, ctx in cur:
        yield int(chat_id), int(mid), bool(ctx)


# --- documents ----------------------------------------------------------------------------

DOCUMENT_COLUMNS = (
    "seq",
    "chat_id",
    "slice_start",
    "slice_end",
    "part",
    "parts",
    "first_id",
    "last_id",
    "events",
    "pages",
    "attachments",
    "bates_first",
    "pages_last",
    "bates_last",
)


def add_documents(store: Store, production_id: int, rows: Iterable[Sequence[int]]) -> None:
    cols = ", ".join(DOCUMENT_COLUMNS)
    store.conn.executemany(
        f"INSERT INTO production_documents(production_id, {cols}) "
        f"VALUES (?, {_marks(DOCUMENT_COLUMNS)})",
        [(production_id, *row) for row in rows],
    )


def documents(store: Store, production_id: int) -> Iterator[dict[str, Any]]:
    cur = store.execute(
        f"SELECT {', '.join(DOCUMENT_COLUMNS)} FROM production_documents "
        "WHERE production_id = ? ORDER BY seq",
        (production_id,),
    )
    for row in cur:
        yield dict(zip(DOCUMENT_COLUMNS, row, strict=True))


# --- what a document shows ----------------------------------------------------------------


def chat(store: Store, chat_id: int) -> dict[str, Any]:
    return store.rows("SELECT id, platform, key, title, type FROM chats WHERE id = ?", (chat_id,))[
        0
    ]


def senders(store: Store, ids: Sequence[int]) -> dict[int, int]:
    """message id -> participant id of its sender (messages that have one)."""
    out: dict[int, int] = {}
    for start in range(0, len(ids), _CHUNK):
        part = ids[start : start + _CHUNK]
        for mid, pid in store.execute(
            f"SELECT id, sender_id FROM messages WHERE id IN ({_marks(part)}) "
            "AND sender_id IS NOT NULL",
            part,
        ):
            out[int(mid)] = int(pid)
    return out


def participants(store: Store, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """participant id -> its key, name and phone."""
    wanted = sorted(set(ids))
    out: dict[int, dict[str, Any]] = {}
    for start in range(0, len(wanted), _CHUNK):
        part = wanted[start : start + _CHUNK]
        for row in store.rows(
            f"SELECT id, key, name, phone FROM participants WHERE id IN ({_marks(part)})", part
        ):
            out[int(row["id"])] = row
    return out


def participant_ids(store: Store, platform: str, keys: Iterable[str]) -> dict[str, int]:
    """platform key -> participant id, for the keys that are known."""
    wanted = sorted(set(keys))
    out: dict[str, int] = {}
    for start in range(0, len(wanted), _CHUNK):
        part = wanted[start : start + _CHUNK]
        for key, pid in store.execute(
            f"SELECT key, id FROM participants WHERE platform = ? AND key IN ({_marks(part)})",
            [platform, *part],
        ):
            out[str(key)] = int(pid)
    return out


def versions(store: Store, ids: Sequence[int]) -> dict[int, list[tuple[str, int | None]]]:
    """message id -> its earlier texts (oldest first) with the time each was edited."""
    out: dict[int, list[tuple[str, int | None]]] = {}
    for start in range(0, len(ids), _CHUNK):
        part = ids[start : start + _CHUNK]
        for mid, text, edited_at in store.execute(
            f"SELECT message_id, text, edited_at FROM message_versions "
            f"WHERE message_id IN ({_marks(part)}) ORDER BY message_id, version",
            part,
        ):
            out.setdefault(int(mid), []).append((str(text), edited_at))
    return out


def stored_attachments(store: Store, ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    """message id -> its attachments (by ordinal), each with ``stored``: whether the file
    itself is in the archive."""
    out: dict[int, list[dict[str, Any]]] = {}
    for start in range(0, len(ids), _CHUNK):
        part = ids[start : start + _CHUNK]
        for row in store.rows(
            "SELECT a.message_id, a.id, a.ordinal, a.name, a.mime, a.size, a.sha256, a.note, "
            "b.sha256 IS NOT NULL AS stored FROM attachments a "
            "LEFT JOIN blobs b ON b.sha256 = a.sha256 "
            f"WHERE a.message_id IN ({_marks(part)}) ORDER BY a.message_id, a.ordinal",
            part,
        ):
            out.setdefault(int(row["message_id"]), []).append(row)
    return out
