"""Creating and unlocking an archive directory (``archive.db`` + ``keys.json``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

from archiver import auditlog, crypto
from archiver.auditlog import Invocation
from archiver.errors import ArchiveExists, ArchiveNotFound, ArchiverError, BadKey, KeysFileDamaged
from archiver.keyring import Keyring, Secret, new_recovery_key
from archiver.store import DB_NAME, KEYS_NAME, Store, check_zone, connect


@dataclass
class Archive:
    """An unlocked archive: its directory, key ring and open store."""

    path: Path
    keyring: Keyring
    store: Store
    db_key: bytes
    slot_id: str

    @property
    def archive_id(self) -> str:
        return self.keyring.archive_id

    @property
    def default_tz(self) -> str:
        return self.store.meta("default_tz") or "UTC"

    @property
    def signing_public_key(self) -> bytes:
        return self.keyring.signing_public_key

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def archive_paths(path: Path) -> tuple[Path, Path]:
    return path / DB_NAME, path / KEYS_NAME


@dataclass(frozen=True)
class NewArchive:
    """What ``create_archive`` made: the open archive and the one-time recovery key."""

    archive: Archive
    recovery_key: str
    first_slot: str
    recovery_slot: str


def create_archive(
    path: Path,
    first_secret: Secret,
    inv: Invocation,
    *,
    tz: str,
    argon2: crypto.Argon2Params | None = None,
    plaintext: bool = False,
) -> NewArchive:
    """Create the archive directory, its database, signing key and key slots (the first
    slot plus a recovery slot), and the ``init`` audit entry. The caller shows the
    recovery key once. ``plaintext`` leaves the database unencrypted: only for tests that
    must read raw pages (secure-deletion checks); the CLI never sets it."""
    check_zone(tz)
    db_path, keys_path = archive_paths(path)
    if db_path.exists() or keys_path.exists():
        raise ArchiveExists(
            f"{path} already holds an archive; refusing to overwrite it. Choose another "
            "--archive directory."
        )
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    now = inv.now()
    db_key = crypto.random_bytes(crypto.KEY_BYTES)
    signing_private, signing_public = crypto.ed25519_generate()
    archive_id = str(uuid.uuid4())
    store = None
    try:
        store = Store(connect(db_path, None if plaintext else db_key), db_path)
        applied = store.migrate()
        ring = Keyring.new(keys_path, archive_id, signing_public)
        first_slot = ring.add_slot(first_secret, db_key, now, params=argon2)
        recovery_text, recovery_raw = new_recovery_key()
        recovery_slot = ring.add_slot(
            Secret("recovery", recovery_raw, "init"), db_key, now, label="recovery"
        )
        with store.transaction():
            for key, value in {
                "archive_id": archive_id,
                "default_tz": tz,
                "created_at": auditlog.format_time(now),
                "signing_public_key": crypto.b64e(signing_public),
            }.items():
                store.set_meta(key, value)
            store.execute(
                "INSERT INTO secrets(name, value) VALUES ('signing_private_key', ?), "
                "('archive_secret', ?)",
                (signing_private, crypto.random_bytes(32)),
            )
            auditlog.append(
                store,
                inv,
                details={
                    "archive_id": archive_id,
                    "default_tz": tz,
                    "schema_version": applied[-1] if applied else store.schema_version,
                    "slots": [
                        {"id": first_slot, "kind": first_secret.kind},
                        {"id": recovery_slot, "kind": "recovery"},
                    ],
                    "signing_key_fingerprint": crypto.fingerprint(signing_public),
                },
            )
            ring.save(db_key)
    except BaseException:
        if store is not None:
            store.close()
        for leftover in (db_path, keys_path, *path.glob(DB_NAME + "-*")):
            leftover.unlink(missing_ok=True)
        raise
    archive = Archive(path, ring, store, db_key, first_slot)
    return NewArchive(archive, recovery_text, first_slot, recovery_slot)


def open_archive(
    path: Path, secret: Secret, inv: Invocation | None = None, *, plaintext: bool = False
) -> Archive:
    """Unlock and open the archive at ``path`` (migrating its schema if it is older)."""
    db_path, keys_path = archive_paths(path)
    if not db_path.exists():
        raise ArchiveNotFound(
            f"no archive at {path} (no {DB_NAME}); create one with `archiver init`, or "
            "point --archive / ARCHIVER_ARCHIVE at an existing one"
        )
    ring = Keyring.load(keys_path)
    unlocked = ring.unlock(secret)
    store = None
    opened_with = b""
    for candidate in unlocked.candidates:
        try:
            store = Store(connect(db_path, None if plaintext else candidate), db_path)
        except BadKey:
            continue
        opened_with = candidate
        break
    if store is None:
        raise KeysFileDamaged(
            f"the key slot opened but {db_path} does not decrypt with its key: this "
            "keys.json does not belong to this database (restore the matching keys.json)"
        )
    try:
        ring.check_mac(unlocked.candidates[0])
        if opened_with is not unlocked.candidates[0]:
            # A `key rotate` was interrupted after re-keying the database: finish it.
            ring.promote_pending()
            ring.save(opened_with)
        if store.meta("archive_id") != ring.archive_id or store.meta(
            "signing_public_key"
        ) != crypto.b64e(ring.signing_public_key):
            raise KeysFileDamaged(
                f"{keys_path} does not match {db_path} (archive id or signing key differ); "
                "restore the matching keys.json"
            )
        if inv is not None:
            _inv = inv

            def record(version: int, title: str) -> None:
                auditlog.append(
                    store, _inv, action="migrate", details={"version": version, "title": title}
                )

            store.migrate(record)
        else:
            store.migrate()
    except ArchiverError:
        store.close()
        raise
    return Archive(path, ring, store, opened_with, unlocked.slot_id)
