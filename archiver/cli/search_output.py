"""What `people list` prints, and the notes around machine outputs of `search`.

Built on ``render``'s primitives (lines, tables, escaping); no rich here."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any

from archiver.cli.render import (
    table,
    warning,
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
