"""`archiver ingest`, `chats` and `export`."""

from __future__ import annotations

import os
from pathlib import Path

import click

from archiver.cli import ingest_output, render
from archiver.cli.common import (
    ZONE,
    NewPath,
    archive_options,
    json_option,
    show_progress,
    with_archive,
)
from archiver.curation import chats as chats_lib
from archiver.ingest import exports as ingest_lib
from archiver.parsers import PLATFORM_CHOICES
from archiver.search import export as export_lib


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@archive_options
@click.option("--custodian", help="Whose phone the export came from (name or e-mail).")
@click.option(
    "--new-custodian",
    is_flag=True,
    help="--custodian is a new person whose name is close to an existing custodian's.",
)
@click.option(
    "--tz",
    type=ZONE,
    help="Time zone of the export's local times: an IANA place such as America/New_York, or "
    "UTC±HH:MM for a phone that kept a fixed offset [default: the archive's].",
)
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
    new_custodian: bool,
    tz: str | None,
    date_order: str,
    platform: str,
    as_json: bool,
) -> None:
    """Ingest WhatsApp and Telegram exports (files, zips or folders) into the archive.

    Each export is stored whole as evidence and ingested in one transaction:
    re-ingesting it adds nothing, a later export of the same chat adds only what is new.
    An export that fails (damaged, unsafe, a full disk) is rolled back and the others
    still go in. Exits 1 if any export failed or a chat export found inside another
    one was not ingested (both are listed).

    \b
    Example:
      archiver ingest "WhatsApp Chat - Deal Desk.zip" --custodian dana@broker.example \\
          --tz America/New_York
      archiver ingest ~/exports/ --custodian sam@broker.example
    """

    def action(archive, inv):  # type: ignore[no-untyped-def]
        options = ingest_lib.IngestOptions(
            custodian=custodian,
            new_custodian=new_custodian,
            tz=tz or archive.default_tz,
            tz_explicit=tz is not None,
            date_order=date_order,  # type: ignore[arg-type]
            platform=platform,
        )
        with render.progress(show_progress(as_json)) as advance:
            return ingest_lib.ingest(archive, list(paths), options, inv, advance)

    report = with_archive(ctx, archive_dir, key_file, action)
    failed = {}
    if report.failed or report.not_ingested:
        what = f"{len(report.failed)} export(s) failed; see sources[].error"
        if report.not_ingested:
            what += f"; {len(report.not_ingested)} not ingested; see not_ingested"
        failed = {"error": what, "exit_code": 1}
    if as_json:
        render.print_json(report.as_dict() | failed)
    else:
        ingest_output.ingest_report(report.as_dict())
    if report.unexpected and os.environ.get("ARCHIVER_DEBUG"):
        raise report.unexpected[0]
    if failed:
        ctx.exit(1)


@click.group(invoke_without_command=True)
@archive_options
@json_option
@click.pass_context
def chats(ctx: click.Context, archive_dir: Path, key_file: Path | None, as_json: bool) -> None:
    """List conversations: platform, messages, first/last date, participants, custodians.

    A WhatsApp export carries no conversation id: ingest decides which archived chat it
    is by evidence (shared messages, then title and participants) and says so in its
    summary. `chats merge` and `chats split` correct a decision; both are audited.

    \b
    Example:
      archiver chats --json
      archiver chats merge 3 7 --reason "7 is a re-download of 3"
      archiver chats split 3 --source 12 --title "Deal Desk APAC" --reason "another group"
    """
    if ctx.invoked_subcommand is not None:
        return
    rows, zone = with_archive(
        ctx, archive_dir, key_file, lambda a, inv: (chats_lib.list_chats(a, inv), a.default_tz)
    )
    if as_json:
        render.print_json(rows)
    else:
        ingest_output.chats(rows, zone)


@chats.command("merge")
@click.argument("target", type=int)
@click.argument("others", nargs=-1, required=True, type=int)
@archive_options
@click.option("--reason", required=True, help="Why they are one conversation (audited).")
@json_option
@click.pass_context
def chats_merge(
    ctx: click.Context,
    target: int,
    others: tuple[int, ...],
    archive_dir: Path,
    key_file: Path | None,
    reason: str,
    as_json: bool,
) -> None:
    """Merge chats OTHERS into chat TARGET (ids from `archiver chats`).

    Their messages, tombstones and unparsed lines move to TARGET; later exports of a
    merged chat arrive in TARGET. Holds that named a merged chat keep covering its
    messages; the retention rules that match the moved messages before and after are
    shown. Refused for chats identified by a platform id (Telegram).

    \b
    Example:
      archiver chats merge 3 7 --reason "7 is a re-download of 3 (browser suffix)"
    """
    report = with_archive(
        ctx,
        archive_dir,
        key_file,
        lambda a, inv: chats_lib.merge(a, target, list(others), reason, inv),
    )
    if as_json:
        render.print_json(report)
    else:
        ingest_output.chats_merged(report)


@chats.command("split")
@click.argument("chat", type=int)
@archive_options
@click.option("--source", "source_id", type=int, required=True, help="Source id of the export.")
@click.option("--title", help="Title of the new chat [default: the chat's title].")
@click.option("--reason", required=True, help="Why the export is another conversation (audited).")
@json_option
@click.pass_context
def chats_split(
    ctx: click.Context,
    chat: int,
    archive_dir: Path,
    key_file: Path | None,
    source_id: int,
    title: str | None,
    reason: str,
    as_json: bool,
) -> None:
    """Move the messages export SOURCE brought into CHAT out into a new chat.

    For an export that ingest took for a conversation it is not. Messages that other
    exports of CHAT hold too stay in CHAT (they are counted). Refused when a moved
    message would leave the scope of a hold that covers it.

    \b
    Example:
      archiver chats split 3 --source 12 --title "Deal Desk APAC" --reason "another group"
    """
    report = with_archive(
        ctx,
        archive_dir,
        key_file,
        lambda a, inv: chats_lib.split(a, chat, source_id, reason, inv, title),
    )
    if as_json:
        render.print_json(report)
    else:
        ingest_output.chat_split(report)


@click.command()
@click.argument("query", required=False)
@archive_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice(export_lib.FORMATS),
    default="jsonl",
    show_default=True,
    help="jsonl: one message record per line (see README); csv: one row per message, "
    "a cell a spreadsheet would run as a formula (=, +, -, @...) starting with a '; "
    "sqlite: a plain SQLite database (messages with full-text search, chats, participants, "
    "attachments) for Datasette or the sqlite-utils CLI.",
)
@click.option(
    "--out",
    required=True,
    type=NewPath(),
    help="File to write (must not exist; written with mode 0600).",
)
@click.option("--tz", type=ZONE, help="Zone for dates in the query [default: the archive's].")
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
      archiver export 'chat:"Deal Desk"' --format sqlite --out deal-desk.db
    """

    def action(archive, inv):  # type: ignore[no-untyped-def]
        with render.progress(show_progress(as_json)) as advance:
            return export_lib.export(archive, out, fmt, inv, query=query, tz=tz, progress=advance)

    report = with_archive(ctx, archive_dir, key_file, action)
    if as_json:
        render.print_json(report)
    else:
        render.line(
            f"Exported {report['messages']} message(s) to {report['out']} "
            f"({report['format']}, sha256 {report['sha256']})"
        )


COMMANDS = [ingest, chats, export]
