"""Custodians: whose phone an export came from. `archiver custodians list|rename`.

Names are recorded as ``names.custodian_name`` writes them (trimmed; e-mail addresses in
lower case), so ``Dana@Broker.example `` is the custodian ``dana@broker.example``. A new
name within ``NEAR`` edits of an existing custodian is refused unless the operator says
it is new (``--new-custodian``): a typo would otherwise split one person's evidence in
two, and every hold or policy scoped to the right name would miss the other half.

Renaming to a name another custodian already has merges the two, only when asked
(``--merge``): the second custodian's sources and messages become the first's. A rename
or merge is refused when a message would leave the scope of an active hold (holds match
custodians by name; a hold never narrows), and the retention rules that match the
custodian's messages before and after are reported.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from archiver import auditlog
from archiver.archive import Archive
from archiver.auditlog import Invocation
from archiver.errors import InputError, NotFound, Refused
from archiver.names import custodian_name, edit_distance
from archiver.store import Store

NEAR = 2
_CHUNK = 5000


def recorded_name(name: str) -> str:
    """The name as it will be recorded, or an error if nothing is left of it."""
    recorded = custodian_name(name)
    if not recorded:
        raise InputError("the custodian name is empty; give a name or an e-mail address")
    return recorded


def existing(store: Store, name: str) -> dict[str, Any] | None:
    """The custodian called ``name`` (as recorded, any case), or None."""
    rows = store.rows("SELECT id, name FROM custodians WHERE name = ?", (recorded_name(name),))
    return rows[0] if rows else None


def near(store: Store, name: str, exclude: int | None = None) -> list[str]:
    """Existing custodians within ``NEAR`` edits of ``name``, closest first."""
    found = []
    for custodian_id, other in store.execute("SELECT id, name FROM custodians"):
        if custodian_id == exclude:
            continue
        distance = edit_distance(name, other, NEAR)
        if distance <= NEAR:
            found.append((distance, other))
    return [other for _, other in sorted(found)]


def check_new(store: Store, name: str | None, allow_new: bool) -> str | None:
    """``name`` as recorded, after refusing a new name that is probably a typo of an
    existing custodian's (unless ``allow_new``). None stays None (no custodian)."""
    if name is None:
        return None
    recorded = recorded_name(name)
    found = existing(store, recorded)
    if found is not None:
        return str(found["name"])
    if not allow_new:
        _refuse_near(store, recorded)
    return recorded


def _refuse_near(store: Store, name: str, exclude: int | None = None) -> None:
    close = near(store, name, exclude)
    if close:
        others = " or ".join(repr(c) for c in close[:3])
        raise InputError(
            f"custodian {name!r} is new, but {others} is within {NEAR} letters of it: did you "
            f"mean {close[0]!r}? If {name!r} is another person, run again with --new-custodian"
        )


def custodian_id(store: Store, name: str | None) -> int | None:
    """The id of the custodian ``name`` (already checked by ``check_new``), created if new."""
    if not name:
        return None
    store.execute("INSERT OR IGNORE INTO custodians(name) VALUES (?)", (name,))
    return int(store.one("SELECT id FROM custodians WHERE name = ?", (name,)))


def list_custodians(archive: Archive, inv: Invocation) -> list[dict[str, Any]]:
    """Every custodian with the exports they handed over and the messages they hold."""
    store = archive.store
    with store.transaction():
        sources = Counter(
            {
                int(c): int(n)
                for c, n in store.execute(
                    "SELECT custodian_id, count(*) FROM sources WHERE custodian_id IS NOT NULL "
                    "GROUP BY 1"
                )
            }
        )
        messages = _message_counts(store)
        rows = [
            {
                "id": int(custodian_id),
                "name": name,
                "sources": sources[int(custodian_id)],
                "messages": messages[int(custodian_id)],
            }
            for custodian_id, name in store.execute(
                "SELECT id, name FROM custodians ORDER BY name COLLATE NOCASE"
            )
        ]
        auditlog.append(store, inv, details={"custodians": len(rows)})
    return rows


def _message_counts(store: Store) -> Counter[int]:
    """Messages per custodian: the first custodian of a message and every later one
    (``message_custodians`` never repeats the first), counted without a set union."""
    counts: Counter[int] = Counter()
    for sql in (
        "SELECT custodian_id, count(*) FROM messages WHERE custodian_id IS NOT NULL GROUP BY 1",
        "SELECT custodian_id, count(*) FROM message_custodians GROUP BY 1",
    ):
        for custodian, n in store.execute(sql):
            counts[int(custodian)] += int(n)
    return counts


