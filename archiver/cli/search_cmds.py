"""`archiver search`, `show` and `people`."""

from __future__ import annotations

from pathlib import Path

import click

from archiver import people as people_lib
from archiver import render
from archiver import search as search_lib
from archiver.cli.common import archive_options, json_option, with_archive

QUERY_HELP = """
\b
Query language:
  words            all must appear (implicit AND); case and accents ignored
  "exact phrase"   words in this order (across line breaks too)
  pric*            prefix
  a OR b, a AND b, NOT a, -a, ( ... )
  NEAR(a b, 5)     within 5 words; also  a w/5 b
  from:NAME        sender (any linked spelling; phones in any format)
  participant:NAME conversations NAME takes part in
  chat:NAME  custodian:NAME  platform:whatsapp|telegram
  kind:text|media|system|deleted|poll|location|contact|call
  has:attachment   edited:true|false
  after:YYYY-MM-DD  before:YYYY-MM-DD  on:YYYY-MM-DD   (days in --tz)
"""


@click.command(epilog=QUERY_HELP)
@click.argument("query")
@archive_options
@click.option(
    "--limit", default=50, show_default=True, type=click.IntRange(min=0), help="Rows to show."
)
@click.option(
    "--offset", default=0, show_default=True, type=click.IntRange(min=0), help="Rows to skip."
)
@click.option(
    "--sort",
    type=click.Choice(search_lib.SORTS),
    default="date",
    show_default=True,
    help="date: newest first; relevance: best match first (bm25).",
)
@click.option("--tz", help="Zone for dates in the query and the output [default: the archive's].")
@json_option
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV rows (same columns as export).")
@click.option("--ids", "as_ids", is_flag=True, help="Print only message ids, one per line.")
@click.pass_context
def search(
    ctx: click.Context,
    query: str,
    archive_dir: Path,
    key_file: Path | None,
    limit: int,
    offset: int,
    sort: str,
    tz: str | None,
    as_json: bool,
    as_csv: bool,
    as_ids: bool,
) -> None:
    """Search the archive; prints the exact number of hits, then a page of them.

    \b
    Example:
      archiver search '"term sheet" from:Dana after:2024-01-01'
      archiver search 'NEAR(price guarantee, 5) OR w/3' --sort relevance --json
    """
    if sum((as_json, as_csv, as_ids)) > 1:
        raise click.UsageError("choose one of --json, --csv, --ids")
    result = with_archive(
        ctx,
        archive_dir,
        key_file,
        lambda a, inv: search_lib.search(
            a, query, inv, tz=tz, sort=sort, limit=limit, offset=offset
        ),
    )
    if as_json:
        render.print_json(result.as_dict())
    elif as_csv:
        render.records_csv(result.results)
    elif as_ids:
        for mid in result.ids:
            render.line(str(mid))
    else:
        render.search_result(result.as_dict(), offset)


@click.command()
@click.argument("message_id", type=int)
@archive_options
@click.option(
    "--context",
    default=5,
    show_default=True,
    type=click.IntRange(min=0),
    help="Messages before and after.",
)
@click.option("--tz", help="Zone to show times in [default: the archive's].")
@json_option
@click.pass_context
def show(
    ctx: click.Context,
    message_id: int,
    archive_dir: Path,
    key_file: Path | None,
    context: int,
    tz: str | None,
    as_json: bool,
) -> None:
    """Show a message with the conversation around it, as a transcript.

    \b
    Example:
      archiver show 1791633812490240 --context 10
    """

    def action(archive, inv):  # type: ignore[no-untyped-def]
        return search_lib.show(archive, message_id, context, inv), tz or archive.default_tz

    shown, zone = with_archive(ctx, archive_dir, key_file, action)
    if as_json:
        render.print_json(shown)
    else:
        render.transcript(shown, zone)


@click.group()
def people() -> None:
    """People behind the names: one human appears under different names on different phones.

    \b
    Example:
      archiver people link "Dana" "Dana Whitfield" "+1 555 010 2030" --as "Dana Whitfield"
      archiver people list
    """


@people.command("link")
@click.argument("names", nargs=-1, required=True)
@archive_options
@click.option("--as", "person", help="Name of the person [default: the first NAME].")
@json_option
@click.pass_context
def people_link(
    ctx: click.Context,
    names: tuple[str, ...],
    archive_dir: Path,
    key_file: Path | None,
    person: str | None,
    as_json: bool,
) -> None:
    """Record that participants NAMES... are one person (from: then finds them all).

    \b
    Example:
      archiver people link "Dana" "D. Whitfield" "+15550102030" --as "Dana Whitfield"
    """
    info = with_archive(
        ctx,
        archive_dir,
        key_file,
        lambda a, inv: people_lib.link(a, list(names), inv, person=person),
    )
    if as_json:
        render.print_json(info)
    else:
        render.line(
            f"Linked {len(info['participants'])} name(s) as {info['person']}: "
            + ", ".join(info["participants"])
        )


@people.command("list")
@archive_options
@json_option
@click.pass_context
def people_list(
    ctx: click.Context, archive_dir: Path, key_file: Path | None, as_json: bool
) -> None:
    """List participants, the person each is linked to, and their message counts.

    \b
    Example:
      archiver people list --json
    """
    rows = with_archive(ctx, archive_dir, key_file, people_lib.list_people)
    if as_json:
        render.print_json(rows)
    else:
        render.people(rows)


COMMANDS = [search, show, people]
