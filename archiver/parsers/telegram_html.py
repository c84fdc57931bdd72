"""Telegram Desktop HTML exports: ``messages.html`` (+ ``messages2.html``…) of one chat, or a
full-account export (``export_results.html`` + ``chats/chat_NNN/messages*.html``).

HTML is weaker evidence than JSON (docs/formats.md, Telegram HTML): there are no user
ids, only display names, and no chat id. So senders are keyed ``name:<display name>`` and chats
``name:<title>`` (``html:<folder>`` when the page has no title); JSON wins whenever a
folder holds both. Each page (at most 1,000 messages) is parsed with selectolax into
``Block``s (what a ``div.message`` says), which ``_ChatRun`` turns into records.
"""

from __future__ import annotations

import itertools
import operator
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from selectolax.lexbor import LexborHTMLParser
from selectolax.lexbor import LexborNode as Node

from archiver.core.errors import InputError, ParseError
from archiver.core.model import (
    Attachment,
    Chat,
    Kind,
    Message,
    Notice,
    ParseFacts,
    Platform,
    Record,
    Sender,
    Unparsed,
)
from archiver.parsers.base import ExportFile, ExportUnit, ParseOptions, top_level
from archiver.parsers.limits import CACHE_ENTRIES, MAX_HTML_PAGE_BYTES, MAX_NESTING
from archiver.parsers.telegram_common import (
    LocalClock,
    name_key,
    partial_notice,
    sorted_pages,
)

_PAGE = re.compile(r"(?:^|/)messages\d*\.html$")
_CHAT_FOLDER = re.compile(r"^(?:(?P<root>[^/]+)/)?chats/(?P<chat>chat_\d+)/messages\d*\.html$")
_TITLE = re.compile(
    r"(\d\d)\.(\d\d)\.(\d{4}) (\d\d):(\d\d):(\d\d)"
    r"(?:\s+(?:UTC|GMT)(?:([+-])(\d\d):?(\d\d))?)?"
)
_DAY = re.compile(
    r"\d{1,2} (January|February|March|April|May|June|July|August|September|October|"
    r"November|December) \d{4}"
)
_UNSUPPORTED = "This message is not supported by this version of Telegram Desktop"
_NO_MESSAGES = "No exported messages"
_CALL_SERVICE = re.compile(r"(?:started voice chat|^Voice chat\b)")
_SECONDS = re.compile(r"\((\d+) seconds?\)")
_MAPS = re.compile(r"[?&]q=(-?\d+(?:\.\d+)?),(-?\d+(?:\.\d+)?)")
_REPLY_ID = re.compile(r"go_to_message(-?\d+)")
MEDIA_KINDS = {
    "photo_wrap": "photo",
    "sticker_wrap": "sticker",
    "animated_wrap": "animation",
    "video_file_wrap": "video",
    "media_photo": "photo",
    "media_video": "video",
    "media_voice_message": "voice",
    "media_audio_file": "audio",
    "media_file": "document",
}
_TITLE_MEDIA = {
    "Video message": "round_video",
    "Animation": "animation",
    "Sticker": "sticker",
    "Voice message": "voice",
}


class TelegramHtmlParser:
    """Telegram Desktop HTML export (single chat or full account)."""

    name: ClassVar[str] = "telegram-html"
    platform: ClassVar[Platform] = "telegram"
    version: ClassVar[str] = "1"

    def sniff(self, unit: ExportUnit) -> bool:
        return bool(_chats(unit))

    def parse(self, unit: ExportUnit, options: ParseOptions) -> Iterator[Record]:
        chats = _chats(unit)
        if not chats:
            raise InputError(f"{unit.name}: no Telegram messages.html found in this export")
        facts = _Facts(options)
        listed = _chat_list(unit, chats)
        for folder, section, pages in chats:
            run = _ChatRun(folder, section, pages, options, facts)
            yield from run.records()
            entry = listed.get(folder)
            outgoing = re.search(r"(?:\d+|No) outgoing messages?", entry or "")
            if outgoing:
                yield partial_notice(run.key, run.title, "chats", run.count, outgoing.group())
        yield ParseFacts(facts.as_dict(len(chats) > 1 or chats[0][1] == "chats"))


