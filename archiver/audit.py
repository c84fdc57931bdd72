"""Reading the audit trail: list entries, report the head, export the chain signed.

Appending is ``auditlog.append`` (every command, inside the transaction of its effect).
This module reads what was appended:

- ``entries`` lists and filters the trail; ``current_head`` is the last entry as
  ``SEQ:HASH``, the value to record outside the archive (DESIGN.md decision 9). Reading
  the trail is not itself logged, so the head it shows stays the head.
- ``export`` writes the whole chain (metadata only: entries as stored, no message
  content) as a file signed with the archive's Ed25519 key (``signing``), optionally with
  every argument value and every string detail other than hashes and ids replaced by a
  keyed hash. The export is logged, after the file is made.
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

from archiver import auditlog, crypto, signing
from archiver.archive import Archive
from archiver.auditlog import Invocation, canonical_json
from archiver.errors import InputError, Refused
from archiver.keyring import write_secret_file
from archiver.store import Store, parse_moment

COLUMNS = ("seq", "at", "user", "host", "action", "args", "outcome", "details", "prev_hash", "hash")
_SELECT = f"SELECT {', '.join(COLUMNS)} FROM audit_log"
_HEAD = re.compile(r"^\s*(\d+):([0-9a-fA-F]{64})\s*$")

# Detail keys whose string values are hashes or ids, kept by ``--redact``.
_KEPT_KEYS = frozenset(
    {
        "id",
        "seq",
        "hash",
        "head",
        "sha256",
        "merkle_root",
        "fingerprint",
        "rewrapped_slots",
    }
)
_KEPT_SUFFIXES = ("_id", "_ids", "_sha256", "_hash", "_head", "_fingerprint", "_merkle_root")


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


def _kept(key: str) -> bool:
    return key in _KEPT_KEYS or key.endswith(_KEPT_SUFFIXES)


class Redactor:
    """Replaces values by ``hmac:<hex16>``: HMAC-SHA256 under a key derived from the
    archive secret, so equal values stay equal and only the archive can test a guess."""

    def __init__(self, key: bytes) -> None:
        self.key = key

    def token(self, value: Any) -> str:
        data = value if isinstance(value, str) else canonical_json(value)
        digest = hmac.new(self.key, data.encode("utf-8"), hashlib.sha256).hexdigest()
        return "hmac:" + digest[:16]

    def args(self, stored: str) -> str:
        """Every argument value (list items one by one)."""
        out = {
            name: [self.token(v) for v in value] if isinstance(value, list) else self.token(value)
            for name, value in json.loads(stored).items()
        }
        return canonical_json(out)

    def details(self, stored: str) -> str:
        """Every string, except under keys that name a hash or an id; numbers stay."""
        return canonical_json(self._detail(json.loads(stored), keep=False))

    def _detail(self, value: Any, keep: bool) -> Any:
        if isinstance(value, dict):
            return {k: self._detail(v, _kept(k)) for k, v in value.items()}
        if isinstance(value, list):
            return [self._detail(v, keep) for v in value]
        if isinstance(value, str) and not keep:
            return self.token(value)
        return value


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
    "every argument value and every string detail except hashes and ids is replaced by "
    "hmac:<first 16 hex digits of HMAC-SHA256 under the archive's audit-redaction key>; "
    "the entries' HMACs then cannot be recomputed, their links and the signature still verify"
)


def export_payload(store: Store, redact: Redactor | None) -> dict[str, Any]:
    """The chain as stored (or redacted) with its head, ready to sign."""
    chain = []
    for row in store.execute(_SELECT + " ORDER BY seq"):
        rec = entry_record(row, parsed=False)
        if redact is not None:
            rec["args"] = redact.args(rec["args"])
            rec["details"] = redact.details(rec["details"])
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
                store, archive.archive_id, "audit-export", payload, inv.now()
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
