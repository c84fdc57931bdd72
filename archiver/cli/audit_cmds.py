"""`archiver audit` (list, head, export), `verify` and `verify-signed`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import click

from archiver.archive.session import Archive
from archiver.audit import trail as audit_lib
from archiver.audit import verify as verify_lib
from archiver.cli import audit_output, render
from archiver.cli.common import (
    NewPath,
    archive_options,
    json_option,
    open_for,
    show_progress,
    with_archive,
)
from archiver.core.errors import DamageFound, InputError

T = TypeVar("T")


def _head_option(ctx: click.Context, param: click.Parameter, value: str | None) -> object:
    if value is None:
        return None
    try:
        return audit_lib.parse_head(value)
    except InputError as exc:
        raise click.BadParameter(str(exc)) from None


def _read_trail(
    ctx: click.Context, archive_dir: Path, key_file: Path | None, read: Callable[[Archive], T]
) -> T:
    """Open the archive and read, writing no entry: reading the trail is not logged, so
    the head it shows stays the head. (Opening may still log a schema migration.)"""
    archive = open_for(ctx, archive_dir, key_file)
    try:
        return read(archive)
    finally:
        archive.close()


@click.group(invoke_without_command=True)
@archive_options
@click.option("--since", help="Only entries at or after this date (YYYY-MM-DD) or ISO time.")
@click.option("--action", help="Only this command, e.g. search, ingest, key (also key.*).")
@json_option
@click.option(
    "--csv", "as_csv", is_flag=True, help="Print CSV rows (formula-like cells start with a ')."
)
@click.pass_context
def audit(
    ctx: click.Context,
    archive_dir: Path,
    key_file: Path | None,
    since: str | None,
    action: str | None,
    as_json: bool,
    as_csv: bool,
) -> None:
    """List the audit trail: who ran which command, when, where, with what outcome.

    Every command that reads or changes the archive leaves one entry, chained by an
    HMAC to the one before. Reading the trail adds no entry. Dates are in the
    archive's time zone; times are shown in UTC.

    \b
    Example:
      archiver audit --since 2026-01-01 --action search
      archiver audit head
      archiver audit export --out audit-2026-11.json --redact
    """
    if ctx.invoked_subcommand is not None:
        return
    if as_json and as_csv:
        raise click.UsageError("choose one of --json, --csv")

    def read(archive: Archive) -> list[dict[str, object]]:
        when = audit_lib.parse_since(since, archive.default_tz) if since else None
        return list(audit_lib.entries(archive.store, since=when, action=action))

    rows = _read_trail(ctx, archive_dir, key_file, read)
    if as_json:
        render.print_json(rows)
    elif as_csv:
        audit_output.audit_csv(rows)
    else:
        audit_output.audit_entries(rows)


@audit.command("head")
@archive_options
@json_option
@click.pass_context
def head(ctx: click.Context, archive_dir: Path, key_file: Path | None, as_json: bool) -> None:
    """Print the current head of the audit trail as SEQ:HASH.

    Record it somewhere the archive's operators cannot rewrite (a ticket, an e-mail to
    the auditor, a notebook); `archiver verify --head SEQ:HASH` then proves that
    nothing up to that entry was changed or cut off since.

    \b
    Example:
      archiver audit head >> /media/usb/archive-heads.txt
    """

    def read(archive: Archive) -> dict[str, object]:
        found = audit_lib.current_head(archive.store)
        return {
            "archive_id": archive.archive_id,
            "seq": found.seq if found else None,
            "hash": found.hash if found else None,
            "head": str(found) if found else None,
        }

    info = _read_trail(ctx, archive_dir, key_file, read)
    if as_json:
        render.print_json(info)
    else:
        render.line(str(info["head"]))


@audit.command("export")
@archive_options
@click.option(
    "--out",
    required=True,
    type=NewPath(),
    help="File to write (must not exist; written with mode 0600).",
)
@click.option(
    "--redact",
    is_flag=True,
    help="Replace names (people, chats, holds, custodians, matters, files), queries and "
    "free texts by keyed hashes (hmac:...); times, zones, counts, ids and outcomes stay "
    "readable.",
)
@json_option
@click.pass_context
def export(
    ctx: click.Context,
    archive_dir: Path,
    key_file: Path | None,
    out: Path,
    redact: bool,
    as_json: bool,
) -> None:
    """Write the whole audit chain to a file signed with the archive's key.

    The file holds the entries as stored (metadata, never message content) with their
    hashes and the head, signed with the archive's Ed25519 key: anyone with the public
    key (`archiver key public --out`) checks it with `archiver verify-signed`, no
    archive key needed. Arguments such as search queries, chat titles and hold names can
    name people: use --redact before handing the file on.

    \b
    Example:
      archiver audit export --out audit-2026-11.json --redact
      archiver verify-signed audit-2026-11.json --public-key archive-public.pem
    """
    report = with_archive(
        ctx,
        archive_dir,
        key_file,
        lambda a, inv: audit_lib.export(a, out, inv, redact=redact),
    )
    if as_json:
        render.print_json(report)
    else:
        audit_output.audit_exported(report)


@click.command()
@archive_options
@click.option(
    "--head",
    "expected",
    callback=_head_option,
    metavar="SEQ:HASH",
    help="A head recorded earlier (`archiver audit head`): that entry must still match.",
)
@json_option
@click.pass_context
def verify(
    ctx: click.Context,
    archive_dir: Path,
    key_file: Path | None,
    expected: audit_lib.Head | None,
    as_json: bool,
) -> None:
    """Recompute everything the archive's integrity rests on; exit 4 on any damage.

    Checks the audit chain (every HMAC and link; with --head, that nothing after the
    recorded head was cut off), SQLite's and SQLCipher's page checks (free pages
    included), the search index, every message fingerprint, every ingest's Merkle root
    and the SHA-256 of every stored original and attachment. Each check reports ok or
    the first broken item by id.

    \b
    Example:
      archiver verify --head "$(tail -n1 /media/usb/archive-heads.txt)"
      archiver verify --json > verify-2026-11-27.json
    """

    def action(archive, inv):  # type: ignore[no-untyped-def]
        with render.progress(show_progress(as_json)) as progress:
            return verify_lib.verify(archive, inv, head=expected, progress=progress)

    report = with_archive(ctx, archive_dir, key_file, action)
    if not as_json:
        audit_output.verify_report(report.as_dict())
        report.raise_if_damaged()
        return
    try:
        report.raise_if_damaged()
    except DamageFound as exc:
        render.print_json(report.as_dict() | {"error": str(exc), "exit_code": exc.exit_code})
        ctx.exit(exc.exit_code)
    render.print_json(report.as_dict())


@click.command("verify-signed")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--public-key",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The archive's public key (PEM, from `archiver key public --out`).",
)
@click.option(
    "--head",
    "expected",
    callback=_head_option,
    metavar="SEQ:HASH",
    help="For an audit export: a head recorded earlier that the chain must contain.",
)
@json_option
def verify_signed(
    file: Path, public_key: Path, expected: audit_lib.Head | None, as_json: bool
) -> None:
    """Check a file archiver signed, with only the archive's public key.

    Audit exports, purge certificates and export manifests are signed with the
    archive's Ed25519 key. Exit 0 with a one-line summary when FILE is intact and signed
    by that key; exit 4 when it was altered or signed by another key. Needs no archive
    and no secret, so an auditor can run it anywhere. For an audit export it also checks
    that the entries link one to the next up to the head (and to --head, if given).

    \b
    Example:
      archiver verify-signed audit-2026-11.json --public-key archive-public.pem
    """
    summary = verify_lib.verify_signed(file, public_key, expected)
    if as_json:
        render.print_json(summary)
    else:
        audit_output.signed_summary(summary)


COMMANDS = [audit, verify, verify_signed]
