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
from datetime import datetime
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

from archiver.core import zones

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


def init_result(info: dict[str, Any]) -> None:
    line(f"Created archive {info['path']}")
    line(f"  archive id:  {info['archive_id']}")
    line(f"  time zone:   {info['default_tz']}")
    for slot in info["slots"]:
        origin = f" ({slot['origin']})" if slot.get("origin") else ""
        line(f"  key slot:    {slot['id']}  {slot.get('role', 'admin')}  {slot['kind']}{origin}")
    if info.get("four_eyes"):
        line("  four-eyes:   on (hold release, shortening policies, large purges and new admin")
        line("               slots need a second admin slot's approval)")
    line("")
    line("Signing key fingerprint (record it outside the archive):")
    line(f"  {info['signing_key_fingerprint']}")
    line("")
    if info.get("recovery_key"):
        line("Recovery key (shown once; keep it offline, it unlocks this archive):")
        line(f"  {info['recovery_key']}")
    else:
        line(f"Recovery key written to {info['recovery_key_file']} (mode 0600); keep it offline.")


def status(report: dict[str, Any]) -> None:
    line(f"Archive      {report['path']}")
    line(f"Archive id   {report['archive_id']}")
    line(f"Schema       v{report['schema_version']}")
    line(f"Time zone    {report['default_tz']}")
    line(f"Created      {report['created_at']}")
    line(f"Signing key  {report['signing_key_fingerprint']}")
    line(f"Audit head   {report['audit_head']}")
    c = report["counts"]
    table(
        "Contents",
        ["messages", "chats", "participants", "custodians", "sources", "attachments", "files"],
        [
            [
                c["messages"],
                c["chats"],
                c["participants"],
                c["custodians"],
                c["sources"],
                c["attachments"],
                c["stored_files"],
            ]
        ],
    )
    slots(report["slots"])
    table(
        "Files",
        ["file", "size"],
        [[name, human_size(size)] for name, size in report["sizes"].items()],
    )


def slots(rows: list[dict[str, Any]]) -> None:
    table(
        "Key slots",
        ["id", "role", "kind", "kdf", "created", "label"],
        [
            [
                r["id"] + (" *" if r.get("in_use") else ""),
                r["role"],
                r["kind"],
                r["kdf"],
                r["created_at"][:19],
                r.get("label") or "",
            ]
            for r in rows
        ],
        keep=("id", "created"),
    )


def four_eyes_settings(info: dict[str, Any]) -> None:
    key_value(
        {
            "Four-eyes": "on" if info["four_eyes"] else "off",
            "Purge threshold": f"{info['purge_threshold']} messages",
            "Requests expire after": f"{info['expire_hours']} hours",
            "Admin slots": ", ".join(info["admin_slots"]) or "none",
        }
    )


def four_eyes_change(info: dict[str, Any]) -> None:
    to = info["to"]
    state = "on" if to["four_eyes"] else "off"
    if not info["changed"]:
        line(f"Four-eyes is already {state}; nothing changed")
        return
    line(f"Four-eyes is {state}")
    if to["four_eyes"]:
        line(
            "  hold release, policies that shorten or remove retention, purges deleting more "
            f"than {to['purge_threshold']} messages and new admin slots now need a second "
            f"admin slot's approval; requests expire after {to['expire_hours']} hours"
        )


def _who(who: dict[str, Any] | None) -> str:
    if not who:
        return ""
    label = f" ({who['label']})" if who.get("label") else ""
    return f"slot {who['slot']}{label} {who['user']}@{who['host']}"


def approval_requests(rows: list[dict[str, Any]]) -> None:
    if not rows:
        line("No requests")
        return
    table(
        "Requests",
        ["id", "what", "status", "requested by", "requested", "expires"],
        [
            [
                r["id"],
                r["what"],
                r["status"],
                _who(r["requested_by"]),
                r["requested_at"][:16],
                r["expires_at"][:16],
            ]
            for r in rows
        ],
    )


def approval(info: dict[str, Any]) -> None:
    line(f"Approved request {info['id']}: {info['what']}")
    line(f"  requested by  {_who(info['requested_by'])} at {info['requested_at']}")
    line(f"  approved by   {_who(info['decided_by'])} at {info['decided_at']}")
    for key, value in info["outcome"].items():
        line(f"  {key.replace('_', ' '):<13} {value}")


