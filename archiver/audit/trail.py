"""Reading the audit trail: list entries, report the head, export the chain signed.

Appending is ``auditlog.append`` (every command, inside the transaction of its effect).
This module reads what was appended:

- ``entries`` lists and filters the trail; ``current_head`` is the last entry as
  ``SEQ:HASH``, the value to record outside the archive (docs/security.md). Reading
  the trail is not itself logged, so the head it shows stays the head.
- ``export`` writes the whole chain (metadata only: entries as stored, no message
  content) as a file signed with the archive's Ed25519 key (``signing``), optionally
  redacted by meaning (``Redactor``): names of people, chats, holds, custodians and
  matters, queries, free texts and file names become keyed hashes; how the archive was
  operated (times, zones, counts, ids, hashes, sort order, outcomes, rule names) stays
  readable. The export is logged, after the file is made.
- ``check_export`` re-checks an exported chain without any key: entries in order, each
  linking to the one before, ending at the declared head (and at a recorded one). Its
  HMACs need the archive key; ``archiver verify`` recomputes those.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from archiver.archive.session import Archive
from archiver.core import crypto
from archiver.core.errors import InputError, Refused
from archiver.security import signing
from archiver.security.keyring import write_secret_file
from archiver.store import auditlog
from archiver.store.auditlog import Invocation, canonical_json
from archiver.store.database import Store, parse_moment

COLUMNS = ("seq", "at", "user", "host", "action", "args", "outcome", "details", "prev_hash", "hash")
_SELECT = f"SELECT {', '.join(COLUMNS)} FROM audit_log"
_HEAD = re.compile(r"^\s*(\d+):([0-9a-fA-F]{64})\s*$")


@dataclass(frozen=True)
class Head:
    """An audit entry's position and hash: what an operator records outside the archive."""

    seq: int
    hash: str

    def __str__(self) -> str:
        return f"{self.seq}:{self.hash}"


def parse_head(text: str) -> Head:
    match = _HEAD.match(text)
    if match is None or int(match.group(1)) < 1:
        raise InputError(
            f"a head looks like SEQ:HASH (a number, a colon, 64 hex digits), as printed by "
            f"`archiver audit head`; got {text!r}"
        )
    return Head(int(match.group(1)), match.group(2).lower())


def current_head(store: Store) -> Head | None:
    last = auditlog.head(store)
    return None if last is None else Head(*last)


def parse_since(text: str, zone: str) -> datetime:
    """``--since``: a day (in ``zone``) or an ISO 8601 time."""
    return parse_moment(text, zone, "--since")


def entry_record(row: tuple[Any, ...], *, parsed: bool = True) -> dict[str, Any]:
    """One entry as a dict; ``parsed`` turns the stored args/details JSON into objects."""
    rec = dict(zip(COLUMNS, row, strict=True))
    if parsed:
        rec["args"] = json.loads(rec["args"])
        rec["details"] = json.loads(rec["details"])
    return rec


def entries(
    store: Store, *, since: datetime | None = None, action: str | None = None
) -> Iterator[dict[str, Any]]:
    """Entries in order; ``action`` matches a command (``key`` also matches ``key.*``)."""
    where, params = [], []
    if since is not None:
        where.append("at >= ?")
        params.append(auditlog.format_time(since))
    if action:
        where.append("(action = ? OR action LIKE ? ESCAPE '\\')")
        escaped = action.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        params += [action, escaped + ".%"]
    sql = _SELECT + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY seq"
    for row in store.execute(sql, params):
        yield entry_record(row)


# --- redaction ------------------------------------------------------------------------

