"""`archiver sources list|reparse`."""

from __future__ import annotations

from pathlib import Path

import click

from archiver.cli import ingest_output, render
from archiver.cli.common import ZONE, archive_options, json_option, with_archive
from archiver.curation import sources as sources_lib


@click.group()
def sources() -> None:
    """The exports ingested so far, and correcting how one was read.

    A wrong --tz, --date-order or --custodian at ingest is corrected by deriving the
    export's messages again from its stored original: `sources reparse`.

    \b
    Example:
      archiver sources list
      archiver sources reparse 3 --tz America/New_York --reason "phone was in New York"
    """


@sources.command("list")
@archive_options
@json_option
@click.pass_context
def sources_list(
    ctx: click.Context, archive_dir: Path, key_file: Path | None, as_json: bool
) -> None:
    """List every ingested export: custodian, time zone and date order it was read with,
    messages it holds now, and whether its original is kept, redacted or deleted.

    \b
    Example:
      archiver sources list --json
    """
    rows = with_archive(ctx, archive_dir, key_file, sources_lib.list_sources)
    if as_json:
        render.print_json(rows)
    else:
        ingest_output.sources(rows)


@sources.command("reparse")
@click.argument("source_id", metavar="[SOURCE]", type=int, required=False)
@click.option(
    "--all-unrecognised",
    is_flag=True,
    help="Reparse every WhatsApp source holding unrecognised placeholders (after a "
    "language table improved), instead of one SOURCE.",
)
@archive_options
@click.option("--tz", type=ZONE, help="Zone to read the export's times in [default: as recorded].")
@click.option(
    "--date-order",
    type=click.Choice(["auto", "dmy", "mdy", "ymd"]),
    help="Day/month order of WhatsApp dates [default: as decided at ingest].",
)
@click.option("--custodian", help="Whose phone the export came from [default: as recorded].")
@click.option("--new-custodian", is_flag=True, help="--custodian names a new person, not a typo.")
@click.option("--reason", default="", help="Why (recorded in the audit trail; required to apply).")
@click.option(
    "--force",
    is_flag=True,
    help="Reparse although messages are under legal hold: those are kept exactly as they are.",
)
@click.option("--dry-run", is_flag=True, help="Show the whole change without writing it.")
@json_option
@click.pass_context
def sources_reparse(
    ctx: click.Context,
    source_id: int | None,
    all_unrecognised: bool,
    archive_dir: Path,
    key_file: Path | None,
    tz: str | None,
    date_order: str | None,
    custodian: str | None,
    new_custodian: bool,
    reason: str,
    force: bool,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Derive the messages of export SOURCE again from its stored original and apply
    the differences (ids from `archiver sources list`).

    Messages keep their ids where they are the same; a message whose time moves gets a
    new id in its new second. Moved times, changed kinds, texts and senders, messages
    added and messages no longer derived (kept, and listed) are shown; the audit entry
    names the options before and after and every id that changed. Purged messages stay
    purged. Refused when a message that would change is under legal hold, unless
    --force with --reason (held messages are then kept exactly as they are).

    With --all-unrecognised, every WhatsApp source whose messages include placeholders
    no language table knew (counted at ingest, or a text message the tables now read as
    a placeholder) is reparsed in turn, each with its own audit entry.

    \b
    Example:
      archiver sources reparse 3 --tz America/New_York --dry-run
      archiver sources reparse 3 --tz America/New_York --reason "phone was in New York"
      archiver sources reparse 5 --date-order dmy --reason "UK phone, read as US dates"
      archiver sources reparse --all-unrecognised --reason "Turkish table added"
    """
    if (source_id is None) == (not all_unrecognised):
        raise click.UsageError("give one SOURCE or --all-unrecognised (not both)")
    options = sources_lib.ReparseOptions(
        tz=tz,
        date_order=date_order,  # type: ignore[arg-type]
        custodian=custodian,
        new_custodian=new_custodian,
        reason=reason,
        force=force,
        dry_run=dry_run,
    )
    if all_unrecognised:
        reports = with_archive(
            ctx,
            archive_dir,
            key_file,
            lambda a, inv: sources_lib.reparse_unrecognised(a, options, inv),
        )
        if as_json:
            render.print_json(reports)
        else:
            ingest_output.reparse_reports(reports)
        return
    assert source_id is not None  # (checked above)
    report = with_archive(
        ctx,
        archive_dir,
        key_file,
        lambda a, inv: sources_lib.reparse_source(a, source_id, options, inv),
    )
    if as_json:
        render.print_json(report)
    else:
        ingest_output.reparse_report(report)


COMMANDS = [sources]