def _chats(unit: ExportUnit) -> list[tuple[str, str, list[ExportFile]]]:
    """(folder, section, pages in order) per chat; folder ends with '/' or is ''."""
    top = top_level(unit.files)
    names = {f.name for f in top}
    root = top[0].path[: -len(top[0].name)] if top else ""
    if "messages.html" in names:
        pages = [f for f in top if _PAGE.search(f.name)]
        return [(root, "single", _ordered(pages))]
    if "export_results.html" not in names:
        return []
    folders: dict[str, list[ExportFile]] = {}
    for f in unit.files:
        rel = f.path[len(root) :] if f.path.startswith(root) else None
        m = _CHAT_FOLDER.match(rel or "")
        if rel is not None and m and not m.group("root"):
            folders.setdefault(root + "chats/" + m.group("chat") + "/", []).append(f)
    return [
        (folder, "chats", _ordered(pages))
        for folder, pages in sorted(folders.items(), key=lambda kv: _folder_number(kv[0]))
    ]


_LIST_ENTRY = re.compile(
    r'<a class="entry block_link clearfix" href="\.\./(chats/chat_\d+/)messages\.html[^"]{0,256}">'
    r"(.{0,4096}?)</a>",
    re.S,
)


def _chat_list(unit: ExportUnit, chats: list[tuple[str, str, list[ExportFile]]]) -> dict[str, str]:
    """Folder -> the text of its entry in ``lists/chats.html`` of a full export, whose
    "N outgoing messages" says the chat was exported with "only my messages"."""
    if not chats or chats[0][1] != "chats":
        return {}
    root = chats[0][0][: chats[0][0].find("chats/")]
    listing = unit.get(root + "lists/chats.html")
    if listing is None:
        return {}
    with listing.open() as fh:
        text = fh.read(MAX_HTML_PAGE_BYTES).decode("utf-8", "replace")
    return {
        root + m.group(1): " ".join(re.sub(r"<[^>]+>", " ", m.group(2)).split())
        for m in _LIST_ENTRY.finditer(text)
    }


def _folder_number(folder: str) -> int:
    m = re.search(r"chat_(\d+)/$", folder)
    return int(m.group(1)) if m else 0


def _ordered(pages: list[ExportFile]) -> list[ExportFile]:
    by_path = {f.path: f for f in pages}
    return [by_path[p] for p in sorted_pages(list(by_path))]


@dataclass
class _Facts:
    options: ParseOptions
    pages: list[str] = field(default_factory=list)
    chats: list[dict[str, Any]] = field(default_factory=list)
    offsets: dict[str, int] = field(default_factory=dict)
    orphan_joined: list[dict[str, Any]] = field(default_factory=list)
    no_offset_titles: int = 0
    clock: LocalClock | None = None

    def as_dict(self, full: bool) -> dict[str, Any]:
        facts: dict[str, Any] = {
            "parser": TelegramHtmlParser.name,
            "export_kind": "full" if full else "single",
            "pages": self.pages,
            "chats": self.chats,
            "messages": sum(c["messages"] for c in self.chats),
            "unparsed": sum(c["unparsed"] for c in self.chats),
            "title_offsets_seen": self.offsets,
            "exporter_era": (
                "tdesktop >= 3.7.6 (title has UTC offset)"
                if self.offsets
                else "tdesktop < 3.7.6 (title without UTC offset)"
            ),
            "sender_identity": "display names only (HTML has no user ids)",
            "joined_without_sender": self.orphan_joined,
        }
        if self.options.tz_explicit:
            facts["time_policy"] = (
                f"title wall times read in --tz {self.options.tz.key}; the exporter's UTC "
                "offset (the zone's standard offset, wrong by the DST delta in summer) ignored"
            )
        else:
            facts["time_policy"] = (
                "title wall times converted with the exporter's UTC offset where written "
                "(it is the zone's STANDARD offset: summer times may be one hour late; pass "
                f"--tz to correct); titles without an offset read in {self.options.tz.key}"
            )
        if self.clock is not None and (self.clock.ambiguous or self.clock.gaps):
            facts["dst"] = {
                "ambiguous": self.clock.ambiguous,
                "second_occurrence": self.clock.folded,
                "nonexistent_moved_forward": self.clock.gaps,
            }
        return facts


