"""``keys.json``: the key slots that unlock an archive's database key (LUKS-style).

The database key is 32 random bytes. Each slot owns an X25519 key pair: its private key
is wrapped (AES-256-GCM) under a key-encryption key derived from the slot's secret, and
the database key is sealed to its public key. Unlocking derives the KEK, unwraps the
slot's private key and opens the database key. Because sealing needs only public keys,
``rotate`` can give the database a new key and re-wrap it for every slot without knowing
any slot's secret, and adding or removing a slot never touches the database.

Slot kinds and their key derivation:
- ``passphrase``: Argon2id (salt and cost parameters stored in the slot);
- ``keyfile``: HKDF-SHA256 over the file's bytes (32+ random bytes; unattended jobs);
- ``recovery``: HKDF-SHA256 over a 160-bit recovery key shown once at ``init``.

Each slot has a role (``archiver.security.roles``). The role is sealed into the slot: it is part
of the associated data of the slot's sealed database key, so a slot whose role was
edited in the file (or removed, to pass for a slot made before roles) no longer opens;
it cannot gain a role. Slots made before roles (format version 1) carry none and are
admin; their sealed key has no role in its associated data.

The file holds no secret in the clear. Each slot carries an unkeyed checksum (so
accidental damage names the slot), and the whole file carries a MAC under a key derived
from the database key, checked after every unlock (so a swapped slot or public key is
detected). Everything read before a slot opens is bounded: at most ``MAX_SLOTS`` slots,
Argon2 costs within ``crypto.ARGON2_BOUNDS``. Writes are atomic (temp file, fsync,
rename).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from archiver.core import crypto
from archiver.core.errors import BadKey, KeysFileDamaged, NotFound, Refused, UnlockError
from archiver.security.roles import LEGACY_ROLE, ROLES, Role

FORMAT = "archiver-keys"
VERSION = 2  # 2: slots carry a sealed role
READABLE_VERSIONS = (1, 2)
# Slots tried at an unlock are bounded too (an unlock may try every passphrase slot).
MAX_SLOTS = 32
SlotKind = Literal["passphrase", "keyfile", "recovery"]
SLOT_KINDS: tuple[SlotKind, ...] = ("passphrase", "keyfile", "recovery")
KEYFILE_MIN_BYTES = 32
RECOVERY_BYTES = 20
_B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
# Cost of new passphrase slots; tests lower it (a slot records its own parameters).
DEFAULT_ARGON2 = crypto.Argon2Params()


@dataclass(frozen=True)
class Secret:
    """A secret offered to unlock (or create) a slot.

    ``origin`` says where it came from (``--key-file /etc/archiver.key``,
    ``ARCHIVER_PASSPHRASE``, ``prompt``) for error messages; it never holds the secret.
    """

    kind: SlotKind
    value: bytes = field(repr=False)
    origin: str

    @classmethod
    def passphrase(cls, text: str, origin: str) -> Secret:
        return cls("passphrase", unicodedata.normalize("NFC", text).encode("utf-8"), origin)

    @classmethod
    def recovery(cls, text: str, origin: str) -> Secret:
        return cls("recovery", parse_recovery_key(text), origin)


# --- recovery keys ---------------------------------------------------------------------


def new_recovery_key() -> tuple[str, bytes]:
    """A new recovery key: (the text a person types back, its 20 secret bytes)."""
    raw = crypto.random_bytes(RECOVERY_BYTES)
    return format_recovery_key(raw), raw


def format_recovery_key(raw: bytes) -> str:
    body = base64.b32encode(raw).decode("ascii")  # 32 characters, no padding for 20 bytes
    check = _recovery_check(raw)
    text = body + check
    return "-".join(text[i : i + 4] for i in range(0, len(text), 4))


def _recovery_check(raw: bytes) -> str:
    digest = int.from_bytes(hashlib.sha256(b"archiver-recovery" + raw).digest()[:3], "big")
    return "".join(_B32[(digest >> shift) & 31] for shift in (19, 14, 9, 4))


def parse_recovery_key(text: str) -> bytes:
    """The secret bytes of a typed recovery key; forgiving about case, dashes, spaces."""
    cleaned = "".join(ch for ch in text.upper() if ch.isalnum())
    cleaned = cleaned.translate(str.maketrans("018", "OIB"))
    if len(cleaned) != 36 or any(ch not in _B32 for ch in cleaned):
        raise BadKey(
            "that is not a recovery key: expected 9 groups of 4 letters and digits "
            "(XXXX-XXXX-...-XXXX), as shown at `archiver init`"
        )
    raw = base64.b32decode(cleaned[:32])
    if _recovery_check(raw) != cleaned[32:]:
        raise BadKey("the recovery key's last group does not match: check it for a typo")
    return raw


# --- keyfile helpers -------------------------------------------------------------------


def read_key_file(path: Path, warn: Callable[[str], None] | None = None) -> bytes:
    """The bytes of key file ``path``, read only if no other user can read it.

    A key file unlocks the archive on its own, so it must be private to its owner: a file
    that every user of the machine may access (``o+r``, ``o+w`` or ``o+x``) is refused; a
    file its group may access is read, and ``warn`` is told how to fix it."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        raise UnlockError(f"key file {path} does not exist") from None
    except OSError as exc:
        raise UnlockError(f"cannot read key file {path}: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as fh:
        mode = stat.S_IMODE(os.fstat(fh.fileno()).st_mode)
        if os.name == "posix" and mode & 0o007:
            raise UnlockError(
                f"key file {path} is open to every user of this machine (mode {mode:04o}): "
                f"any of them could unlock the archive with it. Run `chmod 600 {path}`, and "
                "if others may have copied it, `archiver key rotate` and replace the file "
                "(`archiver key add-keyfile`, then `archiver key remove` the old slot)."
            )
        if os.name == "posix" and mode & 0o070 and warn is not None:
            warn(
                f"key file {path} is open to its group (mode {mode:04o}); run "
                f"`chmod 600 {path}` so that only its owner can read it"
            )
        data = fh.read()
    if len(data) < KEYFILE_MIN_BYTES:
        raise UnlockError(
            f"key file {path} holds {len(data)} bytes; a key file must hold at least "
            f"{KEYFILE_MIN_BYTES} random bytes (create one with `archiver key add-keyfile`)"
        )
    return data


def create_key_file(path: Path) -> bytes:
    """Write 32 random bytes to a new file with mode 0600; never overwrite."""
    data = crypto.random_bytes(KEYFILE_MIN_BYTES)
    write_secret_file(path, data)
    return data


def write_secret_file(path: Path, data: bytes) -> None:
    """Create ``path`` with mode 0600 holding ``data``; refuses to overwrite."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise Refused(f"{path} already exists; refusing to overwrite it") from None
    except OSError as exc:
        raise Refused(f"cannot create {path}: {exc.strerror}") from None
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


# --- the keyring ------------------------------------------------------------------------


def _canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _slot_check(slot: dict[str, Any]) -> str:
    return hashlib.sha256(_canonical({k: v for k, v in slot.items() if k != "check"})).hexdigest()


def slot_role(slot: dict[str, Any]) -> Role:
    """A slot's role; a slot made before roles existed is admin."""
    role = slot.get("role", LEGACY_ROLE)
    if role not in ROLES:
        raise KeysFileDamaged(f"key slot {slot.get('id', '?')} has an unknown role {role!r}")
    return role  # type: ignore[no-any-return]


@dataclass
class Unlocked:
    """The result of unlocking: candidate database keys and the slot that opened them.

    ``candidates`` holds the current key, then a pending one if a ``rotate`` was
    interrupted between re-wrapping and re-keying the database.
    """

    slot_id: str
    candidates: list[bytes] = field(repr=False)
    role: Role = LEGACY_ROLE


class Keyring:
    """The in-memory form of ``keys.json``."""

    def __init__(self, doc: dict[str, Any], path: Path) -> None:
        self.doc = doc
        self.path = path

    # -- creation and loading --

    @classmethod
    def new(cls, path: Path, archive_id: str, signing_public_key: bytes) -> Keyring:
        doc = {
            "format": FORMAT,
            "version": VERSION,
            "archive_id": archive_id,
            "signing_public_key": crypto.b64e(signing_public_key),
            "slots": [],
        }
        return cls(doc, path)

    @classmethod
    def load(cls, path: Path) -> Keyring:
        try:
            doc = json.loads(path.read_bytes())
        except FileNotFoundError:
            raise KeysFileDamaged(
                f"{path} is missing; an archive cannot be unlocked without its keys.json "
                "(restore it from a backup made with `archiver backup`)"
            ) from None
        except (ValueError, UnicodeDecodeError):
            raise KeysFileDamaged(
                f"{path} is not valid JSON; restore keys.json from a backup"
            ) from None
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise KeysFileDamaged(f"{path} is not an archiver keys file")
        if doc.get("version") not in READABLE_VERSIONS:
            raise KeysFileDamaged(
                f"{path} has keys format version {doc.get('version')!r}; this archiver "
                f"reads versions {', '.join(map(str, READABLE_VERSIONS))} (upgrade archiver)"
            )
        ring = cls(doc, path)
        if len(ring.slots) > MAX_SLOTS:
            raise KeysFileDamaged(
                f"{path} lists {len(ring.slots)} key slots; an archive has at most {MAX_SLOTS}. "
                "It was edited outside archiver: restore keys.json from a backup"
            )
        for slot in ring.slots:
            if not isinstance(slot, dict) or slot.get("check") != _slot_check(slot):
                slot_id = slot.get("id", "?") if isinstance(slot, dict) else "?"
                raise KeysFileDamaged(
                    f"{path}: key slot {slot_id} is damaged (its checksum does not match); "
                    "restore keys.json from a backup made with `archiver backup`"
                )
            ring._check_slot(slot)
        return ring

    def _check_slot(self, slot: dict[str, Any]) -> None:
        """Refuse a slot whose role or key-derivation cost is out of bounds."""
        where = f"{self.path}: key slot {slot.get('id', '?')}"
        if slot.get("role", LEGACY_ROLE) not in ROLES:
            raise KeysFileDamaged(
                f"{where} has an unknown role {slot.get('role')!r} (roles: {', '.join(ROLES)}); "
                "restore keys.json from a backup"
            )
        kdf = slot.get("kdf")
        if not isinstance(kdf, dict) or kdf.get("name") != "argon2id":
            return
        try:
            params = crypto.Argon2Params(kdf["iterations"], kdf["lanes"], kdf["memory_kib"])
        except KeyError as exc:
            raise KeysFileDamaged(
                f"{where} has no Argon2 {exc.args[0]}; restore keys.json from a backup"
            ) from None
        problem = params.out_of_bounds()
        if problem is not None:
            raise KeysFileDamaged(
                f"{where} asks for Argon2 parameters archiver refuses ({problem}): unlocking "
                "would take too long or too much memory. archiver never writes such a slot; "
                "keys.json was edited outside archiver. Restore it from a backup, or unlock "
                "with another slot and remove this one."
            )

    @property
    def archive_id(self) -> str:
        return str(self.doc["archive_id"])

    @property
    def signing_public_key(self) -> bytes:
        try:
            return crypto.b64d(self.doc["signing_public_key"])
        except (crypto.CryptoFailure, KeyError, TypeError):
            raise KeysFileDamaged(f"{self.path}: the signing public key is damaged") from None

    @property
    def slots(self) -> list[dict[str, Any]]:
        slots = self.doc.get("slots")
        if not isinstance(slots, list):
            raise KeysFileDamaged(f"{self.path}: 'slots' is missing or not a list")
        return slots

    def slot(self, slot_id: str) -> dict[str, Any]:
        for slot in self.slots:
            if slot["id"] == slot_id:
                return slot
        known = ", ".join(s["id"] for s in self.slots)
        raise NotFound(f"no key slot {slot_id!r}; this archive has: {known}")

    # -- slots --

    def add_slot(
        self,
        secret: Secret,
        db_key: bytes,
        created_at: datetime,
        params: crypto.Argon2Params | None = None,
        label: str | None = None,
        *,
        role: Role,
    ) -> str:
        """Make a slot opened by ``secret`` with ``role`` and add it; returns its id."""
        slot = self.prepare_slot(secret, created_at, params, label, role=role)
        self.append_slot(slot, db_key)
        return str(slot["id"])

    def prepare_slot(
        self,
        secret: Secret,
        created_at: datetime,
        params: crypto.Argon2Params | None = None,
        label: str | None = None,
        *,
        role: Role,
    ) -> dict[str, Any]:
        """A new slot opened by ``secret``, not yet holding the database key nor added
        (four-eyes keeps a new admin slot in this state until a second admin approves)."""
        if role not in ROLES:
            raise Refused(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
        self._check_room()
        slot_id = crypto.random_bytes(4).hex()
        slot: dict[str, Any] = {
            "id": slot_id,
            "kind": secret.kind,
            "role": role,
            "created_at": created_at.isoformat(),
            "salt": crypto.b64e(crypto.random_bytes(16)),
        }
        if label:
            slot["label"] = label
        if secret.kind == "passphrase":
            params = params or DEFAULT_ARGON2
            slot["kdf"] = {"name": "argon2id", **params.as_dict()}
        else:
            slot["kdf"] = {"name": "hkdf-sha256"}
        kek = self._kek(slot, secret.value)
        private, public = crypto.x25519_generate()
        slot["public_key"] = crypto.b64e(public)
        slot["wrapped_private_key"] = crypto.b64e(
            crypto.seal(kek, private, self._aad("slot", slot_id, secret.kind))
        )
        return slot

    def append_slot(self, slot: dict[str, Any], db_key: bytes) -> None:
        """Seal ``db_key`` to a prepared slot (its public key suffices) and add it."""
        self._check_room()
        if any(s["id"] == slot["id"] for s in self.slots):
            raise Refused(f"key slot {slot['id']} is already in this archive")
        self._check_slot(slot)
        slot.pop("pending_wrapped_db_key", None)
        public = crypto.b64d(slot["public_key"])
        slot["wrapped_db_key"] = crypto.b64e(
            crypto.envelope_seal(public, db_key, self._dbkey_aad(slot))
        )
        slot["check"] = _slot_check(slot)
        self.slots.append(slot)

    def _check_room(self) -> None:
        if len(self.slots) >= MAX_SLOTS:
            raise Refused(
                f"this archive already has {MAX_SLOTS} key slots, the most it may have; "
                "remove one first (`archiver key list`, `archiver key remove`)"
            )

    def remove_slot(self, slot_id: str) -> dict[str, Any]:
        slot = self.check_removable(slot_id)
        self.slots.remove(slot)
        return slot

    def check_removable(self, slot_id: str) -> dict[str, Any]:
        """The slot, unless removing it would leave the archive without any slot."""
        slot = self.slot(slot_id)
        if len(self.slots) == 1:
            raise Refused(
                f"slot {slot_id} is the last key slot; removing it would lock the archive "
                "forever. Add another slot first (`archiver key add-passphrase`)."
            )
        return slot

    def set_pending(self, new_db_key: bytes | None) -> None:
        """Seal ``new_db_key`` for every slot as pending (``None`` clears it)."""
        for slot in self.slots:
            slot.pop("pending_wrapped_db_key", None)
            if new_db_key is not None:
                public = crypto.b64d(slot["public_key"])
                slot["pending_wrapped_db_key"] = crypto.b64e(
                    crypto.envelope_seal(public, new_db_key, self._dbkey_aad(slot))
                )
            slot["check"] = _slot_check(slot)

    def promote_pending(self) -> None:
        for slot in self.slots:
            if "pending_wrapped_db_key" in slot:
                slot["wrapped_db_key"] = slot.pop("pending_wrapped_db_key")
                slot["check"] = _slot_check(slot)

    # -- unlocking --

    def unlock(self, secret: Secret) -> Unlocked:
        usable = [s for s in self.slots if s.get("kind") == secret.kind]
        if not usable:
            kinds = sorted({str(s.get("kind")) for s in self.slots})
            raise BadKey(
                f"this archive has no {secret.kind} slot (it has: {', '.join(kinds)}); "
                f"the secret from {secret.origin} cannot unlock it"
            )
        for slot in usable:
            try:
                kek = self._kek(slot, secret.value)
                aad = self._aad("slot", slot["id"], slot["kind"])
                private = crypto.unseal(kek, crypto.b64d(slot["wrapped_private_key"]), aad)
            except crypto.CryptoFailure:
                continue  # not this slot's secret
            except (KeyError, TypeError, ValueError):
                raise KeysFileDamaged(
                    f"{self.path}: key slot {slot.get('id', '?')} is malformed; restore "
                    "keys.json from a backup"
                ) from None
            return Unlocked(slot["id"], self._open_db_keys(slot, private), slot_role(slot))
        noun = {"passphrase": "passphrase", "keyfile": "key file", "recovery": "recovery key"}
        raise BadKey(
            f"wrong {noun[secret.kind]} (from {secret.origin}): it opens no key slot of "
            "this archive"
        )

    def _open_db_keys(self, slot: dict[str, Any], private: bytes) -> list[bytes]:
        """The database key (and a pending one) sealed to a slot whose secret was right.

        The secret opened the slot's private key, so a seal that does not open now was
        altered: most likely the slot's role, which is part of the seal's associated data.
        """
        aad = self._dbkey_aad(slot)
        try:
            keys = [crypto.envelope_open(private, crypto.b64d(slot["wrapped_db_key"]), aad)]
            if "pending_wrapped_db_key" in slot:
                pending = crypto.b64d(slot["pending_wrapped_db_key"])
                keys.append(crypto.envelope_open(private, pending, aad))
        except (crypto.CryptoFailure, KeyError, TypeError):
            raise KeysFileDamaged(
                f"{self.path}: key slot {slot['id']} opened with this secret, but its sealed "
                "database key does not verify: the slot's role or sealed key was changed "
                "outside archiver (a role is sealed into its slot and cannot be edited). "
                "Restore keys.json from a backup and investigate."
            ) from None
        return keys

    def _kek(self, slot: dict[str, Any], secret: bytes) -> bytes:
        salt = crypto.b64d(slot["salt"])
        kdf = slot["kdf"]
        if kdf["name"] == "argon2id":
            params = crypto.Argon2Params(kdf["iterations"], kdf["lanes"], kdf["memory_kib"])
            problem = params.out_of_bounds()
            if problem is not None:  # checked at load too; never derive outside the bounds
                raise KeysFileDamaged(f"{self.path}: slot {slot['id']}: Argon2 {problem}")
            try:
                return crypto.derive_passphrase_key(secret, salt, params)
            except MemoryError:
                raise UnlockError(
                    f"not enough memory to unlock passphrase slot {slot['id']} (Argon2 asks "
                    f"for {params.memory_kib // 1024} MiB); free memory or unlock with a key "
                    "file or the recovery key"
                ) from None
        if kdf["name"] == "hkdf-sha256":
            return crypto.derive_fast_key(secret, salt, f"archiver-{slot['kind']}-v1".encode())
        raise KeysFileDamaged(f"{self.path}: slot {slot['id']} uses unknown KDF {kdf['name']!r}")

    def _aad(self, what: str, slot_id: str, kind: str) -> bytes:
        return f"archiver-{what}-v1|{self.archive_id}|{slot_id}|{kind}".encode()

    def _dbkey_aad(self, slot: dict[str, Any]) -> bytes:
        """What the sealed database key of ``slot`` is bound to: the archive, the slot and
        its kind, and (for slots made with a role) its role."""
        if "role" not in slot:
            return self._aad("dbkey", slot["id"], slot["kind"])
        parts = ("archiver-dbkey-v2", self.archive_id, slot["id"], slot["kind"], slot["role"])
        return "|".join(parts).encode()

    # -- integrity and persistence --

    def _mac(self, db_key: bytes) -> str:
        body = {k: v for k, v in self.doc.items() if k != "mac"}
        return crypto.mac(crypto.subkey(db_key, "keys.json"), _canonical(body)).hex()

    def check_mac(self, db_key: bytes) -> None:
        expected = self._mac(db_key)
        if not crypto.mac_equal(expected.encode(), str(self.doc.get("mac", "")).encode()):
            raise KeysFileDamaged(
                f"{self.path} was modified outside archiver (its MAC does not match the "
                "database key). Restore keys.json from a backup and investigate."
            )

    def save(self, db_key: bytes) -> None:
        self.doc["version"] = VERSION
        self.doc["mac"] = self._mac(db_key)
        atomic_write(self.path, _canonical_pretty(self.doc), mode=0o600)

    def describe(self) -> Iterator[dict[str, Any]]:
        """Slots without their wrapped material, for ``key list`` and ``status``."""
        for slot in self.slots:
            yield {
                "id": slot["id"],
                "kind": slot["kind"],
                "role": slot_role(slot),
                "kdf": slot["kdf"]["name"],
                "created_at": slot["created_at"],
                "label": slot.get("label"),
            }


def _canonical_pretty(obj: Any) -> bytes:
    return (json.dumps(obj, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode()


def atomic_write(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Write ``data`` to ``path`` atomically: temp file in the same folder, fsync, rename."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
