"""`archiver ingest`, `chats` and `export`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from archiver import chats as chats_lib
from archiver import export as export_lib
from archiver import ingest as ingest_lib
from archiver import render
from archiver.cli.common import archive_options, json_option, with_archive
from archiver.parsers import PLATFORM_CHOICES


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@archive_options
@click.option("--custodian", help="Whose phone the export came from (name or e-mail).")
@click.option("--tz", help="Time zone of the export's local times (IANA) [default: the archive's].")
@click.option(
    "--date-order",
    type=click.Choice(["auto", "dmy", "mdy", "ymd"]),
    default="auto",
    show_default=True,
    help="Day/month order of WhatsApp dates; 'auto' refuses to guess when the file cannot tell.",
)
@click.option(
    "--platform",
    type=click.Choice(PLATFORM_CHOICES),
    default="auto",
    show_default=True,
    help="Force the export format instead of recognising it.",
)
@json_option
@click.pass_context
def ingest(
    ctx: click.Context,
    paths: tuple[Path, ...],
    archive_dir: Path,
    key_file: Path | None,
    custodian: str | None,
    tz: str | None,
    date_order: str,
    platform: str,
    as_json: bool,
) -> None:
    """Ingest WhatsApp and Telegram exports (files, zips or folders) into the archive.

    Each export is stored whole as evidence and ingested in one transaction:
    re-ingesting it adds nothing, a later export of the same chat adds only what is new.

    \b
    Example:
      archiver ingest "WhatsApp Chat - Deal Desk.zip" --custodian dana@broker.example \\
          --tz America/New_York
      archiver ingest ~/exports/ --custodian sam@broker.example
    """

    def action(archive, inv):  # type: ignore[no-untyped-def]
        options = ingest_lib.IngestOptions(
            custodian=custodian,
            tz=tz or archive.default_tz,
            tz_explicit=tz is not None,
            date_order=date_order,  # type: ignore[arg-type]
            platform=platform,
        )
        show = sys.stderr.isatty() and not as_json
        with render.progress("Ingesting messages", None, show) as advance:
            return ingest_lib.ingest(archive, list(paths), options, inv, advance)

    report = with_archive(ctx, archive_dir, key_file, action)
    if as_json:
        render.print_json(report.as_dict())
    else:
        render.ingest_report(report.as_dict())
    if report.failed:
        ctx.exit(1)


@click.command()
@archive_options
@json_option
@click.pass_context
def chats(ctx: click.Context, archive_dir: Path, key_file: Path | None, as_json: bool) -> None:
    """List conversations: platform, messages, first/last date, participants, custodians.

    \b
    Example:
      archiver chats --json
    """
    rows = with_archive(ctx, archive_dir, key_file, chats_lib.list_chats)
    if as_json:
        render.print_json(rows)
    else:
        render.chats(rows)


@click.command()
@click.argument("query", required=False)
@archive_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice(export_lib.FORMATS),
    default="jsonl",
    show_default=True,
    help="jsonl: one message record per line (see README); csv: one row per message.",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="File to write (must not exist; written with mode 0600).",
)
@click.option("--tz", help="Zone for dates in the query [default: the archive's].")
@json_option
@click.pass_context
def export(
    ctx: click.Context,
    query: str | None,
    archive_dir: Path,
    key_file: Path | None,
    fmt: str,
    out: Path,
    tz: str | None,
    as_json: bool,
) -> None:
    """Export the messages matching QUERY (every message if none), oldest first.

    QUERY uses the language of `archiver search`. JSON Lines carries the full message
    record (see README); CSV one row per message.

    \b
    Example:
      archiver export 'custodian:dana@broker.example after:2024-01-01' --out prod-001.jsonl
      archiver export --format csv --out everything.csv
    """
    report = with_archive(
        ctx,
        archive_dir,
        key_file,
        lambda a, inv: export_lib.export(a, out, fmt, inv, query=query, tz=tz),
    )
    if as_json:
        render.print_json(report)
    else:
        render.line(
            f"Exported {report['messages']} message(s) to {report['out']} "
            f"({report['format']}, sha256 {report['sha256']})"
        )


COMMANDS = [ingest, chats, export]
