"""One WhatsApp language file read and checked: its strings, their sources, its templates.

A file (``whatsapp_locales/<code>.toml``) has ``code``, ``name``, ``coverage`` (the
sections it has, which must be exactly the non-empty ones), ``[sources]`` (key -> where
the strings come from) and these sections, every entry naming ``source`` (a key or a
list of keys) and optionally ``unverified = true``:

- ``[[titles]] pattern = "WhatsApp Chat mit {title}"`` (``language_evidence = false``
  when the pattern is used whatever the phone's language);
- ``[[media]] text, media`` (what was left out: media, image, video, audio, sticker, gif,
  document, contact, video note, file);
- ``[[attached]] suffix`` (Android "with media") or ``tag`` (iOS ``<tag: file>``);
- ``[[deleted]] text, by`` ("other" or "self"); ``[[edited]] text``;
- ``[[events]] event, templates, group, strong``;
- ``[twelve_hour] am, pm, before_time``; ``[date_time_words] words``;
- ``[[location]] prefix`` or ``live``; ``[document] pages, omitted``;
  ``[poll] marker, option, votes``.

Templates are literal text with pieces: ``{name}`` a person or "You", ``{any}`` any text,
``{q}`` a quotation mark, ``{phone}`` a phone number, ``{n}`` a number (``{title}`` in
title patterns). A space matches any run of white space; case is ignored; a final full
stop is optional.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Final, Literal, NoReturn

from archiver.core.errors import ArchiverError

SECTIONS: Final = (
    "titles", "media", "attached", "deleted", "edited", "events", "twelve_hour",
    "date_time_words", "location", "document", "poll",
)  # fmt: skip
MEDIA_TYPES: Final = frozenset(
    ("media", "image", "video", "audio", "sticker", "gif", "document", "contact",
     "video note", "file")
)  # fmt: skip
CALL_EVENTS: Final = frozenset(("call", "missed_call"))
_FINAL_STOP = ".。!！"
_PIECES: Final = {
    "name": r".{1,120}?",
    "any": r".*",
    "q": "[\"“”„«»'‘’]",
    "phone": r"\+?[\d ()\-‑]{4,30}",
    "n": r"\d{1,4}",
}
_PIECE = re.compile(r"(\{[a-z]+\})")


class LocaleError(ArchiverError):
    """A WhatsApp language file is malformed (a bug in the package data)."""


@dataclass(frozen=True)
class Phrase:
    """One string of a table: the text, its value (media type, "self"/"other", "suffix" or
    "tag", "prefix" or "live"), and whether no public source confirms it."""

    text: str
    value: str
    unverified: bool = False


@dataclass(frozen=True)
class EventRow:
    """An event and the templates that write it, compiled into one regex."""

    event: str
    kind: Literal["system", "call"]
    group: bool
    strong: bool
    lang: str
    templates: tuple[str, ...]
    regex: str
    literal_starts: tuple[str, ...]  # the text before the first piece, if any
    actor_words: tuple[str, ...]  # the word after a leading {name}
    anchors: tuple[str | None, ...]  # per template: a word every text it matches has
    unverified: bool = False


@dataclass(frozen=True)
class TitlePattern:
    template: str
    regex: str
    evidence: bool


@dataclass(frozen=True)
class Poll:
    marker: str
    option: str
    votes: tuple[str, ...]


@dataclass(frozen=True)
class Locale:
    """One language's tables."""

    code: str
    name: str
    coverage: tuple[str, ...]
    sources: dict[str, str]
    titles: tuple[TitlePattern, ...]
    media: tuple[Phrase, ...]
    attached: tuple[Phrase, ...]
    deleted: tuple[Phrase, ...]
    edited: tuple[Phrase, ...]
    events: tuple[EventRow, ...]
    twelve_hour: tuple[tuple[str, Literal["am", "pm"]], ...]
    marker_before_time: bool
    date_time_words: tuple[str, ...]
    location: tuple[Phrase, ...]
    pages: tuple[str, ...]
    document_omitted: tuple[str, ...]
    polls: tuple[Poll, ...]


def template_regex(template: str, pieces: dict[str, str] | None = None) -> str:
    """A template as a regex matching the whole of a text (see the module docstring)."""
    known = {**_PIECES, **(pieces or {})}
    parts = [p for p in _PIECE.split(unicodedata.normalize("NFC", template)) if p]
    if parts and not _PIECE.fullmatch(parts[-1]):
        parts[-1] = parts[-1].rstrip(_FINAL_STOP)
    out = []
    for part in parts:
        if _PIECE.fullmatch(part):
            if part[1:-1] not in known:
                raise LocaleError(f"unknown piece {part} in template {template!r}")
            out.append(known[part[1:-1]])
        else:
            out.append(r"\s+".join(re.escape(word) for word in part.split(" ")))
    tail = "" if parts and _PIECE.fullmatch(parts[-1]) else f"[{_FINAL_STOP}]?"
    return "".join(out) + tail


def _literal_start(template: str) -> str | None:
    head = _PIECE.split(template, 1)[0]
    return head if len(head.strip()) >= 3 else None