# What a field of an entry's arguments or details means decides what ``--redact`` does
# with it. Data: names of people, chats, holds, custodians and matters; what was searched
# for; free text an operator wrote; names of files and folders. Their string values
# (list items one by one) become keyed hashes.
DATA_FIELDS = frozenset(
    {
        # people and their conversations
        "custodian", "custodians", "participant", "participants", "person", "names",
        "sender", "chat", "chats", "new_chat", "title", "phone", "email",
        # holds and matters
        "name", "hold", "holds", "holds_checked", "matter",
        # what was looked for, what was written, what went wrong (messages name files)
        "query", "reason", "release_reason", "description", "label", "message", "first",
        # files and folders
        "source", "file", "path", "paths", "out", "dest", "destination", "archive_dir",
        "key_file", "certificate", "certificate_dir", "recovery_key_out", "public_key",
    }
)  # fmt: skip
# Operational: how the archive was used. Times, dates and zones; counts and limits;
# outcomes and flags; versions, formats, sort order; rule and policy names and their
# terms; what kind of slot, check or change. Kept as they are.
OPERATIONAL_FIELDS = frozenset(
    {
        "as_of", "at", "since", "signed_at", "tz", "default_tz", "sent_after", "sent_before",
        "limit", "offset", "context", "months", "batch", "bytes", "entries", "messages",
        "deleted", "examined", "would_delete", "returned", "total", "shown", "held_now",
        "deletable", "level", "outcome", "executed", "ahead_of_time", "verified", "ok",
        "redacted", "lock", "locked", "execute", "allow_future", "change", "version",
        "previous_version", "policy_version", "schema_version", "merkle_format", "sort",
        "fmt", "format", "platform", "date_order", "kind", "action", "expected", "head",
        "expected_head", "verified_head", "audit_head", "rule", "policy", "citation",
        "basis", "retain", "then", "delete_after", "org_wide", "rules",
        # key slots and four-eyes approvals: who (the operator, as in every entry), with
        # which slot and role, for which command, in which state
        "role", "slot", "user", "host", "command", "state",
    }
)  # fmt: skip
# Hashes and ids (kept): these names, and names with these endings.
ID_FIELDS = frozenset({"id", "seq", "hash", "sha256", "merkle_root", "fingerprint"})
ID_SUFFIXES = ("_id", "_ids", "_sha256", "_hash", "_head", "_fingerprint", "_merkle_root", "_ts")
# Dictionaries whose keys are data: counts per chat title, per hold name.
DATA_KEYED = frozenset({"by_chat", "held"})
# Fields whose meaning depends on where they are: (action, field, enclosing field).
IN_CONTEXT = {
    ("policy.load", "name", "before"): "kept",  # a rule's name, like "rule" itself
    ("policy.load", "name", "after"): "kept",
    ("migrate", "title"): "kept",  # the title of a schema migration
}
_CLASS_NAME = re.compile(r"^[A-Z][A-Za-z]*$")


def field_meaning(action: str, key: str, parent: str | None) -> str | None:
    """``"data"`` or ``"kept"`` for a string under ``key``; None when the field is not
    known (then it is redacted: a new field is hidden until someone decides otherwise)."""
    context = IN_CONTEXT.get((action, key, parent or "")) or IN_CONTEXT.get((action, key))
    if context:
        return context
    if key in ID_FIELDS or key.endswith(ID_SUFFIXES) or key == "rewrapped_slots":
        return "kept"
    if key.endswith("_at"):  # a time
        return "kept"
    if key == "error":  # an exception's class name, or (older entries) its message
        return "error"
    if key in DATA_FIELDS:
        return "data"
    if key in OPERATIONAL_FIELDS:
        return "kept"
    return None


class Redactor:
    """Replaces data by ``hmac:<hex16>``: HMAC-SHA256 under a key derived from the
    archive secret, so equal values stay equal and only the archive can test a guess.
    The structure of every entry stays as it was."""

    def __init__(self, key: bytes) -> None:
        self.key = key
        self.unknown: set[tuple[str, str]] = set()  # fields redacted for want of a meaning

    def token(self, value: Any) -> str:
        data = value if isinstance(value, str) else canonical_json(value)
        digest = hmac.new(self.key, data.encode("utf-8"), hashlib.sha256).hexdigest()
        return "hmac:" + digest[:16]

    def fields(self, action: str, stored: str) -> str:
        """An entry's ``args`` or ``details`` (JSON as stored), redacted by meaning."""
        return canonical_json(self._walk(action, json.loads(stored), "", None))

    def _walk(self, action: str, value: Any, key: str, parent: str | None) -> Any:
        if isinstance(value, dict):
            if key in DATA_KEYED:
                return {self.token(k): self._walk(action, v, key, parent) for k, v in value.items()}
            return {k: self._walk(action, v, k, key) for k, v in value.items()}
        if isinstance(value, list):
            return [self._walk(action, v, key, parent) for v in value]
        if not isinstance(value, str):
            return value  # numbers, flags, nulls: counts and outcomes
        meaning = field_meaning(action, key, parent)
        if meaning == "kept" or (meaning == "error" and _CLASS_NAME.match(value)):
            return value
        if meaning is None:
            self.unknown.add((action, key))
        return self.token(value)


def redactor(store: Store) -> Redactor:
    return Redactor(crypto.subkey(store.secret("archive_secret"), "audit-redaction"))


