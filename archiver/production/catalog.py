"""`archiver production list|show`: the productions recorded in the archive."""

from __future__ import annotations

import json
from typing import Any

from archiver.archive.session import Archive
from archiver.core.errors import NotFound
from archiver.production import queries
from archiver.production.plan import bates, matter_key, parse_label, production_label
from archiver.store import auditlog


def _time(ts: int | None) -> str | None:
    from datetime import UTC, datetime

    return None if ts is None else auditlog.format_time(datetime.fromtimestamp(ts, UTC))


def _row(p: dict[str, Any]) -> dict[str, Any]:
    prefix = p["bates_prefix"]
    return {
        "matter": p["matter"],
        "production": production_label(int(p["number"])),
        "status": p["status"],
        "query": p["query"],
        "options": json.loads(p["options"]),
        "bates_first": None if p["bates_first"] is None else bates(prefix, p["bates_first"]),
        "bates_last": None if p["bates_last"] is None else bates(prefix, p["bates_last"]),
        "counts": json.loads(p["counts"]),
        "created_at": _time(p["created_at"]),
        "created_by": p["created_by"],
        "finished_at": _time(p["finished_at"]),
        "out": p["out_dir"],
        "manifest_sha256": p["manifest_sha256"],
        "error": p["error"],
    }


def list_productions(archive: Archive, matter: str | None = None) -> list[dict[str, Any]]:
    """Every production (of ``matter``), by matter and number."""
    key = None if matter is None else matter_key(matter)
    return [_row(p) for p in queries.productions(archive.store, key)]


def show_production(archive: Archive, matter: str, label: str) -> dict[str, Any]:
    """One production with its documents and their Bates ranges."""
    store = archive.store
    found = queries.production(store, matter_key(matter), parse_label(label))
    if found is None:
        raise NotFound(
            f"matter {matter!r} has no production {label}; `archiver production list` "
            "shows the productions"
        )
    info = _row(found)
    prefix = found["bates_prefix"]
    chats: dict[int, str] = {}
    docs = []
    for d in queries.documents(store, int(found["id"])):
        if d["chat_id"] not in chats:
            c = queries.chat(store, d["chat_id"])
            chats[d["chat_id"]] = str(c["title"] or c["key"])
        docs.append(
            {
                "bates_begin": bates(prefix, d["bates_first"]),
                "bates_end": bates(prefix, d["pages_last"]),
                "family_end": bates(prefix, d["bates_last"]),
                "conversation": chats[d["chat_id"]],
                "messages": d["events"],
                "pages": d["pages"],
                "attachments": d["attachments"],
                "part": d["part"],
                "parts": d["parts"],
            }
        )
    info["documents"] = docs
    return info
