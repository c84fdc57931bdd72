"""Creating and unlocking an archive directory (``archive.db`` + ``keys.json``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

from archiver.archive import settings
from archiver.core import crypto, zones
from archiver.core.errors import (
    ArchiveExists,
    ArchiveNotFound,
    ArchiverError,
    BadKey,
    DamageFound,
    KeysFileDamaged,
)
from archiver.security.keyring import Keyring, Secret, new_recovery_key
from archiver.security.roles import LEGACY_ROLE, Role
from archiver.store import auditlog
from archiver.store.auditlog import Invocation
from archiver.store.database import (
    DB_NAME,
    KEYS_NAME,
    DbError,
    Store,
    Waiting,
    connect,
    is_damage,
    page_check,
)


@dataclass
class Archive:
    """An unlocked archive: its directory, key ring and open store."""

    path: Path
    keyring: Keyring
    store: Store
    db_key: bytes
    slot_id: str
    role: Role = LEGACY_ROLE

    @property
    def archive_id(self) -> str:
        return self.keyring.archive_id

    @property
    def default_tz(self) -> str:
        return self.store.meta("default_tz") or "UTC"

    @property
    def signing_public_key(self) -> bytes:
        return self.keyring.signing_public_key

    def unlocked_by(self) -> dict[str, str | None]:
        """The slot that unlocked this archive (id, kind, role, label): who acted, for
        audit entries and refusals."""
        slot = self.keyring.slot(self.slot_id)
        return {
            "slot": self.slot_id,
            "kind": slot["kind"],
            "role": self.role,
            "label": slot.get("label"),
        }

    def describe_slot(self) -> str:
        """The unlocking slot in words: ``key-file slot 3f9a1c2e ('cron')``."""
        who = self.unlocked_by()
        kind = {"keyfile": "key-file", "passphrase": "passphrase", "recovery": "recovery"}
        label = f" ({who['label']!r})" if who["label"] else ""
        return f"{kind.get(str(who['kind']), who['kind'])} slot {self.slot_id}{label}"

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
    four_eyes: bool = False,
) -> NewArchive:
    """Create the archive directory, its database, signing key and key slots (the first
    slot plus a recovery slot, both admin), and the ``init`` audit entry; ``four_eyes``
    turns the four-eyes option on from the start. The caller shows the recovery key
    once. ``plaintext`` leaves the database unencrypted: only for tests that
    must read raw pages (secure-deletion checks); the CLI never sets it."""
    tz = zones.canonical(tz)
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
        first_slot = ring.add_slot(first_secret, db_key, now, params=argon2, role="admin")
        recovery_text, recovery_raw = new_recovery_key()
        recovery_slot = ring.add_slot(
            Secret("recovery", recovery_raw, "init"), db_key, now, label="recovery", role="admin"
        )
        with store.transaction():
            for key, value in {
                "archive_id": archive_id,
                "default_tz": tz,
                "created_at": auditlog.format_time(now),
                "signing_public_key": crypto.b64e(signing_public),
            }.items():
                store.set_meta(key, value)
            if four_eyes:
                settings.write_four_eyes(store, settings.FourEyes(on=True))
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
                        {"id": first_slot, "kind": first_secret.kind, "role": "admin"},
                        {"id": recovery_slot, "kind": "recovery", "role": "admin"},
                    ],
                    "signing_key_fingerprint": crypto.fingerprint(signing_public),
                    "four_eyes": four_eyes,
                },
            )
            ring.save(db_key)
    except BaseException:
        if store is not None:
            store.close()
        for leftover in (db_path, keys_path, *path.glob(DB_NAME + "-*")):
            leftover.unlink(missing_ok=True)
        raise
    archive = Archive(path, ring, store, db_key, first_slot, "admin")
    return NewArchive(archive, recovery_text, first_slot, recovery_slot)


def open_archive(
    path: Path,
    secret: Secret,
    inv: Invocation | None = None,
    *,
    plaintext: bool = False,
    waiting: Waiting | None = None,
) -> Archive:
    """Unlock and open the archive at ``path`` (migrating its schema if it is older).

    Once a slot has opened and ``keys.json``'s MAC has verified under the key it holds,
    the key is known to be the one ``keys.json`` was written with. If the database then
    does not open, SQLCipher's per-page HMACs tell the two causes apart: some pages verify
    under the key (the database is damaged: ``DamageFound``, exit 4) or none does (this
    ``keys.json`` belongs to another database, or to this one before a ``key rotate``:
    ``KeysFileDamaged``, exit 3). ``waiting`` says how long to wait for another
    command's lock."""
    db_path, keys_path = archive_paths(path)
    if not db_path.exists():
        raise ArchiveNotFound(
            f"no archive at {path} (no {DB_NAME}); create one with `archiver init`, or "
            "point --archive / ARCHIVER_ARCHIVE at an existing one"
        )
    ring = Keyring.load(keys_path)
    unlocked = ring.unlock(secret)
    ring.check_mac(unlocked.candidates[0])
    if db_path.stat().st_size == 0:  # SQLite would quietly make it a new, empty database
        raise _empty(db_path)
    store = None
    opened_with = b""
    failure: DbError | None = None
    for candidate in unlocked.candidates:
        try:
            key = None if plaintext else candidate
            store = Store(connect(db_path, key, waiting), db_path, waiting)
        except BadKey as exc:
            failure = exc.__context__ if isinstance(exc.__context__, DbError) else failure
            continue
        opened_with = candidate
        break
    if store is None:
        raise _unreadable(db_path, unlocked.candidates, failure)
    try:
        if opened_with is not unlocked.candidates[0]:
            # A `key rotate` was interrupted after re-keying the database: finish it.
            ring.promote_pending()
            ring.save(opened_with)
        _check_belongs(store, ring, db_path, keys_path)
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
    except DbError as exc:
        store.close()
        if is_damage(exc):
            raise damaged(db_path, exc, "opening it") from None
        raise
    return Archive(path, ring, store, opened_with, unlocked.slot_id, unlocked.role)


