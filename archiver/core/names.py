"""How a custodian's name is written down, and how close two names are.

A custodian is recorded as typed, with the variations that mean nothing removed: white
space at the ends and runs of it inside, Unicode composition (NFC), and the case of an
e-mail address (``Dana@Broker.example `` and ``dana@broker.example`` are one person;
``Dana Kim <Dana@Broker.example>`` keeps the name's case and lower-cases the address).
Migration 9 applies ``custodian_name`` to archives written before, as the SQL function
``custodian_name``: changing what it returns needs a new migration.
"""

from __future__ import annotations

import re
import unicodedata

_EMAIL = re.compile(r"[^\s@<>]+@[^\s@<>]+")
_NAMED_EMAIL = re.compile(r"(.*<)([^\s@<>]+@[^\s@<>]+)(>)")


def custodian_name(text: str) -> str:
    """``text`` as a custodian is recorded (see the module docstring)."""
    name = " ".join(unicodedata.normalize("NFC", text).split())
    if _EMAIL.fullmatch(name):
        return name.lower()
    named = _NAMED_EMAIL.fullmatch(name)
    if named:
        return named.group(1) + named.group(2).lower() + named.group(3)
    return name


def edit_distance(a: str, b: str, limit: int) -> int:
    """Edits (insert, delete, substitute, swap two neighbours) between ``a`` and ``b``,
    compared case-insensitively; anything above ``limit`` is reported as ``limit + 1``."""
    a, b = a.casefold(), b.casefold()
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    before: list[int] | None = None
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            current[j] = min(
                previous[j] + 1,
                current[j - 1] + 1,
                previous[j - 1] + (ca != cb),
            )
            if before is not None and i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], before[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        before, previous = previous, current
    return min(previous[-1], limit + 1)


_PHONE = re.compile(r"^\+?[\d\s().\-\u2011]{7,}$")


def phone_digits(text: str | None) -> str | None:
    """Digits of a phone-number-like name (``+1 (555) 010-2030`` -> ``15550102030``)."""
    if not text or not _PHONE.match(text.strip()):
        return None
    digits = "".join(ch for ch in text if ch.isdigit())
    return digits if len(digits) >= 7 else None
