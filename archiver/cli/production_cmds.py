"""`archiver produce`, `production list|show` and `verify-production`."""

from __future__ import annotations

from pathlib import Path

import click

from archiver.cli import production_output, render
from archiver.cli.common import NewPath, archive_options, json_option, show_progress, with_archive
from archiver.core.errors import ProductionDamaged
from archiver.production import catalog, manifest
from archiver.production.plan import FORMATS, SLICES, Options, parse_formats
from archiver.production.produce import produce as produce_lib
from archiver.security import signing


@click.command()
@click.argument("query", required=False)
@archive_options
@click.option(
    "--out",
    required=True,
    type=NewPath(folder=True),
    help="Folder to write the production to: new or empty (made 0700, files 0600).",
)
@click.option(
    "--matter",
    required=True,
    help="The matter the production is for; its productions are numbered PROD-001, "
    "PROD-002... and share one Bates sequence (case and spaces do not count).",
)
@click.option(
    "--format",
    "formats",
    default=",".join(FORMATS),
    show_default=True,
    help="Formats, comma-separated: rsmf (RSMF 2.0 files), html (transcripts and "
    "index.html), pdf (Bates-stamped transcripts), dat (Concordance load file, text files, "
    "natives).",
)
@click.option(
    "--bates-prefix",
    help="Bates prefix, e.g. ACME (numbers look like ACME-000000123) [default: the matter's "
    "last one, else its name's letters].",
)
@click.option("--tz", help="Zone for slices, shown times and query dates [default: the archive's].")
@click.option(
    "--context",
    default=0,
    show_default=True,
    type=click.IntRange(0, 1000),
    help="Also produce N messages before and after each hit in its conversation, marked "
    "as context.",
)
@click.option(
    "--slice",
    "slice_",
    type=click.Choice(list(SLICES)),
    default="day",
    show_default=True,
    help="One document per conversation per day, or per 12 or 8 hours (in --tz); a slice "
    "past 10,000 messages is cut into equal parts.",
)
@json_option
@click.pass_context
def produce(
    ctx: click.Context,
    query: str | None,
    archive_dir: Path,
    key_file: Path | None,
    out: Path,
    matter: str,
    formats: str,
    bates_prefix: str | None,
    tz: str | None,
    context: int,
    slice_: str,
    as_json: bool,
) -> None:
    """Produce the messages matching QUERY (every message if none) for eDiscovery.

    QUERY uses the language of `archiver search`. Each conversation's messages are cut
    into documents by day (--slice) in --tz; each document gets Bates numbers (one per
    page, one per attached file), continuing from the matter's last production. The
    folder gets the formats asked for, manifest.json (every file's SHA-256 and MD5, every
    message id) and manifest.sig, signed with the archive's key: the recipient checks it
    with `archiver verify-production` and the public key. Needs a key slot with the
    admin role. Held messages are produced; purged ones no longer exist.

    \b
    Example:
      archiver produce 'chat:"Deal Desk" after:2024-01-01' --matter Harlow \\
          --out prod-001 --bates-prefix ACME --context 3
      archiver produce 'from:Dana' --matter Harlow --out prod-002 --format rsmf,dat
    """
    chosen = parse_formats(formats)

    def action(archive, inv):  # type: ignore[no-untyped-def]
        options = Options(
            matter=matter, out=out, formats=chosen, tz=tz or archive.default_tz, query=query,
            bates_prefix=bates_prefix, context=context, slice=slice_,
        )  # fmt: skip
        with render.progress(show_progress(as_json)) as advance:
            return produce_lib(archive, options, inv, progress=advance)

    report = with_archive(ctx, archive_dir, key_file, action)
    if as_json:
        render.print_json(report)
        return
    render.warnings(report["warnings"])
    production_output.produced(report)


@click.group()
def production() -> None:
    """The productions recorded in the archive.

    \b
    Example:
      archiver production list --matter Harlow
      archiver production show Harlow PROD-002
    """


@production.command("list")
@archive_options
@click.option("--matter", help="Only this matter's productions.")
@json_option
@click.pass_context
def production_list(
    ctx: click.Context, archive_dir: Path, key_file: Path | None, matter: str | None,
    as_json: bool,
) -> None:  # fmt: skip
    """List productions: matter, number, status, Bates range, counts.

    A production whose writing failed or was cut short shows as failed or reserved:
    its Bates numbers are never used again.

    \b
    Example:
      archiver production list --json
    """
    rows = with_archive(
        ctx, archive_dir, key_file, lambda a, inv: catalog.list_productions(a, matter)
    )
    if as_json:
        render.print_json(rows)
    else:
        production_output.productions(rows)


@production.command("show")
@click.argument("matter")
@click.argument("number")
@archive_options
@json_option
@click.pass_context
def production_show(
    ctx: click.Context, matter: str, number: str, archive_dir: Path, key_file: Path | None,
    as_json: bool,
) -> None:  # fmt: skip
    """Show production NUMBER (PROD-002, or 2) of MATTER and its documents' Bates ranges.

    \b
    Example:
      archiver production show Harlow PROD-001
    """
    info = with_archive(
        ctx, archive_dir, key_file, lambda a, inv: catalog.show_production(a, matter, number)
    )
    if as_json:
        render.print_json(info)
    else:
        production_output.production(info)


@click.command("verify-production")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--public-key",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The archive's public key (PEM, from `archiver key public --out`).",
)
@json_option
@click.pass_context
def verify_production(ctx: click.Context, folder: Path, public_key: Path, as_json: bool) -> None:
    """Check a production folder with only the archive's public key.

    Checks manifest.sig against the key, manifest.json against the signature, and every
    file against its size, SHA-256 and MD5 in the manifest; a file missing or not in the
    manifest is damage too. Exit 0 when all match; exit 4 naming the first file that
    differs. Needs no archive and no secret.

    \b
    Example:
      archiver verify-production prod-001 --public-key archive-public.pem
    """
    public = signing.load_public_key(public_key)
    try:
        report = manifest.verify(folder, public)
    except ProductionDamaged as exc:
        if not as_json:
            raise
        render.print_json({**exc.report, "error": str(exc), "exit_code": exc.exit_code})
        ctx.exit(exc.exit_code)
    if as_json:
        render.print_json(report)
    else:
        production_output.production_verified(report)


COMMANDS = [produce, production, verify_production]
