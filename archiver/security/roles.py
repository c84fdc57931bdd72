"""Key-slot roles: what the secret that unlocked the archive may do.

Every key slot has one role, chosen when the slot is made and sealed into it (see
``keyring``: the role is part of the associated data of the slot's sealed database key,
so editing it in ``keys.json`` breaks the slot instead of upgrading it):

- ``admin``: everything, including holds, policies, key slots, settings and approvals;
- ``ingest``: ingest, plus everything read-only;
- ``purge``: purge, plus everything read-only;
- ``review``: read-only (search, show, export, status, audit, verify, listings).

The slots ``init`` makes, and every slot of an archive made before roles existed, are
``admin``. A role is a guard against mistakes and against a service credential used for
more than its job; it is not a wall against someone who holds a working secret and writes
their own code against the database key (see docs/security.md in the repository).
"""

from __future__ import annotations

from typing import Literal

from archiver.core.errors import NotPermitted

Role = Literal["admin", "ingest", "review", "purge"]
ROLES: tuple[Role, ...] = ("admin", "ingest", "review", "purge")
Permission = Literal["read", "ingest", "purge", "admin"]
# A slot made before roles existed carries no role: it was all-powerful, and stays so.
LEGACY_ROLE: Role = "admin"

GRANTS: dict[Role, frozenset[Permission]] = {
    "admin": frozenset({"read", "ingest", "purge", "admin"}),
    "ingest": frozenset({"read", "ingest"}),
    "purge": frozenset({"read", "purge"}),
    "review": frozenset({"read"}),
}

# The least role that holds each permission, for the message that names what is needed.
NEEDED_ROLE: dict[Permission, str] = {
    "read": "any role",
    "ingest": "the ingest or admin role",
    "purge": "the purge or admin role",
    "admin": "the admin role",
}


def allows(role: Role, permission: Permission) -> bool:
    return permission in GRANTS[role]


def require(role: Role, permission: Permission, what: str, slot: str) -> None:
    """Refuse ``what`` unless ``role`` grants ``permission``; ``slot`` describes the slot
    that unlocked the archive (its id, kind and label) for the message."""
    if allows(role, permission):
        return
    raise NotPermitted(
        f"{what} needs a key slot with {NEEDED_ROLE[permission]}; this archive was "
        f"unlocked with {slot}, whose role is {role}. Unlock with a secret of a slot that "
        "has that role (`archiver key list` shows each slot's role)."
    )
