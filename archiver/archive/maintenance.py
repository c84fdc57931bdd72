"""Archive-wide use cases: status and consistent, verified backups."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

from archiver.archive.session import Archive, archive_paths
from archiver.core import crypto
from archiver.core.errors import DamageFound, Refused
from archiver.security.keyring import Keyring
from archiver.store import auditlog
from archiver.store.auditlog import Invocation
from archiver.store.database import Store, connect, dir_size

COUNTED_TABLES = {
    "messages": "messages",
    "chats": "chats",
    "participants": "participants",
    "custodians": "custodians",
    "sources": "sources",
    "attachments": "attachments",
    "stored_files": "blobs",
    "unparsed_lines": "unparsed",
    "audit_entries": "audit_log",
}


def counts(store: Store) -> dict[str, int]:
    db = store.db
    return {name: db.table(table).count for name, table in COUNTED_TABLES.items()}


def status(archive: Archive, inv: Invocation) -> dict[str, Any]:
    """What an officer checks first: where, which archive, how big, which slots."""
    store = archive.store
    with store.transaction():
        report = {
            "path": str(archive.path.resolve()),
            "archive_id": archive.archive_id,
            "schema_version": store.schema_version,
            "default_tz": archive.default_tz,
            "created_at": store.meta("created_at"),
            "counts": counts(store),
            "slots": list(archive.keyring.describe()),
            "sizes": dir_size(archive.path),
            "signing_key_fingerprint": crypto.fingerprint(archive.signing_public_key),
        }
        entry = auditlog.append(store, inv, details={"counts": report["counts"]})
    report["audit_head"] = f"{entry.seq}:{entry.hash}"
    return report


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def backup(archive: Archive, dest: Path, inv: Invocation) -> dict[str, Any]:
    """A consistent copy of the encrypted database and ``keys.json`` in ``dest``.

    Uses SQLite's online backup API (safe while the archive is in use), then opens the
    copy with the database key and checks it: SQLCipher's page HMACs, SQLite's integrity
    check, the keys.json MAC, and that it holds the same audit head and message count.
    Restoring is copying the two files back.
    """
    dest_db, dest_keys = archive_paths(dest)
    if dest.exists() and any(dest.iterdir()):
        raise Refused(f"{dest} exists and is not empty; choose a new backup directory")
    try:
        dest.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise Refused(f"cannot create the backup folder {dest}: {exc.strerror}") from None
    src_keys = archive.path / "keys.json"
    store = archive.store
    try:
        copy = connect(dest_db, archive.db_key)
        try:
            store.conn.backup(copy)
        finally:
            copy.close()
        shutil.copyfile(src_keys, dest_keys)
        dest_keys.chmod(0o600)
        checked = _check_copy(dest, archive)
    except BaseException:
        for leftover in (dest_db, dest_keys, *dest.glob("archive.db-*")):
            leftover.unlink(missing_ok=True)
        raise
    report = {
        "destination": str(dest.resolve()),
        "archive_db_sha256": _sha256_file(dest_db),
        "keys_json_sha256": _sha256_file(dest_keys),
        **checked,
    }
    auditlog.append(store, inv, details=report)
    return report


def _check_copy(dest: Path, archive: Archive) -> dict[str, Any]:
    dest_db, dest_keys = archive_paths(dest)
    Keyring.load(dest_keys).check_mac(archive.db_key)
    copy = Store(connect(dest_db, archive.db_key), dest_db)
    try:
        problems = [r[0] for r in copy.execute("PRAGMA cipher_integrity_check").fetchall()]
        integrity = [r[0] for r in copy.execute("PRAGMA integrity_check").fetchall()]
        if problems or integrity != ["ok"]:
            raise DamageFound(
                f"the backup in {dest} does not verify: {(problems or integrity)[0]}; "
                "it was removed, try again"
            )
        copied_head = auditlog.head(copy)
        copied_messages = int(copy.one("SELECT count(*) FROM messages"))
    finally:
        copy.close()
    if copied_head != auditlog.head(archive.store) or copied_messages != int(
        archive.store.one("SELECT count(*) FROM messages")
    ):
        raise DamageFound(f"the backup in {dest} differs from the archive; it was removed")
    head = f"{copied_head[0]}:{copied_head[1]}" if copied_head else None
    return {"verified": True, "messages": copied_messages, "audit_head": head}
