"""Shared Telegram helpers: identities, placeholders, local times, record hygiene."""

from __future__ import annotations

import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from archiver.core.model import Chat, Message, Notice, ParseFacts, Unparsed
from archiver.parsers.telegram_common import (
    LocalClock,
    normalize_peer,
    placeholder_reason,
    sorted_pages,
)
from archiver.parsers.telegram_html import TelegramHtmlParser
from archiver.parsers.telegram_json import TelegramJsonParser
from tests.parsers.telegram_helpers import FIXTURES, dir_unit, file_unit, options, utc

U, C = 1 << 32, 1 << 33


@pytest.mark.parametrize(
    ("raw", "chat_id", "chat_type", "expected"),
    [
        ("user123", None, None, ("user123", "string")),
        ("channel1292077344", None, None, ("channel1292077344", "string")),
        ("chat42", None, None, ("chat42", "string")),
        (653911985, None, None, ("user653911985", "bare_int")),
        (U + 425258256, None, None, ("user425258256", "shifted_int")),
        # 2^33|id: the export's own basic group is a chat, anything else a channel
        (C + 77, 77, "private_group", ("chat77", "shifted_int")),
        (C + 77, C + 77, "private_group", ("chat77", "shifted_int")),
        (C + 77, 77, "private_supergroup", ("channel77", "shifted_int")),
        (C + 78, 77, "private_group", ("channel78", "shifted_int")),
        ("user000AX6969", None, None, ("user000AX6969", "unrecognised")),
        (-5, None, None, ("-5", "unrecognised")),
    ],
)
def test_peer_ids_of_every_era(
    raw: object, chat_id: int | None, chat_type: str | None, expected: tuple[str, str]
) -> None:
    assert normalize_peer(raw, chat_id, chat_type) == expected


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("(File not included. Change data exporting settings to download.)", "not_included"),
        ("(File exceeds maximum size. Change data exporting settings to download.)", "too_large"),
        ("(File unavailable, please try again later)", "unavailable"),
        ("File unavailable, please try exporting again later.", "unavailable"),
        ("File not included. Change data exporting settings to download.", "not_included"),
        ("(Photo not included. Change data exporting settings to download.)", "not_included"),
        ("(unavailable)", "unavailable"),
        ("Not included, change data exporting settings to download.", "not_included"),
        ("photos/photo_1@12-11-2020_12-57-31.jpg", None),
        ("files/not included (final).pdf", None),
        ("files/unavailable", None),
    ],
)
def test_placeholders_are_never_paths(value: str, reason: str | None) -> None:
    assert placeholder_reason(value) == reason


def test_local_clock_gap_and_fold() -> None:
    clock = LocalClock(ZoneInfo("Europe/Berlin"))
    assert clock.to_utc(2021, 3, 28, 2, 30, 0) == (utc(2021, 3, 28, 1, 30), "dst-gap")
    clock.reset()
    assert clock.to_utc(2020, 10, 25, 2, 30, 0) == (utc(2020, 10, 25, 0, 30), "dst-ambiguous")
    assert clock.to_utc(2020, 10, 25, 2, 10, 0) == (
        utc(2020, 10, 25, 1, 10),
        "dst-ambiguous-fold1",
    )
    assert clock.to_utc(2020, 10, 25, 3, 0, 0) == (utc(2020, 10, 25, 2, 0), None)
    assert (clock.gaps, clock.ambiguous, clock.folded) == (1, 2, 1)


def test_pages_sort_numerically() -> None:
    names = ["c/messages10.html", "c/messages2.html", "c/messages.html", "c/messages9.html"]
    assert sorted_pages(names) == [
        "c/messages.html",
        "c/messages2.html",
        "c/messages9.html",
        "c/messages10.html",
    ]


def _all_records() -> list[object]:
    out: list[object] = []
    for path in sorted(FIXTURES.glob("*.json")):
        out += TelegramJsonParser().parse(file_unit(path, "result.json"), options())
    out += TelegramJsonParser().parse(dir_unit(FIXTURES / "full_account"), options())
    for folder in ("html_single", "html_old", "html_full"):
        out += TelegramHtmlParser().parse(dir_unit(FIXTURES / folder), options())
    return out


def test_every_record_is_json_serialisable_and_aware() -> None:
    for r in _all_records():
        if isinstance(r, Message):
            json.dumps(r.extra)
            for when in (r.sent_at, r.edited_at):
                assert when is None or when.utcoffset() is not None
            assert r.sender is None or r.sender.key
            assert r.kind != "system" or r.sender is None
        elif isinstance(r, Chat):
            assert r.platform == "telegram"
            json.dumps(dict(r.extra))
        elif isinstance(r, ParseFacts):
            json.dumps(dict(r.facts))
        else:
            assert isinstance(r, Notice | Unparsed)


def test_fixture_sizes_stay_small() -> None:
    total = sum(p.stat().st_size for p in Path(FIXTURES).rglob("*") if p.is_file())
    assert total < 100_000