class _ChatRun:
    """One chat folder: its pages in order, blocks to records."""

    def __init__(
        self,
        folder: str,
        section: str,
        pages: list[ExportFile],
        options: ParseOptions,
        facts: _Facts,
    ) -> None:
        self.folder = folder
        self.section = section
        self.pages = pages
        self.options = options
        self.facts = facts
        if facts.clock is None:
            facts.clock = LocalClock(options.tz)
        self.clock = facts.clock
        self.key = ""
        self.count = 0
        self.unparsed = 0
        self.unsupported = 0
        self.senders: dict[str, Sender] = {}
        self.day: str | None = None

    def records(self) -> Iterator[Record]:
        self.clock.reset()
        title: str | None = None
        self.title: str | None = None
        opened = False
        for page in self.pages:
            self.facts.pages.append(page.path)
            previous: Block | None = None  # joining never crosses files
            page_title, blocks = _read_page(page)
            for block in blocks:
                if not opened:
                    title = self.title = page_title or None
                    self.key = "name:" + title if title else "html:" + (self.folder or "/")
                    yield Chat(
                        platform="telegram",
                        key=self.key,
                        title=title,
                        type=None,
                        extra={"section": self.section, "folder": self.folder},
                    )
                    opened = True
                if block.service:
                    record = self._service(block, page)
                else:
                    record = self._default(block, previous, page)
                    previous = block
                if record is not None:
                    yield record
        if not opened:
            self.key = "html:" + (self.folder or "/")
            yield Chat(
                platform="telegram", key=self.key, title=None, extra={"section": self.section}
            )
        if self.unsupported:
            yield Notice(
                code="unsupported-messages",
                message=(
                    f"Telegram chat {(title or self.key)!r}: {self.unsupported} message(s) were "
                    "exported as unsupported; kept as unparsed records."
                ),
                chat_key=self.key,
            )
        self.facts.chats.append(
            {
                "key": self.key,
                "title": title,
                "section": self.section,
                "folder": self.folder,
                "pages": len(self.pages),
                "messages": self.count,
                "unparsed": self.unparsed,
            }
        )

    # -- blocks ---------------------------------------------------------------------

    def _service(self, b: Block, page: ExportFile) -> Record | None:
        text = b.body
        mid = b.msg_id
        if mid is not None and mid.startswith("-") and len(mid) < 10 and _DAY.fullmatch(text):
            self.day = text
            return None
        if text == _NO_MESSAGES:
            return None
        if text.startswith(_UNSUPPORTED):
            self.unparsed += 1
            self.unsupported += 1
            return Unparsed(
                raw=text,
                reason=f"message {mid} was exported as unsupported by Telegram Desktop",
                line=b.line,
                chat_key=self.key,
            )
        self.count += 1
        kind: Kind = "call" if _CALL_SERVICE.search(text) else "system"
        extra: dict[str, Any] = {"time_source": "none", "page": page.path}
        if self.day:
            extra["day"] = self.day
        if b.links:
            extra["links"] = b.links
        reply = _reply_id(b.links)
        return Message(
            chat_key=self.key,
            kind=kind,
            sender=None,
            sent_at=None,
            sent_at_text=None,
            text=text,
            line=b.line,
            msg_id=mid,
            reply_to=reply,
            extra=extra,
        )

    def _default(self, b: Block, previous: Block | None, page: ExportFile) -> Record:
        extra: dict[str, Any] = {"page": page.path}
        if b.from_name is None and b.joined:
            if previous is not None:
                b.from_name = previous.from_name
                b.via = previous.via
                if b.forwarded and b.fwd_name is None:
                    b.fwd_name = previous.fwd_name
                extra["sender_inherited"] = True
            else:
                extra["sender_inherited"] = False
                self.facts.orphan_joined.append({"page": page.path, "msg_id": b.msg_id})
        sender = None
        if b.from_name is not None:
            sender = self._sender(b.from_name)
        sent_at, note = self._time(b.date_title)
        if note:
            extra["time_note"] = note
        text = b.text
        if b.entities:
            extra["entities"] = b.entities
        if b.signature:
            extra["author"] = b.signature
        if b.via:
            extra["via_bot"] = b.via
        if b.forwarded:
            if b.fwd_date:
                extra["forward_date_text"] = b.fwd_date
            if b.fwd_name is None:
                extra["forwarded_from_hidden"] = True
        if b.reactions:
            extra["reactions"] = b.reactions
        if b.reply_other_chat:
            extra["reply_to_other_chat"] = True
        if self.day:
            extra["day"] = self.day
        kind, text, attachments = self._media(b, text, extra)
        self.count += 1
        return Message(
            chat_key=self.key,
            kind=kind,
            sender=sender,
            sent_at=sent_at,
            sent_at_text=b.date_title,
            text=text,
            line=b.line,
            msg_id=b.msg_id,
            attachments=attachments,
            reply_to=_reply_id(b.reply_links),
            forwarded_from=b.fwd_name if b.forwarded else None,
            extra=extra,
        )

    def _sender(self, shown: str) -> Sender:
        s = self.senders.get(shown)
        if s is None:
            name = None if shown == "Deleted Account" else shown
            s = Sender(key=name_key(shown), name=name)
            if len(self.senders) < CACHE_ENTRIES:
                self.senders[shown] = s
        return s

    def _time(self, title: str | None) -> tuple[datetime | None, str | None]:
        if not title:
            return None, "no time"
        m = _TITLE.match(title)
        if m is None:
            return None, "unreadable time"
        d, mo, y, h, mi, s = (int(g) for g in m.groups()[:6])
        sign, oh, om = m.group(7), m.group(8), m.group(9)
        has_zone = "UTC" in title[19:] or "GMT" in title[19:]
        if has_zone:
            suffix = title[20:].strip()[:32]
            offsets = self.facts.offsets
            if suffix in offsets or len(offsets) < 100:  # (the exporter writes one or two)
                offsets[suffix] = offsets.get(suffix, 0) + 1
        if has_zone and not self.options.tz_explicit:
            offset = timedelta(hours=int(oh or 0), minutes=int(om or 0))
            if sign == "-":
                offset = -offset
            try:
                return (datetime(y, mo, d, h, mi, s) - offset).replace(tzinfo=UTC), None
            except ValueError:
                return None, "unreadable time"
        try:
            return self.clock.to_utc(y, mo, d, h, mi, s)
        except ValueError:
            return None, "unreadable time"

    def _media(
        self, b: Block, text: str, extra: dict[str, Any]
    ) -> tuple[Kind, str, tuple[Attachment, ...]]:
        if b.poll is not None:
            extra["poll"] = b.poll
            lines = [text] if text else []
            lines += [b.poll["question"], *[a["text"] for a in b.poll["answers"]]]
            return "poll", "\n".join(lines), ()
        if not b.media_class:
            return "text", text, ()
        cls = b.media_class
        media: dict[str, Any] = {"class": cls}
        for k in ("title", "description", "status"):
            if b.media.get(k):
                media[k] = b.media[k]
        extra["media"] = media
        link = b.media.get("href")
        if cls == "media_call":
            status = b.media.get("status", "")
            seconds = _SECONDS.search(status)
            extra["call"] = {
                "status": status,
                "duration_seconds": int(seconds.group(1)) if seconds else None,
            }
            return "call", text or f"Phone call: {status}".strip(), ()
        if cls in ("media_location", "media_live_location", "media_venue"):
            coords = _MAPS.search(link or "")
            if coords:
                extra["location"] = {
                    "latitude": float(coords.group(1)),
                    "longitude": float(coords.group(2)),
                }
            if not text and cls == "media_venue":
                text = "\n".join(v for v in (b.media.get("title"), b.media.get("description")) if v)
            return "location", text, ()
        if cls == "media_contact":
            att = self._attachment(link, "contact.vcf", None) if link else None
            status = b.media.get("status", "").removesuffix(" - vCard")
            shown = " ".join(v for v in (b.media.get("title"), status) if v)
            return "contact", text or shown, ((att,) if att else ())
        if cls in ("media_game", "media_invoice", "media_giveaway"):
            return "text", text, ()
        kind_word = MEDIA_KINDS.get(cls, "document")
        kind_word = _TITLE_MEDIA.get(b.media.get("title", ""), kind_word)
        media["type"] = kind_word
        name = b.media.get("title") if cls == "media_file" else None
        att = self._attachment(link, name, b.media.get("description"), kind_word)
        return "media", text, (att,)

    def _attachment(
        self, href: str | None, name: str | None, description: str | None, fallback: str = "file"
    ) -> Attachment:
        if href and not href.startswith(("http://", "https://")):
            path = _join(self.folder_rel, href)
            return Attachment(name=name or href.rsplit("/", 1)[-1], path=path)
        return Attachment(name=name or fallback, path=None, note=description or "not exported")

    @property
    def folder_rel(self) -> str:
        """The chat folder relative to the export root (where export_results.html is)."""
        if self.section == "single":
            return ""
        i = self.folder.find("chats/")
        return self.folder[i:] if i >= 0 else ""


