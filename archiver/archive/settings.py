"""Archive settings that change who must agree to an action: the four-eyes option.

With four-eyes on, releasing a hold, loading a policy that shortens or removes
retention, a purge deleting more than ``purge_threshold`` messages, adding an admin key
slot and changing these settings are filed as requests that a different admin slot must
approve (``archiver.governance.approvals``); a request not decided within ``expire_hours`` expires.
The settings live in the archive's ``meta`` table and every change is audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from archiver.store import auditlog
from archiver.store.auditlog import Invocation
from archiver.store.database import Store

if TYPE_CHECKING:  # archive.py writes the settings of a new archive
    from archiver.archive.session import Archive

DEFAULT_PURGE_THRESHOLD = 1000
DEFAULT_EXPIRE_HOURS = 72
MAX_EXPIRE_HOURS = 24 * 90


@dataclass(frozen=True)
class FourEyes:
    on: bool = False
    purge_threshold: int = DEFAULT_PURGE_THRESHOLD
    expire_hours: int = DEFAULT_EXPIRE_HOURS

    def as_dict(self) -> dict[str, Any]:
        return {
            "four_eyes": self.on,
            "purge_threshold": self.purge_threshold,
            "expire_hours": self.expire_hours,
        }


def four_eyes(store: Store) -> FourEyes:
    """The current four-eyes settings (off in an archive that never set them)."""
    on = store.meta("four_eyes") == "on"
    threshold = store.meta("four_eyes_purge_threshold")
    hours = store.meta("four_eyes_expire_hours")
    return FourEyes(
        on,
        DEFAULT_PURGE_THRESHOLD if threshold is None else int(threshold),
        DEFAULT_EXPIRE_HOURS if hours is None else int(hours),
    )


def write_four_eyes(store: Store, value: FourEyes) -> None:
    """Store the settings; the caller writes the audit entry in the same transaction."""
    store.set_meta("four_eyes", "on" if value.on else "off")
    store.set_meta("four_eyes_purge_threshold", str(value.purge_threshold))
    store.set_meta("four_eyes_expire_hours", str(value.expire_hours))


def admin_slots(archive: Archive) -> list[str]:
    return [s["id"] for s in archive.keyring.describe() if s["role"] == "admin"]


def show(archive: Archive, inv: Invocation) -> dict[str, Any]:
    """The settings and the admin slots that could approve a request."""
    store = archive.store
    with store.transaction():
        info = four_eyes(store).as_dict() | {"admin_slots": admin_slots(archive)}
        auditlog.append(store, inv, details=info)
    return info
