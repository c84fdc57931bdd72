"""Time-zone names: the one place a zone name becomes a tzinfo.

A WhatsApp export's times are wall-clock times of the phone; the zone they are read in
decides every stored UTC time and every fingerprint. So a zone an operator types must
name a place, whose daylight-saving history is known:

- IANA names (``Europe/London``, ``America/New_York``) and ``UTC`` are accepted;
- an explicit fixed offset, written ``UTC+05:30`` or ``UTC-05:00`` (also ``UTC+5``,
  ``UTC-0500``; stored as ``UTC±HH:MM``), is accepted for a phone that really kept one;
- legacy and POSIX-style names (``EST``, ``MST``, ``HST``, ``EST5EDT``, ``CET``,
  ``GMT``, ``Etc/GMT+5`` ...) are refused: ``EST`` is a fixed UTC-05:00 all year, so
  New York's summer messages would be an hour off. So are abbreviations that are no
  zone at all (``PST``, ``CST``, ``BST``, ``IST``, ``CEST``, ``AEST`` ...). Each refusal
  names the IANA zone(s) to use instead.

``resolve`` applies these rules to what an operator types. ``recorded`` re-opens a name
the archive already recorded (a source's zone, the archive's default): it must give
exactly the zone that was used, so it also accepts the legacy names of older archives.
"""

from __future__ import annotations

import io
import re
import struct
from datetime import UTC, datetime
from difflib import get_close_matches
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from archiver.core.errors import InputError

# Names in the time-zone database that are not a place: (what they are, places to use).
_LEGACY: dict[str, tuple[str, tuple[str, ...]]] = {
    "EST": ("has no daylight saving (a fixed UTC-05:00)", ("America/New_York",)),
    "MST": ("has no daylight saving (a fixed UTC-07:00)", ("America/Denver", "America/Phoenix")),
    "HST": ("is a fixed UTC-10:00", ("Pacific/Honolulu",)),
    "EST5EDT": ("is a POSIX rule, not a place", ("America/New_York",)),
    "CST6CDT": ("is a POSIX rule, not a place", ("America/Chicago",)),
    "MST7MDT": ("is a POSIX rule, not a place", ("America/Denver",)),
    "PST8PDT": ("is a POSIX rule, not a place", ("America/Los_Angeles",)),
    "CET": ("is a rule, not a place", ("Europe/Berlin", "Europe/Paris", "Europe/Madrid")),
    "MET": ("is a rule, not a place", ("Europe/Berlin", "Europe/Paris", "Europe/Madrid")),
    "EET": ("is a rule, not a place", ("Europe/Athens", "Europe/Helsinki", "Europe/Kyiv")),
    "WET": ("is a rule, not a place", ("Europe/Lisbon", "Atlantic/Canary")),
    "GMT": ("has no summer time (a fixed UTC+00:00)", ("Europe/London",)),
    "GMT0": ("has no summer time (a fixed UTC+00:00)", ("Europe/London",)),
    "GMT+0": ("has no summer time (a fixed UTC+00:00)", ("Europe/London",)),
    "GMT-0": ("has no summer time (a fixed UTC+00:00)", ("Europe/London",)),
    "GREENWICH": ("has no summer time (a fixed UTC+00:00)", ("Europe/London",)),
    "UCT": ("is another spelling of UTC", ()),
    "UNIVERSAL": ("is another spelling of UTC", ()),
    "ZULU": ("is another spelling of UTC", ()),
    "FACTORY": ("is a placeholder, not a zone", ()),
    "LOCALTIME": ("is this machine's setting, not a zone", ()),
    "POSIXRULES": ("is a template, not a zone", ()),
}

