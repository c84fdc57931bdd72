"""`archiver custodians list|rename`: the custodians registry (``archive.custodians``)
as the officer corrects it.

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

from archiver.archive.custodians import existing, near, recorded_name, refuse_near
from archiver.archive.session import Archive
from archiver.core.errors import InputError, NotFound, Refused
from archiver.store import auditlog
from archiver.store.auditlog import Invocation
from archiver.store.database import Store

_CHUNK = 5000


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
            refuse_near(store, target, exclude=row["id"])
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
    from archiver.retention.decisions import iter_facts
    from archiver.retention.holds import HoldMatcher

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
    from archiver.retention.decisions import Evaluator, active_policy, iter_facts

    ev = Evaluator(store, active_policy(store), "UTC")
    found: Counter[tuple[str, ...]] = Counter()
    for chunk in _chunks(ids):
        for facts in iter_facts(store, chunk):
            found[tuple(r.key for r in ev.rules_for(facts))] += 1
    return found


def _rule_counts(found: Counter[tuple[str, ...]]) -> list[dict[str, Any]]:
    return [{"rules": list(k), "messages": n} for k, n in sorted(found.items())]
