"""The audit-log mechanism: one call that every command uses to append its entry.

The log is an append-only HMAC chain: entry ``n`` stores
``hash_n = HMAC(k, canonical(seq, at, user, host, action, args, outcome, details,
hash_{n-1}))`` where ``k`` is derived from the archive secret kept inside the encrypted
database (not from the database key, so ``key rotate`` leaves the chain verifiable) and
``hash_0`` is bound to the archive id. ``append`` must run inside the transaction of the
effect it records, so an entry exists exactly when its effect does.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from archiver.core import crypto
from archiver.core.zones import format_time as format_time
from archiver.store.database import Store


@dataclass(frozen=True)
class Invocation:
    """Who runs which command with which arguments, and the clock: passed in by the CLI
    (the library never reads the environment or the clock by itself).

    ``args`` must already have secrets removed; it is stored in the audit log verbatim.
    """

    command: str
    args: Mapping[str, Any] = field(default_factory=dict)
    user: str = "unknown"
    host: str = "unknown"
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    def now(self) -> datetime:
        return self.clock().astimezone(UTC)


@dataclass(frozen=True)
class Entry:
    seq: int
    at: str
    user: str
    host: str
    action: str
    args: str
    outcome: str
    details: str
    prev_hash: str
    hash: str

    @property
    def fields(self) -> list[Any]:
        return [
            self.seq,
            self.at,
            self.user,
            self.host,
            self.action,
            self.args,
            self.outcome,
            self.details,
            self.prev_hash,
        ]


def canonical_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def chain_key(store: Store) -> bytes:
    return crypto.subkey(store.secret("archive_secret"), "audit-chain")


def genesis_hash(key: bytes, archive_id: str) -> str:
    return crypto.mac(key, f"archiver-audit-genesis|{archive_id}".encode()).hex()


def entry_hash(key: bytes, fields: list[Any]) -> str:
    return crypto.mac(key, canonical_json(fields).encode("utf-8")).hex()


def append(
    store: Store,
    inv: Invocation,
    *,
    outcome: str = "ok",
    details: Mapping[str, Any] | None = None,
    action: str | None = None,
) -> Entry:
    """Append one entry; runs inside the caller's transaction (or opens its own)."""
    with store.transaction():
        key = chain_key(store)
        last = store.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
        if last is None:
            seq, prev = 1, genesis_hash(key, str(store.meta("archive_id")))
        else:
            seq, prev = int(last[0]) + 1, str(last[1])
        entry = Entry(
            seq=seq,
            at=format_time(inv.now()),
            user=inv.user,
            host=inv.host,
            action=action or inv.command,
            args=canonical_json(dict(inv.args)),
            outcome=outcome,
            details=canonical_json(dict(details or {})),
            prev_hash=prev,
            hash="",
        )
        entry = dataclasses.replace(entry, hash=entry_hash(key, entry.fields))
        store.execute(
            "INSERT INTO audit_log(seq, at, user, host, action, args, outcome, details, "
            "prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (*entry.fields, entry.hash),
        )
    return entry


def record_failure(store: Store, inv: Invocation, error: BaseException) -> Entry:
    """After a command's own transaction rolled back: an entry saying it failed."""
    return append(
        store,
        inv,
        outcome="error",
        details={"error": type(error).__name__, "message": str(error).splitlines()[0][:500]},
    )


def head(store: Store) -> tuple[int, str] | None:
    row = store.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
    return None if row is None else (int(row[0]), str(row[1]))