def key_value(pairs: dict[str, Any]) -> None:
    width = max(len(k) for k in pairs)
    for k, v in pairs.items():
        line(f"{k.ljust(width)}  {v}")


# --- ingest and chats -------------------------------------------------------------------


def ingest_report(report: dict[str, Any]) -> None:
    """The summary table (a row per export, and per chat of a multi-chat export), then
    the evidence and warnings of each export, each naming it once."""
    sources = report["sources"]
    who = sorted({s["custodian"] or "(none)" for s in sources})
    zones = sorted({s["tz"] for s in sources if s["tz"]})
    line(f"Custodian: {', '.join(who)}   Time zone assumed: {', '.join(zones) or '-'}")
    rows: list[list[Any]] = []
    for s in sources:
        files = f"{s['attachments_stored']}/{s['attachments']}" if s["attachments"] else ""
        status = "" if s["status"] == "ingested" else f" ({s['status']})"
        rows.append(
            [
                (s["path"] or s["name"]) + status,
                s["messages"],
                s["new"],
                s["existing"],
                s["previously_purged"] or "",
                files,
                s["unparsed"] or "",
            ]
        )
        for c in s.get("per_chat") or []:
            rows.append(
                [
                    f"  {c['chat']}",
                    c["messages"],
                    c["new"],
                    c["existing"],
                    "",
                    "",
                    "",
                ]
            )
    table(
        "Ingest summary",
        ["export", "msgs", "new", "archived", "purged", "media", "unparsed"],
        rows,
        keep=(),
        keep_end=("export",),
    )
    for s in report["sources"]:
        name = s["path"] or s["name"]
        if s["date_order_evidence"]:
            line(f"{name}: date order {s['date_order']} — {s['date_order_evidence']}")
        if s.get("language_evidence"):
            line(_language_line(name, s))
        if s["new_versions"]:
            line(
                f"{name}: {s['new_versions']} message(s) changed since an earlier "
                "export; kept as new versions"
            )
        for d in s.get("chats_decided", []):
            chat_decision(s["name"], d)
        if s.get("cross_device"):
            line(
                f"{s['name']}: {s['cross_device']} message(s) are the same messages exported "
                "from another phone (times to the minute there): merged, both sources kept"
            )
        for text in s["warnings"]:
            warning(text)
        if s["error"]:
            error(s["error"])
    for skipped in report["skipped"]:
        line(f"skipped {skipped['path']}: {skipped['reason']}")
    for missed in report["not_ingested"]:
        warning(f"not ingested: {missed['path']}: {missed['reason']}")
    t = report["totals"]
    unread = f", {len(report['not_ingested'])} not ingested" if report["not_ingested"] else ""
    line(
        f"{len(report['sources'])} export(s): {t['new']} new message(s), {t['existing']} already "
        f"archived, {t['previously_purged']} previously purged, {report['failed']} failed{unread}"
    )


def _language_line(name: str, s: dict[str, Any]) -> str:
    """``x.txt: language German (de) — the file name …; 2 unrecognised placeholder(s)``."""
    said = (
        f"language {s['language_name']} ({s['language']})"
        if s["language"]
        else "language not recognised"
    )
    unknown = s.get("unrecognised_placeholders") or 0
    more = f"; {unknown} unrecognised placeholder(s)" if unknown else ""
    return f"{name}: {said} — {s['language_evidence']}{more}"


_DECIDED = {
    "shared-messages": "shares {shared} message(s) with it",
    "participants": "same title, {shared} participant(s) in common, no overlap in time",
    "title": "same title; one of the two has no messages",
}


def chat_decision(source: str, d: dict[str, Any]) -> None:
    """How an export's chat was matched to the archive's conversations."""
    why = _DECIDED.get(d["how"])
    if why is not None:
        line(
            f"{source}: chat {d['export_chat']!r} is archived chat {d['chat_id']} "
            f"{d['chat']!r} ({why.format(shared=d['shared'])})"
        )
    if d.get("note"):
        warning(f"{source}: chat {d['export_chat']!r}: {d['note']}")


