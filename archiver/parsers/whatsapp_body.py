"""What a WhatsApp message line says: who sent it and what kind of message it is.

Pure functions over strings, driven by the language tables (``whatsapp_locale``). The
common case (a plain text message) is decided by a handful of C-level string checks; the
regexes and the normalised comparisons only run on lines that look special.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from archiver.core.model import Attachment, Kind
from archiver.parsers.whatsapp_locale import (
    ACTOR_HINT,
    ANCHOR_STRIP,
    ATTACHED_SUFFIXES,
    ATTACHED_TAGS,
    DELETED,
    DOCUMENT_OMITTED,
    DOCUMENT_OMITTED_WORDS,
    DOCUMENT_TITLE,
    EDITED,
    INVISIBLE,
    LIVE_LOCATION,
    LOCATION_PREFIXES,
    MAPS_QUERY,
    OMITTED,
    POLL_MARKERS,
    POLL_OPTION,
    SYSTEM_EVENTS,
    match_form,
    placeholder_key,
)

INVISIBLE_SET = frozenset(INVISIBLE)
_DROP_INVISIBLE = str.maketrans("", "", INVISIBLE)


def strip_invisible(text: str) -> str:
    return text.translate(_DROP_INVISIBLE)


def clean_name(raw: str) -> tuple[str, bool]:
    """Display name as shown: no directional marks, no iOS ``~ `` non-contact prefix
    (reported as the second value), no trailing spaces, U+2011 as '-'."""
    name = strip_invisible(raw).strip()
    tilde = False
    if name[:1] == "~" and name[1:2].isspace():
        name, tilde = name[1:].strip(), True
    return name.replace("\u2011", "-"), tilde


# --- system events ----------------------------------------------------------------------


@dataclass(frozen=True)
class SystemEvent:
    event: str
    kind: Kind
    group: bool
    strong: bool
    lang: str = ""  # the language whose table has the event


_EVENTS = [SystemEvent(r.event, r.kind, r.group, r.strong, r.lang) for r in SYSTEM_EVENTS]
_ROW_RX = [re.compile(r.regex, re.DOTALL | re.IGNORECASE) for r in SYSTEM_EVENTS]
_ROWS_BY_WORD: dict[str, tuple[int, ...]] = {}
for _i, _row in enumerate(SYSTEM_EVENTS):
    for _word in {w for w in _row.anchors if w is not None}:
        _ROWS_BY_WORD[_word] = (*_ROWS_BY_WORD.get(_word, ()), _i)
_ALWAYS_TRIED = frozenset(i for i, r in enumerate(SYSTEM_EVENTS) if None in r.anchors)
_ACTOR_HINT_RX = re.compile(ACTOR_HINT)
SYSTEM_MAX_LEN = 1200
MARKER_MAX_LEN = 4096
"""Longer lines are never an attachment, document or poll-option line: their regexes
(lazy name, then spaces, then a marker) take time in the square of a line's length."""


def match_system(text: str) -> SystemEvent | None:
    """The catalogued event a whole text is, if any (compared as ``match_form``: no
    invisible marks, NFC; case and a final full stop ignored). The first row, in table
    order, that matches wins; only rows with a template whose anchor word the text has
    (or a template without one) are tried."""
    if len(text) > SYSTEM_MAX_LEN:
        return None
    form = match_form(text)
    rows = set(_ALWAYS_TRIED)
    for word in form.casefold().split():
        found = _ROWS_BY_WORD.get(word.strip(ANCHOR_STRIP))
        if found is not None:
            rows.update(found)
    for i in sorted(rows):
        if _ROW_RX[i].fullmatch(form) is not None:
            return _EVENTS[i]
    return None


def actor_hint(candidate_author: str) -> bool:
    """Whether 'author' before the first ': ' reads like the start of a system line."""
    return _ACTOR_HINT_RX.search(candidate_author) is not None


