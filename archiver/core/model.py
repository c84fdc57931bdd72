"""The one normalized model every parser produces and every use case consumes.

Parsers are generators of these records (``Record``). Times are aware UTC datetimes kept
together with the original timestamp text as it appeared in the export. Nothing a parser
does not understand is dropped: it becomes an ``Unparsed`` record, which is stored and
counted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, Final, Literal

Platform = Literal["whatsapp", "telegram"]
PLATFORMS: Final = ("whatsapp", "telegram")

Kind = Literal["text", "media", "system", "deleted", "poll", "location", "contact", "call"]
KINDS: Final = ("text", "media", "system", "deleted", "poll", "location", "contact", "call")


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file a message refers to.

    ``path`` is where the export says the file is, relative to the export root (a zip
    member or a file beside ``result.json``); ``None`` when the export did not include
    the file (WhatsApp "<Media omitted>", Telegram "File not included" placeholders).
    ``note`` keeps the export's own words about a missing file.
    """

    name: str
    path: str | None = None
    mime: str | None = None
    size: int | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Sender:
    """Who sent a message.

    ``key`` is the stable identity on the platform: for WhatsApp the name as shown on
    the exporting phone (there is nothing else), for Telegram the normalized ``from_id``
    (``user123``, ``channel456``, ``chat789``). ``name`` is the display name as shown,
    ``None`` for deleted accounts.
    """

    key: str
    name: str | None


@dataclass(frozen=True, slots=True)
class Chat:
    """A conversation. ``key`` identifies it on its platform across exports."""

    platform: Platform
    key: str
    title: str | None
    type: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, init=False)
class Message:
    """One message, service event or call, normalized.

    ``sent_at`` is aware UTC (``None`` only where the source has no time, such as
    Telegram HTML service blocks); ``sent_at_text`` is the timestamp exactly as written.
    ``line`` is the 1-based line in the source file where the message starts (``None``
    where the format has no lines). ``msg_id`` is the platform's own message id
    (Telegram), ``None`` for WhatsApp. ``extra`` carries kind-specific data (poll
    options, coordinates, entities, forward origin...) as JSON-serialisable values.
    """

    chat_key: str
    kind: Kind
    sender: Sender | None
    sent_at: datetime | None
    sent_at_text: str | None
    text: str
    line: int | None = None
    msg_id: str | None = None
    edited: bool = False
    edited_at: datetime | None = None
    attachments: tuple[Attachment, ...] = ()
    reply_to: str | None = None
    forwarded_from: str | None = None
    extra: Mapping[str, Any] | None = None

    def __init__(
        self,
        chat_key: str,
        kind: Kind,
        sender: Sender | None,
        sent_at: datetime | None,
        sent_at_text: str | None,
        text: str,
        line: int | None = None,
        msg_id: str | None = None,
        edited: bool = False,
        edited_at: datetime | None = None,
        attachments: tuple[Attachment, ...] = (),
        reply_to: str | None = None,
        forwarded_from: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        # The generated __init__ of a frozen dataclass sets each field through
        # object.__setattr__: 1.0 us per message, a tenth of the whole parse. The slots'
        # own setters do the same in half the time (tests/core/test_model.py holds this
        # signature to the fields).
        _set_chat_key(self, chat_key)
        _set_kind(self, kind)
        _set_sender(self, sender)
        _set_sent_at(self, sent_at)
        _set_sent_at_text(self, sent_at_text)
        _set_text(self, text)
        _set_line(self, line)
        _set_msg_id(self, msg_id)
        _set_edited(self, edited)
        _set_edited_at(self, edited_at)
        _set_attachments(self, attachments)
        _set_reply_to(self, reply_to)
        _set_forwarded_from(self, forwarded_from)
        _set_extra(self, extra)


(
    _set_chat_key,
    _set_kind,
    _set_sender,
    _set_sent_at,
    _set_sent_at_text,
    _set_text,
    _set_line,
    _set_msg_id,
    _set_edited,
    _set_edited_at,
    _set_attachments,
    _set_reply_to,
    _set_forwarded_from,
    _set_extra,
) = (getattr(Message, f.name).__set__ for f in fields(Message))


@dataclass(frozen=True, slots=True)
class Unparsed:
    """Input the parser could not turn into a message; kept, labelled and counted."""

    raw: str
    reason: str
    line: int | None = None
    chat_key: str | None = None


@dataclass(frozen=True, slots=True)
class Notice:
    """Something the operator must be told about an export (e.g. probably truncated).

    ``code`` is a stable machine-readable word (``probably-truncated``,
    ``probably-partial``, ``unsupported-messages``...).
    """

    code: str
    message: str
    chat_key: str | None = None


@dataclass(frozen=True, slots=True)
class ParseFacts:
    """What the parser decided about the whole file and why (recorded as provenance).

    Emitted once, after the last message. ``facts`` holds JSON-serialisable values such
    as ``{"date_order": "dmy", "date_order_evidence": "...", "header_lines": 120}``.
    """

    facts: Mapping[str, Any]


Record = Chat | Message | Unparsed | Notice | ParseFacts