def _rules_moved(report: dict[str, Any]) -> None:
    def text(groups: list[dict[str, Any]]) -> str:
        return "; ".join(
            f"{g['messages']} under {', '.join(g['rules']) or 'no rule'}" for g in groups
        )

    if report["rules_before"] != report["rules_after"]:
        warning(
            f"retention rules change for the moved messages: before {text(report['rules_before'])}"
            f"; after {text(report['rules_after'])}"
        )


def chats_merged(report: dict[str, Any]) -> None:
    for m in report["merged"]:
        line(
            f"Merged chat {m['chat_id']} {m['chat']!r} into chat {report['chat_id']} "
            f"{report['chat']!r}: {m['messages']} message(s) moved"
        )
        _rules_moved(m)


def chat_split(report: dict[str, Any]) -> None:
    line(
        f"Moved {report['messages']} message(s) of source {report['source_id']} "
        f"({report['source']}) from chat {report['chat_id']} {report['chat']!r} to new chat "
        f"{report['new_chat_id']} {report['new_chat']!r}"
    )
    if report["also_in_other_exports"]:
        line(
            f"  {report['also_in_other_exports']} message(s) of that export are also in other "
            "exports of the chat: they stay"
        )
    _rules_moved(report)


def _local_day(utc: str | None, zone: str) -> str:
    """The date of an ISO 8601 UTC time in ``zone``."""
    if not utc:
        return ""
    return datetime.fromisoformat(utc).astimezone(zones.recorded(zone)).date().isoformat()


def chats(rows: list[dict[str, Any]], zone: str) -> None:
    table(
        f"Conversations (dates in {zone})",
        ["id", "platform", "chat", "msgs", "first", "last", "custodians"],
        [
            [
                r["id"],
                r["platform"],
                r["chat"] or r["key"],
                r["messages"],
                _local_day(r["first"], zone),
                _local_day(r["last"], zone),
                ", ".join(r["custodians"]),
            ]
            for r in rows
        ],
        keep=("id", "platform", "first", "last"),
    )


# --- sources and custodians ----------------------------------------------------------------


def sources(rows: list[dict[str, Any]]) -> None:
    """The exports, the columns an officer corrects by (``--json`` has every field)."""

    def status(r: dict[str, Any]) -> str:
        parts = ["ingested" if not r["reparsed"] else "reparsed"]
        if r["reparsed"] > 1:
            parts[0] += f" ×{r['reparsed']}"
        if r["not_rederived"]:
            parts.append(f"{r['not_rederived']} not re-derived")
        if r["original"] != "kept":
            parts.append(f"original {r['original']}")
        return ", ".join(parts)

    table(
        "Sources",
        ["id", "export", "custodian", "tz", "order", "msgs", "status"],
        [
            [r["id"], r["name"], r["custodian"] or "", r["tz"], r["date_order"] or "",
             r["messages"], status(r)]
            for r in rows
        ],
        keep=("id", "tz", "order"),
        keep_end=("export",),
    )  # fmt: skip


_OPTION_NAMES = {"tz": "time zone", "date_order": "date order", "custodian": "custodian"}


def reparse_reports(reports: list[dict[str, Any]]) -> None:
    """``sources reparse --all-unrecognised``: each source's report in turn."""
    if not reports:
        line("No source holds unrecognised placeholders: nothing to reparse")
        return
    for i, report in enumerate(reports):
        if i:
            line("")
        if "refused" in report:
            warning(f"source {report['source_id']}: not reparsed: {report['refused']}")
        else:
            reparse_report(report)
    done = [r for r in reports if "refused" not in r]
    how = "shown (dry run)" if any(r["dry_run"] for r in done) else "reparsed"
    line(f"{len(done)} of {len(reports)} source(s) with unrecognised placeholders {how}")