def _join(folder: str, href: str) -> str:
    parts: list[str] = []
    for p in (folder + href).split("/"):
        if p == "..":
            if parts:
                parts.pop()
            else:
                parts.append(p)
        elif p not in ("", "."):
            parts.append(p)
    return "/".join(parts)


def _reply_id(links: list[str]) -> str | None:
    for href in links:
        m = _REPLY_ID.search(href)
        if m:
            return m.group(1)
    return None


# ---------------------------------------------------------------------------------------
# Reading a page: the DOM of one messages*.html into message blocks
# ---------------------------------------------------------------------------------------

_WRAPS = ("photo_wrap", "sticker_wrap", "animated_wrap", "video_file_wrap")
_FORMAT = {
    "strong": "bold", "b": "bold", "em": "italic", "i": "italic", "code": "code",
    "pre": "pre", "u": "underline", "s": "strikethrough", "blockquote": "blockquote",
}  # fmt: skip
_VOTES = re.compile(r"(\d+) votes?")
_BLOCK_ID = re.compile(rb'<div class="message[ "][^>]{0,512}?id="message(-?\d+)"')


@dataclass
class Block:
    """What one ``div.message`` says, before interpretation."""

    msg_id: str | None
    service: bool
    joined: bool
    line: int | None
    body: str = ""
    links: list[str] = field(default_factory=list)
    date_title: str | None = None
    from_name: str | None = None
    via: str | None = None
    forwarded: bool = False
    fwd_name: str | None = None
    fwd_date: str | None = None
    text: str = ""
    entities: list[dict[str, str]] = field(default_factory=list)
    signature: str | None = None
    reply_links: list[str] = field(default_factory=list)
    reply_other_chat: bool = False
    media_class: str | None = None
    media: dict[str, str] = field(default_factory=dict)
    poll: dict[str, Any] | None = None
    reactions: list[str] = field(default_factory=list)


