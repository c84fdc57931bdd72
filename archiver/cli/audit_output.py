"""What `audit`, `verify` and `verify-signed` print.

Built on ``render``'s primitives (lines, tables, escaping); no rich here."""

from __future__ import annotations

import sys
from typing import Any

from archiver.cli.render import (
    AUDIT_CSV_COLUMNS,
    compact,
    console,
    cut,
    line,
)


def _pairs(values: dict[str, Any]) -> str:
    return "  ".join(f"{k}={v if isinstance(v, str) else compact(v)}" for k, v in values.items())


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


def audit_csv(rows: list[dict[str, Any]]) -> None:
    from archiver.search.export import SafeCsvWriter

    writer = SafeCsvWriter(sys.stdout, lineterminator="\n")
    writer.writerow(AUDIT_CSV_COLUMNS)
    for r in rows:
        writer.writerow(
            [compact(r[c]) if c in ("args", "details") else r[c] for c in AUDIT_CSV_COLUMNS]
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
