"""The parser registry: a parser is found by name, and an unknown name says which exist."""

from __future__ import annotations

import pytest

from archiver import parsers
from archiver.core.errors import UnknownParser
from archiver.ingest import pipeline
from archiver.parsers.base import ParseOptions


def test_a_parser_is_found_by_its_recorded_name() -> None:
    assert parsers.get("whatsapp").name == "whatsapp"
    assert parsers.get("telegram-html").platform == "telegram"


def test_an_unknown_name_lists_the_parsers_this_version_has() -> None:
    with pytest.raises(UnknownParser) as caught:
        parsers.get("whatsapp-2031")
    assert str(caught.value) == (
        "no parser called 'whatsapp-2031' in this archiver (it knows telegram-json, "
        "telegram-html, whatsapp); the source was ingested by another version of archiver"
    )


def test_a_stored_source_with_an_unknown_parser_fails_clearly_inside_a_generator(
    tmp_path: object,
) -> None:
    """Inside a generator, ``next()`` over the parsers used to surface as
    ``RuntimeError: generator raised StopIteration``."""
    from pathlib import Path
    from zoneinfo import ZoneInfo

    export = Path(str(tmp_path)) / "WhatsApp Chat with A.txt"
    export.write_text("23/03/2024, 09:00 - Ann: hi\n", encoding="utf-8")
    job = pipeline.Job(export, "file", "no-such-parser", ParseOptions(tz=ZoneInfo("UTC")), 10)
    with pytest.raises(UnknownParser, match="no parser called 'no-such-parser'"):
        list(pipeline.parse_staged(job))
