"""RSMF 2.0.0 (Relativity Short Message Format): one ``.rsmf`` file per document.

An RSMF file is an RFC 5322 message (7-bit, CRLF) with the ``X-RSMF-*`` headers, a
plain-text body (the transcript, which review platforms index as extracted text) and
exactly one attachment, ``rsmf.zip``, holding ``rsmf_manifest.json`` and the files of
the document's attachments. Nothing in it depends on the production (no Bates number,
no production time): producing the same document again gives the same bytes, so review
platforms de-duplicate it. Headers, MIME boundary, Message-ID and zip entries (order,
times, permissions, stored without compression) are derived from the content alone.

Our model maps as follows: senders and people who reacted are participants (Telegram
user id or WhatsApp phone as ``account_id``); the chat is the conversation (``direct``
for one-to-one chats, else ``channel``) with its custodian; messages are ``message``
events, joins and leaves ``join``/``leave``, the end-to-end encryption and
security-code notices ``disclaimer``, other system events and calls ``history``; a
deleted message is ``deleted``; earlier texts become ``edits`` with previous/new; a
reply to a message in the same document is ``parent``; reactions, direction relative to
the custodian (when the custodian is one of the participants) and attachments by their
file name in the zip. What RSMF has no field for (the archive's message id, whether a
message is context, the forwarding origin, a reply outside the document, a file the
export did not include) is in ``custom``.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import io
import json
import zipfile
from datetime import UTC, datetime
from email.header import Header
from typing import Any

from archiver import __version__
from archiver.production.documents import Document, Event
from archiver.production.outdir import Sink
from archiver.search.engine import name_matches
from archiver.store.blobs import read_blob
from archiver.store.database import Store

VERSION = "2.0.0"
GENERATOR = f"archiver/{__version__}"
CRLF = b"\r\n"
_JOIN = {
    "member_added",
    "member_joined",
    "joined",
    "invite_members",
    "join_group_by_link",
    "join_group_by_request",
    "create_group",
    "group_created",
}
_LEAVE = {"member_left", "member_removed", "left", "remove_members"}
_DISCLAIMER = {"encryption", "security_code_changed"}
_DIRECT_TYPES = {"personal_chat", "bot_chat", "saved_messages"}
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def event_type(event: Event) -> str:
    if event.kind in ("system", "call"):
        action = event.extra.get("action")
        what = str(
            event.extra.get("event")
            or (action.get("action") if isinstance(action, dict) else "")
            or ""
        )
        if what in _DISCLAIMER:
            return "disclaimer"
        if what in _JOIN and what not in ("create_group", "group_created"):
            return "join"
        if what in _LEAVE:
            return "leave"
        return "history"
    return "message"


def conversation_type(doc: Document) -> str:
    if doc.chat["type"]:
        return "direct" if doc.chat["type"] in _DIRECT_TYPES else "channel"
    senders = {e.participant for e in doc.events if e.participant is not None}
    grouped = any(event_type(e) in ("join", "leave") for e in doc.events) or any(
        e.extra.get("event") == "group_created" for e in doc.events
    )
    return "direct" if len(senders) <= 2 and not grouped else "channel"


def custodian_participant(doc: Document) -> int | None:
    """The participant the custodian is, if their name or number says so."""
    custodian = doc.custodian
    if custodian is None:
        return None
    for pid, p in sorted(doc.participants.items()):
        if name_matches(custodian, p["name"], p["key"]):
            return pid
    return None


def _participant(pid: int, p: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": f"P{pid}", "display": p["name"] or p["key"]}
    entry["account_id"] = f"+{p['phone']}" if p["phone"] else str(p["key"])
    entry["custom"] = [{"name": "platform_key", "value": str(p["key"])}]
    return entry


def _edits(event: Event) -> list[dict[str, Any]]:
    if event.participant is None or not event.edited:
        return []
    who = f"P{event.participant}"
    if not event.versions:
        edit: dict[str, Any] = {"participant": who}
        if event.edited_at is not None:
            edit["timestamp"] = iso(event.edited_at)
        return [edit]
    texts = [t for t, _ in event.versions] + [event.text]
    times = [at for _, at in event.versions[1:]] + [event.edited_at]
    edits = []
    for previous, new, at in zip(texts, texts[1:], times, strict=False):
        edit = {"participant": who, "previous": previous, "new": new}
        if at is not None:
            edit["timestamp"] = iso(int(at))
        edits.append(edit)
    return edits


def _reactions(event: Event, reactors: dict[str, int]) -> list[dict[str, Any]]:
    out = []
    for r in event.extra.get("reactions") or []:
        if not isinstance(r, dict):
            continue
        value = str(r.get("emoji") or r.get("document_id") or r.get("type") or "reaction")
        item: dict[str, Any] = {"value": value}
        if isinstance(r.get("count"), int):
            item["count"] = r["count"]
        who = [
            f"P{reactors[str(w['from_id'])]}"
            for w in r.get("recent") or []
            if isinstance(w, dict) and str(w.get("from_id")) in reactors
        ]
        if who:
            item["participants"] = who
        out.append(item)
    return out


def _event(event: Event, doc: Document, in_doc: set[int], me: int | None) -> dict[str, Any]:
    e: dict[str, Any] = {
        "id": f"E{event.id}",
        "type": event_type(event),
        "conversation": f"C{doc.chat['id']}",
    }
    if event.participant is not None:
        e["participant"] = f"P{event.participant}"
        if me is not None:
            e["direction"] = "outgoing" if event.participant == me else "incoming"
    if event.sent_at is not None:
        e["timestamp"] = iso(event.sent_at)
    e["body"] = event.shown_text
    if event.kind == "deleted":
        e["deleted"] = True
    custom = [
        {"name": "archiver_message_id", "value": str(event.id)},
        {"name": "kind", "value": event.kind},
        {"name": "produced_as", "value": "context" if event.context else "hit"},
    ]
    if event.reply_to_id is not None:
        if event.reply_to_id in in_doc:
            e["parent"] = f"E{event.reply_to_id}"
        else:
            custom.append({"name": "reply_to_message_id", "value": str(event.reply_to_id)})
    if event.forwarded_from:
        custom.append({"name": "forwarded_from", "value": event.forwarded_from})
    stored = [a for a in event.attachments if a.stored]
    if stored:
        e["attachments"] = [
            {"id": a.zip_name, "display": a.name, **({"size": a.size} if a.size else {})}
            for a in stored
        ]
    custom += [
        {"name": "attachment_not_in_export", "value": a.name}
        for a in event.attachments
        if not a.stored
    ]
    edits = _edits(event)
    if edits:
        e["edits"] = edits
    reactions = _reactions(event, doc.reactors)
    if reactions:
        e["reactions"] = reactions
    e["custom"] = custom
    return e


def collection_id(archive_id: str, chat_id: int) -> str:
    """The same for every slice of one conversation, different for every other."""
    return f"archiver:{archive_id}:chat:{chat_id}"


def manifest(doc: Document, archive_id: str) -> dict[str, Any]:
    """The ``rsmf_manifest.json`` of a document."""
    me = custodian_participant(doc)
    people = [_participant(pid, p) for pid, p in sorted(doc.participants.items())]
    conversation: dict[str, Any] = {
        "id": f"C{doc.chat['id']}",
        "display": doc.title,
        "platform": doc.chat["platform"],
        "type": conversation_type(doc),
        "participants": [p["id"] for p in people],
    }
    if me is not None:
        conversation["custodian"] = f"P{me}"
    elif doc.custodian is not None:
        people.append({"id": "CUSTODIAN", "display": doc.custodian})
        conversation["participants"].append("CUSTODIAN")
        conversation["custodian"] = "CUSTODIAN"
    in_doc = {e.id for e in doc.events}
    return {
        "version": VERSION,
        "participants": people,
        "conversations": [conversation],
        "events": [_event(e, doc, in_doc, me) for e in doc.events],
        "eventcollectionid": collection_id(archive_id, int(doc.chat["id"])),
    }


class _Base64Lines(io.RawIOBase):
    """A write-only stream that base64-encodes into 76-character CRLF lines (what a zip
    is written through straight into the EML, never to a temporary file)."""

    def __init__(self, out: Sink) -> None:
        self.out = out
        self.pending = b""
        self.pos = 0

    def writable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self.pos += len(chunk)
        data_all = self.pending + chunk
        cut = len(data_all) // 57 * 57
        if cut:
            self.out.write(base64.encodebytes(data_all[:cut]).replace(b"\n", CRLF))
        self.pending = data_all[cut:]
        return len(chunk)

    def finish(self) -> None:
        if self.pending:
            self.out.write(base64.encodebytes(self.pending).replace(b"\n", CRLF))
        self.pending = b""


def _entry(name: str, size: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
    info.compress_type = zipfile.ZIP_STORED
    info.create_system = 3
    info.external_attr = 0o600 << 16
    info.file_size = size
    return info


def write_zip(out: Sink, manifest_bytes: bytes, doc: Document, store: Store) -> None:
    """``rsmf.zip`` (manifest first, then each stored attachment) into ``out``."""
    stream = _Base64Lines(out)
    with zipfile.ZipFile(stream, "w") as zf:
        zf.writestr(_entry("rsmf_manifest.json", len(manifest_bytes)), manifest_bytes)
        for att in doc.attachments:
            with zf.open(_entry(att.zip_name, int(att.size or 0)), "w") as member:
                for piece in read_blob(store, str(att.sha256)):
                    member.write(piece)
    stream.finish()


def _header(name: str, value: str) -> bytes:
    encoded = Header(value, "utf-8" if not value.isascii() else "us-ascii", header_name=name)
    return f"{name}: {encoded.encode(linesep=chr(13) + chr(10))}".encode("ascii") + CRLF


def _address(pid: int | str, name: str) -> str:
    return email.utils.formataddr((name, f"p{pid}@participants.invalid"), charset="utf-8")


def subject(doc: Document, zone_name: str, slice_text: str) -> str:
    part = f" part {doc.part} of {doc.parts}"
    platform = str(doc.chat["platform"]).capitalize()
    return f"{platform} {doc.title} {slice_text} ({zone_name}){part}"


def write_rsmf(
    out: Sink, doc: Document, store: Store, man: dict[str, Any], body: str, subj: str
) -> None:
    """The ``.rsmf`` file of a document into ``out``."""
    manifest_bytes = json.dumps(man, ensure_ascii=False, indent=1, sort_keys=True).encode()
    digest = hashlib.sha256(manifest_bytes + body.encode())
    for att in doc.attachments:
        digest.update(str(att.sha256).encode())
    tag = digest.hexdigest()
    boundary = f"RSMF-{tag[:32]}"
    people = {p["id"]: p.get("display") or p["id"] for p in man["participants"]}
    senders = [f"P{e.participant}" for e in doc.events if e.participant is not None]
    first = senders[0] if senders else next(iter(people), "CUSTODIAN")
    conversation = man["conversations"][0]
    headers = [
        ("From", _address(first, people.get(first, "unknown"))),
        ("To", ",\r\n ".join(_address(pid, name) for pid, name in people.items())),
        ("Subject", subj),
        ("Date", email.utils.format_datetime(datetime.fromtimestamp(doc.begin, UTC))),
        ("Message-ID", f"<{tag[:40]}@archiver.invalid>"),
        ("MIME-Version", "1.0"),
        ("X-RSMF-Version", VERSION),
        ("X-RSMF-Generator", GENERATOR),
        ("X-RSMF-Application", str(doc.chat["platform"]).capitalize()),
        ("X-RSMF-Custodian", people.get(conversation.get("custodian", ""), "")),
        ("X-RSMF-Participants", ", ".join(people.values())),
        ("X-RSMF-BeginDate", iso(doc.begin)),
        ("X-RSMF-EndDate", iso(doc.end)),
        ("X-RSMF-EventCount", str(len(doc.events))),
        ("X-RSMF-AttachmentCount", str(len(doc.attachments))),
        ("X-RSMF-EventCollectionID", man["eventcollectionid"]),
        ("X-RSMF-SliceIndex", f"{doc.part} of {doc.parts}"),
        ("Content-Type", f'multipart/mixed; boundary="{boundary}"'),
    ]
    for name, value in headers:
        if name == "X-RSMF-Custodian" and not value:
            continue
        if name in ("From", "To"):
            out.write(f"{name}: {value}".encode("ascii") + CRLF)
        else:
            out.write(_header(name, value))
    out.write(CRLF + f"--{boundary}".encode() + CRLF)
    out.write(b'Content-Type: text/plain; charset="utf-8"' + CRLF)
    out.write(b"Content-Transfer-Encoding: base64" + CRLF + CRLF)
    out.write(base64.encodebytes(body.encode()).replace(b"\n", CRLF))
    out.write(f"--{boundary}".encode() + CRLF)
    out.write(b'Content-Type: application/octet-stream; name="rsmf.zip"' + CRLF)
    out.write(b'Content-Disposition: attachment; filename="rsmf.zip"' + CRLF)
    out.write(b"Content-Transfer-Encoding: base64" + CRLF + CRLF)
    write_zip(out, manifest_bytes, doc, store)
    out.write(f"--{boundary}--".encode() + CRLF)