def _read_page(page: ExportFile) -> tuple[str, list[Block]]:
    """The chat title and the message blocks of one page (at most 1,000 messages, so a
    whole page in memory is fine; selectolax measured 5x faster than html.parser)."""
    with page.open() as fh:
        data = fh.read(MAX_HTML_PAGE_BYTES + 1)
    if len(data) > MAX_HTML_PAGE_BYTES:
        raise ParseError(
            f"{page.path}: a page larger than {MAX_HTML_PAGE_BYTES >> 20} MiB; Telegram Desktop "
            "writes 1,000 messages (1-2 MB) a page, so the file was edited or is not a Telegram "
            "export. Nothing from it was ingested; export the chat again."
        )
    _check_nesting(page, data)
    lines = _id_lines(data)
    tree = LexborHTMLParser(data.decode("utf-8", "replace"))
    header = tree.css_first("div.page_header div.text")
    title = _flat(header.text()) if header is not None else ""
    blocks = []
    for node in tree.css("div.message"):
        ident = node.attributes.get("id") or ""
        if not ident.startswith("message"):
            continue
        classes = (node.attributes.get("class") or "").split()
        mid = ident[len("message") :] or None
        b = Block(mid, "service" in classes, "joined" in classes, lines.get(mid or ""))
        if b.service:
            body = node.css_first("div.body.details")
            if body is not None:
                b.body = _flat(body.text())
                b.links = [a.attributes.get("href") or "" for a in body.css("a")]
        else:
            _read_default(node, b)
        blocks.append(b)
    return title, blocks


