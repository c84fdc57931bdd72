"""A production's documents as the renderers see them: events with everything shown.

``load`` reads one document (at most ``plan.MAX_EVENTS`` messages) from the archive:
the message records, who sent each (participant ids), earlier texts of edited messages,
attachments and whether their files are stored, reactions and who reacted.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from archiver.production import queries
from archiver.search.records import message_records
from archiver.store.database import Store

_EXT = re.compile(r"\.[A-Za-z0-9]{1,10}$")


@dataclass
class Attachment:
    """A file a message carries; ``bates`` is set when the file is stored (a native)."""

    id: int
    name: str
    mime: str | None
    size: int | None
    sha256: str | None
    note: str | None
    stored: bool
    bates: int | None = None

    @property
    def ext(self) -> str:
        m = _EXT.search(self.name)
        return m.group().lower() if m else ".bin"

    @property
    def zip_name(self) -> str:
        """Its file name inside rsmf.zip (unique in the document, safe anywhere)."""
        return f"A{self.id}{self.ext}"

    @property
    def is_image(self) -> bool:
        return self.ext in (".jpg", ".jpeg", ".png", ".gif", ".webp")


@dataclass
class Event:
    """One produced message, with what every format shows of it."""

    id: int
    kind: str
    sender: str | None
    participant: int | None
    sent_at: int | None
    text: str
    edited: bool
    edited_at: int | None
    reply_to_id: int | None
    forwarded_from: str | None
    extra: dict[str, Any]
    attachments: list[Attachment]
    context: bool
    versions: list[tuple[str, int | None]]
    custodians: list[str]

    @property
    def shown_text(self) -> str:
        if self.kind == "deleted" and not self.text:
            return str(self.extra.get("placeholder") or "This message was deleted")
        return self.text


@dataclass
class Document:
    """One conversation x one time slice (or part of one)."""

    seq: int
    chat: dict[str, Any]
    slice_start: int
    slice_end: int
    part: int
    parts: int
    events: list[Event]
    participants: dict[int, dict[str, Any]]
    reactors: dict[str, int] = field(default_factory=dict)
    bates_first: int = 0
    pages_last: int = 0
    bates_last: int = 0
    pages: int = 0

    @property
    def custodians(self) -> list[str]:
        return sorted({c for e in self.events for c in e.custodians})

    @property
    def custodian(self) -> str | None:
        """The custodian most of its messages came from (first by name on a tie)."""
        counts = Counter(c for e in self.events for c in e.custodians[:1])
        if not counts:
            return None
        return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]

    @property
    def dated(self) -> list[int]:
        return [e.sent_at for e in self.events if e.sent_at is not None]

    @property
    def begin(self) -> int:
        return min(self.dated, default=self.slice_start)

    @property
    def end(self) -> int:
        return max(self.dated, default=self.slice_end)

    @property
    def attachments(self) -> list[Attachment]:
        return [a for e in self.events for a in e.attachments if a.stored]

    @property
    def title(self) -> str:
        return str(self.chat["title"] or self.chat["key"])


def _ts(iso: str | None) -> int | None:
    return None if iso is None else int(datetime.fromisoformat(iso).timestamp())


def _reaction_keys(extra: dict[str, Any]) -> list[str]:
    keys = []
    for reaction in extra.get("reactions") or []:
        if isinstance(reaction, dict):
            for who in reaction.get("recent") or []:
                if isinstance(who, dict) and who.get("from_id"):
                    keys.append(str(who["from_id"]))
    return keys


def load(store: Store, production_id: int, span: dict[str, Any]) -> Document:
    """The document ``span`` (a ``production_documents`` row, or the same keys) of a
    production, its events oldest first."""
    chosen = queries.document_messages(
        store, production_id, span["chat_id"], span["first_id"], span["last_id"]
    )
    ids = [mid for mid, _ in chosen]
    context = dict(chosen)
    records = message_records(store, ids)
    senders = queries.senders(store, ids)
    edited = [int(r["id"]) for r in records if r["edited"]]
    versions = queries.versions(store, edited)
    files = queries.stored_attachments(store, ids)
    events = []
    for r in records:
        mid = int(r["id"])
        events.append(
            Event(
                id=mid,
                kind=str(r["kind"]),
                sender=r["sender"],
                participant=senders.get(mid),
                sent_at=_ts(r["sent_at"]),
                text=str(r["text"] or ""),
                edited=bool(r["edited"]),
                edited_at=_ts(r["edited_at"]),
                reply_to_id=r["reply_to_id"],
                forwarded_from=r["forwarded_from"],
                extra=dict(r["extra"] or {}),
                attachments=[
                    Attachment(
                        int(a["id"]),
                        str(a["name"]),
                        a["mime"],
                        a["size"],
                        a["sha256"],
                        a["note"],
                        bool(a["stored"]),
                    )
                    for a in files.get(mid, [])
                ],
                context=context[mid],
                versions=versions.get(mid, []),
                custodians=list(r["custodians"]),
            )
        )
    chat = queries.chat(store, span["chat_id"])
    reactors = queries.participant_ids(
        store, chat["platform"], [k for e in events for k in _reaction_keys(e.extra)]
    )
    people = queries.participants(
        store,
        [e.participant for e in events if e.participant is not None] + list(reactors.values()),
    )
    return Document(
        seq=span["seq"],
        chat=chat,
        slice_start=span["slice_start"],
        slice_end=span["slice_end"],
        part=span["part"],
        parts=span["parts"],
        events=events,
        participants=people,
        reactors=reactors,
    )