def rename(
    archive: Archive,
    old: str,
    new: str,
    reason: str,
    inv: Invocation,
    *,
    merge: bool = False,
    new_custodian: bool = False,
) -> dict[str, Any]:
    """Rename custodian ``old`` to ``new``, or merge ``old`` into the custodian ``new``
    when that name exists and ``merge`` is given. Audited with ``reason``."""
    if not reason.strip():
        raise InputError("renaming a custodian needs --reason (recorded in the audit trail)")
    target = recorded_name(new)
    store = archive.store
    with store.transaction():
        row = existing(store, old)
        if row is None:
            close = near(store, recorded_name(old))
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise NotFound(f"no custodian is called {old!r}; {hint}see `archiver custodians list`")
        into = existing(store, target)
        if into is not None and into["id"] != row["id"]:
            _check_merge(store, row, into, merge)
        elif into is None and not new_custodian:
            _refuse_near(store, target, exclude=row["id"])
        ids = _messages_of(store, row["id"])
        held_before = _held(store, archive.default_tz, ids)
        rules_before = _rules(store, ids)
        if into is not None and into["id"] != row["id"]:
            _merge(store, row["id"], into["id"])
            kept = str(into["name"])
        else:
            store.execute("UPDATE custodians SET name = ? WHERE id = ?", (target, row["id"]))
            kept = target
        _refuse_narrowed_holds(held_before, _held(store, archive.default_tz, ids))
        report = {
            "custodian": row["name"],
            "renamed_to": kept,
            "merged": into is not None and into["id"] != row["id"],
            "sources": int(
                store.one(
                    "SELECT count(*) FROM sources s JOIN custodians c ON c.id = s.custodian_id "
                    "WHERE c.name = ?",
                    (kept,),
                )
            ),
            "messages": len(ids),
            "reason": reason,
            "rules_before": _rule_counts(rules_before),
            "rules_after": _rule_counts(_rules(store, ids)),
        }
        auditlog.append(store, inv, details=report)
    return report


def _check_merge(store: Store, row: dict[str, Any], into: dict[str, Any], merge: bool) -> None:
    if not merge:
        raise Refused(
            f"custodian {into['name']!r} already exists: renaming {row['name']!r} to it makes "
            "them one custodian (their exports and messages together); run again with --merge "
            "if they are one person"
        )
    both = store.rows(
        "SELECT a.id AS a, b.id AS b, a.name FROM sources a JOIN sources b "
        "ON b.sha256 = a.sha256 AND b.custodian_id = ? WHERE a.custodian_id = ? ORDER BY a.id",
        (into["id"], row["id"]),
    )
    if both:
        first = both[0]
        raise Refused(
            f"custodians {row['name']!r} and {into['name']!r} both handed over the export "
            f"{first['name']!r} (sources {first['a']} and {first['b']}); one custodian cannot "
            "hold one export twice, so they are not merged"
        )


def _merge(store: Store, old_id: int, new_id: int) -> None:
    """Every reference to custodian ``old_id`` made to ``new_id``; ``old_id`` removed."""
    store.execute("UPDATE sources SET custodian_id = ? WHERE custodian_id = ?", (new_id, old_id))
    store.execute(
        "INSERT OR IGNORE INTO message_custodians(message_id, custodian_id) "
        "SELECT message_id, ? FROM message_custodians WHERE custodian_id = ?",
        (new_id, old_id),
    )
    store.execute("DELETE FROM message_custodians WHERE custodian_id = ?", (old_id,))
    store.execute("UPDATE messages SET custodian_id = ? WHERE custodian_id = ?", (new_id, old_id))
    store.execute(
        "DELETE FROM message_custodians WHERE custodian_id = ?1 AND message_id IN "
        "(SELECT id FROM messages WHERE custodian_id = ?1)",
        (new_id,),
    )
    store.execute("DELETE FROM custodians WHERE id = ?", (old_id,))


def _messages_of(store: Store, custodian: int) -> list[int]:
    return sorted(
        int(r[0])
        for r in store.execute(
            "SELECT id FROM messages WHERE custodian_id = ?1 "
            "UNION SELECT message_id FROM message_custodians WHERE custodian_id = ?1",
            (custodian,),
        )
    )


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]


def _held(store: Store, tz: str, ids: list[int]) -> dict[int, list[str]]:
    """The active holds covering each of ``ids``."""
    from archiver.holds import HoldMatcher
    from archiver.retention import iter_facts

    matcher = HoldMatcher(store, tz)
    if not matcher.holds:
        return {}
    return {f.id: matcher.held_by(f) for chunk in _chunks(ids) for f in iter_facts(store, chunk)}


def _refuse_narrowed_holds(before: dict[int, list[str]], after: dict[int, list[str]]) -> None:
    lost = sorted({h for mid, hs in before.items() for h in hs if h not in after.get(mid, [])})
    if lost:
        raise Refused(
            "refused: messages would leave the scope of hold(s) "
            + ", ".join(lost)
            + " (their custodian scope names this custodian); widen the hold first"
        )


def _rules(store: Store, ids: list[int]) -> Counter[tuple[str, ...]]:
    from archiver.retention import Evaluator, active_policy, iter_facts

    ev = Evaluator(store, active_policy(store), "UTC")
    found: Counter[tuple[str, ...]] = Counter()
    for chunk in _chunks(ids):
        for facts in iter_facts(store, chunk):
            found[tuple(r.key for r in ev.rules_for(facts))] += 1
    return found


def _rule_counts(found: Counter[tuple[str, ...]]) -> list[dict[str, Any]]:
    return [{"rules": list(k), "messages": n} for k, n in sorted(found.items())]