_START_OR_END = re.compile(
    # the slash of every tag that opens (b"") or closes (b"/") an element, but the void
    # elements the exporter writes (<br>, <img>...: no end tag); other void tags count as
    # opening, which can only make the count stricter
    rb"<(/?)(?!(?:br|img|meta|link|hr|wbr)[\s/>])[A-Za-z]"
)
_STEP = {b"": 1, b"/": -1}.__getitem__


def _check_nesting(page: ExportFile, data: bytes) -> None:
    """Refuse a page whose elements nest deeper than MAX_NESTING before the HTML parser
    sees it (building a tree costs time in the square of its depth: 100,000 nested divs
    took minutes). The depth is counted from the tags, in C: the running sum of +1 per
    start tag and -1 per end tag (a stray end tag cannot take it below zero)."""
    sums = list(itertools.accumulate(map(_STEP, _START_OR_END.findall(data))))
    if not sums:
        return
    if min(sums) >= 0:
        depth = max(sums)
    else:  # depth from the lowest point so far: what a parser that ignores strays sees
        floors = itertools.accumulate(sums, min, initial=0)
        next(floors)
        depth = max(map(operator.sub, sums, floors))
    if depth > MAX_NESTING:
        raise ParseError(
            f"{page.path}: HTML elements nested more than {MAX_NESTING} deep; Telegram Desktop "
            "nests about 20, so the file was edited or is not a Telegram export. Nothing from it "
            "was ingested; export the chat again."
        )


def _id_lines(data: bytes) -> dict[str, int]:
    """Message id -> the line its block starts on (the DOM keeps no source positions)."""
    out: dict[str, int] = {}
    line, at = 1, 0
    for m in _BLOCK_ID.finditer(data):
        line += data.count(b"\n", at, m.start())
        at = m.start()
        out[m.group(1).decode()] = line
    return out


def _flat(text: str | None) -> str:
    return " ".join((text or "").split())


def _children(node: Node) -> Iterator[Node]:
    return (c for c in node.iter() if c.tag != "-text")


def _has(node: Node, *names: str) -> bool:
    classes = (node.attributes.get("class") or "").split()
    return all(n in classes for n in names)


def _read_default(node: Node, b: Block) -> None:
    body = next((c for c in _children(node) if _has(c, "body")), None)
    if body is None:
        return
    for child in _children(body):
        if _has(child, "date", "details"):
            b.date_title = child.attributes.get("title")
        elif _has(child, "from_name"):
            name = _flat(child.text())
            if " via @" in name:
                name, _, bot = name.rpartition(" via @")
                b.via = "@" + bot
            b.from_name = name or None
        elif _has(child, "forwarded", "body"):
            b.forwarded = True
            _read_content(child, b, forwarded=True)
        elif _has(child, "reply_to"):
            b.reply_links = [a.attributes.get("href") or "" for a in child.css("a")]
            b.reply_other_chat = "another chat" in (child.text() or "")
        else:
            _read_content(child, b)
    b.reactions = [_flat(r.text()) for r in node.css("span.reaction")]


