"""WhatsApp "Export chat" parser: a ``.txt`` (alone, or inside a zip/folder with media).

Three streaming reads of the chat file, never holding it in memory:

1. the first headers, matched with the catalogue-wide ``GENERAL`` regex, give the
   file's header *shape*, from which one strict regex is compiled;
2. (``date_order="auto"`` only) every header's date, to decide day-first or
   month-first from the whole file (``whatsapp_time.infer_date_order``);
3. the records: one ``Chat``, then ``Message``/``Unparsed``/``Notice`` in file
   order, then ``ParseFacts``.

The format's variants and quirks: docs/formats.md (WhatsApp).
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, ClassVar, TextIO

from archiver.core.errors import ParseError
from archiver.core.model import Chat, Notice, ParseFacts, Platform, Record, Unparsed
from archiver.parsers.base import ExportFile, ExportUnit, ParseOptions, read_head
from archiver.parsers.limits import MAX_DISTINCT_DATES, MAX_MESSAGE_CHARS
from archiver.parsers.whatsapp_body import (
    Resolve,
    attachment_index,
    clean_name,
    match_system,
    strip_invisible,
)
from archiver.parsers.whatsapp_files import chat_title, find_chat_file, titled
from archiver.parsers.whatsapp_header import GENERAL, Shape, build_regex, features, shape_of
from archiver.parsers.whatsapp_language import Language, decide
from archiver.parsers.whatsapp_locale import INVISIBLE, LRM
from archiver.parsers.whatsapp_records import RecordBuilder
from archiver.parsers.whatsapp_text import ChatBytes, line_ends_before, sniff_encoding, text_reader
from archiver.parsers.whatsapp_time import Clock, DateParts, infer_date_order, stamper

__all__ = ["WhatsAppParser", "chat_title", "find_chat_file"]

SHAPE_SAMPLE = 200  # headers read to learn the shape of a file
DATE_PASS_CHUNK = 1 << 18  # bytes per read in the date pass (bounds its memory)
TRUNCATION = ((9_800, "with media"), (39_000, "without media"))


def truncation_advice(messages: int, kind: str) -> str:
    """Why an export at WhatsApp's cap is probably cut, and what WhatsApp lets one do:
    export without media (a higher cap) or from each participant's phone. It cannot
    export a chat in parts or by date."""
    if kind == "with media":
        better = (
            "Export the chat again without media (up to about 40,000 messages), and ask "
            "the other participants to export it from their phones too"
        )
    else:
        better = (
            "No export from this phone can include them: ask the other participants to "
            "export the chat from their phones too"
        )
    return (
        f"{messages} messages in an export {kind}; WhatsApp puts only the latest messages "
        "in an export (about 10,000 with media, 40,000 without), so older messages are "
        f"probably missing. {better}; WhatsApp cannot export a chat in parts or by date."
    )


_HEADERISH = frozenset("0123456789[" + INVISIBLE)
_INVISIBLE_BYTES = rb"(?:\xe2\x80[\x8e\x8f\xaa-\xae]|\xe2\x81[\xa6-\xa9]|\xef\xbb\xbf)*"  # UTF-8
_DATE_RUN = re.compile(
    # a line starting with a date, then every following line that starts with the same
    # date or cannot start a header (empty, or not a digit, "[" or an invisible mark)
    rb"(?:\A|\n)("
    + _INVISIBLE_BYTES
    + rb"\[?"
    + _INVISIBLE_BYTES
    + rb"\d{1,4}[./-] ?\d{1,4}[./-] ?\d{1,4})[^\n]*"
    rb"(?:\n(?:\1|(?=\n)|[^0-9\[\xe2\xef\n])[^\n]*)*"
)


class WhatsAppParser:
    """Parser for WhatsApp "Export chat" text, Android and iOS, every catalogued locale."""

    name: ClassVar[str] = "whatsapp"
    platform: ClassVar[Platform] = "whatsapp"
    version: ClassVar[str] = "2"  # 2: texts read from the language files (whatsapp_locales)

    def sniff(self, unit: ExportUnit) -> bool:
        return find_chat_file(unit) is not None

    def parse(self, unit: ExportUnit, options: ParseOptions) -> Iterator[Record]:
        return _Run(unit, options).records()  # a generator: nothing is read before next()


class _Run:
    """The state of one parse."""

    file: ExportFile
    where: str  # the chat file as the operator knows it: "export.zip!/_chat.txt"
    key: str  # the chat title
    resolve: Resolve
    clock: Clock

    def __init__(self, unit: ExportUnit, options: ParseOptions) -> None:
        """Cheap: nothing is read until ``records()`` runs (``parse`` stays lazy)."""
        self.unit = unit
        self.options = options

    def _open_unit(self) -> None:
        unit, options = self.unit, self.options
        chat_file = find_chat_file(unit, strict=False)
        if chat_file is None:
            raise ParseError(
                f"{unit.name}: no WhatsApp chat text found (expected _chat.txt, "
                "'WhatsApp Chat with <name>.txt' or one .txt that starts with a message "
                "header); is this a WhatsApp 'Export chat' file?"
            )
        self.file = chat_file
        inside = unit.name != chat_file.path
        self.where = f"{unit.name}!/{chat_file.path}" if inside else chat_file.path
        title = titled(unit, chat_file)
        self.key = title.title
        self.title_language, self.title_stem = title.language, title.pattern
        self.resolve = attachment_index({f.path: f.size for f in unit.files}, chat_file.path)
        self.clock = Clock(options.tz)
        self.counts: dict[str, int] = dict.fromkeys(
            ("header_lines", "unparsed_lines", "blank_lines_dropped", "header_like_body_lines",
             "out_of_order", "media_attached", "group_events", "impossible_headers",
             "unrecognised_placeholders"),
            0,
        )  # fmt: skip
        self.kinds: dict[str, int] = {}
        self.line_ending = "none"
        self.title_is_person = False
        head = read_head(chat_file, 65536)
        encoding = sniff_encoding(head)
        if isinstance(encoding, str):
            raise ParseError(
                f"{self.where}: not a WhatsApp chat text: {encoding}. WhatsApp exports a chat "
                "as a text file (UTF-8); export the chat again, or give the right file."
            )
        self.encoding = encoding
        self.bom = encoding.bom
        self.empty = not head.removeprefix(b"\xef\xbb\xbf")
        text = head.decode(encoding.codec, "replace")
        self.crcrlf = "\r\r\n" in text
        self.cr_only = "\r" in text.replace("\r\n", "")  # any lone CR: old-Mac line ends
        self.chat_bytes: ChatBytes | None = None

    # --- reading ----------------------------------------------------------------------

    def _bytes(self, count: bool = False) -> ChatBytes:
        """The chat file as UTF-8 bytes with bounded lines (``whatsapp_text``); ``count``:
        count the bytes that do not decode (the pass that reads the messages)."""
        stream = ChatBytes(self.file.open, self.encoding, self.where, count=count)
        if count:
            self.chat_bytes = stream
        return stream

    @contextmanager
    def _text(self, count: bool = False) -> Iterator[TextIO]:
        """The chat file as text lines; CR CR LF is one line ending (never a blank line).
        Bytes that are not UTF-8 read as U+FFFD."""
        with text_reader(self._bytes(count), "\n" if self.crcrlf else None) as fh:
            yield fh

    def _learn_shape(self) -> tuple[Shape | None, bool]:
        """The shape of the first headers, and whether the file has any visible text.

        Also notes whether the chat's title is a person: in a 1:1 chat the other party's
        name is the title and they write ordinary messages under it, whereas a group's
        name only ever stands in front of group events (iOS)."""
        seen = []
        visible = False
        with self._text() as fh:
            for raw in fh:
                visible = visible or bool(raw.strip(INVISIBLE + " \t\r\n"))
                m = GENERAL.match(raw)
                if m is not None:
                    seen.append(features(m))
                    self.title_is_person = self.title_is_person or self._title_speaks(raw, m)
                    if len(seen) >= SHAPE_SAMPLE:
                        break
        return (shape_of(seen) if seen else None), visible

    def _title_speaks(self, raw: str, m: re.Match[str]) -> bool:
        author, sep, body = raw[m.end() :].rstrip("\r\n").partition(": ")
        if not sep or clean_name(author)[0] != self.key:
            return False
        return not body.startswith(LRM) and match_system(strip_invisible(body).strip()) is None

    def _distinct_dates(self, rx: re.Pattern[str]) -> dict[str, tuple[int, DateParts]]:
        """Every distinct header date with the line it first appears on.

        Reads bytes in chunks and lets one regex (``_DATE_RUN``) skip, in C, every line
        that starts with the same date as the header before it or cannot start a header;
        only the first line of each run (about one per day) is decoded and matched.
        Files with old-Mac CR line ends are read as text (line numbers must match pass 3).
        """
        if self.cr_only:
            return self._distinct_dates_text(rx)
        dates: dict[str, tuple[int, DateParts]] = {}
        lineno, carry = 1, b""
        with self._bytes() as fh:
            if self.bom and self.encoding.name == "utf-8":  # (others arrive without it)
                fh.read(3)
            while True:
                chunk = fh.read(DATE_PASS_CHUNK)
                buf = carry + chunk if carry else chunk
                cut = buf.rfind(b"\n") + 1 if chunk else len(buf)  # whole lines only
                prev = 0
                for run in _DATE_RUN.finditer(buf, 0, cut):
                    start = run.start(1)
                    lineno += buf.count(b"\n", prev, start)
                    prev = start
                    _note_date(buf, start, cut, lineno, rx, dates)
                _check_dates(dates, self.where)
                lineno += buf.count(b"\n", prev, cut)
                carry = buf[cut:]
                if not chunk:
                    return dates

    def _distinct_dates_text(self, rx: re.Pattern[str]) -> dict[str, tuple[int, DateParts]]:
        dates: dict[str, tuple[int, DateParts]] = {}
        with self._text() as fh:
            for lineno, raw in enumerate(fh, 1):
                m = rx.match(raw)
                if m is not None:
                    text = raw[m.start("d1") : m.end("d3")]
                    if text not in dates:
                        dates[text] = (lineno, (m.group("d1"), m.group("d2"), m.group("d3")))
                        _check_dates(dates, self.where)
        return dates

    # --- records ----------------------------------------------------------------------

    def records(self) -> Iterator[Record]:
        self._open_unit()
        shape, visible = self._learn_shape()
        if shape is None:
            raise self._no_header(visible)
        facts: dict[str, Any] = {"chat_file": self.file.path, "tz": self.options.tz.key}
        yield Chat("whatsapp", self.key, self.key, None, {"file": self.file.path})
        rx = build_regex(shape)
        order, evidence = self._date_order(rx)
        facts.update(date_order=order, date_order_evidence=evidence, style=shape.style)
        facts.update(shape=shape.describe(), **{"12h": shape.twelve_hour})
        facts.update(title_is_a_person=self.title_is_person)
        builder = yield from self._messages(rx, shape, order)
        messages = sum(self.kinds.values())
        language = decide(
            self.title_language,
            self.title_stem,
            builder.seen,
            builder.event_languages,
            builder.encryption_languages,
            builder.ui_samples,
        )
        facts.update(language.facts())
        yield from self._notices(messages)
        yield from self._language_notices(language, builder.first_unrecognised)
        facts.update(self.counts, messages=messages, kinds=dict(sorted(self.kinds.items())))
        facts.update(
            line_ending=self.line_ending,
            group_evidence=self.counts["group_events"] > 0,
            encoding=self.encoding.name,
            encoding_evidence=self.encoding.evidence,
            bom=self.bom,
            undecodable_bytes=self.chat_bytes.replaced if self.chat_bytes else 0,
            dst_gap_shifted=self.clock.gaps,
            dst_second_occurrence=self.clock.folds,
        )
        yield ParseFacts(facts)

    def _no_header(self, visible: bool) -> ParseError:
        if visible:
            return ParseError(
                f"no WhatsApp message header found in {self.where}; is this a WhatsApp "
                "'Export chat' file? (expected lines like '23/06/2018, 13:55 - Name: text' "
                "or '[23.06.18, 13:55:12] Name: text')"
            )
        what = "is empty" if self.empty else "holds only blank lines"
        return ParseError(
            f"{self.where} {what}: no message to ingest. WhatsApp writes at least its "
            "end-to-end encryption notice into every export, so the file was cut or is not "
            "the export itself; export the chat again from the phone."
        )

    def _notices(self, messages: int) -> Iterator[Notice]:
        """What the operator must know about the file as a whole."""
        notice = self._truncation(messages)
        if notice is not None:
            yield notice
        if messages and self.kinds.get("system") == messages:
            yield Notice(
                "no-messages-from-people",
                f"{self.where}: only WhatsApp's own notices ({messages} system line(s), such "
                "as the encryption notice), no message from a person: the chat was empty "
                "when exported, or the export was cut. Export it again if messages were "
                "expected.",
                self.key,
            )
        if self.encoding.name != "utf-8":
            yield Notice(
                "encoding",
                f"{self.where}: read as {self.encoding.name.upper()} ({self.encoding.evidence}); "
                "WhatsApp writes UTF-8, so the file was converted on its way here. Check a few "
                "messages with accents or emoji.",
                self.key,
            )
        stream = self.chat_bytes
        if stream is not None and stream.replaced and stream.first_bad is not None:
            yield self._undecodable_notice(stream.replaced, stream.first_bad)

    def _language_notices(self, language: Language, first: int | None) -> Iterator[Notice]:
        """What the operator must know when WhatsApp's own texts are in a language the
        tables do not know (fully): placeholders and events in it are archived as text."""
        count = self.counts["unrecognised_placeholders"]
        where = f" (the first on line {first})" if first is not None else ""
        shaped = (
            f"{count} message(s) have the shape of a WhatsApp placeholder no table knows "
            f"('<…>' on Android, '… omitted' on iOS){where} and are archived as text messages"
        )
        if language.code is None and (language.guess or count):
            guess = f" (guess: {language.guess})" if language.guess else ""
            yield Notice(
                "language-unknown",
                f"{self.where}: the phone's language is not in the WhatsApp language "
                f"tables{guess}: media placeholders, deleted messages and system events "
                f"written in it are archived as text messages or unlabelled system lines; "
                f"{shaped}. Nothing is lost (their text is kept); add the language's table "
                "to have them labelled (see the formats documentation).",
                self.key,
            )
            return
        missing = [p for p in ("deleted", "events") if p not in language.coverage]
        if language.code is not None and missing:
            parts = " and ".join({"deleted": "deleted messages", "events": "system events"}[p]
                                 for p in missing)  # fmt: skip
            yield Notice(
                "language-partial",
                f"{self.where}: the phone's language is {language.name} ({language.code}), "
                f"whose table has no {parts} ({', '.join(language.coverage)} only): such "
                "lines are archived as text messages (Android system lines as unlabelled "
                "system lines).",
                self.key,
            )
        if count:
            yield Notice("unrecognised-placeholders", f"{self.where}: {shaped}.", self.key)

    def _undecodable_notice(self, count: int, offset: int) -> Notice:
        where = f"byte {offset}"
        if self.encoding.name in ("utf-8", "windows-1252"):  # line ends are plain bytes
            where += f", line {1 + line_ends_before(self.file.open, offset)}"
        return Notice(
            "undecodable-bytes",
            f"{self.where}: {count} byte sequence(s) are not valid {self.encoding.name.upper()} "
            f"(the first at {where}) and were read as U+FFFD (the replacement character); the "
            "export is stored unchanged. If the file is in another encoding, convert it to "
            "UTF-8 and ingest it again.",
            self.key,
        )

    def _date_order(self, rx: re.Pattern[str]) -> tuple[str, str]:
        forced = self.options.date_order
        if forced != "auto":
            return forced, f"given by the operator (--date-order {forced})"
        decision = infer_date_order(self._distinct_dates(rx), self.where)
        return decision.order, decision.evidence

    def _truncation(self, messages: int) -> Notice | None:
        cap, kind = TRUNCATION[0] if self.counts["media_attached"] else TRUNCATION[1]
        if messages < cap:
            return None
        advice = truncation_advice(messages, kind)
        return Notice("probably-truncated", f"{self.where}: {advice}", self.key)

    def _messages(
        self, rx: re.Pattern[str], shape: Shape, order: str
    ) -> Generator[Record, None, RecordBuilder]:
        """The hot loop: one regex match per line, one dict hit per repeated timestamp,
        counters in locals."""
        match, general, clock = rx.match, GENERAL.match, self.clock
        stamp = stamper(rx, order, clock)
        ts_group = rx.groupindex["ts"]
        builder = RecordBuilder(
            self.key, self.resolve, shape.ios_like, self.counts, order, self.title_is_person
        )
        self.kinds, build = builder.kinds, builder.builder()
        # the message being read: line number, header line, timestamp text, time, body start
        p_no, p_line, p_ts, p_dt, p_start = 0, "", "", None, 0
        pending = False
        more: list[str] | None = None
        prev_wall, prev_utc = None, -(2**62)
        last_ts, wall, utc, dt, special = "", None, None, None, False
        lineno = headers = disorder = header_like = size = 0
        with self._text(count=True) as fh:
            for raw in fh:
                lineno += 1
                line = raw.rstrip("\r\n")
                m = match(line)
                if m is None:
                    if pending:
                        if more is None:
                            more = [line]
                            size = len(p_line) + len(line)
                        else:
                            more.append(line)
                            size += len(line) + 1
                        if size > MAX_MESSAGE_CHARS:
                            raise self._too_long(p_no)
                        if line[:1] in _HEADERISH and general(line) is not None:
                            header_like += 1
                    else:
                        yield from self._before_first(line, lineno)
                    continue
                if pending:
                    yield build(p_no, p_line, p_ts, p_dt, p_start, more)
                    more = None
                headers += 1
                ts = m.group(ts_group)
                if ts != last_ts or special:  # else: same stamp as the header before
                    last_ts = ts
                    wall, utc, dt = stamp(m)
                    special = dt is None and wall is not None  # the UTC offset changes
                    if special:
                        gaps = clock.gaps
                        utc = clock.resolve(wall, prev_wall)  # type: ignore[arg-type]
                        dt = datetime.fromtimestamp(utc, UTC)
                        if gaps == 0 and clock.gaps == 1:
                            yield self._gap_notice(ts, lineno)
                    if utc is not None:  # (a repeated stamp changes neither)
                        if utc < prev_utc:
                            disorder += 1
                        prev_utc, prev_wall = utc, wall
                p_no, p_line, p_ts, p_dt, p_start, pending = lineno, line, ts, dt, m.end(), True
            self.line_ending = _line_ending(fh, self.crcrlf)
        if pending:
            yield build(p_no, p_line, p_ts, p_dt, p_start, more)
        self.counts.update(header_lines=headers, out_of_order=disorder)
        self.counts["header_like_body_lines"] = header_like
        builder.finish(headers)
        return builder

    def _too_long(self, lineno: int) -> ParseError:
        return ParseError(
            f"{self.where}: the message starting on line {lineno} runs to more than "
            f"{MAX_MESSAGE_CHARS:,} characters; WhatsApp caps a message at 65,536, so its "
            "later lines are not in this file's header format (a second export appended, or "
            "the file edited?). Nothing from it was ingested."
        )

    def _before_first(self, line: str, lineno: int) -> Iterator[Unparsed]:
        if line.strip(INVISIBLE + " \t"):
            self.counts["unparsed_lines"] += 1
            yield Unparsed(line, "before the first message header", lineno, self.key)
        else:
            self.counts["blank_lines_dropped"] += 1

    def _gap_notice(self, ts: str, lineno: int) -> Notice:
        return Notice(
            "nonexistent-local-time",
            f"{self.where}: '{ts}' (line {lineno}) does not exist in {self.options.tz.key} "
            "(the clocks went forward); it was read as the same wall time shifted forward by "
            "the gap. Check --tz if this is unexpected; later such times are counted in the "
            "parse facts (dst_gap_shifted).",
            self.key,
        )


def _note_date(
    buf: bytes,
    start: int,
    stop: int,
    lineno: int,
    rx: re.Pattern[str],
    dates: dict[str, tuple[int, DateParts]],
) -> None:
    """Record the date of the header line at ``buf[start:stop]``, if it is one."""
    end = buf.find(b"\n", start, stop)
    line = buf[start : end if end >= 0 else stop].decode("utf-8", errors="replace")
    m = rx.match(line)
    if m is not None:
        text = line[m.start("d1") : m.end("d3")]
        if text not in dates:
            dates[text] = (lineno, (m.group("d1"), m.group("d2"), m.group("d3")))


def _check_dates(dates: dict[str, tuple[int, DateParts]], where: str) -> None:
    if len(dates) > MAX_DISTINCT_DATES:
        raise ParseError(
            f"{where}: more than {MAX_DISTINCT_DATES:,} different dates in message headers; a "
            "WhatsApp export covers at most a few years, so this is not one as the phone "
            "writes it. Nothing from it was ingested."
        )


def _line_ending(fh: TextIO, crcrlf: bool) -> str:
    if crcrlf:
        return "crcrlf"
    seen = fh.newlines
    if seen is None:
        return "none"
    if isinstance(seen, tuple):
        return "mixed"
    return {"\n": "lf", "\r\n": "crlf", "\r": "cr"}.get(seen, "mixed")