ANCHOR_STRIP: Final = ".,:;!?'\"“”„«»‘’()[]¿¡。、"


def anchor_word(template: str) -> str | None:
    """The longest word of a template that stands between spaces (or the ends), case
    folded and without edge punctuation: a text the template matches contains it as a
    word. None when every word touches a piece (``{q}{any}{q}``, CJK templates)."""
    parts = [p for p in _PIECE.split(unicodedata.normalize("NFC", template)) if p]
    words = []
    for i, part in enumerate(parts):
        if _PIECE.fullmatch(part):
            continue
        tokens = part.split(" ")
        if i > 0:
            tokens = tokens[1:]  # glued to the piece before it (or "" before a space)
        if i < len(parts) - 1:
            tokens = tokens[:-1]
        words += [t.strip(ANCHOR_STRIP).casefold() for t in tokens]
    words = [w for w in words if len(w) >= 2]
    return max(words, key=len) if words else None


def _actor_word(template: str) -> str | None:
    m = re.match(r"\{name\} (\w+)", template)
    return m.group(1) if m else None


class _Reader:
    """Reads one file's dict, naming the file and entry in every error."""

    def __init__(self, name: str, raw: dict[str, Any]) -> None:
        self.name = name
        self.raw = raw
        sources = raw.get("sources")
        if not isinstance(sources, dict) or not sources:
            raise LocaleError(f"whatsapp_locales/{name}: no [sources] table")
        self.sources: dict[str, str] = {str(k): str(v) for k, v in sources.items()}
        self.used: set[str] = set()

    def fail(self, what: str) -> NoReturn:
        raise LocaleError(f"whatsapp_locales/{self.name}: {what}")

    def string(self, entry: dict[str, Any], key: str, where: str) -> str:
        value = entry.get(key)
        if not isinstance(value, str) or not value.strip():
            self.fail(f"{where}: '{key}' must be a non-empty string")
        return unicodedata.normalize("NFC", value)

    def strings(self, entry: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
        value = entry.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            self.fail(f"{where}: '{key}' must be a list of strings")
        return tuple(unicodedata.normalize("NFC", v) for v in value)

    def sourced(self, entry: dict[str, Any], where: str, allowed: set[str]) -> bool:
        """Checks the entry's keys and source; returns its ``unverified`` flag."""
        extra = set(entry) - allowed - {"source", "unverified"}
        if extra:
            self.fail(f"{where}: unknown key(s) {sorted(extra)}")
        source = entry.get("source")
        keys = [source] if isinstance(source, str) else source
        if not isinstance(keys, list) or not keys:
            self.fail(f"{where}: every string needs a 'source'")
        for key in keys:
            if key not in self.sources:
                self.fail(f"{where}: source {key!r} is not in [sources]")
            self.used.add(key)
        return bool(entry.get("unverified", False))

    def entries(self, section: str) -> list[dict[str, Any]]:
        value = self.raw.get(section, [])
        if isinstance(value, dict):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(e, dict) for e in value):
            self.fail(f"[{section}] must be a table or an array of tables")
        return value


def read_locale(name: str, raw: dict[str, Any]) -> Locale:
    """One parsed TOML file as a ``Locale``; ``LocaleError`` if anything is off."""
    r = _Reader(name, raw)
    code, lang_name = raw.get("code"), raw.get("name")
    if not isinstance(code, str) or f"{code}.toml" != name:
        r.fail(f"'code' must be the file's name without .toml, not {code!r}")
    if not isinstance(lang_name, str) or not lang_name:
        r.fail("'name' must be the language's English name")
    unknown = set(raw) - {"code", "name", "coverage", "sources", *SECTIONS}
    if unknown:
        r.fail(f"unknown key(s) {sorted(unknown)}")
    titles = tuple(_title(r, e, i) for i, e in enumerate(r.entries("titles")))
    media = tuple(_media(r, e, i) for i, e in enumerate(r.entries("media")))
    attached = tuple(_either(r, e, f"attached[{i}]", ("suffix", "tag"))
                     for i, e in enumerate(r.entries("attached")))  # fmt: skip
    deleted = tuple(_deleted(r, e, i) for i, e in enumerate(r.entries("deleted")))
    edited = tuple(_edited(r, e, i) for i, e in enumerate(r.entries("edited")))
    events = tuple(_event(r, e, i, code) for i, e in enumerate(r.entries("events")))
    location = tuple(_either(r, e, f"location[{i}]", ("prefix", "live"))
                     for i, e in enumerate(r.entries("location")))  # fmt: skip
    twelve, before = _twelve_hour(r)
    words = _one(r, "date_time_words", {"words"})
    document = _one(r, "document", {"pages", "omitted"})
    polls = tuple(_poll(r, e) for e in r.entries("poll"))
    present = {
        "titles": titles, "media": media, "attached": attached, "deleted": deleted,
        "edited": edited, "events": events, "twelve_hour": twelve,
        "date_time_words": words.get("words", ()), "location": location,
        "document": document.get("pages", ()) + document.get("omitted", ()), "poll": polls,
    }  # fmt: skip
    have = tuple(s for s in SECTIONS if present[s])
    stated = raw.get("coverage")
    if not isinstance(stated, list) or tuple(stated) != have:
        r.fail(f"'coverage' must list the sections present, in order: {list(have)}")
    unused = set(r.sources) - r.used
    if unused:
        r.fail(f"source(s) {sorted(unused)} are named by no string")
    return Locale(
        code=code, name=lang_name, coverage=have, sources=r.sources, titles=titles,
        media=media, attached=attached, deleted=deleted, edited=edited, events=events,
        twelve_hour=twelve, marker_before_time=before,
        date_time_words=words.get("words", ()), location=location,
        pages=document.get("pages", ()), document_omitted=document.get("omitted", ()),
        polls=polls,
    )  # fmt: skip