def split_tight(rest: str) -> tuple[str | None, str]:
    """Variant 18 ``Bob:Hi`` (no space after the colon). Not a split when the colon is
    part of a time (``at 10:30``) or a URL (``https://``)."""
    j = rest.find(":")
    if j <= 0:
        return None, rest
    after = rest[j + 1 : j + 2]
    if after == "/" or (after.isdigit() and rest[j - 1].isdigit()):
        return None, rest
    return rest[:j], rest[j + 1 :]


# --- message bodies ---------------------------------------------------------------------

_DELETED = frozenset([*DELETED, *(d + "." for d in DELETED)])
_OMITTED: dict[str, tuple[Kind, tuple[Attachment, ...]]] = {
    text: ("contact" if media == "contact" else "media", (Attachment(media, None, note=text),))
    for text, media in OMITTED.items()
}
SINGLE_LINE_EXACT: dict[str, tuple[Kind, tuple[Attachment, ...], dict[str, Any] | None]] = {
    **{text: (kind, atts, None) for text, (kind, atts) in _OMITTED.items()},
    **{text: ("deleted", (), {"placeholder": text}) for text in _DELETED},
}
"""Whole one-line bodies whose record is known in advance, as the tables write them (the
records share the immutable attachment tuples; extra dicts are copied by the caller)."""
_MEDIA_BY_KEY = {placeholder_key(text): media for text, media in reversed(OMITTED.items())}
_DELETED_KEYS = frozenset(placeholder_key(text) for text in DELETED)
_LIVE_KEYS = frozenset(placeholder_key(text) for text in LIVE_LOCATION)
MARKER_KEYS = frozenset([*_MEDIA_BY_KEY, *_DELETED_KEYS, *_LIVE_KEYS])
PLACEHOLDER_MAX = 2 * max(len(k) for k in MARKER_KEYS) + 8
"""A body longer than this is never a placeholder, whatever marks and spaces it holds."""
_LIVE = frozenset(LIVE_LOCATION)
_POLL = frozenset(POLL_MARKERS)
EXACT = frozenset([*_DELETED, *OMITTED, *_LIVE, *_POLL])
"""First lines that are never plain text, as the tables write them (checked first)."""
PREFIXES = LOCATION_PREFIXES
OMISSION_WORDS = frozenset(
    word.casefold()
    for text in (*OMITTED, *DOCUMENT_OMITTED_WORDS)
    if " " in text and "<" not in text
    for word in [text.rsplit(" ", 1)[-1]]
)
"""The last word of an iOS placeholder ("omitted", "weggelassen", "omitida" ...)."""
OMIT_ENDINGS = tuple(sorted(OMISSION_WORDS))
"""Bodies ending so are read slowly (case variants of known placeholders are found by
their start)."""
SPECIAL_FIRST = frozenset(INVISIBLE + "<")

_ANDROID_ATTACHED = re.compile(
    r"(?P<name>.+?)\s+(?P<marker>(?i:" + "|".join(map(re.escape, ATTACHED_SUFFIXES)) + "))"
)
_IOS_ATTACHED = re.compile(
    r"(?:(?P<before>.*?)\s*)?<\s*(?P<marker>(?i:"
    + "|".join(map(re.escape, ATTACHED_TAGS))
    + rf")):\s*[{INVISIBLE}]*(?P<name>[^>]+?)\s*>"
)
_OLD_ATTACHED = re.compile(rf"(?P<name>\S.*?)\s*<[{INVISIBLE}]*attached>")
_OMITTED_DOC = re.compile(DOCUMENT_OMITTED, re.IGNORECASE)
_DOC_TITLE = re.compile(DOCUMENT_TITLE)
_POLL_OPTION = re.compile(POLL_OPTION)
_MAPS = re.compile(MAPS_QUERY)
_EDITED_MAX = max(len(m) for m in EDITED) + 8
_EDITED_RX = re.compile(
    "(?:" + "|".join(map(re.escape, sorted(EDITED, key=len, reverse=True))) + ")$", re.IGNORECASE
)