# --- export ---------------------------------------------------------------------------

CHAIN_RULE = {
    "hash": "HMAC-SHA256, keyed from the archive secret, over the canonical JSON array "
    "[seq, at, user, host, action, args, outcome, details, prev_hash] (sorted keys, no "
    "spaces, UTF-8); args and details are the JSON strings exactly as stored",
    "genesis": "entry 1's prev_hash is HMAC(key, 'archiver-audit-genesis|' + archive_id)",
    "links": "entry n's prev_hash equals entry n-1's hash; seq runs 1, 2, 3, ... without gaps",
    "check": "the links and the head need no key (`archiver verify-signed`); the HMACs "
    "need the archive key (`archiver verify`)",
}


REDACTION_RULE = (
    "redacted by meaning: names of people, chats, holds, custodians and matters, search "
    "queries, free texts (reasons, labels, descriptions, error messages) and file and "
    "folder names, in arguments and details (keys of per-chat and per-hold counts too), "
    "are replaced by hmac:<first 16 hex digits of HMAC-SHA256 under the archive's "
    "audit-redaction key> (equal values, equal tokens); times, zones, counts, ids, "
    "hashes, sort order, outcomes, rule and policy names, and the operator's user and "
    "host stay readable. The entries' HMACs then cannot be recomputed; their links and "
    "the signature still verify"
)


def export_payload(store: Store, redact: Redactor | None) -> dict[str, Any]:
    """The chain as stored (or redacted) with its head, ready to sign."""
    chain = []
    for row in store.execute(_SELECT + " ORDER BY seq"):
        rec = entry_record(row, parsed=False)
        if redact is not None:
            rec["args"] = redact.fields(rec["action"], rec["args"])
            rec["details"] = redact.fields(rec["action"], rec["details"])
        chain.append(rec)
    last = chain[-1] if chain else None
    return {
        "chain": CHAIN_RULE,
        "redacted": redact is not None,
        "redaction": REDACTION_RULE if redact is not None else None,
        "count": len(chain),
        "head": None if last is None else {"seq": last["seq"], "hash": last["hash"]},
        "entries": chain,
    }


def export(archive: Archive, out: Path, inv: Invocation, *, redact: bool = False) -> dict[str, Any]:
    """Write the signed chain to ``out`` (0600, never overwriting), then log the export."""
    if out.exists():
        raise Refused(f"{out} already exists; choose a new file name for the audit export")
    store = archive.store
    created = False
    try:
        with store.transaction():
            payload = export_payload(store, redactor(store) if redact else None)
            doc = signing.sign_document(
                store.signing_keys(), archive.archive_id, "audit-export", payload, inv.now()
            )
            data = signing.dumps(doc)
            write_secret_file(out, data)
            created = True
            report = {
                "out": str(out),
                "entries": payload["count"],
                "head": _head_text(payload["head"]),
                "redacted": redact,
                "sha256": hashlib.sha256(data).hexdigest(),
                "signed_at": doc["signed_at"],
                "key_fingerprint": doc["key_fingerprint"],
            }
            auditlog.append(store, inv, details=report)
    except BaseException:
        if created:
            out.unlink(missing_ok=True)
        raise
    return report


def _head_text(head: dict[str, Any] | None) -> str | None:
    return None if head is None else f"{head['seq']}:{head['hash']}"


def check_export(payload: dict[str, Any], recorded: Head | None = None) -> str | None:
    """The first break in an exported chain's links, or None; needs no key."""
    entries_ = payload.get("entries")
    if not isinstance(entries_, list) or not entries_:
        return "the export holds no audit entries"
    prev = None
    for n, entry in enumerate(entries_, 1):
        if not isinstance(entry, dict) or entry.get("seq") != n:
            return f"entry {n} is missing from the exported chain"
        if prev is not None and entry.get("prev_hash") != prev:
            return f"entry {n} does not link to entry {n - 1}"
        prev = entry.get("hash")
    last = entries_[-1]
    if payload.get("head") != {"seq": last["seq"], "hash": last["hash"]}:
        return "the declared head is not the last entry of the exported chain"
    if recorded is not None:
        if recorded.seq > len(entries_):
            return (
                f"the recorded head {recorded.seq} is not in the export (it ends at entry "
                f"{len(entries_)}): entries were removed"
            )
        if entries_[recorded.seq - 1]["hash"] != recorded.hash:
            return f"entry {recorded.seq} differs from the recorded head: the trail was rewritten"
    return None
