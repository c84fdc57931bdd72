"""Telegram Desktop JSON exports (``result.json``), every exporter era since 2018.

Single-chat exports (``{name, type, id, messages}``) and full-account exports
(``{personal_information, …, chats: {list}, left_chats: {list}}``) are streamed: the
file goes through ``RepairingReader`` (``\\xHH`` escapes, bare ``document_id``) into
``SplitStream`` (ijson for the structure, one ``json.loads`` per run of messages), so
memory stays flat however big the file is.

Chat keys: ``str(id)`` of the dialog, with ids written in the shifted-integer era
(v2.4.0-2.7.1, ``2^32|uid``/``2^33|id``) turned back into the bare id, so an old and a
new export of one chat share a key; without an id ``name:<name>``, ``saved`` for saved
messages without a name, else ``file:<path>#<n>`` (n-th chat of the file).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, ClassVar

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
from archiver.parsers.base import ExportFile, ExportUnit, ParseOptions, read_head, top_level
from archiver.parsers.json_repair import RepairingReader
from archiver.parsers.json_stream import Elements, SplitStream, StreamError
from archiver.parsers.limits import CACHE_ENTRIES
from archiver.parsers.telegram_common import (
    CALL_ACTIONS,
    EPOCH_PLACEHOLDER_LIMIT,
    GROUP_TYPES,
    LocalClock,
    attachment,
    chat_key,
    chat_title,
    describe_service,
    era_guess,
    from_unix,
    name_key,
    normalize_peer,
    parse_local_iso,
    partial_notice,
    unshift_chat_id,
    unsupported_notice,
)

SECTIONS = {"": "single", "chats.list.item": "chats", "left_chats.list.item": "left_chats"}
COUNTED = {
    "contacts.list.item": "contacts",
    "frequent_contacts.list.item": "frequent_contacts",
    "sessions.list.item": "sessions",
    "web_sessions.list.item": "web_sessions",
    "profile_pictures.item": "profile_pictures",
    "stories.item": "stories",
}
_SCALARS = frozenset({"string", "number", "boolean", "null"})
_ERA_LOOKAHEAD = 64

# Keys of a message handled explicitly; everything else goes to extra["raw_unknown"].
_COMMON = frozenset(
    {"id", "type", "date", "date_unixtime", "edited", "edited_unixtime", "text", "text_entities"}
)
_MESSAGE_KEYS = _COMMON | {
    "from", "from_id", "author", "forwarded_from", "saved_from", "reply_to_message_id",
    "reply_to_peer_id", "via_bot", "photo", "photo_file_size", "width", "height", "file",
    "file_name", "file_size", "thumbnail", "thumbnail_file_size", "media_type", "mime_type",
    "duration_seconds", "sticker_emoji", "performer", "title", "contact_information",
    "contact_vcard", "location_information", "place_name", "address",
    "live_location_period_seconds", "poll", "reactions", "inline_bot_buttons",
    "self_destruct_period_seconds", "media_spoiler",
}  # fmt: skip
_PLAIN_MESSAGE = frozenset(
    {"id", "type", "date", "date_unixtime", "from", "from_id", "text", "text_entities"}
)
# What the fast path of _Chat.convert takes: plain text, a reply, a photo, an edit time.
_FAST_KEYS = _PLAIN_MESSAGE | {
    "reply_to_message_id", "photo", "photo_file_size", "width", "height", "edited",
    "edited_unixtime",
}  # fmt: skip
_MEDIA_DETAILS = (
    "width", "height", "duration_seconds", "sticker_emoji", "performer", "title",
    "thumbnail", "thumbnail_file_size", "self_destruct_period_seconds", "media_spoiler",
)  # fmt: skip
_EXTRA_VERBATIM = (
    "author", "saved_from", "via_bot", "reply_to_peer_id", "reactions", "inline_bot_buttons",
)  # fmt: skip
_ODD_FIELD = (TypeError, ValueError, AttributeError, KeyError, OverflowError)
"""What a message whose fields have types no exporter writes raises while it is read;
such a message is kept as an unparsed row, with the reason."""
MEDIA_KINDS = {
    "sticker": "sticker",
    "voice_message": "voice",
    "video_message": "round_video",
    "animation": "animation",
    "video_file": "video",
    "audio_file": "audio",
}


class TelegramJsonParser:
    """Telegram Desktop ``result.json`` (single chat or full account)."""

    name: ClassVar[str] = "telegram-json"
    platform: ClassVar[Platform] = "telegram"
    version: ClassVar[str] = "1"

    def sniff(self, unit: ExportUnit) -> bool:
        return _main_file(unit) is not None

    def parse(self, unit: ExportUnit, options: ParseOptions) -> Iterator[Record]:
        f = _main_file(unit)
        if f is None:
            raise InputError(f"{unit.name}: no Telegram result.json found in this export")
        yield from _Run(f, options).records()


def _main_file(unit: ExportUnit) -> ExportFile | None:
    top = top_level(unit.files)
    for f in top:
        if f.name == "result.json" and read_head(f, 64).lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{":
            return f
    candidates = [f for f in top if f.name.lower().endswith(".json")]
    for f in candidates:
        head = read_head(f)
        if head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] != b"{":
            continue
        if b'"personal_information"' in head or (
            (b'"messages"' in head or b'"chats"' in head) and b'"type"' in head
        ):
            return f
    return None


class _Run:
    """One parse of one file: walks the stream, keeps the facts."""

    def __init__(self, f: ExportFile, options: ParseOptions) -> None:
        self.file = f
        self.options = options
        self.clock = LocalClock(options.tz)
        self.edit_clock = LocalClock(options.tz)
        self.self_id: int | None = None
        self.root: _Chat | None = None
        self.chat: _Chat | None = None
        self.chats_seen = 0
        self.root_keys: list[str] = []
        self.counted: dict[str, int] = {}
        self.shapes: dict[str, int] = {}
        # presence flags (set on the general path, which sees every sender's first
        # message), and the number of messages timed from the local 'date' only
        self.features = {"date_unixtime": 0, "text_entities": 0, "reactions": 0, "local_date": 0}
        self.chat_facts: list[dict[str, Any]] = []

    def records(self) -> Iterator[Record]:
        with self.file.open() as fh:
            reader = RepairingReader(fh)
            stream = SplitStream(reader, frozenset(SECTIONS))
            try:
                for item in stream:
                    if not isinstance(item, Elements):
                        yield from self._event(*item)
                        continue
                    chat = self.chat
                    if chat is None:
                        continue
                    values, lines = item.values, item.lines
                    chat.total += len(values)
                    if not chat.emitted:
                        yield from chat.add(values, lines)
                        continue
                    yield from map(chat.convert, values, lines)
            except StreamError as exc:
                raise _parse_error(self.file.path, exc) from None
        if stream.decode_repairs:
            yield _invalid_utf8_notice(self.file.path, stream.decode_repairs)
        yield ParseFacts(self._facts(reader, stream))

    def _event(self, prefix: str, event: str, value: Any) -> Iterator[Record]:
        if prefix in SECTIONS:
            if event == "start_map":
                self.chats_seen += 1
                chat = _Chat(self, SECTIONS[prefix], self.chats_seen)
                if prefix == "":
                    self.root = chat
                else:
                    self.chat = chat
            elif event == "end_map":
                ending = self.root if prefix == "" else self.chat
                if ending is not None and (prefix != "" or ending.started):
                    yield from ending.finish()
                self.chat = None
            elif event == "map_key" and prefix == "":
                self.root_keys.append(value)
            return
        if event == "start_array" and (prefix == "messages" or prefix.endswith(".messages")):
            owner = prefix.rpartition(".")[0] if "." in prefix else ""
            if owner in SECTIONS:
                if owner == "":
                    self.chat = self.root
                if self.chat is not None:
                    self.chat.started = True
            return
        if event in _SCALARS:
            owner, _, key = prefix.rpartition(".")
            if owner in SECTIONS and key in ("name", "type", "id"):
                target = self.root if owner == "" else self.chat
                if target is not None and not target.started:
                    target.header[key] = value
            elif prefix == "personal_information.user_id" and isinstance(value, int):
                self.self_id = value
        elif event == "start_map" and prefix in COUNTED:
            name = COUNTED[prefix]
            self.counted[name] = self.counted.get(name, 0) + 1

    def _facts(self, reader: RepairingReader, stream: SplitStream) -> dict[str, Any]:
        full = any(c["section"] != "single" for c in self.chat_facts)
        facts: dict[str, Any] = {
            "parser": TelegramJsonParser.name,
            "file": self.file.path,
            "export_kind": "full" if full or "chats" in self.root_keys else "single",
            "exporter_era": era_guess(
                self.shapes,
                bool(self.features["date_unixtime"]),
                bool(self.features["text_entities"]),
            ),
            "from_id_shapes": dict(self.shapes),
            "features_seen": sorted(k for k, v in self.features.items() if v and k != "local_date"),
            "chats": self.chat_facts,
            "messages": sum(c["messages"] for c in self.chat_facts),
            "unparsed": sum(c["unparsed"] for c in self.chat_facts),
            "root_keys": self.root_keys,
            "sections": dict(self.counted),
            "layout": {"split_arrays": stream.split_arrays, "event_arrays": stream.event_arrays},
        }
        facts.update(reader.facts())
        if stream.decode_repairs:
            facts["invalid_utf8_offsets"] = stream.decode_repairs[:1000]
        if self.self_id is not None:
            facts["personal_information"] = {"user_id": self.self_id}
        if self.features["local_date"]:
            facts["tz"] = self.options.tz.key
            facts["tz_assumption"] = (
                f"{self.features['local_date']} message time(s) had only the exporter's local "
                f"wall time ('date'); read as {self.options.tz.key}. Ambiguous times in the "
                "repeated DST hour take the first occurrence unless the clock went backwards."
            )
            facts["dst"] = {
                "ambiguous": self.clock.ambiguous,
                "second_occurrence": self.clock.folded,
                "nonexistent_moved_forward": self.clock.gaps,
            }
        return facts


class _Chat:
    """One dialog: its header, era detection, and message conversion."""

    def __init__(self, run: _Run, section: str, index: int) -> None:
        self.run = run
        self.section = section
        self.index = index
        self.header: dict[str, Any] = {}
        self.started = False
        self.key = ""
        self.raw_id: object = None
        self.type: str | None = None
        self.emitted = False
        self.pending: list[tuple[Any, int | None]] = []
        self.count = 0
        self.unparsed = 0
        self.unsupported = 0
        self.all_mine = True
        self.senders: dict[tuple[str, str | None], Sender] = {}
        self.fast_senders: dict[tuple[object, object], tuple[Sender, bool]] = {}
        self.self_key: str | None = None
        self.total = 0  # elements seen: messages + unparsed
        self.peers: dict[object, tuple[str, str]] = {}

    # -- lifecycle ------------------------------------------------------------------

    def add(self, values: list[Any], lines: list[int | None]) -> Iterator[Record]:
        """Convert a run of messages; the Chat goes first, once the era is known."""
        for i, m in enumerate(values):
            if self.emitted:
                yield self.convert(m, lines[i])
                continue
            self.pending.append((m, lines[i]))
            era = _era_of(m)
            if era is not None or len(self.pending) >= _ERA_LOOKAHEAD:
                yield from self._open(era)

    def _open(self, era: str | None) -> Iterator[Record]:
        self.emitted = True
        if self.run.self_id is not None:
            self.self_key = f"user{self.run.self_id}"
        self.run.clock.reset()
        h = self.header
        name = h.get("name") if isinstance(h.get("name"), str) else None
        self.type = h.get("type") if isinstance(h.get("type"), str) else None
        self.raw_id = h.get("id")
        extra: dict[str, Any] = {"section": self.section}
        chat_id = self.raw_id
        if era == "int" and isinstance(chat_id, int) and unshift_chat_id(chat_id) != chat_id:
            extra["id_as_written"] = chat_id
            chat_id = unshift_chat_id(chat_id)
        fallback = f"file:{self.run.file.path}#{self.index}"
        self.key = chat_key(chat_id, name, self.type, fallback)
        title = chat_title(name, self.type)
        yield Chat(platform="telegram", key=self.key, title=title, type=self.type, extra=extra)
        pending, self.pending = self.pending, []
        for m, line in pending:
            yield self.convert(m, line)

    def finish(self) -> Iterator[Record]:
        if not self.emitted:
            yield from self._open(None)
        run = self.run
        self.count = self.total - self.unparsed
        name = self.header.get("name") if isinstance(self.header.get("name"), str) else None
        title = chat_title(name, self.type)
        if self.unsupported:
            yield unsupported_notice(self.key, title, self.unsupported)
        if self.section == "left_chats" or (
            self.section == "chats"
            and self.type in GROUP_TYPES
            and run.self_id is not None
            and self.all_mine
        ):
            yield partial_notice(self.key, title, self.section, self.count)
        run.chat_facts.append(
            {
                "key": self.key,
                "title": title,
                "type": self.type,
                "section": self.section,
                "messages": self.count,
                "unparsed": self.unparsed,
                "unsupported": self.unsupported,
            }
        )

    # -- conversion -----------------------------------------------------------------

    def convert(self, m: Any, line: int | None) -> Record:
        """One exported message as a record.

        The common case (current era, text, maybe a reply, a photo or an edit time, from a
        sender seen before) is built right here; everything else, and the first message of
        each sender, takes ``_general`` (which fills the sender cache used here). Both give
        equal records (tests/parsers/test_telegram_json.py parses every fixture both ways).
        """
        try:
            if m.keys() <= _FAST_KEYS and m["type"] == "message":
                sender, mine = self.fast_senders[(m["from_id"], m["from"])]
                ts = int(m["date_unixtime"])
                edited_at = None
                if "edited" in m or "edited_unixtime" in m:
                    # only an exact edit time after the pre-2020 placeholder
                    edited = int(m["edited_unixtime"])
                    if edited <= 2 * EPOCH_PLACEHOLDER_LIMIT:
                        return self._general(m, line)
                    edited_at = datetime.fromtimestamp(edited, UTC)
                if ts > EPOCH_PLACEHOLDER_LIMIT:
                    if not mine:
                        self.all_mine = False
                    text = m["text"]
                    extra: dict[str, Any] = {}
                    if text.__class__ is not str:
                        text, entities = _flatten(text, extra)
                        if entities is not None:
                            extra["entities"] = m.get("text_entities", entities)
                    kind: Kind = "text"
                    attachments: tuple[Attachment, ...] = ()
                    if "photo" in m:
                        kind, extra["media"] = "media", _details(m, "photo")
                        a = attachment(m["photo"], None, None, m.get("photo_file_size"), "photo")
                        attachments = (a,) if a else ()
                    elif "width" in m or "height" in m or "photo_file_size" in m:
                        return self._general(m, line)
                    mid = m.get("id")
                    reply = m.get("reply_to_message_id")
                    date = m.get("date")
                    return Message(
                        self.key, kind, sender, datetime.fromtimestamp(ts, UTC),
                        date if date.__class__ is str else str(m["date_unixtime"]), text,
                        line, None if mid is None else str(mid), edited_at is not None,
                        edited_at, attachments, None if reply is None else str(reply), None,
                        extra or None,
                    )  # fmt: skip
        except (KeyError, AttributeError, TypeError, ValueError):
            pass
        return self._general(m, line)

    def _general(self, m: Any, line: int | None) -> Record:
        if not isinstance(m, dict):
            self.unparsed += 1
            raw = json.dumps(m, ensure_ascii=False)
            return Unparsed(
                raw=raw, reason="message is not a JSON object", line=line, chat_key=self.key
            )
        t = m.get("type")
        mid = m.get("id")
        msg_id = None if mid is None else str(mid)
        if t in ("message", "service"):
            try:
                return (
                    self._message(m, msg_id, line)
                    if t == "message"
                    else self._service(m, msg_id, line)
                )
            except _ODD_FIELD as exc:  # a field of a type the exporter never writes
                self.unparsed += 1
                reason = f"message {msg_id}: a field of an unexpected type ({exc})"
                raw = json.dumps(m, ensure_ascii=False)
                return Unparsed(raw=raw, reason=reason, line=line, chat_key=self.key)
        self.unparsed += 1
        if t == "unsupported":
            self.unsupported += 1
            reason = (
                f"message {msg_id} was exported as 'unsupported' by Telegram Desktop "
                "(no date, no content)"
            )
        else:
            reason = f"message {msg_id}: unknown message type {t!r}"
        raw = json.dumps(m, ensure_ascii=False)
        return Unparsed(raw=raw, reason=reason, line=line, chat_key=self.key)

    def _when(self, m: dict[str, Any], extra: dict[str, Any]) -> tuple[datetime | None, str | None]:
        features = self.run.features
        date = m.get("date")
        unix = m.get("date_unixtime")
        if unix is not None:
            features["date_unixtime"] = 1
            when = from_unix(unix)
            if when is not None and (when.timestamp() > EPOCH_PLACEHOLDER_LIMIT or not date):
                return when, date if isinstance(date, str) else str(unix)
            extra["date_unixtime_ignored"] = unix
        if isinstance(date, str):
            features["local_date"] += 1
            when, note = parse_local_iso(date, self.run.clock)
            if note is not None and note != "absolute":
                extra["time_note"] = note
            if when is None:
                extra["time_note"] = "unreadable date"
            return when, date
        extra["time_source"] = "none"
        return None, None

    def _edited(self, m: dict[str, Any], extra: dict[str, Any]) -> datetime | None:
        unix = m.get("edited_unixtime")
        local = m.get("edited")
        when = from_unix(unix) if unix is not None else None
        if when is None and isinstance(local, str):
            self.run.edit_clock.reset()
            when, _ = parse_local_iso(local, self.run.edit_clock)
        if when is not None and when.timestamp() <= 2 * EPOCH_PLACEHOLDER_LIMIT:
            extra["edited_placeholder"] = local if local is not None else unix
            return None
        return when

    def _peer(self, raw: object, extra: dict[str, Any], field: str) -> str:
        try:
            key, shape = self.peers[raw]
        except (KeyError, TypeError):
            key, shape = normalize_peer(
                raw, self.raw_id if isinstance(self.raw_id, int) else None, self.type
            )
            if isinstance(raw, int | str) and len(self.peers) < CACHE_ENTRIES:
                self.peers[raw] = (key, shape)
                shapes = self.run.shapes
                shapes[shape] = shapes.get(shape, 0) + 1
        if shape != "string":
            extra[field + "_as_written"] = raw
        return key

    def _sender(self, key: str, name: Any) -> Sender:
        shown = name if isinstance(name, str) else None
        try:
            return self.senders[(key, shown)]
        except KeyError:
            s = Sender(key=key, name=shown)
            if len(self.senders) < CACHE_ENTRIES:
                self.senders[(key, shown)] = s
            return s

    def _mine(self, key: str | None) -> None:
        if self.self_key is not None and key != self.self_key:
            self.all_mine = False

    def _message(self, m: dict[str, Any], msg_id: str | None, line: int | None) -> Message:
        extra: dict[str, Any] = {}
        sent_at, sent_text = self._when(m, extra)
        if "from_id" in m:
            key = self._peer(m["from_id"], extra, "from_id")
        else:
            key = name_key(m.get("from")) if "from" in m else "unknown"
            extra["sender_key_source"] = "name" if "from" in m else "none"
            self.run.shapes["absent"] = self.run.shapes.get("absent", 0) + 1
        self._mine(key)
        sender = self._sender(key, m.get("from"))
        if (
            m.get("from_id").__class__ is str
            and (sender.name is not None or m.get("from") is None)
            and len(self.fast_senders) < CACHE_ENTRIES
        ):
            mine = self.self_key is None or key == self.self_key
            self.fast_senders[(m["from_id"], m.get("from"))] = (sender, mine)
        text, entities = _flatten(m.get("text"), extra)
        if entities is not None:
            if "text_entities" in m:
                self.run.features["text_entities"] = 1
                entities = m["text_entities"]
            extra["entities"] = entities
        elif "text_entities" in m:
            self.run.features["text_entities"] = 1
        edited_at = None
        if "edited" in m or "edited_unixtime" in m:
            edited_at = self._edited(m, extra)
        reply = m.get("reply_to_message_id")
        if m.keys() <= _PLAIN_MESSAGE:
            return Message(
                self.key, "text", sender, sent_at, sent_text, text, line, msg_id,
                edited_at is not None, edited_at, (), None, None, extra or None,
            )  # fmt: skip
        kind, text, attachments = self._content(m, text, extra)
        for k in _EXTRA_VERBATIM:
            if k in m:
                extra[k] = m[k]
        if "reactions" in m:
            self.run.features["reactions"] = 1
        forwarded = m.get("forwarded_from")
        if "forwarded_from" in m and forwarded is None:
            extra["forwarded_from_hidden"] = True
        unknown = {k: v for k, v in m.items() if k not in _MESSAGE_KEYS}
        if unknown:
            extra["raw_unknown"] = unknown
        return Message(
            chat_key=self.key,
            kind=kind,
            sender=sender,
            sent_at=sent_at,
            sent_at_text=sent_text,
            text=text,
            line=line,
            msg_id=msg_id,
            edited=edited_at is not None,
            edited_at=edited_at,
            attachments=attachments,
            reply_to=None if reply is None else str(reply),
            forwarded_from=forwarded if isinstance(forwarded, str) else None,
            extra=extra or None,
        )

    def _content(
        self, m: dict[str, Any], text: str, extra: dict[str, Any]
    ) -> tuple[Kind, str, tuple[Attachment, ...]]:
        """Kind, searchable text and attachments of a non-service message."""
        found: list[Attachment] = []
        kind: Kind = "text"
        if "photo" in m:
            a = attachment(m["photo"], None, None, m.get("photo_file_size"), "photo")
            found += [a] if a else []
            kind, extra["media"] = "media", _details(m, "photo")
        if "file" in m:
            media = MEDIA_KINDS.get(m.get("media_type") or "", "document")
            a = attachment(
                m["file"], m.get("file_name"), m.get("mime_type"), m.get("file_size"), media
            )
            found += [a] if a else []
            kind, extra["media"] = "media", _details(m, media)
        if isinstance(m.get("poll"), dict):
            kind, text = "poll", _poll(m["poll"], text, extra)
        elif "location_information" in m or "place_name" in m:
            kind = "location"
            loc = m.get("location_information")
            extra["location"] = {
                "coordinates": loc,
                **{
                    k: m[k]
                    for k in ("place_name", "address", "live_location_period_seconds")
                    if k in m
                },
            }
            if not text:
                text = "\n".join(str(m[k]) for k in ("place_name", "address") if m.get(k))
        elif "contact_information" in m or "contact_vcard" in m:
            kind = "contact"
            info = m.get("contact_information")
            extra["contact"] = info
            a = attachment(m.get("contact_vcard"), None, "text/vcard", None, "vcard")
            found += [a] if a else []
            if not text and isinstance(info, dict):
                parts = (info.get("first_name"), info.get("last_name"), info.get("phone_number"))
                text = " ".join(str(p) for p in parts if p)
        return kind, text, tuple(found)

    def _service(self, m: dict[str, Any], msg_id: str | None, line: int | None) -> Message:
        extra: dict[str, Any] = {}
        sent_at, sent_text = self._when(m, extra)
        actor = m.get("actor")
        actor_key = None
        if "actor_id" in m:
            actor_key = self._peer(m["actor_id"], extra, "actor_id")
        elif "actor" in m:
            actor_key = name_key(actor)
        self._mine(actor_key)
        action = m.get("action")
        fields = {k: v for k, v in m.items() if k not in _COMMON and k not in ("actor", "actor_id")}
        text = describe_service(action if isinstance(action, str) else None, actor, fields)
        own, _ = _flatten(m.get("text"), extra)
        if own:
            text = f"{text}\n{own}"
        extra.update({"action": fields, "actor": actor, "actor_id": actor_key})
        kind: Kind = "call" if action in CALL_ACTIONS else "system"
        sender = self._sender(actor_key, actor) if kind == "call" and actor_key else None
        edited_at = self._edited(m, extra) if ("edited" in m or "edited_unixtime" in m) else None
        pinned = m.get("message_id") if action == "pin_message" else None
        return Message(
            chat_key=self.key,
            kind=kind,
            sender=sender,
            sent_at=sent_at,
            sent_at_text=sent_text,
            text=text,
            line=line,
            msg_id=msg_id,
            edited=edited_at is not None,
            edited_at=edited_at,
            reply_to=None if pinned is None else str(pinned),
            extra=extra,
        )


def _parse_error(path: str, exc: StreamError) -> ParseError:
    """What a stream error means for the operator, by kind."""
    if exc.kind == "truncated":
        return ParseError(
            f"{path}: the file ends at byte {exc.offset} in the middle of the JSON document: it "
            "is truncated (an export or a copy that did not finish). Nothing from it was "
            "ingested; copy it again, or export the chat again from Telegram Desktop."
        )
    where = f"at byte {exc.offset}" if exc.exact else f"by byte {exc.offset}"
    if exc.kind == "refused":
        return ParseError(
            f"{path}: {exc.reason} ({where}); Telegram Desktop never writes that, so the file "
            "was edited or is not a Telegram export. Nothing from it was ingested; export the "
            "chat again from Telegram Desktop."
        )
    return ParseError(
        f"{path}: {exc.reason} {where}; the file is not valid Telegram JSON even after "
        "repairs (edited or damaged?). Nothing from it was ingested; export the chat again "
        "from Telegram Desktop."
    )


def _invalid_utf8_notice(path: str, offsets: list[int]) -> Notice:
    return Notice(
        "invalid-utf8",
        f"{path}: {len(offsets)} run(s) of messages held bytes that are not UTF-8 (the first "
        f"at byte {offsets[0]}); each bad byte was read as U+FFFD (the replacement "
        "character) and the offsets are in the parse facts. The original file is stored "
        "unchanged.",
    )


def _era_of(m: Any) -> str | None:
    """``int`` / ``string`` from the shape of a message's peer id, if it has one."""
    if not isinstance(m, dict):
        return None
    if "date_unixtime" in m:
        return "string"
    peer = m.get("from_id", m.get("actor_id"))
    if isinstance(peer, bool) or peer is None:
        return None
    return "int" if isinstance(peer, int) else "string"


