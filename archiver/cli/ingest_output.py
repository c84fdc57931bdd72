"""What `ingest`, `chats`, `sources` and `custodians` print.

Built on ``render``'s primitives (lines, tables, escaping); no rich here."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from archiver.cli.render import (
    _OPTION_NAMES,
    compact,
    error,
    line,
    table,
    warning,
)
from archiver.core import zones


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
                [c["new_id"], name, compact(old), compact(new)]
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
