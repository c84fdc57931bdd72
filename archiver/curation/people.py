"""People, not spellings: link the names one human appears under on different phones."""

from __future__ import annotations

from typing import Any

from archiver.archive.session import Archive
from archiver.core.errors import InputError, NotFound
from archiver.search.engine import name_matches
from archiver.store import auditlog
from archiver.store.auditlog import Invocation


def _matching(archive: Archive, name: str) -> list[dict[str, Any]]:
    rows = archive.store.rows("SELECT id, platform, key, name, person_id FROM participants")
    exact = [
        r
        for r in rows
        if (r["name"] or "").casefold() == name.casefold() or r["key"].casefold() == name.casefold()
    ]
    return exact or [r for r in rows if name_matches(name, r["name"], r["key"])]


def link(
    archive: Archive, names: list[str], inv: Invocation, *, person: str | None = None
) -> dict[str, Any]:
    """Record that every participant named in ``names`` is one person."""
    if len(names) < 2:
        raise InputError(
            'give at least two names to link, e.g. `archiver people link "Dana" "+1 555 010 2030"`'
        )
    store = archive.store
    with store.transaction():
        found: list[dict[str, Any]] = []
        for name in names:
            hits = _matching(archive, name)
            if not hits:
                raise NotFound(f"no participant is called {name!r}; see `archiver people list`")
            found.extend(hits)
        existing = sorted({r["person_id"] for r in found if r["person_id"] is not None})
        if existing:
            person_id = existing[0]
            for other in existing[1:]:
                store.execute(
                    "UPDATE participants SET person_id = ? WHERE person_id = ?", (person_id, other)
                )
                store.execute("DELETE FROM persons WHERE id = ?", (other,))
            if person:
                store.execute("UPDATE persons SET name = ? WHERE id = ?", (person, person_id))
        else:
            cur = store.execute(
                "INSERT INTO persons(name, created_at) VALUES (?, ?)",
                (person or names[0], int(inv.now().timestamp())),
            )
            person_id = int(cur.lastrowid)
        ids = sorted({r["id"] for r in found})
        store.conn.executemany(
            "UPDATE participants SET person_id = ? WHERE id = ?", [(person_id, i) for i in ids]
        )
        name = store.one("SELECT name FROM persons WHERE id = ?", (person_id,))
        linked = [f"{r['platform']}:{r['name'] or r['key']}" for r in found]
        auditlog.append(
            store, inv, details={"person_id": person_id, "person": name, "participants": linked}
        )
    return {"person_id": person_id, "person": name, "participants": linked}


def list_people(archive: Archive, inv: Invocation) -> list[dict[str, Any]]:
    """Every participant with the person it is linked to (if any) and its message count."""
    store = archive.store
    with store.transaction():
        rows = store.rows(
            "SELECT p.id, p.platform, p.key, p.name, p.phone, p.person_id, pe.name AS person, "
            "(SELECT count(*) FROM messages m WHERE m.sender_id = p.id) AS messages "
            "FROM participants p LEFT JOIN persons pe ON pe.id = p.person_id "
            "ORDER BY coalesce(pe.name, p.name, p.key) COLLATE NOCASE, p.platform"
        )
        auditlog.append(store, inv, details={"participants": len(rows)})
    return rows
