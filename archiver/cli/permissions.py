"""Which permission each command needs from the key slot that unlocked the archive.

One table, checked by ``with_archive`` before a command runs (a refusal is audited like
any failure). A command missing from the table needs ``admin``: a new command is
closed until someone decides its role, and a test lists every command that has none.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from archiver.security.roles import Permission

# Commands whose permission depends on a flag: (flag, permission when the flag is given).
RAISED_BY_FLAG: dict[str, tuple[str, Permission]] = {
    "purge": ("execute", "purge"),
}

COMMAND_PERMISSIONS: dict[str, Permission] = {
    # reading (every role)
    "status": "read",
    "backup": "read",
    "verify": "read",
    "audit": "read",
    "audit.head": "read",
    "audit.export": "read",
    "chats": "read",
    "export": "read",
    "search": "read",
    "show": "read",
    "people.list": "read",
    "policy.list": "read",
    "policy.show": "read",
    "policy.explain": "read",
    "hold.list": "read",
    "hold.show": "read",
    "retention.forecast": "read",
    "purge": "read",  # a dry run; --execute needs purge (RAISED_BY_FLAG)
    "key.list": "read",
    "key.public": "read",
    "settings.show": "read",
    "requests.list": "read",
    "sources.list": "read",
    "custodians.list": "read",
    "production.list": "read",
    "production.show": "read",
    # writing messages
    "ingest": "ingest",
    # the officer's decisions
    "people.link": "admin",  # changes who a participant scope (policies, holds) matches
    "chats.merge": "admin",  # changes which chat a message belongs to (scopes, holds)
    "chats.split": "admin",
    "sources.reparse": "admin",  # re-derives archived messages (times, ids, custodians)
    "custodians.rename": "admin",  # changes whom a custodian scope (policies, holds) matches
    "policy.load": "admin",
    "hold.create": "admin",
    "hold.release": "admin",
    "key.add-passphrase": "admin",
    "key.add-keyfile": "admin",
    "key.remove": "admin",
    "key.rotate": "admin",
    "settings.four-eyes": "admin",
    "approve": "admin",
    # A production writes the plaintext of the messages it selects out of the archive,
    # takes Bates numbers from the matter's sequence for good and signs its manifest with
    # the archive's key: a statement made for the organisation, like a hold. `export`
    # (a working copy for the officer) stays read.
    "produce": "admin",
    "requests.cancel": "read",  # the slot that filed a request may cancel it (checked there)
}


def required(command: str, args: Mapping[str, Any]) -> tuple[Permission, str]:
    """The permission ``command`` (``hold.release``) needs with these arguments, and the
    command in words for a refusal (```archiver purge --execute```)."""
    what = f"archiver {command.replace('.', ' ')}"
    raised = RAISED_BY_FLAG.get(command)
    if raised is not None and args.get(raised[0]):
        return raised[1], f"`{what} --{raised[0]}`"
    return COMMAND_PERMISSIONS.get(command, "admin"), f"`{what}`"