def _title(r: _Reader, e: dict[str, Any], i: int) -> TitlePattern:
    where = f"titles[{i}]"
    r.sourced(e, where, {"pattern", "language_evidence"})
    pattern = r.string(e, "pattern", where)
    if pattern.count("{title}") != 1:
        r.fail(f"{where}: a title pattern has exactly one {{title}}")
    regex = template_regex(pattern, {"title": "(?P<t>.+)"}).replace(r"\s+", "[ _]+")
    regex = regex.removesuffix(f"[{_FINAL_STOP}]?")
    return TitlePattern(pattern, regex, bool(e.get("language_evidence", True)))


def _media(r: _Reader, e: dict[str, Any], i: int) -> Phrase:
    where = f"media[{i}]"
    unverified = r.sourced(e, where, {"text", "media"})
    media = r.string(e, "media", where)
    if media not in MEDIA_TYPES:
        r.fail(f"{where}: media {media!r} is not one of {sorted(MEDIA_TYPES)}")
    return Phrase(r.string(e, "text", where), media, unverified)


def _edited(r: _Reader, e: dict[str, Any], i: int) -> Phrase:
    unverified = r.sourced(e, f"edited[{i}]", {"text"})
    return Phrase(r.string(e, "text", f"edited[{i}]"), "edited", unverified)


def _deleted(r: _Reader, e: dict[str, Any], i: int) -> Phrase:
    where = f"deleted[{i}]"
    unverified = r.sourced(e, where, {"text", "by"})
    by = r.string(e, "by", where)
    if by not in ("self", "other"):
        r.fail(f"{where}: 'by' is 'self' or 'other'")
    return Phrase(r.string(e, "text", where), by, unverified)


def _either(r: _Reader, e: dict[str, Any], where: str, keys: tuple[str, str]) -> Phrase:
    unverified = r.sourced(e, where, set(keys))
    present = [k for k in keys if k in e]
    if len(present) != 1:
        r.fail(f"{where}: exactly one of {list(keys)}")
    return Phrase(r.string(e, present[0], where), present[0], unverified)


def _event(r: _Reader, e: dict[str, Any], i: int, code: str) -> EventRow:
    where = f"events[{i}]"
    unverified = r.sourced(e, where, {"event", "templates", "group", "strong"})
    event = r.string(e, "event", where)
    templates = r.strings(e, "templates", where)
    if not templates:
        r.fail(f"{where}: no templates")
    try:
        regex = "|".join(template_regex(t) for t in templates)  # (tests compile each one)
    except LocaleError as exc:
        r.fail(f"{where}: {exc}")
    starts = tuple(s for t in templates if (s := _literal_start(t)))
    words = tuple(w for t in templates if (w := _actor_word(t)))
    kind: Literal["system", "call"] = "call" if event in CALL_EVENTS else "system"
    anchors = tuple(anchor_word(t) for t in templates)
    return EventRow(event, kind, bool(e.get("group", False)), bool(e.get("strong", False)),
                    code, templates, regex, starts, words, anchors, unverified)  # fmt: skip


def _poll(r: _Reader, e: dict[str, Any]) -> Poll:
    r.sourced(e, "poll", {"marker", "option", "votes"})
    return Poll(r.string(e, "marker", "poll"), r.string(e, "option", "poll"),
                r.strings(e, "votes", "poll"))  # fmt: skip


def _twelve_hour(r: _Reader) -> tuple[tuple[tuple[str, Literal["am", "pm"]], ...], bool]:
    entries = r.entries("twelve_hour")
    if not entries:
        return (), False
    e = entries[0]
    r.sourced(e, "twelve_hour", {"am", "pm", "before_time"})
    am = [(m, "am") for m in r.strings(e, "am", "twelve_hour")]
    pm = [(m, "pm") for m in r.strings(e, "pm", "twelve_hour")]
    pairs: list[tuple[str, Literal["am", "pm"]]] = [*am, *pm]  # type: ignore[list-item]
    return tuple(pairs), bool(e.get("before_time", False))


def _one(r: _Reader, section: str, keys: set[str]) -> dict[str, tuple[str, ...]]:
    entries = r.entries(section)
    if not entries:
        return {}
    e = entries[0]
    r.sourced(e, section, keys)
    return {k: r.strings(e, k, section) for k in keys}
