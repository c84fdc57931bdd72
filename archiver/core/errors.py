"""One exception hierarchy for the whole library.

Every message says what went wrong, to which file, line or id, and what to do next.
The CLI turns these into one clean line on stderr (a JSON document on stdout with
``--json``) and the exit code in ``exit_code``:

- 1 error (bad input, refused operation)
- 2 usage error (raised by click: unknown option, missing argument, bad option value)
- 3 cannot unlock (``UnlockError``)
- 4 damage found (``DamageFound``)
- 6 not permitted for the role of the key slot that unlocked the archive
- 7 waiting for a second admin's approval
- 75 busy: another command holds the archive; try again later (``ArchiveBusy``; the
  value of ``EX_TEMPFAIL`` in sysexits.h, which cron wrappers and mail agents treat as
  "retry")
"""

from __future__ import annotations


class ArchiverError(Exception):
    """Base class: an expected failure with a message meant for the operator."""

    exit_code = 1


# --- the archive itself ----------------------------------------------------------------


class ArchiveNotFound(ArchiverError):
    """There is no archive at the given location."""


class ArchiveExists(ArchiverError):
    """Refusing to create an archive over an existing one."""


class SchemaTooNew(ArchiverError):
    """The archive was written by a newer version of archiver."""


class ArchiveBusy(ArchiverError):
    """Another command held the archive's lock for longer than this one would wait."""

    exit_code = 75


class WriteFailed(ArchiverError):
    """The disk refused a write (full, over a quota, failing); the transaction was undone."""


class NotFound(ArchiverError):
    """A message, slot, hold or policy id does not exist."""


class Refused(ArchiverError):
    """The operation is not allowed (last key slot, locked policy, overwrite...)."""


class NotPermitted(ArchiverError):
    """The key slot that unlocked the archive has a role that does not allow this command."""

    exit_code = 6


class ApprovalPending(ArchiverError):
    """Four-eyes is on: the action was filed as a request that another admin must approve."""

    exit_code = 7

    def __init__(self, message: str, request_id: int) -> None:
        self.request_id = request_id
        super().__init__(message)


# --- secrets ----------------------------------------------------------------------------


class UnlockError(ArchiverError):
    """The archive cannot be unlocked: a secret is missing or wrong."""

    exit_code = 3


class SecretRequired(UnlockError):
    """No secret was supplied and there is no terminal to ask for one."""


class BadKey(UnlockError):
    """The secret does not open any key slot of this archive."""


class KeysFileDamaged(UnlockError):
    """keys.json is unreadable or was modified outside archiver."""


# --- input ------------------------------------------------------------------------------


class InputError(ArchiverError):
    """An input file cannot be used as given."""


class ParseError(InputError):
    """An export file could not be parsed."""


class AmbiguousDateOrder(ParseError):
    """The day/month order of a WhatsApp export cannot be decided from the file."""


class UnknownParser(ArchiverError):
    """A source names a parser this version of archiver does not have."""


class UnsafeInput(InputError):
    """An input archive is unsafe to read (path traversal, symlink, zip bomb)."""


class QueryError(ArchiverError):
    """A search query is malformed."""

    def __init__(self, message: str, query: str = "", column: int | None = None) -> None:
        self.query = query
        self.column = column
        if column is not None and query:
            message = f"{message}\n  {query}\n  {' ' * (column - 1)}^ (column {column})"
        super().__init__(message)


class PolicyError(ArchiverError):
    """A retention policy file is invalid."""


# --- damage -----------------------------------------------------------------------------


class DamageFound(ArchiverError):
    """A verification found damage or tampering."""

    exit_code = 4


class ChunkDamaged(DamageFound):
    """A chunk of a stored file cannot be decoded back to its content."""

    def __init__(self, sha256: str, seq: int, reason: str) -> None:
        self.seq = seq
        self.reason = reason
        super().__init__(
            f"stored file {sha256[:12]}…, chunk {seq}: {reason}; run 'archiver verify' and "
            "restore the archive from a backup"
        )


class SignatureInvalid(DamageFound):
    """A signed file does not verify against the given public key."""


class ProductionDamaged(DamageFound):
    """A production folder differs from its signed manifest (``report`` says how)."""

    def __init__(self, message: str, report: dict[str, object]) -> None:
        self.report = report
        super().__init__(message)
