"""What a production is asked to be: options, Bates numbers, time slices (pure functions).

A document is one conversation x one time slice: midnight to midnight in the
production's zone (``day``), or the wall-clock halves (``12h``: 00-12, 12-24) or thirds
(``8h``: 00-08, 08-16, 16-24) of a day. Slices follow the zone's wall clock, so a day
with a DST change is 23 or 25 hours long and no message lands in the wrong day. A slice
of more than ``MAX_EVENTS`` messages is cut into equal parts ("part 2 of 3") in time
order: the same messages always give the same parts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from archiver.core.errors import InputError
from archiver.store.schema import hold_name_key

FORMATS = ("rsmf", "html", "pdf", "dat")
SLICES = {"day": 24, "12h": 12, "8h": 8}
MAX_EVENTS = 10_000
BATES_DIGITS = 9
_PREFIX = re.compile(r"[A-Z0-9][A-Z0-9_.-]{0,19}")


@dataclass(frozen=True)
class Options:
    """What `archiver produce` was asked for (validated)."""

    matter: str
    out: Path
    formats: tuple[str, ...]
    tz: str
    query: str | None = None
    bates_prefix: str | None = None
    context: int = 0
    slice: str = "day"

    def as_dict(self) -> dict[str, object]:
        return {
            "formats": list(self.formats),
            "tz": self.tz,
            "context": self.context,
            "slice": self.slice,
        }


def parse_formats(text: str) -> tuple[str, ...]:
    """``rsmf,html`` -> ("rsmf", "html") in the canonical order; an unknown name is an
    error that lists the valid ones."""
    names = [n.strip().lower() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in FORMATS]
    if unknown or not names:
        raise InputError(
            f"unknown production format {', '.join(unknown) or repr(text)}; choose one or "
            f"more of {', '.join(FORMATS)} separated by commas (e.g. --format rsmf,dat)"
        )
    return tuple(f for f in FORMATS if f in names)


def check_slice(name: str) -> int:
    if name not in SLICES:
        raise InputError(f"unknown --slice {name!r}; choose one of {', '.join(SLICES)}")
    return SLICES[name]


def check_prefix(prefix: str) -> str:
    if not _PREFIX.fullmatch(prefix):
        raise InputError(
            f"Bates prefix {prefix!r} is not usable: use 1 to 20 capital letters, digits, "
            "'_', '.' or '-', starting with a letter or digit (e.g. --bates-prefix ACME)"
        )
    return prefix


def default_prefix(matter: str) -> str:
    """A prefix from the matter's name: its letters and digits in capitals, at most 10."""
    letters = re.sub(r"[^A-Z0-9]", "", matter.upper())[:10]
    return letters or "PROD"


def matter_key(name: str) -> str:
    """Matters are told apart like hold names: case, spaces and dashes do not count."""
    key = hold_name_key(name)
    if not key:
        raise InputError("--matter needs a name with letters or digits (e.g. --matter 'Harlow')")
    return key


def bates(prefix: str, number: int) -> str:
    """``ACME-000000123``."""
    return f"{prefix}-{number:0{BATES_DIGITS}d}"


def production_label(number: int) -> str:
    return f"PROD-{number:03d}"


def parse_label(text: str) -> int:
    """``PROD-002``, ``prod-2`` or ``2`` -> 2."""
    m = re.fullmatch(r"(?:prod-?)?0*(\d+)", text.strip(), re.IGNORECASE)
    if m is None or int(m.group(1)) == 0:
        raise InputError(f"{text!r} is not a production number; use e.g. PROD-001 or 1")
    return int(m.group(1))


class Slicer:
    """The slice (start, end) in UTC seconds that a UTC second falls in."""

    def __init__(self, zone: ZoneInfo, hours: int) -> None:
        self.zone = zone
        self.hours = hours
        self._cache: dict[tuple[int, int, int, int], tuple[int, int]] = {}

    def __call__(self, ts: int) -> tuple[int, int]:
        local = datetime.fromtimestamp(ts, self.zone)
        bucket = local.hour // self.hours
        key = (local.year, local.month, local.day, bucket)
        found = self._cache.get(key)
        if found is None:
            start = datetime(
                local.year, local.month, local.day, bucket * self.hours, tzinfo=self.zone
            )
            day_end = datetime(local.year, local.month, local.day, tzinfo=self.zone) + timedelta(
                days=1
            )
            hour_end = (bucket + 1) * self.hours
            end = day_end if hour_end >= 24 else start.replace(hour=hour_end)
            found = (int(start.timestamp()), int(end.timestamp()))
            if len(self._cache) > 100_000:
                self._cache.clear()
            self._cache[key] = found
        return found


def parts(count: int) -> tuple[int, int]:
    """(number of parts, messages per part) for a slice of ``count`` messages."""
    n = -(-count // MAX_EVENTS)
    return n, -(-count // n)
