"""Turning one header line and its continuation lines into a model record.

Who sent it: everything before the first ``": "`` (or ``":"`` with no space, variant
18), cleaned; unless the line is a group event. Group events have no author on Android,
but iOS (and a few Android fixtures) put the group name or the actor in the author slot
(``[..] Team: Messages and calls are end-to-end encrypted...``, ``[..] ~ AK: ~ AK created
this group``); those are recognised by the system-phrase table, see ``_slot_event``.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from archiver.core.model import Attachment, Kind, Message, Record, Sender, Unparsed
from archiver.parsers.limits import CACHE_ENTRIES
from archiver.parsers.whatsapp_body import (
    EXACT,
    INVISIBLE_SET,
    OMIT_ENDINGS,
    PREFIXES,
    SINGLE_LINE_EXACT,
    SPECIAL_FIRST,
    Resolve,
    SystemEvent,
    actor_hint,
    clean_name,
    is_plain,
    match_system,
    placeholder_shaped,
    read_body,
    split_tight,
    strip_invisible,
)
from archiver.parsers.whatsapp_locale import DELETED, INVISIBLE, LRM, OMITTED, STRONG_STARTS

_STRONG3 = frozenset(s[:3] for s in STRONG_STARTS)
_UNKNOWN_EVENT = SystemEvent("", "system", True, False)  # under the group's own name
_NO_MATCH: tuple[str, ...] = ()  # str.startswith(()) is always False
_TAILS = (">", ")")  # attachment and edit markers end a body like this
_SPECIAL_ENDS = (*_TAILS, *OMIT_ENDINGS)  # ... and "x.pdf document omitted"
UI_SAMPLES = 50  # texts WhatsApp wrote that no table knows, kept to guess their script


def case_variants(text: str) -> set[str]:
    """A table string as it may be written in another case (lower, upper, first letter
    capital, title case, the first letter's case swapped), each also in NFD."""
    forms = {text.lower(), text.upper(), text.capitalize(), text.title()}
    forms.add(text[:1].swapcase() + text[1:])
    return forms | {unicodedata.normalize("NFD", f) for f in forms}


def _special_starts() -> dict[str, tuple[str, ...]]:
    starts: dict[str, tuple[str, ...]] = {}
    for start in (*STRONG_STARTS, *EXACT, *PREFIXES):
        starts[start[:3]] = (*starts.get(start[:3], ()), start)
    for text in (*OMITTED, *DELETED):
        for variant in sorted(case_variants(text) - {text}):
            if variant not in starts.get(variant[:3], ()):
                starts[variant[:3]] = (*starts.get(variant[:3], ()), variant)
    return starts


SPECIAL_STARTS: Final = _special_starts()
"""Every start of a text that is not plain (placeholders, locations, polls, system
phrases), keyed by its first three characters: a cheap dict miss for almost every
message, a ``startswith`` for the few that share three characters with one. A start of a
placeholder in another case leads to the slow path, which compares normalised forms."""


def make_message(
    chat_key: str,
    kind: Kind,
    sender: Sender | None,
    sent_at: datetime,
    sent_at_text: str,
    text: str,
    line: int,
    edited: bool,
    attachments: tuple[Attachment, ...],
    extra: dict[str, Any] | None,
) -> Message:
    """A ``Message`` with WhatsApp's fixed fields: no id, no edit time, no reply or
    forward links. (The hot path of ``builder`` calls ``Message`` itself.)"""
    return Message(chat_key, kind, sender, sent_at, sent_at_text, text, line, None, edited, None,
                   attachments, None, None, extra)  # fmt: skip


@dataclass(frozen=True)
class _Who:
    sender: Sender
    extra: dict[str, Any] | None  # {"tilde": True} for iOS non-contacts
    repeat: tuple[str, ...]  # "Name " / raw author + " ": the actor repeated in the text
    hint: bool  # the candidate author reads like the start of a system line


class RecordBuilder:
    """Builds the records of one chat; counts kinds and group evidence as it goes."""

    def __init__(
        self,
        chat_key: str,
        resolve: Resolve,
        ios_like: bool,
        counts: dict[str, int],
        order: str,
        title_is_person: bool = False,
    ) -> None:
        self.key = chat_key
        self.title_is_person = title_is_person
        self.resolve = resolve
        self.ios_like = ios_like
        self.counts = counts
        self.order = order
        self.kinds: dict[str, int] = dict.fromkeys(
            ("text", "media", "system", "deleted", "poll", "location", "contact", "call"), 0
        )
        self._who: dict[str, _Who] = {}
        # language evidence: table strings recognised (as written or as keys), events
        self.seen: dict[str, int] = {}
        self.event_languages: dict[str, int] = {}
        self.encryption_languages: dict[str, int] = {}
        self.ui_samples: list[str] = []  # WhatsApp's own texts no table knows
        self.first_unrecognised: int | None = None

    def _new_who(self, raw: str) -> _Who:
        name, tilde = clean_name(raw)
        repeat = (name + " ", raw + " ") if name and self.ios_like else _NO_MATCH
        who = _Who(Sender(name, name), {"tilde": True} if tilde else None, repeat, actor_hint(raw))
        if len(self._who) < CACHE_ENTRIES:
            self._who[raw] = who
        return who

    def builder(self) -> Callable[[int, str, str, datetime | None, int, list[str] | None], Record]:
        """``build(line number, header line, timestamp text, sent_at, body start, more
        lines)``: the record for one header line and its continuation lines.

        A closure, because it runs once per message: the plain-text fast path (about 90%
        of messages) reads only local names; everything else goes to ``_build``."""
        key, who_of, kinds, slow = self.key, self._who.get, self.kinds, self._build
        trim, impossible, seen = self._trim, self._impossible, self.seen
        specials, exact, special_first = SPECIAL_STARTS, SINGLE_LINE_EXACT, SPECIAL_FIRST
        new, ios = Message, self.ios_like

        def build(
            lineno: int,
            line: str,
            ts: str,
            dt: datetime | None,
            start: int,
            more: list[str] | None,
        ) -> Record:
            if more is not None and not more[-1]:
                more = trim(more)
            if dt is None:
                return impossible(line, more, ts, lineno)
            i = line.find(": ", start)
            if i > start:
                who = who_of(line[start:i])
                body = line[i + 2 :]
                starts = specials.get(body[:3])
                if starts is not None and more is None and who is not None:
                    known = exact.get(body)  # <Media omitted>, This message was deleted
                    if known is not None:
                        kind, attachments, extra = known
                        kinds[kind] += 1
                        seen[body] = seen.get(body, 0) + 1
                        if who.extra or extra:
                            extra = {**(who.extra or {}), **(extra or {})}
                        return new(key, kind, who.sender, dt, ts, "", lineno, None, False, None,
                                   attachments, None, None, extra)  # fmt: skip
                if (
                    who is not None
                    and (starts is None or not body.startswith(starts))
                    and body
                    and body[0] not in special_first
                    and not body.endswith(_SPECIAL_ENDS)
                    and (more is None or not more[-1].endswith(_TAILS))
                    and not (ios and body.startswith(who.repeat))
                ):  # a plain text message: nothing in _build could apply
                    text = body if more is None else "\n".join([body, *more])
                    return new(key, "text", who.sender, dt, ts, text, lineno, None, False, None, (),
                               None, None, who.extra)  # fmt: skip
            return slow(line[start:], more, dt, ts, lineno)

        return build

    def finish(self, headers: int) -> None:
        """Plain text messages are not counted one by one: they are what is left."""
        impossible = self.counts.get("impossible_headers", 0)
        others = sum(n for kind, n in self.kinds.items() if kind != "text")
        self.kinds["text"] = headers - impossible - others

    def _build(
        self, rest: str, more: list[str] | None, dt: datetime, ts: str, lineno: int
    ) -> Message:
        if rest[:1] in INVISIBLE_SET:
            rest = rest.lstrip(INVISIBLE)
        i = rest.find(": ")
        raw: str | None
        if i > 0:
            raw, body = rest[:i], rest[i + 2 :]
        else:
            raw, body = split_tight(rest)
        if raw is None:
            return self._system(rest, more, dt, ts, lineno, match_system(_plain(rest)), None)
        who = self._who.get(raw) or self._new_who(raw)
        if who.hint:
            event = match_system(_plain(rest))
            if event is not None:
                return self._system(rest, more, dt, ts, lineno, event, None)
        if body[:3] in _STRONG3 or body[:1] in INVISIBLE_SET or body.startswith(who.repeat):
            event = self._slot_event(body, who)
            if event is not None:
                return self._system(body.lstrip(INVISIBLE), more, dt, ts, lineno, event, who)
        if is_plain(body, more):
            text = body if more is None else "\n".join([body, *more])
            return make_message(
                self.key, "text", who.sender, dt, ts, text, lineno, False, (), who.extra
            )
        kind, text, attachments, extra, edited = read_body(body, more, self.resolve, self.seen)
        if kind != "text":
            self.kinds[kind] += 1
        elif more is None and placeholder_shaped(_plain(text)):
            self._unrecognised(_plain(text), lineno)
        if any(a.path is not None for a in attachments):
            self.counts["media_attached"] += 1
        if who.extra:
            extra = {**who.extra, **(extra or {})}
        return make_message(
            self.key, kind, who.sender, dt, ts, text, lineno, edited, attachments, extra
        )

    def _slot_event(self, body: str, who: _Who) -> SystemEvent | None:
        """A group event written in an author slot. Strong (boilerplate) phrases count
        in any style; weak ones ("X added Y") only in iOS-style files and only with iOS
        evidence: the LRM iOS puts before system text, or the actor repeated. A phrase not
        in the table counts when iOS shows both the LRM and the chat's own name as author."""
        event = match_system(_plain(body))
        lrm = body[:1] in INVISIBLE_SET
        if event is None:
            # a phrase we do not know, but iOS marks it as an event twice over: the group's
            # own name in the author slot and the LRM it writes before system text (not in
            # a 1:1 chat, whose title is the other person's name)
            slot_is_group = who.sender.name == self.key and not self.title_is_person
            known_event = body[:1] == LRM and self.ios_like and slot_is_group
            return _UNKNOWN_EVENT if known_event else None
        if event.strong:
            return event
        evidence = lrm or body.startswith(who.repeat)
        return event if self.ios_like and evidence else None

    def _system(
        self,
        text: str,
        more: list[str] | None,
        dt: datetime,
        ts: str,
        lineno: int,
        event: SystemEvent | None,
        slot: _Who | None,
    ) -> Message:
        kind: Kind = "system" if event is None else event.kind
        sender = slot.sender if slot is not None and kind == "call" else None
        extra: dict[str, Any] = {}
        if event is None or not event.event:
            self._sample(text)
        if event is not None:
            if event.lang:
                self.event_languages[event.lang] = self.event_languages.get(event.lang, 0) + 1
                if event.event == "encryption":
                    langs = self.encryption_languages
                    langs[event.lang] = langs.get(event.lang, 0) + 1
            if event.event:
                extra["event"] = event.event
            if event.group:
                self.counts["group_events"] += 1
        if slot is not None and sender is None:
            extra["author_slot"] = slot.sender.name
        self.kinds[kind] += 1  # never "text"
        if more is not None:
            text = "\n".join([text, *more])
        return make_message(self.key, kind, sender, dt, ts, text, lineno, False, (), extra or None)

    def _unrecognised(self, text: str, lineno: int) -> None:
        counts = self.counts
        counts["unrecognised_placeholders"] = counts.get("unrecognised_placeholders", 0) + 1
        if self.first_unrecognised is None:
            self.first_unrecognised = lineno
        self._sample(text)

    def _sample(self, text: str) -> None:
        if len(self.ui_samples) < UI_SAMPLES:
            self.ui_samples.append(text[:200])

    def _impossible(self, line: str, more: list[str] | None, ts: str, lineno: int) -> Unparsed:
        lines = [line] if more is None else [line, *more]
        self.counts["unparsed_lines"] += len(lines)
        self.counts["impossible_headers"] = self.counts.get("impossible_headers", 0) + 1
        reason = f"impossible date or time '{ts}' (date order {self.order})"
        return Unparsed("\n".join(lines), reason, lineno, self.key)

    def _trim(self, more: list[str]) -> list[str] | None:
        """Blank lines at the end of a body are export artefacts (WhatsApp trims what
        people send); they are dropped and counted."""
        while more and not more[-1]:
            more.pop()
            self.counts["blank_lines_dropped"] += 1
        return more or None


def _plain(text: str) -> str:
    return strip_invisible(text).strip()
