"""`archiver search`, `show` and `people`."""

from __future__ import annotations

from pathlib import Path

import click

from archiver.cli import render, search_output
from archiver.cli.common import ZONE, archive_options, json_option, with_archive
from archiver.core.errors import ArchiverError
from archiver.curation import people as people_lib
from archiver.search import engine as search_lib

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

\b
Precedence (as in Gmail and Google Vault):
  OR binds tighter than AND:  a b OR c  means  a AND (b OR c)
  parentheses override:       (a b) OR c
  filters apply to the whole query wherever written:
    x OR y from:Dana  means  (x OR y) AND from:Dana
  a group of filters only is a filter: (from:Sam OR from:Lee), -kind:system
  a filter cannot be one side of an OR with words, or negated with
  words (e.g. x OR from:Dana): such a query is refused
  lower-case and/or/not are searched as words (with a warning)

\b
Output: the table shows 50 rows (--limit N, --offset N for more);
--ids, --csv and --json write every hit unless --limit is given, and
say on stderr when they were cut. Times are shown in --tz (default:
the archive's zone), named in the first line; --json records add
sent_at_local beside the UTC sent_at.
"""


def _positive_limit(ctx: click.Context, param: click.Parameter, value: int | None) -> int | None:
    if value is not None and value < 1:
        raise click.BadParameter(
            f"{value} would show nothing; leave --limit out of --ids, --csv or --json to get "
            "every hit, or use --count for the number of hits alone",
            ctx,
            param,
        )
    return value


@click.command(epilog=QUERY_HELP)
@click.argument("query")
@archive_options
@click.option(
    "--limit",
    type=int,
    callback=_positive_limit,
    help="Rows to write, at least 1 [default: 50 in the table; every hit with --ids, --csv, "
    "--json].",
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
@click.option(
    "--tz",
    type=ZONE,
    help="Zone for dates in the query and the output [default: the archive's].",
)
@json_option
@click.option(
    "--csv",
    "as_csv",
    is_flag=True,
    help="Print CSV rows (same columns as export; formula-like cells start with a ').",
)
@click.option("--ids", "as_ids", is_flag=True, help="Print only message ids, one per line.")
@click.option("--count", "as_count", is_flag=True, help="Print only the number of hits.")
@click.pass_context
def search(
    ctx: click.Context,
    query: str,
    archive_dir: Path,
    key_file: Path | None,
    limit: int | None,
    offset: int,
    sort: str,
    tz: str | None,
    as_json: bool,
    as_csv: bool,
    as_ids: bool,
    as_count: bool,
) -> None:
    """Search the archive; prints the exact number of hits, then a page of them.

    \b
    Example:
      archiver search '"price guarantee" OR (bond w/5 coupon) from:Dana after:2024-01-01'
      archiver search 'NEAR(price guarantee, 5) OR mandate' --sort relevance --json
      archiver search 'from:Dana' --tz America/New_York --csv > dana.csv
    """
    output = _output(as_json=as_json, as_csv=as_csv, as_ids=as_ids, as_count=as_count)
    if output in ("table", "count"):
        rows = (limit or search_lib.PAGE) if output == "table" else 0
        result = with_archive(
            ctx,
            archive_dir,
            key_file,
            lambda a, inv: search_lib.search(
                a, query, inv, tz=tz, sort=sort, limit=rows, offset=offset
            ),
        )
        show_page(result, output)
        return
    with_archive(
        ctx,
        archive_dir,
        key_file,
        lambda a, inv: write_hits(
            search_lib.stream(a, query, inv, tz=tz, sort=sort, limit=limit, offset=offset), output
        ),
    )


def _output(**flags: bool) -> str:
    """The one output asked for: table (the default), json, csv, ids or count."""
    chosen = [name.removeprefix("as_") for name, on in flags.items() if on]
    if len(chosen) > 1:
        raise click.UsageError("choose one of --json, --csv, --ids, --count")
    return chosen[0] if chosen else "table"


def show_page(result: search_lib.SearchResult, output: str) -> None:
    """A page of hits as a table (or their number alone), after any warnings."""
    render.warnings(result.warnings)
    if output == "count":
        render.line(str(result.total))
    else:
        render.search_result(result.as_dict(), result.offset)


def write_hits(hits: search_lib.SearchStream, fmt: str) -> None:
    """Every hit of ``hits`` to stdout as ``fmt``, then say on stderr if any were left out."""
    render.warnings(hits.warnings)
    if fmt == "ids":
        for mid in hits.ids():
            render.line(str(mid))
    elif fmt == "csv":
        search_output.records_csv(hits.records(snippets=False))
    else:
        render.json_document(hits.head(), "results", hits.records())
    if hits.delivered != hits.expected:
        raise ArchiverError(
            f"the archive changed while the hits were written (an ingest or purge committed "
            f"meanwhile): {hits.delivered} written, {hits.expected} counted; run the search "
            "again for a consistent result"
        )
    if hits.delivered < hits.total:
        search_output.output_cut(hits.delivered, hits.total, hits.limit, hits.offset)


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
@click.option("--tz", type=ZONE, help="Zone to show times in [default: the archive's].")
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

    shown = with_archive(
        ctx,
        archive_dir,
        key_file,
        lambda a, inv: search_lib.show(a, message_id, context, inv, tz=tz),
    )
    if as_json:
        render.print_json(shown)
    else:
        render.transcript(shown)


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
        search_output.people(rows)


COMMANDS = [search, show, people]
