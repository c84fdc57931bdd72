"""Pieces of the WhatsApp parser that carry a guarantee on their own: the fast record
constructor, the clock's DST handling, the header shape, the locale tables."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from archiver.core.model import Attachment, Message, Sender
from archiver.parsers import whatsapp_records
from archiver.parsers.whatsapp_body import match_system
from archiver.parsers.whatsapp_header import GENERAL, build_regex, features, shape_of
from archiver.parsers.whatsapp_locale import OMITTED, STRONG_STARTS, SYSTEM_EVENTS
from archiver.parsers.whatsapp_time import Clock, naive

ARGS: tuple[Any, ...] = (
    "Deal Desk",
    "media",
    Sender("Ben", "Ben"),
    datetime(2024, 3, 14, 8, tzinfo=UTC),
    "14/03/2024, 09:00",
    "caption",
    6,
    True,
    (Attachment("IMG-1.jpg", "IMG-1.jpg", size=3),),
    {"tilde": True},
)


def test_make_message_fills_whatsapps_fixed_fields() -> None:
    m = whatsapp_records.make_message(*ARGS)
    assert dataclasses.asdict(m) == dataclasses.asdict(
        Message(
            chat_key=ARGS[0], kind=ARGS[1], sender=ARGS[2], sent_at=ARGS[3],
            sent_at_text=ARGS[4], text=ARGS[5], line=ARGS[6], edited=ARGS[7],
            attachments=ARGS[8], extra=ARGS[9],
        )
    )  # fmt: skip
    assert (m.msg_id, m.edited_at, m.reply_to, m.forwarded_from) == (None, None, None, None)


# --- clock ----------------------------------------------------------------------------------


def _wall(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> int:
    return int((datetime(year, month, day, hour, minute) - datetime(1970, 1, 1)).total_seconds())


def test_clock_caches_per_day_and_flags_transition_days() -> None:
    clock = Clock(ZoneInfo("Europe/Berlin"))
    assert clock.day_offset(_wall(2024, 3, 30)) == 3600
    assert clock.day_offset(_wall(2024, 3, 31)) is None  # spring forward that day
    assert clock.day_offset(_wall(2024, 4, 1)) == 7200
    assert clock.offset(_wall(2024, 3, 31, 1, 30)) == 3600
    assert clock.offset(_wall(2024, 3, 31, 2, 30)) is None  # the gap
    assert clock.offset(_wall(2024, 3, 31, 3, 30)) == 7200


def test_clock_resolves_gap_and_fold() -> None:
    clock = Clock(ZoneInfo("America/New_York"))
    gap = _wall(2024, 3, 10, 2, 30)  # 02:00 EST -> 03:00 EDT
    assert clock.resolve(gap, None) == _wall(2024, 3, 10, 7, 30)  # = 03:30 EDT
    first = _wall(2024, 11, 3, 1, 50)  # 01:00-02:00 happens twice
    assert clock.resolve(first, None) == _wall(2024, 11, 3, 5, 50)  # EDT
    back = _wall(2024, 11, 3, 1, 10)
    assert clock.resolve(back, first) == _wall(2024, 11, 3, 6, 10)  # EST, second pass
    assert clock.resolve(_wall(2024, 11, 3, 1, 55), back) == _wall(2024, 11, 3, 6, 55)
    assert (clock.gaps, clock.folds) == (1, 2)
    assert naive(gap) == datetime(2024, 3, 10, 2, 30)


# --- header shape ---------------------------------------------------------------------------


def test_shape_regex_is_strict_for_its_file() -> None:
    android = [features(m) for m in map(GENERAL.match, ["14/03/2024, 09:00 - A: x"] * 5) if m]
    rx = build_regex(shape_of(android))
    assert rx.match("15/03/2024, 10:00 - B: y")
    assert not rx.match("[15.03.24, 10:00:00] B: y")
    assert not rx.match("15/03/2024 10:00 - B: y")  # no comma: not this file's shape
    assert not rx.match("2016-04-29 10:30:00")


def test_one_pasted_line_does_not_widen_the_shape() -> None:
    lines = ["14/03/2024, 09:00 - A: x"] * 40 + ["[14.03.24, 09:00:00] Pasted: y"]
    shape = shape_of([features(m) for m in map(GENERAL.match, lines) if m])
    assert shape.style == "android"
    recurring = lines + ["[14.03.24, 09:00:00] B: y"] * 2
    assert shape_of([features(m) for m in map(GENERAL.match, recurring) if m]).brackets == {
        True,
        False,
    }


# --- tables ---------------------------------------------------------------------------------


def test_every_system_row_compiles_and_matches_its_own_example() -> None:
    examples = {
        "encryption": "Messages and calls are end-to-end encrypted. Learn more.",
        "group_created": "Anna created group “Desk”",
        "member_left": "Ben left",
        "security_code_changed": "Your security code with Ben changed. Tap to learn more.",
    }
    for event, text in examples.items():
        got = match_system(text)
        assert got is not None and got.event == event, text
    for row in SYSTEM_EVENTS:
        re.compile(row.regex)


def test_strong_starts_only_lead_to_strong_rows() -> None:
    assert all(len(s) >= 3 for s in STRONG_STARTS)
    assert match_system("You added the wrong file") is not None  # weak: needs iOS evidence
    assert match_system("You added the wrong file").strong is False  # type: ignore[union-attr]


def test_omitted_placeholders_have_no_invisible_characters() -> None:
    assert all(key == key.strip("\u200e\u200f\ufeff ") for key in OMITTED)