Body = tuple[Kind, str, tuple[Attachment, ...], dict[str, Any] | None, bool]
Resolve = Callable[[str], tuple[str, int | None]]


def _strip_edited(lines: list[str]) -> bool:
    last = lines[-1]
    m = _EDITED_RX.search(last, max(0, len(last) - _EDITED_MAX))
    if m is None:
        return False
    lines[-1] = last[: m.start()].rstrip().rstrip(INVISIBLE).rstrip()
    return True


def read_body(
    first: str, more: list[str] | None, resolve: Resolve, seen: dict[str, int] | None = None
) -> Body:
    """Kind, text (markers removed), attachments, extra and the edited flag of a
    message whose author is known. ``resolve`` maps an attachment name to its path in
    the export (or the name itself) and its size. ``seen`` counts the table strings
    recognised (placeholder keys, attachment markers): evidence of the language."""
    lines = [first] if more is None else [first, *more]
    edited = lines[-1][-1:] == ">" and _strip_edited(lines)
    clean = strip_invisible(lines[0]).strip()
    caption = "\n".join(lines[1:])
    single = len(lines) == 1
    if single and not clean and not edited:
        note = "empty body: view-once or disappearing media, not included in the export"
        return "media", "", (Attachment("view-once", None, note=note),), {"view_once": True}, False
    key = placeholder_key(clean) if len(clean) <= PLACEHOLDER_MAX else ""
    if single and key in _DELETED_KEYS:
        _note(seen, key)
        return "deleted", "", (), {"placeholder": clean}, edited
    media = _media(clean, key, caption, resolve, seen)
    if media is not None:
        kind, text, attachments, extra = media
        return kind, text, attachments, extra, edited
    if clean in _POLL and not single:
        return _poll(lines[1:], edited)
    location = _location(clean, key, caption)
    if location is not None:
        return "location", location[0], (), location[1], edited
    return "text", "\n".join(lines), (), None, edited


def _note(seen: dict[str, int] | None, key: str) -> None:
    if seen is not None and len(seen) < 1000:
        seen[key] = seen.get(key, 0) + 1


def _media(
    clean: str, key: str, caption: str, resolve: Resolve, seen: dict[str, int] | None
) -> tuple[Kind, str, tuple[Attachment, ...], dict[str, Any] | None] | None:
    omitted = _MEDIA_BY_KEY.get(key) if key else None
    if omitted is not None:
        _note(seen, key)
        kind: Kind = "contact" if omitted == "contact" else "media"
        return kind, caption, (Attachment(omitted, None, note=clean),), None
    if len(clean) > MARKER_MAX_LEN:
        return None
    m = _OMITTED_DOC.fullmatch(clean) if clean.endswith(OMIT_ENDINGS) else None
    if m is not None:
        doc = {"document": _document(m.group("title"), m.group("pages"))}
        return "media", caption, (Attachment(m.group("title"), None, note=clean),), doc
    extra: dict[str, Any] | None = None
    tail = clean[-1:]
    if tail == ")":
        m = _ANDROID_ATTACHED.fullmatch(clean)
    elif tail == ">":
        m = _IOS_ATTACHED.fullmatch(clean) or _OLD_ATTACHED.fullmatch(clean)
    else:
        m = None
    if m is None:
        return None
    if m.groupdict().get("marker"):
        _note(seen, m.group("marker").casefold())
    name = strip_invisible(m.group("name")).strip()
    before = m.groupdict().get("before") or ""
    if before:
        title = _DOC_TITLE.fullmatch(before)
        if title is not None:
            extra = {"document": _document(title.group("title"), title.group("pages"))}
        else:
            caption = before if not caption else before + "\n" + caption
    path, size = resolve(name)
    kind = "contact" if name.lower().endswith(".vcf") else "media"
    return kind, caption, (Attachment(name, path, size=size),), extra


def _document(title: str, pages: str | None) -> dict[str, Any]:
    return {"title": title, "pages": int(pages) if pages else None}


