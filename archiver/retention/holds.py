"""Legal holds: scoped, additive, open-ended, query-able — and fail closed.

A hold's scope is the AND of its parts (custodians, chats, participants, a sent-date
window, a search query); holds combine by OR. A hold covers every matching message
already archived and every one ingested later (it is evaluated when a purge runs, not
when the hold is made). A query hold also holds, within its other scope, every message
the index cannot judge (media or contact cards without text): Purview's rule for
unindexed items. Messages without a time are inside every date window (fail closed).

Hold names are unique in their normal form (case, spaces, hyphens and underscores
ignored: ``HARLOW-TERMS`` and ``Harlow Terms`` are one name), and any spelling of it
finds the hold. A hold whose chat, custodian or participant globs match nothing in the
archive, or whose query matches no message, is placed with a warning naming the nearest
existing value: it still holds what arrives later.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from archiver.archive.session import Archive
from archiver.core.errors import InputError, NotFound, Refused
from archiver.retention.scopes import Vocabulary, first_match, nearest
from archiver.search.query import SYNTAX
from archiver.store import auditlog
from archiver.store.auditlog import Invocation
from archiver.store.database import Store, check_zone
from archiver.store.schema import hold_name_key

if TYPE_CHECKING:
    from archiver.retention.decisions import MessageFacts

UNJUDGEABLE_KINDS = ("media", "contact")


def _day_start(value: str, tz: str, label: str) -> int:
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise InputError(f"{label} expects a date as YYYY-MM-DD, not {value!r}") from None
    return int(datetime(day.year, day.month, day.day, tzinfo=check_zone(tz)).timestamp())


class _CompiledHold:
    def __init__(
        self, store: Store, row: dict[str, Any], uni_chats: dict[int, list[str]], tz: str
    ) -> None:
        from archiver.search import engine as search

        scope = json.loads(row["scope"])
        self.name = row["name"]
        self.chats: set[int] | None = None
        if scope.get("chat"):
            self.chats = {c for c, names in uni_chats.items() if first_match(scope["chat"], names)}
        if scope.get("participant"):
            people = {
                int(p[0])
                for p in store.execute(
                    "SELECT p.id, p.key, p.name, pe.name FROM participants p "
                    "LEFT JOIN persons pe ON pe.id = p.person_id"
                ).fetchall()
                if first_match(scope["participant"], p[1:])
            }
            senders = ",".join(map(str, sorted(people))) or "NULL"
            in_chats = {
                int(r[0])
                for r in store.execute(
                    f"SELECT DISTINCT chat_id FROM messages WHERE sender_id IN ({senders})"
                )
            }
            self.chats = in_chats if self.chats is None else self.chats & in_chats
        self.custodians: set[int] | None = None
        if scope.get("custodian"):
            self.custodians = {
                int(r[0])
                for r in store.execute("SELECT id, name FROM custodians")
                if first_match(scope["custodian"], [r[1]])
            }
        self.after = scope.get("sent_after_ts")
        self.before = scope.get("sent_before_ts")
        self.query_ids: set[int] | None = None
        if scope.get("query"):
            # A hold keeps the query language it was written in (syntax 1 before it was
            # recorded): what it preserves must not change under it.
            zone = check_zone(scope.get("tz") or tz)
            syntax = int(scope.get("query_syntax", 1))
            plan = search.compile_query(store, scope["query"], zone, syntax=syntax)
            self.query_ids = set(search.matching_ids(store, plan))

    def covers(self, f: MessageFacts) -> bool:
        if self.chats is not None and f.chat_id not in self.chats:
            return False
        if self.custodians is not None and not self.custodians.intersection(f.custodians):
            return False
        if f.sent_at is not None:
            if self.after is not None and f.sent_at < self.after:
                return False
            if self.before is not None and f.sent_at >= self.before:
                return False
        if self.query_ids is not None and f.id not in self.query_ids:
            return f.empty_text and f.kind in UNJUDGEABLE_KINDS
        return True


def chat_names(store: Store) -> dict[int, list[str]]:
    """The names a hold's chat scope is matched against, by chat: its title and key, and
    those of every chat merged into it (`archiver chats merge` never narrows a hold)."""
    names: dict[int, list[str]] = {}
    for chat_id, key, title, merged_into in store.execute(
        "SELECT id, key, title, merged_into FROM chats ORDER BY id"
    ):
        into = int(merged_into if merged_into is not None else chat_id)
        names.setdefault(into, []).extend(v.casefold() for v in (title, key) if v)
    return names


class HoldMatcher:
    """Every active hold, compiled once; ``held_by`` lists the holds covering a message."""

    def __init__(self, store: Store, tz: str) -> None:
        chats = chat_names(store)
        rows = store.rows("SELECT * FROM holds WHERE released_at IS NULL ORDER BY id")
        self.holds = [_CompiledHold(store, r, chats, tz) for r in rows]
        self.names = [h.name for h in self.holds]

    def held_by(self, facts: MessageFacts) -> list[str]:
        return [h.name for h in self.holds if h.covers(facts)]


def find_hold(store: Store, name: str) -> dict[str, Any]:
    """The hold called ``name``: exactly so, else any spelling of its normal form."""
    rows = store.rows("SELECT * FROM holds WHERE name = ?", (name,)) or store.rows(
        "SELECT * FROM holds WHERE name_key = ?", (hold_name_key(name),)
    )
    if not rows:
        near = nearest(name, [str(r[0]) for r in store.execute("SELECT name FROM holds")])
        guess = f"did you mean {near!r}? " if near else ""
        raise NotFound(f"no hold named {name!r}; {guess}see `archiver hold list`")
    return rows[0]


def _describe(row: dict[str, Any], held: int | None = None) -> dict[str, Any]:
    def ts(v: int | None) -> str | None:
        return None if v is None else auditlog.format_time(datetime.fromtimestamp(v, UTC))

    scope = {k: v for k, v in json.loads(row["scope"]).items() if not k.endswith("_ts")}
    if "query" in scope:
        scope.setdefault("query_syntax", 1)  # written before the syntax was recorded
    out = {
        "name": row["name"],
        "matter": row["matter"],
        "reason": row["reason"],
        "scope": scope,
        "created_at": ts(row["created_at"]),
        "created_by": row["created_by"],
        "active": row["released_at"] is None,
        "released_at": ts(row["released_at"]),
        "released_by": row["released_by"],
        "release_reason": row["release_reason"],
    }
    if held is not None:
        out["held_now"] = held
    return out


def held_count(store: Store, row: dict[str, Any], tz: str) -> int:
    return _assess(store, row, tz)[0]


def _assess(store: Store, row: dict[str, Any], tz: str) -> tuple[int, list[dict[str, Any]]]:
    """How many messages the hold covers now, and a warning for every part of its scope
    that matches nothing (the nearest existing value named), or, failing that, for a
    hold that covers no message at all."""
    from archiver.retention.decisions import iter_facts

    hold = _CompiledHold(store, row, chat_names(store), tz)
    held = sum(1 for f in iter_facts(store) if hold.covers(f))
    scope = json.loads(row["scope"])
    vocabulary = Vocabulary(store)
    warnings = [
        found
        for key in ("custodian", "chat", "participant")
        for glob in scope.get(key, [])
        if (found := vocabulary.unmatched(key, glob, f"--{key}")) is not None
    ]
    if hold.query_ids is not None and not hold.query_ids:
        warnings.append(
            {
                "field": "query",
                "value": scope["query"],
                "nearest": None,
                "message": f"--query {scope['query']!r} matches no message in the archive "
                "now (check its spelling with `archiver search`)",
            }
        )
    if not warnings and held == 0:
        warnings.append(
            {
                "field": None,
                "value": None,
                "nearest": None,
                "message": "the hold covers no message now: no message matches all the "
                "parts of its scope together",
            }
        )
    return held, warnings


def create(
    archive: Archive,
    name: str,
    *,
    matter: str,
    reason: str,
    custodian: list[str],
    chat: list[str],
    participant: list[str],
    sent_after: str | None,
    sent_before: str | None,
    query: str | None,
    inv: Invocation,
) -> dict[str, Any]:
    """Place a hold; it covers matching messages now and every one ingested later.

    Refused when another hold has the same name in normal form; placed with warnings
    (``info["warnings"]``) when part of its scope matches nothing in the archive."""
    from archiver.search import engine as search

    store = archive.store
    tz = archive.default_tz
    name = name.strip()
    if not name or not matter.strip() or not reason.strip():
        raise InputError("a hold needs a name, --matter and --reason")
    key = hold_name_key(name)
    if not key:
        raise InputError(f"hold name {name!r} has no letters or digits; give it a name to find")
    scope: dict[str, Any] = {"tz": tz}
    for part, values in (("custodian", custodian), ("chat", chat), ("participant", participant)):
        if values:
            scope[part] = list(values)
    if sent_after:
        scope["sent_after"], scope["sent_after_ts"] = (
            sent_after,
            _day_start(sent_after, tz, "--sent-after"),
        )
    if sent_before:
        scope["sent_before"], scope["sent_before_ts"] = (
            sent_before,
            _day_start(sent_before, tz, "--sent-before"),
        )
    if sent_after and sent_before and scope["sent_after_ts"] >= scope["sent_before_ts"]:
        raise InputError("--sent-after must be before --sent-before")
    with store.transaction():
        if query:
            search.compile_query(store, query, check_zone(tz))  # refuse a malformed query now
            scope["query"] = query
            scope["query_syntax"] = SYNTAX
        same = store.one("SELECT name FROM holds WHERE name = ? OR name_key = ?", (name, key))
        if same is not None:
            alike = (
                ""
                if same == name
                else f" ({name!r} is the same name: hold names ignore case, spaces, hyphens "
                "and underscores)"
            )
            raise Refused(
                f"a hold named {same!r} already exists{alike}; holds are never renamed or "
                "reused, so choose another name"
            )
        store.execute(
            "INSERT INTO holds(name, name_key, matter, reason, scope, created_at, created_by) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                name,
                key,
                matter,
                reason,
                json.dumps(scope, sort_keys=True),
                int(inv.now().timestamp()),
                inv.user,
            ),
        )
        row = find_hold(store, name)
        held, warnings = _assess(store, row, tz)
        info = _describe(row, held) | {"warnings": warnings}
        auditlog.append(
            store,
            inv,
            details={
                "hold": name,
                "matter": matter,
                "scope": info["scope"],
                "held_now": held,
                "warnings": len(warnings),
            },
        )
    return info


def release(archive: Archive, name: str, reason: str, inv: Invocation) -> dict[str, Any]:
    """Release the hold called ``name`` (any spelling of its normal form)."""
    store = archive.store
    if not reason.strip():
        raise InputError("releasing a hold needs --reason")
    with store.transaction():
        row = find_hold(store, name)
        if row["released_at"] is not None:
            raise Refused(f"hold {row['name']!r} was already released")
        store.execute(
            "UPDATE holds SET released_at = ?, released_by = ?, release_reason = ? WHERE id = ?",
            (int(inv.now().timestamp()), inv.user, reason, row["id"]),
        )
        info = _describe(find_hold(store, row["name"]))
        auditlog.append(store, inv, details={"hold": row["name"], "reason": reason})
    return info


def list_holds(archive: Archive, inv: Invocation) -> list[dict[str, Any]]:
    store = archive.store
    with store.transaction():
        rows = [_describe(r) for r in store.rows("SELECT * FROM holds ORDER BY id")]
        auditlog.append(store, inv, details={"holds": len(rows)})
    return rows


def show(archive: Archive, name: str, inv: Invocation) -> dict[str, Any]:
    """The hold called ``name`` (any spelling), what it holds now and, if it is active,
    the warnings of its scope."""
    store = archive.store
    with store.transaction():
        row = find_hold(store, name)
        held, warnings = (
            _assess(store, row, archive.default_tz) if row["released_at"] is None else (0, [])
        )
        info = _describe(row, held) | {"warnings": warnings}
        auditlog.append(store, inv, details={"hold": row["name"], "held_now": held})
    return info
