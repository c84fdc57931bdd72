"""A document's transcript as lines and pages: the one layout every format follows.

Pages decide Bates numbers (one per page), so they are computed here once, from the
fonts' own character widths, and the PDF, the HTML transcript and the text file break
pages at the same lines: a Bates number stamped on a PDF page names the same messages
in the HTML and the text file. An A4 page holds ``LINES_PER_PAGE`` lines of 9 pt text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from archiver.production.documents import Document, Event
from archiver.production.fonts import Fonts

FONT_PT = 9.0
LINE_PT = 12.0
PAGE_W, PAGE_H = 595.28, 841.89
MARGIN = 42.0
TEXT_W = PAGE_W - 2 * MARGIN
INDENT_PT = 14.0
LINES_PER_PAGE = 54
_SPACES = re.compile(r"(\s+)")


@dataclass(frozen=True)
class Line:
    """One line of a transcript: ``style`` is head, body, meta, system or blank."""

    style: str
    text: str
    event: int
    first: bool = False

    @property
    def indent(self) -> bool:
        return self.style in ("body", "meta")


@dataclass
class Layout:
    pages: list[list[Line]]
    missing: list[tuple[int, str]] = field(default_factory=list)


def local_time(ts: int | None, zone: ZoneInfo) -> str:
    if ts is None:
        return "time not in the export"
    local = datetime.fromtimestamp(ts, zone)
    utc = datetime.fromtimestamp(ts, UTC)
    return f"{local:%Y-%m-%d %H:%M:%S} {local.tzname()} ({utc:%Y-%m-%d %H:%M:%S} UTC)"


def tags(event: Event) -> list[str]:
    """What sets a message apart, in words (shown beside its sender)."""
    out = []
    if event.context:
        out.append("context")
    if event.kind in ("system", "call", "deleted"):
        out.append(event.kind)
    if event.edited:
        out.append("edited")
    if event.forwarded_from:
        out.append(f"forwarded from {event.forwarded_from}")
    if event.reply_to_id is not None:
        out.append(f"reply to message {event.reply_to_id}")
    return out


def reactions_text(event: Event) -> str | None:
    parts = []
    for reaction in event.extra.get("reactions") or []:
        if isinstance(reaction, dict):
            value = reaction.get("emoji") or reaction.get("document_id") or "?"
            parts.append(f"{value} {reaction.get('count', 1)}")
    return "Reactions: " + ", ".join(parts) if parts else None


def attachment_text(doc: Document, att_name: str, stored: bool, bates: str | None) -> str:
    if not stored:
        return f"Attachment not in the export: {att_name}"
    return f"Attachment: {att_name} ({bates})"


def header_text(event: Event, zone: ZoneInfo) -> str:
    who = event.sender or "System"
    marks = "".join(f" [{t}]" for t in tags(event))
    return f"{who}, {local_time(event.sent_at, zone)}{marks}"


class _Wrapper:
    def __init__(self, fonts: Fonts, missing: list[tuple[int, str]]) -> None:
        self.fonts = fonts
        self.missing = missing

    def wrap(self, text: str, width_pt: float, event: int) -> list[str]:
        """``text`` broken into lines no wider than ``width_pt`` (at ``FONT_PT``)."""
        limit = width_pt / FONT_PT
        out: list[str] = []
        for para in text.split("\n"):
            lost: list[str] = []
            prepared = self.fonts.prepare(para, lost)
            self.missing.extend((event, ch) for ch in lost)
            line, used = "", 0.0
            for token in _SPACES.split(prepared):
                width = self.fonts.width(token)
                if used + width <= limit:
                    line, used = line + token, used + width
                    continue
                if line.strip():
                    out.append(line.rstrip())
                line, used = "", 0.0
                if token.isspace():
                    continue
                for ch in token:  # a word longer than a line is cut
                    w = self.fonts.width(ch)
                    if used + w > limit and line:
                        out.append(line)
                        line, used = "", 0.0
                    line, used = line + ch, used + w
            out.append(line.rstrip())
        return out


def event_lines(
    doc: Document, event: Event, zone: ZoneInfo, wrapper: _Wrapper, bates_of: dict[int, str]
) -> list[Line]:
    """The lines of one message: a head line, its text, edits, attachments, reactions."""
    lines = [
        Line("head", t, event.id, first=(i == 0))
        for i, t in enumerate(wrapper.wrap(header_text(event, zone), TEXT_W, event.id))
    ]
    style = "system" if event.kind in ("system", "call") else "body"
    for t in wrapper.wrap(event.shown_text, TEXT_W - INDENT_PT, event.id):
        lines.append(Line(style, t, event.id))
    meta = [f"Earlier text: {text}" for text, _ in event.versions]
    meta += [attachment_text(doc, a.name, a.stored, bates_of.get(a.id)) for a in event.attachments]
    reactions = reactions_text(event)
    if reactions:
        meta.append(reactions)
    for m in meta:
        lines.extend(
            Line("meta", t, event.id) for t in wrapper.wrap(m, TEXT_W - INDENT_PT, event.id)
        )
    lines.append(Line("blank", "", event.id))
    return lines


def layout(doc: Document, zone: ZoneInfo, fonts: Fonts, bates_of: dict[int, str]) -> Layout:
    """The pages of ``doc`` (at least one). ``bates_of`` names stored attachments by
    their Bates numbers (a placeholder of the same width while numbers are unknown)."""
    missing: list[tuple[int, str]] = []
    wrapper = _Wrapper(fonts, missing)
    pages: list[list[Line]] = [[]]
    for event in doc.events:
        for line in event_lines(doc, event, zone, wrapper, bates_of):
            if len(pages[-1]) >= LINES_PER_PAGE:
                pages.append([])
            if line.style == "blank" and not pages[-1]:
                continue
            pages[-1].append(line)
    return Layout(pages, missing)
