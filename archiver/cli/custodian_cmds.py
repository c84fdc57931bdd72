"""`archiver custodians list|rename`."""

from __future__ import annotations

from pathlib import Path

import click

from archiver.cli import ingest_output, render
from archiver.cli.common import archive_options, json_option, with_archive
from archiver.curation import custodians as custodians_lib


@click.group()
def custodians() -> None:
    """The people whose phones the exports came from.

    Names are recorded trimmed, with e-mail addresses in lower case. A new name within
    two letters of an existing custodian is refused at ingest unless --new-custodian.

    \b
    Example:
      archiver custodians list
      archiver custodians rename dana@broker.exmaple dana@broker.example --merge \\
          --reason "typo at ingest"
    """


@custodians.command("list")
@archive_options
@json_option
@click.pass_context
def custodians_list(
    ctx: click.Context, archive_dir: Path, key_file: Path | None, as_json: bool
) -> None:
    """List custodians with the exports they handed over and the messages they hold.

    \b
    Example:
      archiver custodians list --json
    """
    rows = with_archive(ctx, archive_dir, key_file, custodians_lib.list_custodians)
    if as_json:
        render.print_json(rows)
    else:
        ingest_output.custodians(rows)


@custodians.command("rename")
@click.argument("old")
@click.argument("new")
@archive_options
@click.option("--reason", required=True, help="Why (recorded in the audit trail).")
@click.option("--merge", is_flag=True, help="NEW is an existing custodian: make OLD part of it.")
@click.option(
    "--new-custodian", is_flag=True, help="NEW is close to another custodian's name on purpose."
)
@json_option
@click.pass_context
def custodians_rename(
    ctx: click.Context,
    old: str,
    new: str,
    archive_dir: Path,
    key_file: Path | None,
    reason: str,
    merge: bool,
    new_custodian: bool,
    as_json: bool,
) -> None:
    """Rename custodian OLD to NEW, or merge OLD into the existing custodian NEW.

    Every export and message of OLD follows. When NEW is already a custodian the two
    become one only with --merge. Refused when a message would leave the scope of a
    hold that names OLD; the retention rules that match the custodian's messages before
    and after are shown when they differ.

    \b
    Example:
      archiver custodians rename "Dana K" "Dana Kim" --reason "full name"
      archiver custodians rename dana@broker.exmaple dana@broker.example --merge \\
          --reason "typo at ingest"
    """
    report = with_archive(
        ctx,
        archive_dir,
        key_file,
        lambda a, inv: custodians_lib.rename(
            a, old, new, reason, inv, merge=merge, new_custodian=new_custodian
        ),
    )
    if as_json:
        render.print_json(report)
    else:
        ingest_output.custodian_renamed(report)


COMMANDS = [custodians]