def _poll(lines: list[str], edited: bool) -> Body:
    question = lines[0]
    options: list[dict[str, Any]] = []
    for line in lines[1:]:
        m = _POLL_OPTION.fullmatch(line.strip()) if len(line) <= MARKER_MAX_LEN else None
        if m is not None:
            options.append({"text": m.group("text"), "votes": int(m.group("votes"))})
        elif options:
            options[-1]["text"] += "\n" + line
        else:
            question += "\n" + line
    text = "\n".join([question, *(o["text"] for o in options)])
    return "poll", text, (), {"poll": {"question": question, "options": options}}, edited


def _location(clean: str, key: str, caption: str) -> tuple[str, dict[str, Any]] | None:
    if key in _LIVE_KEYS:
        return caption, {"location": {"live": True}}
    if not clean.startswith(PREFIXES):
        return None
    url = clean.split(" ", 1)[1].strip()
    info: dict[str, Any] = {"url": url, "live": False}
    m = _MAPS.search(url)
    if m is not None:
        info["lat"], info["lon"] = float(m.group("lat")), float(m.group("lon"))
    text = url if not caption else url + "\n" + caption
    return text, {"location": info}


def is_plain(first: str, more: list[str] | None) -> bool:
    """The fast path: True when ``read_body`` would certainly return kind 'text' with no
    edit marker. C-level string checks, and for a short first line one normalised set
    look-up (a placeholder in another case or with marks). The first line counts as well
    as the last: Android writes an attachment's caption on the line after ``x.pdf (file
    attached)``."""
    last = first if more is None else more[-1]
    return (
        first[:1] not in SPECIAL_FIRST
        and first != ""
        and last[-1:] not in (">", ")")
        and first[-1:] not in (">", ")")
        and first not in EXACT
        and not first.startswith(PREFIXES)
        and not first.endswith(OMIT_ENDINGS)
        and (len(first) > PLACEHOLDER_MAX or placeholder_key(first) not in MARKER_KEYS)
    )


def reads_as_marker(text: str) -> bool:
    """Whether an archived one-line text message is a placeholder: one the tables know
    now (it was archived before they did) or one with a placeholder's shape."""
    clean = strip_invisible(text).strip()
    if len(clean) <= PLACEHOLDER_MAX and placeholder_key(clean) in MARKER_KEYS:
        return True
    return placeholder_shaped(clean)


_OMITTED_SHAPE_MAX = 60


def placeholder_shaped(text: str) -> bool:
    """Whether a one-line body (invisible marks removed) has the shape of a WhatsApp
    placeholder no table knows: Android's whole-body ``<…>`` (no other angle bracket, no
    link, at most 80 characters), or iOS's "… omitted" (at most three words and 60
    characters, ending in an omission word of any table: "omitted", "omitida" ...)."""
    if text[:1] == "<" and text[-1:] == ">":
        inner = text[1:-1]
        return len(text) <= 80 and "<" not in inner and ">" not in inner and "://" not in inner
    if len(text) > _OMITTED_SHAPE_MAX or len(text.split()) > 3:
        return False
    words = text.rstrip(".").casefold().split()
    return len(words) >= 2 and words[-1] in OMISSION_WORDS


def attachment_index(paths: Mapping[str, int], chat_path: str) -> Resolve:
    """Resolve attachment names against the files of the export: exact file name first,
    then a stored name with one more extension (the text says ``IMG-1.jpg``, the zip
    holds ``IMG-1.jpg.png``). Unknown names resolve to themselves with no size."""
    exact: dict[str, tuple[str, int]] = {}
    extended: dict[str, tuple[str, int]] = {}
    for path, size in paths.items():
        if path == chat_path:
            continue
        name = path.rsplit("/", 1)[-1]
        exact.setdefault(name, (path, size))
        if name.count(".") >= 2:
            extended.setdefault(name.rsplit(".", 1)[0], (path, size))

    def resolve(name: str) -> tuple[str, int | None]:
        hit = exact.get(name) or extended.get(name)
        return (name, None) if hit is None else hit

    return resolve
