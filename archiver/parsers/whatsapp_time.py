"""Reading WhatsApp timestamps: which date part is the day, and local wall time to UTC.

The export writes local wall-clock time with no offset and no day/month order marker.
``infer_date_order`` decides the order from every distinct date of the file and says
why; ``Clock`` turns wall time into UTC in the operator's zone, caching the UTC offset
per local hour and resolving the DST gap (shift forward) and the repeated fall-back hour
(second occurrence once the clock goes backwards) only in the hours where it matters.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from typing import NamedTuple
from zoneinfo import ZoneInfo

from archiver.core.errors import AmbiguousDateOrder
from archiver.parsers.whatsapp_header import ampm_key
from archiver.parsers.whatsapp_locale import AMPM

EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_UTC_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ZERO = timedelta(0)
_NAIVE_EPOCH = datetime(1970, 1, 1)
_RERUN = "Re-run with --date-order dmy or --date-order mdy"

DateParts = tuple[str, str, str]


@dataclass(frozen=True)
class DateOrderDecision:
    """The day/month order of a file and the evidence that decided it."""

    order: str
    evidence: str


def _year_first(p1: str) -> bool:
    return len(p1) >= 3 or int(p1) > 31


def _day_month_year(parts: DateParts) -> tuple[int, int, int]:
    """(first non-year part, second non-year part, year); the year is the 4-digit part
    in the middle (``06/2018/13``, seen only in tests) or else the last part."""
    p1, p2, p3 = parts
    if len(p2) == 4:
        return int(p1), int(p3), int(p2)
    return int(p1), int(p2), int(p3)


def read_date(parts: DateParts, order: str) -> int | None:
    """The proleptic ordinal of a date, or None when it does not exist (31/02)."""
    if order == "ymd" or _year_first(parts[0]):
        y, m, d = int(parts[0]), int(parts[1]), int(parts[2])
    else:
        a, b, y = _day_month_year(parts)
        d, m = (a, b) if order == "dmy" else (b, a)
    if y < 100:
        y += 2000  # two-digit years: exports before 2000 do not exist
    try:
        return date(y, m, d).toordinal()
    except ValueError:
        return None


def clock_seconds(hh: str, mi: str, ss: str | None, marker: str | None) -> int | None:
    """Seconds after local midnight; ``12:xx AM`` is 00:xx and an hour already above 12
    (``23:59 PM``, ``13:37 p.m.``: hand-edited fixtures) is read as 24-hour time."""
    h = int(hh)
    if marker is not None:
        half = AMPM.get(ampm_key(marker))
        if half == "pm" and h < 12:
            h += 12
        elif half == "am" and h == 12:
            h = 0
    m = int(mi)
    s = int(ss) if ss else 0
    if h > 23 or m > 59 or s > 59:
        return None
    return h * 3600 + m * 60 + s


def _iso(parts: DateParts, order: str) -> str:
    ordinal = read_date(parts, order)
    return "no such date" if ordinal is None else date.fromordinal(ordinal).isoformat()


class Dated(NamedTuple):
    """One distinct date: its year, its two other parts in written order, text, line."""

    year: int
    first: int
    second: int
    text: str
    line: int


def infer_date_order(dates: Mapping[str, tuple[int, DateParts]], file: str) -> DateOrderDecision:
    """Decide day-first or month-first from every distinct date (in order of first
    appearance, with the line it first appears on); raise AmbiguousDateOrder if the file
    cannot tell or contradicts itself. Rules, in order: a part above 12 is the day; a part
    that goes back within a year is the day (months cannot, the file being in time order);
    if day equals month everywhere the order does not matter."""
    year_first: tuple[str, int] | None = None
    seq: list[Dated] = []
    for text, (line, parts) in dates.items():
        if _year_first(parts[0]):
            year_first = year_first or (text, line)
        else:
            a, b, y = _day_month_year(parts)
            seq.append(Dated(y, a, b, text, line))
    if not seq:
        if year_first is None:
            return DateOrderDecision("dmy", "no dates in the file")
        return DateOrderDecision("ymd", f"year first in '{year_first[0]}' (line {year_first[1]})")
    decided = _above_twelve(seq, file) or _going_back(seq, file) or _day_equals_month(seq)
    if decided is None:
        raise _undecidable(seq, dates, file)
    if year_first is not None:
        note = f"; dates with the year first ('{year_first[0]}') are read y-m-d"
        decided = DateOrderDecision(decided.order, decided.evidence + note)
    return decided


def _above_twelve(seq: list[Dated], file: str) -> DateOrderDecision | None:
    first = next((d for d in seq if 12 < d.first <= 31), None)
    second = next((d for d in seq if 12 < d.second <= 31), None)
    if first and second:
        raise AmbiguousDateOrder(
            f"{file}: the dates contradict each other: day > 12 in '{first.text}' (line "
            f"{first.line}) means day-first, but day > 12 in '{second.text}' (line "
            f"{second.line}) means month-first. {_RERUN}; dates that do not fit that order "
            "are kept as unparsed lines."
        )
    if first:
        return DateOrderDecision("dmy", f"day > 12 in '{first.text}' (line {first.line})")
    if second:
        return DateOrderDecision("mdy", f"day > 12 in '{second.text}' (line {second.line})")
    return None


def _going_back(seq: list[Dated], file: str) -> DateOrderDecision | None:
    back: dict[str, tuple[Dated, Dated, int, int]] = {}
    for prev, cur in pairwise(seq):
        if prev.year == cur.year:
            if cur.first < prev.first:
                back.setdefault("first", (prev, cur, prev.first, cur.first))
            if cur.second < prev.second:
                back.setdefault("second", (prev, cur, prev.second, cur.second))
    if len(back) == 2:
        (p1, c1, _, _), (p2, c2, _, _) = back["first"], back["second"]
        raise AmbiguousDateOrder(
            f"{file}: cannot tell whether dates are day-first or month-first: both the first "
            f"and the second part go back within a year ('{p1.text}' then '{c1.text}', "
            f"'{p2.text}' then '{c2.text}'). {_RERUN}."
        )
    for which, (prev, cur, was, now) in back.items():
        return DateOrderDecision(
            "dmy" if which == "first" else "mdy",
            f"the {which} part goes back from {was} to {now} between '{prev.text}' (line "
            f"{prev.line}) and '{cur.text}' (line {cur.line}) within one year; months cannot "
            "go back, so it is the day",
        )
    return None


def _day_equals_month(seq: list[Dated]) -> DateOrderDecision | None:
    if any(d.first != d.second for d in seq):
        return None
    return DateOrderDecision(
        "dmy",
        f"day equals month in every date (e.g. '{seq[0].text}'), so the order does not matter",
    )


def _undecidable(
    seq: list[Dated], dates: Mapping[str, tuple[int, DateParts]], file: str
) -> AmbiguousDateOrder:
    example = next(d for d in seq if d.first != d.second)
    text, line = example.text, example.line
    parts = dates[text][1]
    return AmbiguousDateOrder(
        f"{file}: cannot tell whether dates are day-first or month-first (no day above 12, "
        f"and the dates never go back). '{text}' (line {line}) is {_iso(parts, 'dmy')} with "
        f"--date-order dmy or {_iso(parts, 'mdy')} with --date-order mdy. {_RERUN}."
    )


def naive(wall: int) -> datetime:
    """Wall-clock seconds since 1970-01-01 00:00 (local, no zone) as a naive datetime."""
    return _NAIVE_EPOCH + timedelta(seconds=wall)


class Clock:
    """Local wall time to UTC epoch seconds in one zone.

    ``day_offset`` is the fast path: one ``utcoffset`` check per local day (offsets at the
    day's first and last second, both folds), ``None`` for a day on which the offset
    changes. ``offset`` does the same per local hour for such days, and ``resolve``
    handles exactly the hours in which the offset changes.
    """

    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz
        self.gaps = 0  # messages in a nonexistent local time, shifted forward
        self.folds = 0  # messages read as the second occurrence of a repeated time
        self._days: dict[int, int | None] = {}
        self._hours: dict[int, int | None] = {}
        self._second_pass: set[int] = set()

    def _offset(self, local: datetime, fold: int) -> int:
        off = local.replace(tzinfo=self.tz, fold=fold).utcoffset()
        return 0 if off is None else int(off.total_seconds())

    def _constant(self, start: int, seconds: int) -> int | None:
        """The offset if it is the same over [start, start + seconds), else None."""
        first = naive(start)
        last = first + timedelta(seconds=seconds - 1)
        offsets = {self._offset(t, fold) for t in (first, last) for fold in (0, 1)}
        return offsets.pop() if len(offsets) == 1 else None

    def day_offset(self, day_wall: int) -> int | None:
        """UTC offset of the local day starting at ``day_wall`` (a multiple of 86400)."""
        try:
            return self._days[day_wall]
        except KeyError:
            value = self._days[day_wall] = self._constant(day_wall, 86400)
            return value

    def offset(self, wall: int) -> int | None:
        """UTC offset of the local hour of ``wall``; None if it changes within it."""
        hour = wall // 3600
        try:
            return self._hours[hour]
        except KeyError:
            value = self._hours[hour] = self._constant(hour * 3600, 3600)
            return value

    def resolve(self, wall: int, prev_wall: int | None) -> int:
        """UTC epoch seconds for a wall time in an hour where the offset changes."""
        local = naive(wall)
        before, after = self._offset(local, 0), self._offset(local, 1)
        if before == after:
            return wall - before
        if before < after:  # spring forward: this wall time does not exist
            self.gaps += 1
            return wall - before  # = the same wall time shifted forward by the gap
        hour = wall // 3600
        if hour in self._second_pass or (
            prev_wall is not None and wall < prev_wall and prev_wall // 3600 == hour
        ):
            self._second_pass.add(hour)
            self.folds += 1
            return wall - after
        return wall - before


Stamp = tuple[int | None, int | None, datetime | None]
"""(local wall seconds, UTC epoch seconds, aware UTC datetime) of one header timestamp."""


def stamper(rx: re.Pattern[str], order: str, clock: Clock) -> Callable[[re.Match[str]], Stamp]:
    """The timestamp of a header line.

    The caller skips this when the timestamp text equals the previous header's (minute
    stamps repeat in bursts). Otherwise the date and the clock reading are looked up in
    caches keyed by their text, so ``int()`` runs once per distinct date and time of day.
    The UTC offset comes from the clock's per-day cache (per hour on the two days a year
    the offset changes); on an ordinary day the aware datetime is that day's UTC midnight
    plus the clock reading's cached ``timedelta``, one addition (``fromtimestamp`` costs
    five times more). ``utc``/``dt`` are None in an hour where the offset changes (the
    caller resolves those with the clock); all three are None for a date or time that does
    not exist (31/02, 25:00)."""
    days: dict[str, int] = {}  # date text -> local wall seconds at 00:00, -1 if no such date
    clocks: dict[str, tuple[int, timedelta]] = {}  # clock text -> seconds after midnight
    i_date, i_clock = rx.groupindex["date"], rx.groupindex["clock"]
    i_ss, i_apa, i_apb = (rx.groupindex.get(n, 0) for n in ("ss", "apa", "apb"))
    last_date, last_day = "", -1
    last_offset = 0  # UTC offset of the whole local day, when it is constant ...
    last_base: datetime | None = None  # ... and that day's 00:00 as an aware UTC datetime

    def day_of(m: re.Match[str], text: str) -> int:
        ordinal = read_date((m.group("d1"), m.group("d2"), m.group("d3")), order)
        days[text] = -1 if ordinal is None else (ordinal - EPOCH_ORDINAL) * 86400
        return days[text]

    def clock_of(m: re.Match[str], text: str) -> tuple[int, timedelta]:
        marker = (m.group(i_apa) if i_apa else None) or (m.group(i_apb) if i_apb else None)
        secs = clock_seconds(m.group("hh"), m.group("mi"), m.group(i_ss) if i_ss else None, marker)
        value = clocks[text] = (-1, _ZERO) if secs is None else (secs, timedelta(seconds=secs))
        return value

    def stamp(m: re.Match[str]) -> Stamp:
        nonlocal last_date, last_day, last_offset, last_base
        date_text, clock_text = m.group(i_date, i_clock)
        if date_text != last_date:
            day = days.get(date_text)
            last_date, last_day = date_text, day_of(m, date_text) if day is None else day
            offset = clock.day_offset(last_day) if last_day >= 0 else None
            last_offset, last_base = 0, None
            if offset is not None:
                last_offset, last_base = offset, _UTC_EPOCH + timedelta(seconds=last_day - offset)
        secs, delta = clocks.get(clock_text) or clock_of(m, clock_text)
        if last_day < 0 or secs < 0:
            return None, None, None
        wall = last_day + secs
        if last_base is not None:
            return wall, wall - last_offset, last_base + delta
        offset = clock.offset(wall)  # the offset changes on this day
        if offset is None:  # ... and in this hour: the caller resolves it
            return wall, None, None
        return wall, wall - offset, _UTC_EPOCH + timedelta(seconds=wall - offset)

    return stamp