def _check_belongs(store: Store, ring: Keyring, db_path: Path, keys_path: Path) -> None:
    if store.one("SELECT count(*) FROM sqlite_master WHERE name = 'meta'") == 0:
        raise _empty(db_path)
    if store.meta("archive_id") != ring.archive_id or store.meta(
        "signing_public_key"
    ) != crypto.b64e(ring.signing_public_key):
        raise KeysFileDamaged(
            f"{keys_path} does not match {db_path} (archive id or signing key differ); "
            "restore the matching keys.json"
        )


def _empty(db_path: Path) -> DamageFound:
    return DamageFound(
        f"{db_path} holds no archive (it is empty or was cut to nothing). Restore "
        f"{DB_NAME} from a backup made with `archiver backup`."
    )


def _unreadable(db_path: Path, candidates: list[bytes], failure: DbError | None) -> ArchiverError:
    """Why a database that a proven key does not open cannot be read: damage or a
    keys.json from elsewhere (see ``open_archive``)."""
    for key in candidates:
        failing, pages = page_check(db_path, key)
        if pages and len(failing) < pages:
            if failing:
                shown = ", ".join(map(str, failing[:5])) + (" ..." if len(failing) > 5 else "")
                what = f"the HMAC check fails on {len(failing)} of its {pages} pages ({shown})"
            else:
                reported = f"SQLite reports '{failure}'" if failure else "SQLite cannot read it"
                what = (
                    f"{reported} although every page's HMAC verifies: the file was probably "
                    "cut short, or changed by something other than SQLite"
                )
            return DamageFound(
                f"{db_path} is damaged: the key slot and keys.json prove the key is right, "
                f"but {what}. Restore {DB_NAME} from a backup made with `archiver backup` "
                "(check the copy with `archiver verify --archive DIR`)."
            )
    return KeysFileDamaged(
        f"the key slot opened but {db_path} does not decrypt with its key (not one page "
        "verifies): this keys.json does not belong to this database, or is older than its "
        "last `archiver key rotate`. Restore the matching keys.json."
    )


def damaged(db_path: Path, exc: BaseException, doing: str) -> DamageFound:
    """A database error that means damage, found while ``doing`` something."""
    return DamageFound(
        f"{db_path} is damaged: SQLite reports '{exc}' while {doing}. Run `archiver verify` "
        "to see what is damaged, and restore the archive from a backup made with "
        "`archiver backup`."
    )
