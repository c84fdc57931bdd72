"""Everything the operator sees: the only module that imports rich.

Commands hand plain data (dicts, lists) to these functions. ``--json`` output goes
through ``print_json`` so scripts get stable, parseable documents.

Chat titles, sender names, file names, custodians and error messages come from the
exports and the operator, so anything may be in them. Nothing is written to the terminal
as markup or raw control characters: every line goes through ``line``/``error``/
``warning`` and every table cell is a ``rich.text.Text`` (never parsed as markup), and
all of them show control characters (C0, DEL, C1 such as ESC, and line separators) as
visible escapes (``\\x1b``, ``\\n``) via ``safe``. A sender named ``Ann[/bold]`` prints as
written; an escape sequence never reaches the terminal; a newline in a title cannot
start a fake line or table row. ``--json`` keeps the exact text (JSON-escaped).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from rich.cells import cell_len
from rich.console import Console
from rich.padding import Padding
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

# Output that is not a terminal (pipes, files, cron mail) is this wide; a terminal is as
# wide as it is.
WIDTH = 80
# A cut column keeps at least this many cells ("Mar…").
MIN_CUT = 4


def console(stderr: bool = False) -> Console:
    # Created per call so that click's test runner (which swaps sys.stdout) sees output.
    stream = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() else WIDTH
    return Console(file=stream, highlight=False, soft_wrap=True, width=width)


# What a terminal acts on instead of showing: C0 controls (ESC starts ANSI and OSC
# sequences; CR, BS, LF and TAB move the cursor, and rich breaks a table cell at a TAB),
# DEL, C1 controls (U+009B is CSI, U+009D OSC on some terminals), and the Unicode line and
# paragraph separators.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# Characters JSON leaves raw that a terminal may act on (json.dumps escapes C0 itself).
_JSON_RAW = re.compile("[\x7f-\x9f\u2028\u2029]")


def _visible(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    return _NAMED.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def safe(text: str) -> str:
    """``text`` with every control character shown as an escape (ESC as ``\\x1b``, a
    newline as ``\\n``): what may be written to a terminal as one line."""
    return _CONTROL.sub(_visible, text)


def cell(value: Any) -> Text:
    """A table cell: data as plain text (never rich markup), control characters escaped."""
    return Text("" if value is None else safe(str(value)))


def _json(data: Any, indent: int | None = None) -> str:
    """``data`` as JSON text with the exact strings, escaping what a terminal acts on."""
    text = json.dumps(data, indent=indent, ensure_ascii=False, default=str)
    return _JSON_RAW.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def print_json(data: Any) -> None:
    sys.stdout.write(_json(data, indent=2) + "\n")


def json_document(head: dict[str, Any], key: str, items: Iterable[Any]) -> None:
    """The JSON document ``{**head, key: [items...]}``, written item by item so that memory
    does not grow with the number of items: laid out like ``print_json``, except that each
    item is one compact line (the C encoder is many times faster than an indented dump)."""
    opening = _json({**head, key: []}, indent=2)
    sys.stdout.write(opening[: -len("]\n}")])  # the document up to the list's "["
    first = True
    for item in items:
        body = _json(item)
        sys.stdout.write(("\n    " if first else ",\n    ") + body)
        first = False
    sys.stdout.write(("]" if first else "\n  ]") + "\n}\n")


def json_error(message: str, exit_code: int) -> None:
    """A failure under ``--json``: one document on stdout, like every other result."""
    print_json({"error": message, "exit_code": exit_code})


def line(text: str = "") -> None:
    """One line of output; a control character in it (a newline too) is shown escaped."""
    sys.stdout.write(safe(text) + "\n")


def block(text: str) -> None:
    """Several lines of program output (a PEM key), each written with ``line``."""
    for part in text.split("\n"):
        line(part)


def _message_lines(message: str) -> str:
    """An error or warning: its lines escaped, continuation lines indented so that a
    newline inside a file name cannot pass for a line of its own."""
    first, *rest = message.split("\n")
    shown = [safe(first)] + [safe(r if r.startswith(" ") else "  " + r) for r in rest]
    return "\n".join(shown)


def error(message: str) -> None:
    sys.stderr.write(f"Error: {_message_lines(message)}\n")


def pending(message: str) -> None:
    sys.stderr.write(f"Pending approval: {_message_lines(message)}\n")


def warning(message: str) -> None:
    sys.stderr.write(f"Warning: {_message_lines(message)}\n")


def warnings(messages: Iterable[str]) -> None:
    for message in messages:
        warning(message)


def notice(message: str) -> None:
    """A note about the run itself (not its result), on stderr."""
    sys.stderr.write(message + "\n")


def cut(text: str, width: int, keep_end: bool = False) -> str:
    """``text`` in at most ``width`` cells, cut with "…" at the end (or, ``keep_end``, at
    the start: a file name's distinctive part is its end)."""
    if cell_len(text) <= width:
        return text
    if width <= 1:
        return "…" if width == 1 else ""
    if keep_end:
        return "…" + _take(text[::-1], width - 1)[::-1]
    return _take(text, width - 1) + "…"


def _take(text: str, width: int) -> str:
    out, used = [], 0
    for ch in text:
        used += cell_len(ch)
        if used > width:
            break
        out.append(ch)
    return "".join(out)


def _cell(value: Any) -> str:
    """A cell's text: control characters (newlines too) shown escaped (``safe``)."""
    return "" if value is None else safe(str(value))


def table(
    title: str | None,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    keep: Sequence[str] = ("id",),
    keep_end: Sequence[str] = (),
) -> None:
    """A table as wide as the output (``WIDTH`` when not a terminal). Columns in ``keep``
    (ids, dates) and columns of numbers are never cut; when the rest does not fit, the
    widest of them is cut first, with "…" (at the start for columns in ``keep_end``).
    Nothing wraps, so a row is one line and an id is whole."""
    out = console()
    text = [[_cell(v) for v in row] for row in rows]
    widths = [max([cell_len(c)] + [cell_len(r[i]) for r in text]) for i, c in enumerate(columns)]
    cuttable = [
        i
        for i, c in enumerate(columns)
        if c not in keep and not all(isinstance(r[i], int) or r[i] in (None, "") for r in rows)
    ]
    room = out.width - (3 * len(columns) + 1)  # borders and padding
    while sum(widths) > room:
        widest = max(cuttable, key=lambda i: widths[i], default=None)
        if widest is None or widths[widest] <= MIN_CUT:
            break
        widths[widest] -= 1
    t = Table(title=title, title_justify="left")
    for name, width in zip(columns, widths, strict=True):
        t.add_column(cut(name, width), width=width, no_wrap=True, overflow="ellipsis")
    for row in text:
        t.add_row(
            *[
                Text(cut(value, width, columns[i] in keep_end))
                for i, (value, width) in enumerate(zip(row, widths, strict=True))
            ]
        )
    out.print(t)


def human_size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"


Advance = Callable[[str, int, int | None], None]


def _ignore(phase: str, advance: int, total: int | None) -> None:
    return None


class _Rate(ProgressColumn):
    """Items a second, over the run so far."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:,.0f}/s")


@contextmanager
def progress(enabled: bool) -> Iterator[Advance]:
    """Progress bars on stderr when ``enabled`` (the CLI's choice: a terminal, no --json),
    one per phase of the work: done of total, rate and time left. Yields
    ``advance(phase, n, total)``; ``total`` may be None (unknown) or change."""
    if not enabled:
        yield _ignore
        return
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        _Rate(),
        TimeRemainingColumn(),
        console=console(stderr=True),
        transient=True,
    )
    tasks: dict[str, TaskID] = {}

    def advance(phase: str, n: int, total: int | None) -> None:
        if phase not in tasks:
            tasks[phase] = bar.add_task(cut(phase, 30, keep_end=True), total=total)
        elif total is not None:
            bar.update(tasks[phase], total=total)
        bar.advance(tasks[phase], n)

    with bar:
        yield advance


# --- archive ---------------------------------------------------------------------------


def key_value(pairs: dict[str, Any]) -> None:
    width = max(len(k) for k in pairs)
    for k, v in pairs.items():
        line(f"{k.ljust(width)}  {v}")


# --- sources and custodians ----------------------------------------------------------------


_OPTION_NAMES = {"tz": "time zone", "date_order": "date order", "custodian": "custodian"}


# --- search ------------------------------------------------------------------------------


def _highlighted(text: str, spans: list[list[int]] | list[tuple[int, int]]) -> Text:
    """A snippet on one line with its hits highlighted; escaping happens piece by piece so
    the hits stay where they were."""
    flat = text.replace("\n", " ")
    out = Text()
    done = 0
    for start, end in sorted((max(s, 0), e) for s, e in spans):
        start = max(start, done)
        if end <= start:
            continue
        out.append(safe(flat[done:start]))
        out.append(safe(flat[start:end]), style="bold reverse")
        done = end
    out.append(safe(flat[done:]))
    return out


def _local(value: str | None, width: int = 16) -> str:
    """``2024-01-05T04:00:00-05:00`` as ``2024-01-05 04:00`` (the zone is in the header)."""
    return (value or "")[:width].replace("T", " ")


def search_result(result: dict[str, Any], offset: int) -> None:
    total, rows = result["total"], result["results"]
    shown = f"{offset + 1}-{offset + len(rows)}" if rows else "none"
    line(f"{total} message(s) match {result['query']!r} (showing {shown}; times in {result['tz']})")
    if not rows:
        return
    out = console()
    # A hit is two lines, so that it fits any width: the id whole (it goes into
    # `archiver show`), the time, where and who (cut with … if need be); then the snippet,
    # indented and wrapped.
    for r in rows:
        head = f"{r['id']}  {_local(r['sent_at_local'])}  "
        where = " · ".join(
            v for v in (r["chat"], r["sender"], None if r["kind"] == "text" else r["kind"]) if v
        )
        line(head + cut(where, max(out.width - cell_len(head), MIN_CUT)))
        snippet = _highlighted(r.get("snippet", r["text"]), r.get("highlights", []))
        out.print(Padding(snippet, (0, 0, 0, 4), expand=False), soft_wrap=False)
    rest = total - offset - len(rows)
    if rest > 0:
        line(
            f"{rest} more: --offset {offset + len(rows)} for the next page; "
            "--ids, --csv or --json (without --limit) give every hit"
        )


def transcript(shown: dict[str, Any]) -> None:
    line(f"Conversation: {shown['chat']}   (times in {shown['tz']})")
    for r in shown["messages"]:
        when = _local(r["sent_at_local"], 19) or "(no time)"
        marker = ">>" if r["id"] == shown["id"] else "  "
        who = r["sender"] or f"[{r['kind']}]"
        body = r["text"]
        if r["attachments"]:
            body = (body + " " if body else "") + " ".join(
                f"<{a['name']}>" for a in r["attachments"]
            )
        if r["edited"]:
            body += " (edited)"
        first, *rest = (body or "").split("\n")
        line(f"{marker} {when}  {who}: {first}")
        for extra in rest:
            line(f"   {' ' * len(when)}  {extra}")
        if r["id"] == shown["id"]:
            src = r["sources"][0]
            pad = " " * len(when)
            line(f"   {pad}  [id {r['id']} · {r['kind']} · {src['file']} line {src['line']}]")


# --- audit trail and verification ----------------------------------------------------------


AUDIT_CSV_COLUMNS = (
    "seq", "at", "user", "host", "action", "outcome", "args", "details", "prev_hash", "hash"
)  # fmt: skip


def compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
