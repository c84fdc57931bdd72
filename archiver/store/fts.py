"""Keeping the full-text index in step with the messages table.

``messages_fts`` is a contentless FTS5 table: it stores terms, not texts. Removing a
message from it takes FTS5's ``delete`` command with exactly the values that were
indexed, which are recomputed here from the stored text and attachment names with the
same ``textindex.index_columns`` that indexed them. With FTS5's ``secure-delete``
option (set when the table is created) the terms are then physically removed from the
index pages — which a contentless_delete table cannot do. Changing ``index_columns``
therefore needs a migration that rebuilds the index.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from archiver.core import tokens as textindex
from archiver.store.database import Store

INSERT = "INSERT INTO messages_fts(rowid, body, files, cjk) VALUES (?, ?, ?, ?)"
DELETE = (
    "INSERT INTO messages_fts(messages_fts, rowid, body, files, cjk) VALUES ('delete', ?, ?, ?, ?)"
)


def columns_for(store: Store, ids: Sequence[int]) -> list[tuple[int, str, str, str]]:
    """(rowid, body, files, cjk) as indexed for each stored message in ``ids``."""
    if not ids:
        return []
    q = ",".join("?" * len(ids))
    names: dict[int, list[str]] = {}
    for mid, name in store.execute(
        f"SELECT message_id, name FROM attachments WHERE message_id IN ({q}) "
        "ORDER BY message_id, ordinal",
        list(ids),
    ):
        names.setdefault(int(mid), []).append(name)
    return [
        (int(mid), *textindex.index_columns(text, " ".join(names.get(int(mid), []))))
        for mid, text in store.execute(
            f"SELECT id, text FROM messages WHERE id IN ({q})", list(ids)
        )
    ]


def unindex(store: Store, ids: Sequence[int]) -> None:
    """Remove stored messages from the index (before their rows change or go)."""
    store.conn.executemany(DELETE, columns_for(store, ids))


def index(store: Store, rows: Iterable[Sequence[int | str]]) -> None:
    """Index (rowid, body, files, cjk) rows."""
    store.conn.executemany(INSERT, rows)


def reindex(store: Store, ids: Sequence[int]) -> None:
    """Index stored messages as they are now (after ``unindex`` and an update)."""
    index(store, columns_for(store, ids))
