"""Key-slot use cases: list, add (passphrase, key file), remove, rotate, public key.

Every slot is made with a role (``archiver.security.roles``). Removing the recovery slot or the
last admin slot needs an explicit confirmation; while four-eyes is on, the two admin
slots it needs cannot be removed.

Adding or removing a slot rewrites only ``keys.json``; ``rotate`` gives the database a
new key with SQLCipher's rekey and re-wraps it for every slot (the real revocation of a
leaked database key). Each change is written together with its audit entry.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from archiver.archive import settings
from archiver.archive.session import Archive
from archiver.core import crypto
from archiver.core.errors import Refused
from archiver.security.keyring import Secret, create_key_file, slot_role
from archiver.security.roles import Role
from archiver.store import auditlog
from archiver.store.auditlog import Invocation
from archiver.store.database import DbError


def list_slots(archive: Archive, inv: Invocation) -> list[dict[str, Any]]:
    """Every slot (the one used to unlock marked ``in_use``); the listing is logged."""
    rows = [dict(slot, in_use=slot["id"] == archive.slot_id) for slot in archive.keyring.describe()]
    auditlog.append(
        archive.store, inv, details={"slots": len(rows), "slot_ids": [r["id"] for r in rows]}
    )
    return rows


def add_slot(
    archive: Archive,
    secret: Secret,
    inv: Invocation,
    *,
    role: Role,
    label: str | None = None,
    argon2: crypto.Argon2Params | None = None,
) -> str:
    """Add a slot opened by ``secret`` with ``role``; the database is not re-encrypted.

    (While four-eyes is on, the CLI files a new admin slot as a request instead:
    ``approvals.add_slot``.)"""
    slot = archive.keyring.prepare_slot(secret, inv.now(), argon2, label, role=role)
    return commit_slot(archive, slot, inv)


def commit_slot(archive: Archive, slot: dict[str, Any], inv: Invocation, **extra: Any) -> str:
    """Seal the database key to a prepared slot and add it, with its audit entry
    (``extra`` joins the entry's details: an approval's identities)."""
    ring = archive.keyring
    with archive.store.transaction():
        ring.append_slot(slot, archive.db_key)
        info = {"id": slot["id"], "kind": slot["kind"], "role": slot["role"]}
        auditlog.append(
            archive.store,
            inv,
            details={"added_slot": info | {"label": slot.get("label")}, **extra},
        )
        ring.save(archive.db_key)
    return str(slot["id"])


def add_keyfile_slot(
    archive: Archive, path: Path, inv: Invocation, *, role: Role, label: str | None = None
) -> str:
    """Create ``path`` (32 random bytes, mode 0600, never overwriting) and a slot for it."""
    data = create_key_file(path)
    try:
        return add_slot(archive, Secret("keyfile", data, str(path)), inv, role=role, label=label)
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def removal_warnings(archive: Archive, slot_id: str) -> list[str]:
    """Why removing ``slot_id`` needs ``--yes-i-understand`` (empty: it does not).

    Refused outright instead: removing an admin slot that four-eyes needs, since with
    fewer than two admin slots no request could ever be approved."""
    slot = archive.keyring.check_removable(slot_id)
    admins = [s["id"] for s in archive.keyring.describe() if s["role"] == "admin"]
    is_admin = slot_role(slot) == "admin"
    if is_admin and len(admins) <= 2 and settings.four_eyes(archive.store).on:
        raise Refused(
            f"slot {slot_id} is one of the two admin slots four-eyes needs (a request must be "
            "approved by a different admin slot than the one that made it); add another "
            "admin slot first, or turn four-eyes off (`archiver settings four-eyes off`)"
        )
    warnings = []
    if slot["kind"] == "recovery":
        warnings.append(
            f"slot {slot_id} is the recovery slot: without it, a lost passphrase or key file "
            "can never be replaced and the archive is lost with it"
        )
    if is_admin and admins == [slot_id]:
        warnings.append(
            f"slot {slot_id} is the last admin slot: without it no one can ever again "
            "manage key slots, holds, policies or settings (an admin slot cannot be made "
            "without one)"
        )
    return warnings


def remove_slot(
    archive: Archive, slot_id: str, inv: Invocation, *, confirmed: bool = False
) -> dict[str, Any]:
    """Remove a slot (refused for the last one; the recovery slot and the last admin slot
    only when ``confirmed``); the database is not re-encrypted."""
    ring = archive.keyring
    warnings = removal_warnings(archive, slot_id)
    if warnings and not confirmed:
        raise Refused(
            "; and ".join(warnings)
            + ". If you really mean it, run this again with --yes-i-understand."
        )
    with archive.store.transaction():
        removed = ring.remove_slot(slot_id)
        info = {
            "id": removed["id"],
            "kind": removed["kind"],
            "role": slot_role(removed),
            "label": removed.get("label"),
        }
        details: dict[str, Any] = {"removed_slot": info}
        if warnings:
            details["confirmed"] = warnings
        auditlog.append(archive.store, inv, details=details)
        ring.save(archive.db_key)
    return info


def rotate(archive: Archive, inv: Invocation) -> dict[str, Any]:
    """Re-key the database with a fresh random key and re-wrap it for every slot.

    Crash-safe order: the new key is first sealed for every slot as *pending* (keys.json
    written atomically), then the database is re-keyed, then the pending key is promoted.
    An interrupted rotation is finished by the next unlock.
    """
    ring, store = archive.keyring, archive.store
    # Re-keying needs the write lock; SQLCipher reports a lock held by another command
    # only as a failed rekey, so wait for (or report) it first, and once more on failure.
    with store.transaction():
        pass
    old_key, new_key = archive.db_key, crypto.random_bytes(crypto.KEY_BYTES)
    ring.set_pending(new_key)
    ring.save(old_key)
    try:
        store.execute(f"PRAGMA rekey = \"x'{new_key.hex()}'\"")
    except DbError:
        with store.transaction():
            pass
        raise
    archive.db_key = new_key
    ring.promote_pending()
    ring.save(new_key)
    details = {"rewrapped_slots": [s["id"] for s in ring.slots]}
    auditlog.append(archive.store, inv, details=details)
    return details


def public_key(archive: Archive, inv: Invocation) -> dict[str, str]:
    """The signing public key (PEM) and its fingerprint; handing it out is logged."""
    public = archive.signing_public_key
    info = {"pem": crypto.public_key_pem(public), "fingerprint": crypto.fingerprint(public)}
    auditlog.append(archive.store, inv, details={"signing_key_fingerprint": info["fingerprint"]})
    return info
