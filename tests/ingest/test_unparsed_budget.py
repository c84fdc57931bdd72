"""Unparsed rows are kept, but bounded: a long one is cut (and says so), and an export
with more of them than any real one is refused whole."""

from __future__ import annotations

from pathlib import Path

import pytest

from archiver.archive.session import Archive
from archiver.core.errors import ParseError
from archiver.core.model import Unparsed
from archiver.ingest.exports import IngestOptions, ingest
from archiver.parsers.limits import (
    MAX_UNPARSED_ROW_BYTES,
    MAX_UNPARSED_ROWS,
    MAX_UNPARSED_TOTAL_BYTES,
    UnparsedBudget,
)
from tests import hostile
from tests.conftest import inv


def row(raw: str, line: int | None = 7) -> Unparsed:
    return Unparsed(raw, "message is not a JSON object", line, "chat")


def test_a_short_row_is_kept_as_it_is() -> None:
    assert UnparsedBudget("x").admit(row("[1]")) == row("[1]")


def test_a_long_row_keeps_its_start_and_says_how_much_was_cut() -> None:
    raw = "é" * MAX_UNPARSED_ROW_BYTES  # two bytes each
    kept = UnparsedBudget("x").admit(row(raw)).raw
    assert kept == "é" * (MAX_UNPARSED_ROW_BYTES // 2) + (
        f"\n[… {MAX_UNPARSED_ROW_BYTES:,} more bytes not kept in this row; the export is "
        "stored whole]"
    )


def test_more_rows_than_allowed_refuse_the_export() -> None:
    budget = UnparsedBudget("export.zip")
    for _ in range(MAX_UNPARSED_ROWS):
        budget.admit(row("[1]"))
    with pytest.raises(ParseError) as err:
        budget.admit(row("[1]"))
    assert str(err.value) == (
        "export.zip: more than 10,000 records (or 16 MiB) that could not be read as messages "
        "(the first: line 7: message is not a JSON object). This is not an export archiver can "
        "read as given, and nothing from it was ingested; check that it is the chat export "
        "itself (WhatsApp .txt/.zip, Telegram result.json or messages.html) and that "
        "--platform is right."
    )


def test_more_bytes_than_allowed_refuse_the_export() -> None:
    budget = UnparsedBudget("export.zip")
    size = MAX_UNPARSED_ROW_BYTES - 100
    for _ in range(MAX_UNPARSED_TOTAL_BYTES // size):
        budget.admit(row("x" * size))
    with pytest.raises(ParseError, match=r"^export\.zip: more than 10,000 records \(or 16 MiB\)"):
        budget.admit(row("x" * size))


def test_an_ingest_stores_the_cut_row(archive: Archive, tmp_path: Path) -> None:
    long = "[" + ", ".join(f'"part {i}"' for i in range(40_000)) + "]"  # 480 KB, not a message
    export = hostile.tg_write(tmp_path, hostile.tg_document([hostile.tg_message(1), long]))
    report = ingest(archive, [export], IngestOptions(), inv("ingest"))
    source = report.sources[0]
    assert (source.status, source.messages, source.unparsed) == ("ingested", 1, 1)
    raw = archive.store.one("SELECT raw FROM unparsed")
    assert len(raw.encode()) < MAX_UNPARSED_ROW_BYTES + 100
    assert raw.startswith('[\n    "part 0",') or raw.startswith('["part 0", "part 1"')
    assert raw.endswith("more bytes not kept in this row; the export is stored whole]")
