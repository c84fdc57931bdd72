"""The bounds every parser keeps, so that no export can take unbounded time or memory.

Each is far above anything a phone or Telegram Desktop writes, and each is refused with
a ``ParseError`` naming the file and the place (or, for unparsed rows, the export), never
cut silently. The README's "Limits" list states the same numbers.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Final

from archiver.core.errors import ParseError
from archiver.core.model import Unparsed

MAX_NESTING: Final = 64
"""Levels of JSON arrays/objects, or of HTML elements. Telegram Desktop writes about 8 in
JSON and about 20 in HTML; the libraries below us are quadratic (HTML tree building) or
recursive (json) in depth."""

MAX_MESSAGE_BYTES: Final = 1 << 20
"""One message as written: a Telegram JSON message object, a WhatsApp line, a JSON
string or number. WhatsApp caps a message at 65,536 characters, Telegram at 4,096. (Where
JSON goes through ijson it is checked per 64 KiB read, so by that much less exactly.)"""

MAX_MESSAGE_CHARS: Final = 1 << 20
"""One WhatsApp message with its continuation lines, in characters."""

MAX_HTML_PAGE_BYTES: Final = 16 << 20
"""One Telegram HTML page (the exporter writes 1,000 messages, about 1-2 MB, a page)."""

MAX_UNPARSED_ROWS: Final = 10_000
"""Records one export may hold that no parser understood (kept as unparsed rows)."""

MAX_UNPARSED_TOTAL_BYTES: Final = 16 << 20
"""Their total size (after each is cut to ``MAX_UNPARSED_ROW_BYTES``)."""

MAX_UNPARSED_ROW_BYTES: Final = 64 << 10
"""One unparsed row's text; beyond it the row keeps its start and says how much was cut
(the whole export stays stored as evidence)."""

MAX_DISTINCT_DATES: Final = 100_000
"""Distinct days in one WhatsApp export (the date-order decision keeps one entry per
day; 100,000 days are 270 years)."""

CACHE_ENTRIES: Final = 10_000
"""Entries a parser keeps in a cache of senders or peers; beyond, it computes again."""

INT64_RANGE: Final = range(-(1 << 63) + 1, 1 << 63)
"""JSON integers must fit in 64 bits, as every Telegram id, size and time does (-2^63
itself aside: ijson's C parser refuses it)."""


class UnparsedBudget:
    """Keeps one export's unparsed rows within the bounds above: a long row is cut (and
    says so), and more rows or bytes than allowed refuse the whole export."""

    def __init__(self, export: str) -> None:
        self.export = export
        self.rows = 0
        self.total = 0
        self.first: Unparsed | None = None

    def admit(self, record: Unparsed) -> Unparsed:
        """The record as it may be stored; ``ParseError`` once the export is over budget."""
        self.rows += 1
        self.first = self.first or record
        if len(record.raw) * 4 > MAX_UNPARSED_ROW_BYTES:  # else short enough in any case
            record = replace(record, raw=_cut(record.raw))
        self.total += len(record.raw.encode("utf-8", "surrogatepass"))
        if self.rows > MAX_UNPARSED_ROWS or self.total > MAX_UNPARSED_TOTAL_BYTES:
            raise self._refusal()
        return record

    def _refusal(self) -> ParseError:
        first = self.first
        example = ""
        if first is not None:
            at = f"line {first.line}: " if first.line is not None else ""
            example = f" (the first: {at}{first.reason})"
        return ParseError(
            f"{self.export}: more than {MAX_UNPARSED_ROWS:,} records (or "
            f"{MAX_UNPARSED_TOTAL_BYTES >> 20} MiB) that could not be read as messages{example}. "
            "This is not an export archiver can read as given, and nothing from it was "
            "ingested; check that it is the chat export itself (WhatsApp .txt/.zip, Telegram "
            "result.json or messages.html) and that --platform is right."
        )


def _cut(raw: str) -> str:
    data = raw.encode("utf-8", "surrogatepass")
    if len(data) <= MAX_UNPARSED_ROW_BYTES:
        return raw
    kept = data[:MAX_UNPARSED_ROW_BYTES].decode("utf-8", "ignore")
    cut = len(data) - len(kept.encode("utf-8"))
    return f"{kept}\n[… {cut:,} more bytes not kept in this row; the export is stored whole]"