# Abbreviations people write that are no zone at all: (what they stand for, places).
_ABBREVIATIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "PST": ("Pacific time", ("America/Los_Angeles", "America/Vancouver")),
    "PDT": ("Pacific time", ("America/Los_Angeles", "America/Vancouver")),
    "MDT": ("Mountain time", ("America/Denver", "America/Edmonton")),
    "CST": ("US Central, China or Cuba time", ("America/Chicago", "Asia/Shanghai")),
    "CDT": ("US Central time", ("America/Chicago", "America/Mexico_City")),
    "EDT": ("US Eastern time", ("America/New_York", "America/Toronto")),
    "AKST": ("Alaska time", ("America/Anchorage",)),
    "AKDT": ("Alaska time", ("America/Anchorage",)),
    "AST": ("Atlantic or Arabia time", ("America/Halifax", "Asia/Riyadh")),
    "ADT": ("Atlantic time", ("America/Halifax",)),
    "NST": ("Newfoundland time", ("America/St_Johns",)),
    "NDT": ("Newfoundland time", ("America/St_Johns",)),
    "BRT": ("Brasília time", ("America/Sao_Paulo",)),
    "ART": ("Argentina time", ("America/Argentina/Buenos_Aires",)),
    "BST": ("British Summer Time or Bangladesh time", ("Europe/London", "Asia/Dhaka")),
    "IST": ("India, Ireland or Israel time", ("Asia/Kolkata", "Europe/Dublin", "Asia/Jerusalem")),
    "CEST": ("Central European summer time", ("Europe/Berlin", "Europe/Paris")),
    "EEST": ("Eastern European summer time", ("Europe/Athens", "Europe/Helsinki")),
    "WEST": ("Western European summer time", ("Europe/Lisbon",)),
    "MSK": ("Moscow time", ("Europe/Moscow",)),
    "SAST": ("South Africa time", ("Africa/Johannesburg",)),
    "WAT": ("West Africa time", ("Africa/Lagos",)),
    "CAT": ("Central Africa time", ("Africa/Maputo",)),
    "EAT": ("East Africa time", ("Africa/Nairobi",)),
    "GST": ("Gulf time", ("Asia/Dubai",)),
    "PKT": ("Pakistan time", ("Asia/Karachi",)),
    "ICT": ("Indochina time", ("Asia/Bangkok", "Asia/Ho_Chi_Minh")),
    "WIB": ("Western Indonesia time", ("Asia/Jakarta",)),
    "SGT": ("Singapore time", ("Asia/Singapore",)),
    "HKT": ("Hong Kong time", ("Asia/Hong_Kong",)),
    "PHT": ("Philippine time", ("Asia/Manila",)),
    "JST": ("Japan time", ("Asia/Tokyo",)),
    "KST": ("Korea time", ("Asia/Seoul",)),
    "AWST": ("Western Australia time", ("Australia/Perth",)),
    "ACST": ("Central Australia time", ("Australia/Adelaide", "Australia/Darwin")),
    "ACDT": ("Central Australia summer time", ("Australia/Adelaide",)),
    "AEST": ("Eastern Australia time", ("Australia/Sydney", "Australia/Brisbane")),
    "AEDT": ("Eastern Australia summer time", ("Australia/Sydney", "Australia/Melbourne")),
    "NZST": ("New Zealand time", ("Pacific/Auckland",)),
    "NZDT": ("New Zealand summer time", ("Pacific/Auckland",)),
}

# UTC+05:30, UTC-5, utc+0530; the canonical form is UTC±HH:MM.
_OFFSET = re.compile(r"(?i)UTC\s*([+-])\s*(\d{1,2})(?::?(\d{2}))?")
# What people write for an offset without naming UTC: GMT+5, +05:30, Etc/GMT-3 ...
_OFFSET_LIKE = re.compile(r"(?i)(?:etc/)?(?:gmt|utc)?\s*[+-]\s*\d{1,2}(?::?\d{2})?")
_MAX_OFFSET_MINUTES = 14 * 60


def resolve(name: str) -> ZoneInfo:
    """The zone an operator typed: an IANA place, ``UTC`` or ``UTC±HH:MM``; anything that
    would silently read times wrong is refused with the zone(s) to use instead."""
    return _zone(canonical(name))


def canonical(name: str) -> str:
    """The name to record for what an operator typed (``utc+5`` -> ``UTC+05:00``), or an
    error that says what to write instead."""
    text = name.strip()
    offset = _OFFSET.fullmatch(text)
    if offset is not None:
        return _offset_name(text, *offset.groups())
    if text.upper() in ("UTC", "ETC/UTC"):
        return "UTC"
    problem = _refusal(text)
    if problem is not None:
        raise InputError(problem)
    _zone(text)
    return text


def recorded(name: str) -> ZoneInfo:
    """A zone name the archive recorded (a source's zone, the archive's default), opened
    exactly as it was used, legacy names of older archives included."""
    return _zone(name)


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    offset = _OFFSET.fullmatch(name)
    if offset is not None:
        sign, hours, minutes = offset.groups()
        total = (int(hours) * 60 + int(minutes or 0)) * (-1 if sign == "-" else 1)
        return _fixed(_offset_name(name, *offset.groups()), total)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(_unknown(name)) from None


def _offset_name(text: str, sign: str, hours: str, minutes: str | None) -> str:
    total = int(hours) * 60 + int(minutes or 0)
    if int(minutes or 0) >= 60 or total > _MAX_OFFSET_MINUTES:
        raise InputError(
            f"time zone {text!r}: an offset runs from UTC-14:00 to UTC+14:00 with minutes "
            "below 60 (for example UTC+05:30)"
        )
    return _offset_text(-total if sign == "-" else total)


