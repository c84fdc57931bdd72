"""What WhatsApp writes into an "Export chat" file, per language, read from data.

Each language is one TOML file in ``whatsapp_locales/`` (``de.toml`` ...): chat-title
patterns, media placeholders, attachment markers, deleted and edited markers, system-event
templates, 12-hour markers, location prefixes, document words. Every string names its
public source in the file; a string without one is not added. This module only holds the
mechanism: it reads and checks the files, turns templates into regexes and merges the
languages into the tables the parser uses. The parser has no language-specific branches.

Matching is by whole text, NFC-normalised, ignoring case, the invisible marks WhatsApp
inserts and a final full stop (``placeholder_key``; events: ``whatsapp_body.match_system``).
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Iterable, Mapping
from importlib import resources
from typing import Any, Final, Literal

from archiver.parsers.whatsapp_locale_io import (
    ANCHOR_STRIP,
    EventRow,
    Locale,
    LocaleError,
    read_locale,
)

__all__ = ["ANCHOR_STRIP", "EventRow", "Locale", "LocaleError", "load_locales"]

# --- characters -------------------------------------------------------------------------

INVISIBLE: Final = "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff"
"""Directional marks and BOMs WhatsApp scatters through headers, names and markers."""

MATCH_INVISIBLE: Final = INVISIBLE + "\u200b\u200c\u200d\u2060\u061c"
"""Removed before a text is compared with a table (never from the text stored)."""

LRM: Final = "\u200e"
"""iOS writes it before system text, attachment markers and placeholders."""

CLOCK_SPACES: Final = " \u00a0\u202f\u2009"
"""Spaces seen between a time and its AM/PM marker (and inside ``p. m.``)."""

FINAL_STOPS: Final = ".。!！"
"""A final full stop comes and goes between app versions: it is ignored when matching."""

# --- language-independent pieces -------------------------------------------------------------

IOS_CHAT_FILE: Final = "_chat.txt"

DOWNLOAD_SUFFIXES: Final = (
    # What browsers, download managers and file managers append to a file name that
    # exists already (regex over the name without extension, anchored at its end):
    r"\s?\(\d{1,3}\)",  # Chrome, Firefox, Android: "name (1)", "name(2)"
    r"\s-\s[Cc]opy(?:\s\(\d{1,3}\))?",  # Windows Explorer: "name - Copy (2)"
    r"\s[Cc]opy(?:\s\d{1,3})?",  # macOS Finder: "name copy", "name copy 2"
    # download managers: "name-1"; one digit after a letter, so that "Team 2024-10" and
    # "Q3-2024" keep their numbers (a group really named "Project-7" is shown as
    # "Project"; its identity is decided by evidence, not by title)
    r"(?<=[^\W\d_])-[1-9]",
)

ATTACHED_OLD_TAG: Final = "<attached>"
"""About 2015-2017 iOS: ``2015-08-04-PHOTO-00004762.jpg <attached>`` (LRM after ``<``)."""

MAPS_QUERY: Final = r"[?&]q=(?P<lat>-?\d{1,3}(?:\.\d+)?),\s*(?P<lon>-?\d{1,3}(?:\.\d+)?)"

_DROP_MATCH_INVISIBLE = str.maketrans("", "", MATCH_INVISIBLE)


def placeholder_key(text: str) -> str:
    """The form a whole-body marker is compared in: invisible marks removed, NFC, runs
    of white space as one space, no final full stop, case folded (Turkish dotless and
    dotted i folded to i: ``I`` is the capital of both ``i`` and ``ı``)."""
    text = text.translate(_DROP_MATCH_INVISIBLE)
    if text.isascii():
        return " ".join(text.split()).rstrip(FINAL_STOPS).rstrip().casefold()
    text = unicodedata.normalize("NFC", text)
    folded = " ".join(text.split()).rstrip(FINAL_STOPS).rstrip().casefold()
    return folded.replace("ı", "i").replace("i\u0307", "i")


def match_form(text: str) -> str:
    """A text as system templates see it: invisible marks removed, NFC, trimmed."""
    text = text.translate(_DROP_MATCH_INVISIBLE)
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    return text.strip()


# --- loading ------------------------------------------------------------------------------


def load_locales(files: Iterable[tuple[str, bytes]] | None = None) -> tuple[Locale, ...]:
    """Every language file, checked (``LocaleError`` names the file and the entry), English
    first and then by code. ``files``: (name, bytes) pairs instead of the packaged ones."""
    if files is None:
        folder = resources.files("archiver.parsers").joinpath("whatsapp_locales")
        files = [
            (entry.name, entry.read_bytes())
            for entry in folder.iterdir()
            if entry.name.endswith(".toml")
        ]
    locales = []
    for name, data in files:
        try:
            raw = tomllib.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise LocaleError(f"{name}: not a TOML file ({exc})") from None
        locales.append(read_locale(name, raw))
    codes = [loc.code for loc in locales]
    if len(set(codes)) != len(codes):
        raise LocaleError(f"two language files with one code: {sorted(codes)}")
    return tuple(sorted(locales, key=lambda loc: (loc.code != "en", loc.code)))


LOCALES: Final = load_locales()
BY_CODE: Final[Mapping[str, Locale]] = {loc.code: loc for loc in LOCALES}

# --- the merged tables ------------------------------------------------------------------------


def _first_wins(pairs: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        out.setdefault(key, value)
    return out


def _languages(pairs: Iterable[tuple[str, str]]) -> dict[str, frozenset[str]]:
    out: dict[str, set[str]] = {}
    for key, code in pairs:
        out.setdefault(key, set()).add(code)
    return {key: frozenset(codes) for key, codes in out.items()}


MediaType = str

OMITTED: Final[dict[str, MediaType]] = _first_wins(
    (p.text, p.value) for loc in LOCALES for p in loc.media
)
"""Media placeholders as written in the tables -> what was left out."""

DELETED: Final = tuple(dict.fromkeys(p.text for loc in LOCALES for p in loc.deleted))
EDITED: Final = tuple(dict.fromkeys(p.text for loc in LOCALES for p in loc.edited))

PLACEHOLDER_LANGUAGES: Final = _languages(
    (placeholder_key(p.text), loc.code)
    for loc in LOCALES
    for p in (*loc.media, *loc.deleted, *loc.edited)
)
"""Placeholder key -> the languages whose tables have it (language evidence)."""

ATTACHED_SUFFIXES: Final = tuple(
    dict.fromkeys(p.text for loc in LOCALES for p in loc.attached if p.value == "suffix")
)
"""Android "with media": ``IMG-20210428-WA0001.jpg (file attached)``."""
ATTACHED_TAGS: Final = tuple(
    dict.fromkeys(p.text for loc in LOCALES for p in loc.attached if p.value == "tag")
)
"""iOS "with media": ``<attached: 00000001-PHOTO-....jpg>``."""
ATTACHED_LANGUAGES: Final = _languages(
    (p.text.casefold(), loc.code) for loc in LOCALES for p in loc.attached
)

LOCATION_PREFIXES: Final = tuple(
    dict.fromkeys(p.text for loc in LOCALES for p in loc.location if p.value == "prefix")
)
LIVE_LOCATION: Final = tuple(
    dict.fromkeys(p.text for loc in LOCALES for p in loc.location if p.value == "live")
)

PAGES_WORDS: Final = tuple(dict.fromkeys(w for loc in LOCALES for w in loc.pages))
DOCUMENT_OMITTED_WORDS: Final = tuple(
    dict.fromkeys(w for loc in LOCALES for w in loc.document_omitted)
)


def _alternatives(words: Iterable[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(set(words), key=lambda w: (-len(w), w)))


_PAGES = _alternatives(PAGES_WORDS)
DOCUMENT_OMITTED: Final = (
    # iOS "<name>.pdf • 3 pages document omitted" / "<name>.pdf document omitted".
    rf"(?P<title>.+?)(?:\s*•\s*(?P<pages>\d+)\s+(?:{_PAGES}))?"
    rf"\s+(?:{_alternatives(DOCUMENT_OMITTED_WORDS)})"
)
DOCUMENT_TITLE: Final = rf"(?P<title>.+?)\s*•\s*(?P<pages>\d+)\s+(?:{_PAGES})"
"""The text iOS puts before a document attachment: ``Offer.pdf • 14 pages``."""

POLL_MARKERS: Final = tuple(dict.fromkeys(p.marker for loc in LOCALES for p in loc.polls))
_POLL_WORDS = _alternatives(w for loc in LOCALES for p in loc.polls for w in p.votes)
POLL_OPTION: Final = (
    rf"(?:{_alternatives(p.option for loc in LOCALES for p in loc.polls)})\s*(?P<text>.*?)\s*"
    rf"\((?P<votes>\d+)\s+(?:{_POLL_WORDS})\)"
)

# --- header pieces ----------------------------------------------------------------------

_LATIN_MARKER = re.compile(rf"[AaPp]\.?[{CLOCK_SPACES}]?[Mm]\.?")
AMPM: Final[dict[str, Literal["am", "pm"]]] = {
    # Latin spellings are matched by one pattern (a/p, optional dots and spaces, m) and
    # normalised by dropping dots and spaces; these keys are the normalised forms.
    "am": "am",
    "pm": "pm",
    **{
        marker: half
        for loc in LOCALES
        for marker, half in loc.twelve_hour
        if not _LATIN_MARKER.fullmatch(marker)
    },
}
CJK_AMPM: Final = tuple(
    dict.fromkeys(
        m
        for loc in LOCALES
        if loc.marker_before_time
        for m, _ in loc.twelve_hour
        if m in AMPM and not _LATIN_MARKER.fullmatch(m)
    )
)
"""Markers that may stand before the time as well as after it (Korean writes them first)."""
WORD_AMPM: Final = tuple(
    dict.fromkeys(
        m
        for loc in LOCALES
        if not loc.marker_before_time
        for m, _ in loc.twelve_hour
        if not _LATIN_MARKER.fullmatch(m)
    )
)
"""Other non-Latin markers, after the time only (German day periods, Arabic, Persian)."""

DATE_TIME_WORDS: Final = tuple(dict.fromkeys(w for loc in LOCALES for w in loc.date_time_words))
"""Words between date and time: Finnish ``13.6.2018 klo 21.25``, French ``12/07/2017 à 22:35``."""

# --- file names -------------------------------------------------------------------------------

TITLE_PATTERNS: Final = tuple(
    (t.regex, loc.code if t.evidence else None) for loc in LOCALES for t in loc.titles
)
"""(regex over a file name without extension whose group "t" is the chat title, the
language it shows or None)."""

# --- system events ------------------------------------------------------------------------

SYSTEM_EVENTS: Final[tuple[EventRow, ...]] = tuple(row for loc in LOCALES for row in loc.events)
"""Every event row of every language, English first; the first row that matches wins."""

STRONG_STARTS: Final = tuple(
    dict.fromkeys(start for row in SYSTEM_EVENTS if row.strong for start in row.literal_starts)
)
"""How strong (boilerplate) event texts begin: a text in an author slot starting like
this is checked against the event table even without other evidence."""

_HINTS = sorted({w for row in SYSTEM_EVENTS for w in row.actor_words if len(w) >= 3})
ACTOR_HINT: Final = r"(?<!\w)(?:" + "|".join(map(re.escape, _HINTS)) + r")(?!\w)"
"""Words that follow the actor in an event template (``changed``, ``hat`` ...): a
candidate author containing one is checked against the table as a whole line (an event
such as ``Alice changed this group: description`` contains ": ")."""


def text_script(text: str) -> str | None:
    """The script most letters of ``text`` are written in, or None without letters."""
    counts: dict[str, int] = {}
    for ch in text:
        if ch.isalpha():
            script = unicodedata.name(ch, "UNKNOWN").split(" ", 1)[0]
            counts[script] = counts.get(script, 0) + 1
    return max(counts, key=lambda s: counts[s]) if counts else None
