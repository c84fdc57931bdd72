"""Scope globs: the one matching rule of retention rules and legal holds, and the
warnings for a glob that matches nothing in the archive.

A glob (``*``, ``?``, ``[abc]``) matches a value when it matches the whole value,
ignoring case (both are casefolded). A scope value that matches nothing is most often a
typo (``*@broker.exmaple``): it is not refused, since a policy or a hold may be made
before the data arrives, but every such value is reported with the nearest value that
does exist (by ``difflib`` similarity), so the mistake cannot pass unnoticed.
"""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Iterable

from archiver.store.database import Store

# How close (difflib ratio) an existing value must be to be offered as "nearest".
NEAREST_CUTOFF = 0.6
# The scope keys whose values come from the archive, and the SQL that lists them.
_VALUES_SQL = {
    "chat": "SELECT title FROM chats UNION SELECT key FROM chats",
    "custodian": "SELECT name FROM custodians",
    "participant": "SELECT key FROM participants UNION SELECT name FROM participants "
    "UNION SELECT name FROM persons",
    "platform": "SELECT DISTINCT platform FROM chats",
    "kind": "SELECT DISTINCT kind FROM messages",
}
# What the archive has none of when a key has no values at all.
_PLURAL = {
    "chat": "chats",
    "custodian": "custodians",
    "participant": "participants",
    "platform": "chats",
    "kind": "messages",
}
# The command that lists each key's values.
_LISTING = {
    "chat": "archiver chats",
    "custodian": "archiver chats",
    "platform": "archiver chats",
    "participant": "archiver people list",
}


def first_match(globs: Iterable[str], values: Iterable[str]) -> tuple[str, str] | None:
    """The first (glob, value) pair where the glob matches the value, or None."""
    candidates = [v for v in values if v]
    for glob in globs:
        pattern = glob.casefold()
        for value in candidates:
            if fnmatch.fnmatchcase(value.casefold(), pattern):
                return glob, value
    return None


def nearest(glob: str, values: Iterable[str]) -> str | None:
    """The existing value most like ``glob``, if one is close enough: the glob's literal
    text (wildcards dropped) against the whole value, or, for a glob with wildcards,
    against the value's best stretch of the same length (``Clinic*`` finds
    ``Clínica Sorriso``)."""
    literal = glob.replace("*", "").replace("?", "").casefold()
    windowed = literal != glob.casefold() and len(literal) >= 3
    best, score = None, NEAREST_CUTOFF
    for value in sorted({v for v in values if v}):
        similarity = _similarity(literal, value.casefold(), windowed)
        if similarity > score or (similarity == score and best is None):
            best, score = value, similarity
    return best


def _similarity(literal: str, value: str, windowed: bool) -> float:
    n = len(literal)
    if not windowed or len(value) <= n:
        return difflib.SequenceMatcher(None, literal, value).ratio()
    return max(
        difflib.SequenceMatcher(None, literal, value[i : i + n]).ratio()
        for i in range(len(value) - n + 1)
    )


class Vocabulary:
    """Every value each scope key can match in the archive, as written (read lazily)."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._values: dict[str, list[str]] = {}

    def values(self, key: str) -> list[str]:
        if key not in self._values:
            rows = self._store.execute(_VALUES_SQL[key]).fetchall()
            self._values[key] = sorted({str(r[0]) for r in rows if r[0]})
        return self._values[key]

    def unmatched(self, key: str, glob: str, label: str) -> dict[str, str | None] | None:
        """A warning if ``glob`` matches no ``key`` value in the archive, else None.

        ``label`` names where the glob was written (``rule p/r: chat``, ``--chat``)."""
        if glob.strip("*") == "":
            return None
        values = self.values(key)
        if first_match([glob], values) is not None:
            return None
        near = nearest(glob, values)
        if not values:
            hint = f"the archive has no {_PLURAL[key]} yet"
        elif near is None:
            listing = f"; see `{_LISTING[key]}`" if key in _LISTING else ""
            hint = f"no {key} in the archive is close{listing}"
        else:
            hint = f"nearest: {near!r}"
        return {
            "field": key,
            "value": glob,
            "nearest": near,
            "message": f"{label} {glob!r} matches no {key} in the archive ({hint})",
        }