def _read_content(node: Node, b: Block, forwarded: bool = False) -> None:
    """Text, media, signature: directly in the message body or in a forwarded body."""
    if forwarded:
        for child in _children(node):
            _read_content(child, b)
        return
    if _has(node, "from_name"):  # the forwarded origin's name
        span = node.css_first("span.date")
        if span is not None:
            b.fwd_date = span.attributes.get("title")
            span.decompose()
        b.fwd_name = _flat(node.text()).split(" via @")[0] or None
    elif _has(node, "text"):
        b.text, b.entities = _rich_text(node)
    elif _has(node, "signature"):
        b.signature = _flat(node.text()) or None
    elif _has(node, "media_wrap"):
        _read_media(node, b)


def _read_media(wrap: Node, b: Block) -> None:
    poll = wrap.css_first("div.media_poll")
    if poll is not None:
        b.poll = _read_poll(poll)
        return
    for child in _children(wrap):
        classes = (child.attributes.get("class") or "").split()
        kind = next((c for c in classes if c in _WRAPS or c.startswith("media_")), None)
        if kind is None:
            continue
        b.media_class = kind
        if child.tag == "a":
            b.media["href"] = child.attributes.get("href") or ""
        for part in ("title", "description", "status"):
            found = child.css_first(f"div.{part}")
            if found is not None and _flat(found.text()):
                b.media[part] = _flat(found.text())
        return


def _read_poll(poll: Node) -> dict[str, Any]:
    answers = []
    for answer in poll.css("div.answer"):
        details_node = answer.css_first("span.details")
        details = _flat(details_node.text()) if details_node is not None else ""
        if details_node is not None:
            details_node.decompose()
        text = _flat(answer.text())
        votes = _VOTES.search(details)
        answers.append(
            {
                "text": text[2:] if text.startswith("- ") else text,
                "voters": int(votes.group(1)) if votes else 0,
                "chosen": "chosen vote" in details,
            }
        )
    question = poll.css_first("div.question")
    total = poll.css_first("div.total")
    return {
        "question": _flat(question.text()) if question is not None else "",
        "answers": answers,
        "total": _flat(total.text()) if total is not None else "",
        "closed": None,
    }


def _rich_text(node: Node) -> tuple[str, list[dict[str, str]]]:
    """A ``div.text``: <br> as newlines, the exporter's layout newlines dropped, and the
    formatted runs (bold, links with their hrefs, …) as entities."""
    parts: list[str] = []
    spans: list[tuple[str, int, int, str | None]] = []
    _walk(node, parts, spans, [0])
    raw = "".join(parts)
    entities = []
    for kind, start, end, href in spans:
        item = {"type": kind, "text": raw[start:end].replace("\0", "\n")}
        if href is not None:
            item["href"] = href
        entities.append(item)
    raw = re.sub(r"\n[ \t]*$", "", raw)
    if raw.startswith("\n"):
        raw = raw[1:]
    return raw.replace("\0", "\n"), entities


def _walk(
    node: Node, parts: list[str], spans: list[tuple[str, int, int, str | None]], size: list[int]
) -> None:
    for child in node.iter(include_text=True):
        tag = child.tag
        if tag == "-text":
            text = child.text_content or ""
            parts.append(text)
            size[0] += len(text)
        elif tag == "br":
            parts.append("\0")
            size[0] += 1
        else:
            start = size[0]
            _walk(child, parts, spans, size)
            kind = "text_link" if tag == "a" else _FORMAT.get(tag or "")
            if kind is None and _has(child, "spoiler"):
                kind = "spoiler"
            if kind is not None:
                href = child.attributes.get("href") if tag == "a" else None
                spans.append((kind, start, size[0], href))