def reparse_report(report: dict[str, Any]) -> None:
    options = report["options"]
    changes = [
        f"{label} {before or '(none)'} -> {after or '(none)'}"
        for name, label in _OPTION_NAMES.items()
        for before, after in [options[name]]
        if before != after
    ]
    head = "; ".join(changes) or (
        f"options as recorded (time zone {options['tz'][1]}, date order {options['date_order'][1]})"
    )
    line(f"Reparse of source {report['source_id']} ({report['source']}): {head}")
    c = report["counts"]
    line(
        f"{c['derived']} message(s) derived: {c['unchanged']} unchanged, {c['moved']} moved, "
        f"{c['changed']} changed, {c['merged']} merged, {c['unlinked']} unlinked, {c['added']} "
        f"added, {c['linked']} linked, {c['previously_purged']} previously purged, {c['held']} "
        f"held, {c['not_rederived']} not re-derived"
    )
    if report["moved"]:
        table(
            "Moved",
            ["id", "new id", "sent (UTC)", "moved by"],
            [
                [m["id"], m["new_id"], m["to"].replace("T", " ").rstrip("Z"), _shift(m)]
                for m in report["moved"]
            ],
            keep=("id", "new id", "sent (UTC)", "moved by"),
        )
    if report["changed"]:
        table(
            "Changed",
            ["id", "field", "before", "after"],
            [
                [c["new_id"], name, _compact(old), _compact(new)]
                for c in report["changed"]
                for name, (old, new) in sorted(c["fields"].items())
                if name != "sent_at"
            ],
        )
    for m in report["merged"]:
        line(f"  message {m['id']} is message {m['into']} (another export brought it): merged")
    _ids_line("Unlinked (this export no longer holds them)", report["unlinked"])
    _ids_line("Added", report["added"])
    _ids_line("Linked (already archived from another export)", report["linked"])
    _ids_line("Not re-derived (kept as they were)", report["not_rederived"])
    _ids_line("Same as a purged message (kept; the next purge decides)", report["matches_purged"])
    for c in report.get("duplicate_platform_ids", []):
        warning(
            f"line {c['line']}: message id {c['msg_id']} appears again in the export; the "
            f"first is archived (message {c['id']}), this one is not added"
        )
    for h in report["held"]:
        warning(f"message {h['id']} is under hold {', '.join(h['holds'])}: kept exactly as it is")
    also = report.get("also_in_chat")
    if also:
        warning(
            f"{also['shared']} of these messages are also in chat {also['chat_id']} "
            f"{also['chat']!r}: if it is the same conversation, `archiver chats merge "
            f"{also['chat_id']} {also['this_chat']} --reason ...` and then `archiver sources "
            f"reparse {report['source_id']} --reason ...` merge the copies"
        )
    if report.get("refused_without_force"):
        warning(report["refused_without_force"])
    if report["dry_run"]:
        line("Dry run: nothing was changed. Run again without --dry-run (with --reason) to apply.")
    else:
        line(f"Merkle root of the export's messages: {report['merkle_root'] or '(none)'}")