def _fixed(key: str, minutes: int) -> ZoneInfo:
    """A ZoneInfo that is ``minutes`` east of UTC at every instant, named ``key``: a
    one-type TZif file built in memory (``key`` is what parsers record as the zone)."""
    seconds = minutes * 60
    abbreviation = key.removeprefix("UTC").replace(":", "").encode() + b"\0"
    header = b"TZif2" + bytes(15) + struct.pack(">6l", 0, 0, 0, 0, 1, len(abbreviation))
    body = struct.pack(">lBB", seconds, 0, 0) + abbreviation
    west = -minutes
    posix = f"<{abbreviation[:-1].decode()}>{'-' if west < 0 else ''}{abs(west) // 60}"
    if abs(west) % 60:
        posix += f":{abs(west) % 60:02d}"
    data = header + body + header + body + f"\n{posix}\n".encode()
    return ZoneInfo.from_file(io.BytesIO(data), key=key)


def _refusal(name: str) -> str | None:
    """Why ``name`` would read times wrong, and what to write instead; None if it is a
    place (or unknown: then ``_zone`` says so)."""
    upper = name.upper()
    fixed_offset = _utc_offset_of(name) or _utc_offset_of(upper)
    if upper in _LEGACY:
        what, places = _LEGACY[upper]
        return _advice(f"{name} {what}", places, fixed_offset)
    if upper in _ABBREVIATIONS:
        what, places = _ABBREVIATIONS[upper]
        return _advice(f"{name} is an abbreviation ({what}), not a time zone", places, None)
    if upper.startswith(("RIGHT/", "POSIX/")):
        place = name.split("/", 1)[1]
        if upper.startswith("RIGHT/"):
            return f"time zone {name} counts leap seconds (times 27 s off); use --tz {place}"
        return f"time zone {name} is a copy of {place}; use --tz {place}"
    if upper.startswith(("ETC/", "SYSTEMV/")):
        return _advice(
            f"{name} is a fixed offset with its sign inverted the POSIX way (Etc/GMT+5 is "
            "UTC-05:00)",
            (),
            fixed_offset,
        )
    if _OFFSET_LIKE.fullmatch(name):
        return _advice(f"{name} is an offset written without UTC", (), fixed_offset)
    return None


def _utc_offset_of(name: str) -> str | None:
    """The explicit ``UTC±HH:MM`` a fixed-offset name stands for (``Etc/GMT+5`` is
    UTC-05:00: POSIX signs are inverted), or None when it has daylight saving."""
    try:
        zone = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        match = re.fullmatch(r"(?i)(?:gmt|utc)?\s*([+-])\s*(\d{1,2})(?::?(\d{2}))?", name)
        if match is None:
            return None
        sign, hours, minutes = match.groups()
        total = (int(hours) * 60 + int(minutes or 0)) * (-1 if sign == "-" else 1)
        return None if abs(total) > _MAX_OFFSET_MINUTES else _offset_text(total)
    offsets = {datetime(2024, month, 15, 12, tzinfo=zone).utcoffset() for month in (1, 7)}
    if len(offsets) != 1:
        return None
    (delta,) = offsets
    return None if delta is None else _offset_text(int(delta.total_seconds()) // 60)


def _offset_text(minutes: int) -> str:
    if minutes == 0:
        return "UTC"
    sign = "-" if minutes < 0 else "+"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _advice(problem: str, places: tuple[str, ...], offset: str | None) -> str:
    choices = []
    if places:
        choices.append("--tz " + _either(places))
    if offset == "UTC":
        choices.append("--tz UTC if the times really are UTC")
    elif offset is not None:
        choices.append(f"--tz {offset} if the phone really kept a fixed offset")
    if not choices:
        choices.append("an IANA name such as Europe/London or America/New_York, or UTC")
    return f"time zone {problem}; use " + ", or ".join(choices)


def _either(names: tuple[str, ...]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def _unknown(name: str) -> str:
    known = available_timezones()
    by_fold = {z.casefold(): z for z in known}
    guess = by_fold.get(name.strip().casefold().replace(" ", "_"))
    if guess is None:
        close = get_close_matches(name.strip().replace(" ", "_"), sorted(known), n=1, cutoff=0.75)
        guess = close[0] if close else None
    hint = f"did you mean {guess}? " if guess else ""
    return (
        f"unknown time zone {name!r}: {hint}use an IANA name such as Europe/London or "
        "America/New_York, UTC, or a fixed offset written UTC+05:30"
    )


def format_time(at: datetime) -> str:
    """A moment as the archive writes it everywhere (audit, certificates): UTC, ISO 8601,
    microseconds, ``Z``."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
