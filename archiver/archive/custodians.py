"""The custodians registry: whose phone an export came from, as recorded.

Names are recorded as ``names.custodian_name`` writes them (trimmed; e-mail addresses in
lower case), so ``Dana@Broker.example `` is the custodian ``dana@broker.example``. A new
name within ``NEAR`` edits of an existing custodian is refused unless the operator says
it is new (``--new-custodian``): a typo would otherwise split one person's evidence in
two, and every hold or policy scoped to the right name would miss the other half.
Renaming and merging custodians is curation (``archiver.curation.custodians``).
"""

from __future__ import annotations

from typing import Any

from archiver.core.errors import InputError
from archiver.core.names import custodian_name, edit_distance
from archiver.store.database import Store

NEAR = 2


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
        refuse_near(store, recorded)
    return recorded


def refuse_near(store: Store, name: str, exclude: int | None = None) -> None:
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