def _shift(moved: dict[str, Any]) -> str:
    """How far a message moved: ``+4h``, ``-1h``, ``+5h30m``, ``+30d``."""
    seconds = int(
        (
            datetime.fromisoformat(moved["to"]) - datetime.fromisoformat(moved["from"])
        ).total_seconds()
    )
    sign, rest = ("-" if seconds < 0 else "+"), abs(seconds)
    parts = [
        (rest // 86400, "d"),
        (rest % 86400 // 3600, "h"),
        (rest % 3600 // 60, "m"),
        (rest % 60, "s"),
    ]
    return sign + ("".join(f"{n}{unit}" for n, unit in parts if n) or "0s")


def _ids_line(title: str, ids: list[int]) -> None:
    if ids:
        shown = ", ".join(str(i) for i in ids[:20]) + (" …" if len(ids) > 20 else "")
        line(f"{title}: {shown}")


def custodians(rows: list[dict[str, Any]]) -> None:
    table(
        "Custodians",
        ["custodian", "sources", "messages"],
        [[r["name"], r["sources"], r["messages"]] for r in rows],
    )


def custodian_renamed(report: dict[str, Any]) -> None:
    done = "Renamed custodian {!r} to {!r}"
    if report["merged"]:
        done = "Merged custodian {!r} into {!r}"
    line(
        done.format(report["custodian"], report["renamed_to"])
        + f": {report['sources']} source(s), {report['messages']} message(s)"
    )
    _rules_moved(report)


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


def output_cut(written: int, total: int, limit: int | None, offset: int) -> None:
    """Say on stderr that a machine output holds fewer hits than matched, and why."""
    options = [f"--limit {limit}"] if limit is not None else []
    if offset:
        options.append(f"--offset {offset}")
    names = " and ".join(option.split()[0] for option in options)
    warning(
        f"output cut: {written} of {total} hit(s) written ({' '.join(options)}); "
        f"run without {names} to get all {total}"
    )


def records_csv(rows: Iterable[dict[str, Any]]) -> None:
    from archiver.search.export import write_records

    write_records(rows, "csv", sys.stdout)


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


def people(rows: list[dict[str, Any]]) -> None:
    table(
        "Participants",
        ["person", "platform", "name", "key", "phone", "msgs"],
        [
            [
                r["person"] or "",
                r["platform"],
                r["name"] or "",
                r["key"],
                r["phone"] or "",
                r["messages"],
            ]
            for r in rows
        ],
        keep=("platform", "key", "phone"),
    )


# --- retention -----------------------------------------------------------------------------


def policy_loaded(report: dict[str, Any]) -> None:
    lock = " (locked: later versions may only lengthen retention)" if report["locked"] else ""
    version, previous = report["version"], report["previous_version"]
    if report["dry_run"]:
        line(
            f"Dry run: policy version {version}{lock} would be loaded; nothing was stored "
            f"(sha256 {report['sha256']})"
        )
    else:
        line(f"Loaded policy version {version}{lock}; sha256 {report['sha256']}")
    for f in report["files"]:
        line(f"  {f['policy']}  from {f['file']}")
    was = f"version {previous}" if previous else "no policy"
    line(f"Rules, with the messages each applies to (of {report['messages']}): {was} → new")
    for r in report["rules"]:
        before, after = _count(r["messages_before"]), _count(r["messages_after"])
        line(f"  {r['change']:<9}  {r['rule']}: {before} → {after}")
        _rule_lines(r["before"], r["after"], " " * 13)
    now = report["would_delete_now"]
    replaced = f"{now['before']} under {was}" if previous else "no policy was loaded before"
    line(f"A purge run now would delete {now['after']} message(s) under it ({replaced}).")
    warnings_list(report["warnings"])
    if report["warnings"]:
        line(
            f"Check the {len(report['warnings'])} warning(s) above: a scope value that matches "
            "nothing is usually a typo, and its rule then applies to fewer messages than meant."
        )


def warnings_list(found: list[dict[str, Any]]) -> None:
    for w in found:
        warning(w["message"])


def _count(n: int | None) -> str:
    return "—" if n is None else str(n)


def _rule_lines(before: dict[str, Any] | None, after: dict[str, Any] | None, pad: str) -> None:
    """A rule's action, scope and exclusions, one line each ("old → new" where changed)."""
    for label, text in (("", _action_text), ("scope:  ", _scope_text), ("except: ", _except_text)):
        old, new = (None if r is None else text(r) for r in (before, after))
        shown = old if new is None else new if old in (None, new) else f"{old} → {new}"
        if shown:
            line(f"{pad}{label}{shown}")


def _action_text(rule: dict[str, Any]) -> str:
    parts = []
    if rule["retain"]:
        parts.append(f"retain {rule['retain']} then {rule['then']}")
    if rule["delete_after"]:
        parts.append(f"delete after {rule['delete_after']}")
    return ", ".join(parts) + f" (from {rule['basis']})"


def _globs(scope: dict[str, list[str]]) -> str:
    return "; ".join(f"{k} {', '.join(v)}" for k, v in scope.items() if v != ["*"])


def _scope_text(rule: dict[str, Any]) -> str:
    return _globs(rule["scope"]) or "org-wide"


def _except_text(rule: dict[str, Any]) -> str:
    return _globs(rule.get("exclude") or {})


def policy_versions(rows: list[dict[str, Any]]) -> None:
    table(
        "Policy versions",
        ["version", "active", "loaded", "by", "locked", "policies", "rules", "sha256"],
        [
            [
                r["version"],
                "yes" if r["active"] else "",
                r["loaded_at"][:19],
                r["loaded_by"],
                "yes" if r["locked"] else "",
                ", ".join(r["policies"]),
                r["rules"],
                r["sha256"][:16],
            ]
            for r in rows
        ],
        keep=("version", "loaded", "sha256"),
    )


def policy_rules(info: dict[str, Any]) -> None:
    lock = ", locked" if info["locked"] else ""
    line(f"Policy version {info['version']}{lock} (sha256 {info['sha256']})")
    for p in info["policies"]:
        for r in p["rules"]:
            line(f"{p['name']}/{r['name']}")
            _rule_lines(None, r, "  ")
            citation = r.get("citation") or p.get("citation")
            if citation:
                line(f"  cited:  {citation}")


def explanation(info: dict[str, Any]) -> None:
    line(f"Message {info['message_id']} as of {info['as_of']}")
    line(f"  Policy version: {info['policy_version']}")
    line(f"  Decision: {info['reason']}")
    levels = "1 hold, 2 longest retention, 3 delete time, 4 no delete rule"
    line(f"  Decided at level {info['level']} ({levels})")
    line(f"  Holds: {', '.join(info['held_by']) or 'none'}")
    line(f"  Matching rules: {', '.join(info['matched_rules']) or 'none'}")
    if info["retain_until"]:
        line(f"  Retain until: {info['retain_until']} ({info['retain_rule']})")
    for c in info["delete_candidates"]:
        used = "" if c["considered"] else " — set aside: a scoped rule applies"
        line(f"  Delete candidate: {c['rule']} at {c['at']} ({c['scope']}){used}")
    line(f"  Deletable at: {info['deletable_at'] or 'never'}")
    if info["rules"]:
        line("  Why each rule applies or not:")
    for m in info["rules"]:
        line(f"    {m['rule']}: {m['why']}")


def hold_scope_text(scope: dict[str, Any]) -> str:
    """A hold's scope as an officer reads it: "chat Marcus Lee; sent from 2024-01-01"."""
    parts = []
    for key in ("custodian", "chat", "participant"):
        if scope.get(key):
            parts.append(f"{key} {', '.join(scope[key])}")
    if scope.get("sent_after") or scope.get("sent_before"):
        since = f" from {scope['sent_after']}" if scope.get("sent_after") else ""
        until = f" before {scope['sent_before']}" if scope.get("sent_before") else ""
        parts.append(f"sent{since}{until}")
    if scope.get("query"):
        parts.append(f"query {scope['query']}")
    return "; ".join(parts) or "everything"


def holds(rows: list[dict[str, Any]]) -> None:
    table(
        "Legal holds",
        ["name", "status", "matter", "scope", "created"],
        [
            [
                r["name"],
                "active" if r["active"] else "released",
                r["matter"],
                hold_scope_text(r["scope"]),
                (r["created_at"] or "")[:10],
            ]
            for r in rows
        ],
        keep=("name", "status", "created"),
    )


def _when(at: str | None) -> str:
    return "-" if not at else at[:16].replace("T", " ") + " UTC"


def hold(info: dict[str, Any]) -> None:
    """One hold, every value as an officer reads it."""
    scope = info["scope"]
    dated = scope.get("sent_after") or scope.get("sent_before")
    zone = f" (days in {scope['tz']})" if dated else ""
    released = "-"
    if info["released_at"]:
        released = (
            f"{_when(info['released_at'])} by {info['released_by']}: {info['release_reason']}"
        )
    pairs = {
        "Hold": f"{info['name']} ({'active' if info['active'] else 'released'})",
        "Matter": info["matter"],
        "Reason": info["reason"],
        "Scope": hold_scope_text(scope) + zone,
        "Created": f"{_when(info['created_at'])} by {info['created_by']}",
        "Released": released,
    }
    if info["active"]:
        pairs["Held now"] = f"{info['held_now']} message(s)"
    key_value(pairs)


def purge_report(report: dict[str, Any]) -> None:
    for done in report.get("recovered", []):
        line(
            f"Purge {done['purge_id']} had been interrupted: its {done['deleted']} committed "
            f"deletion(s) are now certified (sha256 {done['certificate_sha256']})"
        )
        if done.get("certificate_file"):
            line(f"  certificate written to {done['certificate_file']}")
    if report.get("executed"):
        ahead = " AHEAD OF TIME" if report.get("ahead_of_time") else ""
        line(f"Purge {report['purge_id']}{ahead} as of {report['as_of']}")
        line(f"  deleted {report['deleted']} message(s)")
        changed = report["would_delete"] - report["deleted"]
        if changed:
            line(
                f"  kept {changed} planned message(s): a hold or policy change made while the "
                "purge ran covers them"
            )
        line(f"  originals deleted {report['originals_deleted']}")
        line(f"  originals redacted {report['originals_redacted']}")
        line(f"  media removed {report['attachments_removed']}")
        line(f"  certificate sha256 {report['certificate_sha256']}")
        if report.get("certificate_file"):
            line(f"  certificate written to {report['certificate_file']}")
    else:
        for purge_id in report.get("interrupted_purges", []):
            warning(
                f"purge {purge_id} was interrupted before its certificate was written; the "
                "next `archiver purge --execute` certifies its deletions"
            )
        line(
            f"Dry run as of {report['as_of']} (policy version {report['policy_version']}): "
            f"{report['would_delete']} of {report['examined']} message(s) would be deleted"
        )
    if report["by_rule"]:
        table(None, ["rule", "messages"], list(report["by_rule"].items()))
    if report["by_chat"]:
        table(None, ["chat", "messages"], list(report["by_chat"].items()))
    checked = ", ".join(report["holds_checked"]) or "none"
    line(f"Holds checked: {checked}")
    for name, n in report["held"].items():
        line(f"  {name}: {n} message(s) held")
    if report["held_but_otherwise_deletable"]:
        line(
            f"  {report['held_but_otherwise_deletable']} message(s) would be deletable but are held"
        )
    if not report.get("executed"):
        line("Nothing was deleted. Run with --execute to purge.")


def forecast(info: dict[str, Any]) -> None:
    line(f"Retention forecast from {info['from'][:10]} (policy version {info['policy_version']})")
    line(f"  deletable now: {info['deletable_now']}")
    line(f"  held: {info['held']}")
    line(f"  kept forever: {info['kept_forever']}")
    peak = max([m["becoming_deletable"] for m in info["months"]] + [1])
    for m in info["months"]:
        n = m["becoming_deletable"]
        bar = "█" * round(40 * n / peak)
        line(f"  {m['month']}  {bar} {n}")


# --- audit trail and verification ----------------------------------------------------------


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _pairs(values: dict[str, Any]) -> str:
    return "  ".join(f"{k}={v if isinstance(v, str) else _compact(v)}" for k, v in values.items())


def audit_entries(rows: list[dict[str, Any]]) -> None:
    """One block per entry, like `git log`: the header line, then args and details, each
    line at most as wide as the output (cut with "…"; `audit --json` has everything)."""
    width = console().width
    was_cut = False
    for r in rows:
        who = f"{r['user']}@{r['host']}"
        lines = [f"{r['seq']:>6}  {r['at']}  {who}  {r['action']}  {r['outcome']}"]
        if r["args"]:
            lines.append(f"        args:     {_pairs(r['args'])}")
        if r["details"]:
            lines.append(f"        details:  {_pairs(r['details'])}")
        for text in lines:
            shown = cut(" ".join(text.splitlines()), width)
            was_cut = was_cut or shown != text
            line(shown)
    line(f"{len(rows)} entr{'y' if len(rows) == 1 else 'ies'}")
    if was_cut:
        line("Long lines were cut (…); `archiver audit --json` shows every entry in full.")


AUDIT_CSV_COLUMNS = (
    "seq", "at", "user", "host", "action", "outcome", "args", "details", "prev_hash", "hash"
)  # fmt: skip


def audit_csv(rows: list[dict[str, Any]]) -> None:
    from archiver.search.export import SafeCsvWriter

    writer = SafeCsvWriter(sys.stdout, lineterminator="\n")
    writer.writerow(AUDIT_CSV_COLUMNS)
    for r in rows:
        writer.writerow(
            [_compact(r[c]) if c in ("args", "details") else r[c] for c in AUDIT_CSV_COLUMNS]
        )


def audit_exported(report: dict[str, Any]) -> None:
    redacted = ", names, queries, texts and file names redacted" if report["redacted"] else ""
    line(f"Exported {report['entries']} audit entries to {report['out']}{redacted}")
    line(f"  head:         {report['head']}")
    line(f"  signed by:    {report['key_fingerprint']}")
    line(f"  file sha256:  {report['sha256']}")
    line(f"Check it anywhere: archiver verify-signed {report['out']} --public-key PUBFILE")


def verify_report(report: dict[str, Any]) -> None:
    line(f"Archive {report['archive_id']}")
    if report["expected_head"]:
        line(f"Recorded head  {report['expected_head']}")
    for c in report["checks"]:
        status = "ok" if c["ok"] else "BROKEN"
        text = f"  {status:<6}  {c['title']:<19} {c['checked']:>10,} {c['unit']}"
        if not c["ok"]:
            more = f" (and {c['problems'] - 1} more)" if c["problems"] > 1 else ""
            text += f": {c['first']}{more}"
        line(text)
    broken = sum(not c["ok"] for c in report["checks"])
    line("No damage found." if not broken else f"DAMAGE FOUND in {broken} check(s).")
    if report["audit_head"]:
        line(f"Audit head now {report['audit_head']} (record it outside the archive)")


def signed_summary(summary: dict[str, Any]) -> None:
    text = (
        f"Valid: {summary['type']} of archive {summary['archive_id']}, signed at "
        f"{summary['signed_at']} by key {summary['key_fingerprint']}"
    )
    if "head" in summary:
        text += f"; {summary['entries']} entries linked up to head {summary['head']}"
    line(text)


# --- productions ------------------------------------------------------------------------


def produced(report: dict[str, Any]) -> None:
    counts = report["counts"]
    line(
        f"Produced {report['production']} of matter {report['matter']!r} into "
        f"{report['out']}: {counts['documents']} document(s), {counts['messages']} "
        f"message(s) ({counts['hits']} hit(s), {counts['context']} context), "
        f"{counts['attachments']} attachment(s)"
    )
    line(f"  Bates:    {report['bates_first']} to {report['bates_last']}")
    line(f"  formats:  {', '.join(report['formats'])} (times in {report['tz']})")
    line(f"  manifest: manifest.json sha256 {report['manifest_sha256']}, signed in manifest.sig")
    missing = report["missing_glyphs"]
    if missing:
        chars = sorted({f"{m['char']} ({m['name']})" for m in missing})
        shown = ", ".join(chars[:5]) + (" ..." if len(chars) > 5 else "")
        warning(
            f"{len(missing)} character(s) have no glyph in any font and show as [U+XXXX] in "
            f"the PDF and page layout: {shown}; manifest.json lists each (missing_glyphs)"
        )
    notice(
        f"Plaintext: {report['out']} holds the produced messages in the clear (folders 0700, "
        "files 0600). Keep it off shared drives and delete it once delivered."
    )


def productions(rows: list[dict[str, Any]]) -> None:
    table(
        None,
        ["matter", "production", "status", "Bates", "docs", "messages", "created"],
        [
            [
                r["matter"],
                r["production"],
                r["status"],
                f"{r['bates_first']} - {r['bates_last']}" if r["bates_first"] else "",
                r["counts"].get("documents"),
                r["counts"].get("messages"),
                (r["created_at"] or "")[:16].replace("T", " "),
            ]
            for r in rows
        ],
        keep=("production", "Bates", "created"),
    )


def production(info: dict[str, Any]) -> None:
    key_value(
        {
            "matter": info["matter"],
            "production": info["production"],
            "status": info["status"] + (f" ({info['error']})" if info["error"] else ""),
            "query": info["query"] or "(every message)",
            "Bates": f"{info['bates_first']} to {info['bates_last']}",
            "created": f"{info['created_at']} by {info['created_by']}",
            "folder": info["out"],
            "manifest sha256": info["manifest_sha256"] or "",
        }
    )
    table(
        None,
        ["Bates", "to", "family end", "conversation", "msgs", "pages", "files"],
        [
            [
                d["bates_begin"],
                d["bates_end"],
                d["family_end"],
                d["conversation"],
                d["messages"],
                d["pages"],
                d["attachments"],
            ]
            for d in info["documents"]
        ],
        keep=("Bates", "to", "family end"),
    )


def production_verified(report: dict[str, Any]) -> None:
    line(
        f"OK: {report['folder']} is {report['production']} of matter {report['matter']!r}, "
        f"signed {report['signed_at']} by key {report['key_fingerprint']}"
    )
    line(
        f"  {report['files']} file(s) and {report['documents']} document(s), "
        f"{report['messages']} message(s): every file matches its SHA-256 and MD5"
    )
