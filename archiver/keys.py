"""Key-slot use cases: list, add (passphrase, key file), remove, rotate, public key.

Adding or removing a slot rewrites only ``keys.json``; ``rotate`` gives the database a
new key with SQLCipher's rekey and re-wraps it for every slot (the real revocation of a
leaked database key). Each change is written together with its audit entry.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from archiver import auditlog, crypto
from archiver.archive import Archive
from archiver.auditlog import Invocation
from archiver.keyring import Secret, create_key_file


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
    label: str | None = None,
    argon2: crypto.Argon2Params | None = None,
) -> str:
    """Add a slot opened by ``secret``; the database is not re-encrypted."""
    ring = archive.keyring
    with archive.store.transaction():
        slot_id = ring.add_slot(secret, archive.db_key, inv.now(), params=argon2, label=label)
        auditlog.append(
            archive.store,
            inv,
            details={"added_slot": {"id": slot_id, "kind": secret.kind, "label": label}},
        )
        ring.save(archive.db_key)
    return slot_id


def add_keyfile_slot(
    archive: Archive, path: Path, inv: Invocation, *, label: str | None = None
) -> str:
    """Create ``path`` (32 random bytes, mode 0600, never overwriting) and a slot for it."""
    data = create_key_file(path)
    try:
        return add_slot(archive, Secret("keyfile", data, str(path)), inv, label=label)
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def remove_slot(archive: Archive, slot_id: str, inv: Invocation) -> dict[str, Any]:
    """Remove a slot (refused for the last one); the database is not re-encrypted."""
    ring = archive.keyring
    with archive.store.transaction():
        removed = ring.remove_slot(slot_id)
        info = {"id": removed["id"], "kind": removed["kind"], "label": removed.get("label")}
        auditlog.append(archive.store, inv, details={"removed_slot": info})
        ring.save(archive.db_key)
    return info


def rotate(archive: Archive, inv: Invocation) -> dict[str, Any]:
    """Re-key the database with a fresh random key and re-wrap it for every slot.

    Crash-safe order: the new key is first sealed for every slot as *pending* (keys.json
    written atomically), then the database is re-keyed, then the pending key is promoted.
    An interrupted rotation is finished by the next unlock.
    """
    ring = archive.keyring
    old_key, new_key = archive.db_key, crypto.random_bytes(crypto.KEY_BYTES)
    ring.set_pending(new_key)
    ring.save(old_key)
    archive.store.execute(f"PRAGMA rekey = \"x'{new_key.hex()}'\"")
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
