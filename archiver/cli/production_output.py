"""What `produce`, `production list|show` and `verify-production` print.

Built on ``render``'s primitives (lines, tables, escaping); no rich here."""

from __future__ import annotations

from typing import Any

from archiver.cli.render import (
    key_value,
    line,
    notice,
    table,
    warning,
)


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