def _flatten(value: Any, extra: dict[str, Any]) -> tuple[str, list[Any] | None]:
    """The text of a ``text`` field (string, or parts joined with ``""``) and, when it
    had formatted parts, the parts as entity objects."""
    if isinstance(value, str):
        return value, None
    if isinstance(value, list):
        parts: list[str] = []
        entities: list[Any] = []
        rich = False
        for part in value:
            if isinstance(part, str):
                parts.append(part)
                entities.append({"type": "plain", "text": part})
            elif isinstance(part, dict):
                t = part.get("text")
                parts.append(t if isinstance(t, str) else "")
                entities.append(part)
                rich = True
            else:
                parts.append(str(part))
        return "".join(parts), entities if rich else None
    if value is not None:
        extra["raw_text"] = value
    return "", None


def _details(m: dict[str, Any], media: str) -> dict[str, Any]:
    details: dict[str, Any] = {"type": media}
    for k in _MEDIA_DETAILS:
        if k in m:
            details[k] = m[k]
    if "media_type" in m:
        details["media_type"] = m["media_type"]
    return details


def _poll(poll: dict[str, Any], text: str, extra: dict[str, Any]) -> str:
    scratch: dict[str, Any] = {}
    question, _ = _flatten(poll.get("question"), scratch)
    answers = []
    for a in poll.get("answers") or []:
        if isinstance(a, dict):
            answer_text, _ = _flatten(a.get("text"), scratch)
            answers.append(
                {"text": answer_text, "voters": a.get("voters"), "chosen": a.get("chosen")}
            )
    extra["poll"] = {
        "question": question,
        "answers": answers,
        "total_voters": poll.get("total_voters"),
        "closed": poll.get("closed"),
    }
    lines = [text] if text else []
    lines.append(question)
    lines += [str(a["text"]) for a in answers]
    return "\n".join(lines)


__all__ = ["TelegramJsonParser"]
