"""Everything the operator sees: the only module that imports rich.

Commands hand plain data (dicts, lists) to these functions. ``--json`` output goes
through ``print_json`` so scripts get stable, parseable documents.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table


def console(stderr: bool = False) -> Console:
    # Created per call so that click's test runner (which swaps sys.stdout) sees output.
    return Console(file=sys.stderr if stderr else sys.stdout, highlight=False, soft_wrap=True)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def line(text: str = "") -> None:
    sys.stdout.write(text + "\n")


def error(message: str) -> None:
    sys.stderr.write(f"Error: {message}\n")


def warning(message: str) -> None:
    sys.stderr.write(f"Warning: {message}\n")


def table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    t = Table(title=title, title_justify="left")
    for col in columns:
        t.add_column(col)
    for row in rows:
        t.add_row(*["" if v is None else str(v) for v in row])
    console().print(t)


def human_size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"


@contextmanager
def progress(description: str, total: int | None, enabled: bool) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr when ``enabled`` (a TTY and not --json); yields advance(n)."""
    if not enabled:
        yield lambda n: None
        return
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console(stderr=True),
        transient=True,
    )
    with bar:
        task = bar.add_task(description, total=total)
        yield lambda n: bar.advance(task, n)


# --- archive ---------------------------------------------------------------------------


def init_result(info: dict[str, Any]) -> None:
    line(f"Created archive {info['path']}")
    line(f"  archive id:  {info['archive_id']}")
    line(f"  time zone:   {info['default_tz']}")
    for slot in info["slots"]:
        origin = f" ({slot['origin']})" if slot.get("origin") else ""
        line(f"  key slot:    {slot['id']}  {slot['kind']}{origin}")
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
        ["id", "kind", "kdf", "created", "label"],
        [
            [
                r["id"] + (" *" if r.get("in_use") else ""),
                r["kind"],
                r["kdf"],
                r["created_at"][:19],
                r.get("label") or "",
            ]
            for r in rows
        ],
    )


def key_value(pairs: dict[str, Any]) -> None:
    width = max(len(k) for k in pairs)
    for k, v in pairs.items():
        line(f"{k.ljust(width)}  {v}")
