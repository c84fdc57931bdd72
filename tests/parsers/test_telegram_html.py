"""Telegram Desktop HTML exports: pages, joined blocks, service blocks, time zones."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from archiver.core.model import Attachment, Chat, Sender, Unparsed
from archiver.parsers.telegram_html import TelegramHtmlParser
from tests.parsers.telegram_helpers import (
    FIXTURES,
    PEERS,
    SAMPLES,
    by_id,
    bytes_unit,
    chats,
    dir_unit,
    facts,
    messages,
    notices,
    options,
    unparsed,
    utc,
)

NOT_INCLUDED = "Not included, change data exporting settings to download."


def parse(folder: str, tz: str = "Europe/Berlin", explicit: bool = False) -> list[Any]:
    unit = dir_unit(FIXTURES / folder, wrap="ChatExport_2024-07-16")
    return list(TelegramHtmlParser().parse(unit, options(tz, explicit)))


EXPECTED: list[tuple[str, dict[str, Any]]] = [
    ("1", {
        "kind": "system", "sender": None, "sent_at": None, "sent_at_text": None,
        "text": "Dr. Ana Ruiz created group «Clinic Front Desk» with members Ben Ott and Cleo Park",
    }),
    ("2", {
        "kind": "text", "sender": Sender("name:Dr. Ana Ruiz", "Dr. Ana Ruiz"),
        "sent_at": utc(2024, 3, 15, 8, 0), "sent_at_text": "15.03.2024 09:00:00 UTC+01:00",
        "text": "Morning team\nSchedule is here",
    }),
    ("3", {
        "sender": Sender("name:Dr. Ana Ruiz", "Dr. Ana Ruiz"), "text": "Room 2 is closed today.",
    }),
    ("4", {
        "kind": "media", "text": "Whiteboard",
        "attachments": (Attachment(
            "photo_1@15-03-2024_09-05-00.jpg", "photos/photo_1@15-03-2024_09-05-00.jpg"),),
    }),
    ("5", {
        "kind": "media", "text": "",
        "attachments": (Attachment("intake_form.pdf", None, None, None, NOT_INCLUDED),),
    }),
    ("6", {"reply_to": "4", "text": "Moved to room 3"}),
    ("7", {"kind": "call", "text": "Phone call: Outgoing (120 seconds)"}),
    ("10", {
        "forwarded_from": "Pharmacy Desk", "text": "Refill ready for pickup",
        "sender": Sender("name:Ben Ott", "Ben Ott"),
    }),
    ("11", {"kind": "poll", "text": "Lunch order?\nPizza\nSalad"}),
    ("12", {"kind": "location", "text": ""}),
    ("13", {"sender": Sender("name:Dr. Ana Ruiz", "Dr. Ana Ruiz"), "text": "on my way"}),
    ("14", {
        "kind": "media", "attachments": (Attachment("sticker.webp", "stickers/sticker.webp"),),
    }),
    ("15", {
        "kind": "media",
        "attachments": (Attachment(
            "audio_1@16-07-2024_08-23-00.ogg", "voice_messages/audio_1@16-07-2024_08-23-00.ogg"),),
    }),
    ("16", {
        "kind": "contact", "sender": Sender("name:Cleo Park", "Cleo Park"),
        "text": "Lee Broker +44 20 7946 0000",
        "attachments": (Attachment("contact.vcf", "contacts/contact_1.vcf"),),
    }),
    ("17", {"sender": Sender("name:Deleted Account", None)}),
]  # fmt: skip


@pytest.mark.parametrize(("msg_id", "expected"), EXPECTED)
def test_message_fields(msg_id: str, expected: dict[str, Any]) -> None:
    m = by_id(parse("html_single"))[msg_id]
    assert {k: getattr(m, k) for k in expected} == expected
    assert m.chat_key == "name:Clinic Front Desk"


def test_pages_in_order_and_one_chat() -> None:
    records = parse("html_single")
    assert chats(records) == [
        Chat(
            "telegram",
            "name:Clinic Front Desk",
            "Clinic Front Desk",
            None,
            {"section": "single", "folder": "ChatExport_2024-07-16/"},
        )
    ]
    ids = [m.msg_id for m in messages(records)]
    assert ids == [
        "1",
        "2",
        "3",
        "4",
        "5",
        "6",
        "7",
        "10",
        "11",
        "12",
        "13",
        "14",
        "15",
        "16",
        "17",
    ]
    f = facts(records)
    assert f["pages"] == [
        "ChatExport_2024-07-16/messages.html",
        "ChatExport_2024-07-16/messages2.html",
    ]
    assert (f["messages"], f["unparsed"], f["export_kind"]) == (15, 1, "single")


def test_extras() -> None:
    ms = by_id(parse("html_single"))
    assert ms["1"].extra == {
        "time_source": "none",
        "page": "ChatExport_2024-07-16/messages.html",
        "day": "15 March 2024",
    }
    assert ms["2"].extra is not None and ms["2"].extra["entities"] == [
        {"type": "bold", "text": "team"},
        {"type": "text_link", "text": "here", "href": "https://example.com/schedule"},
    ]
    assert ms["3"].extra is not None and ms["3"].extra["sender_inherited"] is True
    extra10 = ms["10"].extra or {}
    assert extra10["forward_date_text"] == "14.07.2024 17:30:00 UTC+01:00"
    assert extra10["reactions"] == ["👍 2"]
    assert extra10["day"] == "16 July 2024"
    assert (ms["11"].extra or {})["poll"] == {
        "question": "Lunch order?",
        "answers": [
            {"text": "Pizza", "voters": 2, "chosen": True},
            {"text": "Salad", "voters": 1, "chosen": False},
        ],
        "total": "3 votes",
        "closed": None,
    }
    assert (ms["12"].extra or {})["location"] == {"latitude": 51.5074, "longitude": -0.1278}
    assert (ms["13"].extra or {})["via_bot"] == "@gif"
    assert (ms["7"].extra or {})["call"] == {
        "status": "Outgoing (120 seconds)",
        "duration_seconds": 120,
    }


def test_unsupported_block() -> None:
    records = parse("html_single")
    [u] = unparsed(records)
    assert u == Unparsed(
        raw="This message is not supported by this version of Telegram Desktop. "
        "Please update the application.",
        reason="message 8 was exported as unsupported by Telegram Desktop",
        line=288,
        chat_key="name:Clinic Front Desk",
    )
    assert [n.code for n in notices(records)] == ["unsupported-messages"]


@pytest.mark.parametrize(
    ("explicit", "march", "july"),
    [
        # the exporter's offset is Berlin's STANDARD offset (+01:00): right in March, an
        # hour late in July (CEST is +02:00) ...
        (False, utc(2024, 3, 15, 8, 0), utc(2024, 7, 16, 7, 0)),
        # ... so an explicit --tz wins and reads the wall time in the real zone
        (True, utc(2024, 3, 15, 8, 0), utc(2024, 7, 16, 6, 0)),
    ],
)
def test_title_offset_versus_explicit_zone(explicit: bool, march: datetime, july: datetime) -> None:
    ms = by_id(parse("html_single", "Europe/Berlin", explicit))
    assert (ms["2"].sent_at, ms["10"].sent_at) == (march, july)


def test_title_without_offset_uses_the_zone_and_the_fold() -> None:
    records = parse("html_old", "Europe/Berlin")
    times = {m.msg_id: m.sent_at for m in messages(records)}
    assert times == {
        "245234": None,
        "245235": utc(2020, 10, 24, 23, 50),  # 01:50 CEST
        "245236": utc(2020, 10, 25, 0, 30),  # 02:30, first occurrence (CEST)
        "245237": utc(2020, 10, 25, 1, 10),  # 02:10 after the clocks went back (CET)
        "245238": utc(2020, 10, 25, 1, 20),
    }
    assert facts(records)["exporter_era"] == "tdesktop < 3.7.6 (title without UTC offset)"


def test_full_account_export() -> None:
    unit = dir_unit(FIXTURES / "html_full", wrap="DataExport_2024-03-15")
    assert TelegramHtmlParser().sniff(unit)
    records = list(TelegramHtmlParser().parse(unit, options("UTC")))
    assert [(c.key, c.extra["section"]) for c in chats(records)] == [
        ("name:Sam Lee", "chats"),
        ("name:Rates Feed", "chats"),
    ]
    ms = messages(records)
    assert [(m.chat_key, m.msg_id) for m in ms] == [
        ("name:Sam Lee", "1"),
        ("name:Sam Lee", "2"),
        ("name:Rates Feed", "1"),
        ("name:Rates Feed", "20"),
    ]
    assert ms[1].attachments == (
        Attachment(
            "photo_1@15-03-2024_10-01-00.jpg",
            "chats/chat_1/photos/photo_1@15-03-2024_10-01-00.jpg",
        ),
    )
    assert (ms[3].extra or {})["author"] == "Desk Bot"
    assert facts(records)["export_kind"] == "full"
    [partial] = notices(records)
    assert (partial.code, partial.chat_key) == ("probably-partial", "name:Rates Feed")
    assert "'1 outgoing message'" in partial.message
    assert records.index(partial) == len(records) - 2  # after that chat's messages


def _page(title: str, body: str) -> bytes:
    return (
        f'<html><body><div class="page_header"><div class="text bold">{title}</div></div>'
        f'<div class="history">{body}</div></body></html>'
    ).encode()


def _default(mid: int, name: str | None, text: str, joined: bool = False) -> str:
    cls = "message default clearfix joined" if joined else "message default clearfix"
    who = f'<div class="from_name">{name}</div>' if name else ""
    return (
        f'<div class="{cls}" id="message{mid}"><div class="body">'
        f'<div class="pull_right date details" title="01.02.2024 10:00:{mid:02d} UTC+00:00">'
        f'10:00</div>{who}<div class="text">{text}</div></div></div>'
    )


def test_pages_are_ordered_numerically() -> None:
    files = {
        ("messages.html" if n == 1 else f"messages{n}.html"): _page("P", _default(n, "A", f"p{n}"))
        for n in range(1, 12)
    }
    records = list(TelegramHtmlParser().parse(bytes_unit(files), options("UTC")))
    assert [m.text for m in messages(records)] == [f"p{n}" for n in range(1, 12)]


def test_joined_block_never_inherits_across_files() -> None:
    files = {
        "messages.html": _page("P", _default(1, "Alice", "one")),
        "messages2.html": _page("P", _default(2, None, "two", joined=True)),
    }
    records = list(TelegramHtmlParser().parse(bytes_unit(files), options("UTC")))
    first, second = messages(records)
    assert first.sender == Sender("name:Alice", "Alice")
    assert second.sender is None
    assert (second.extra or {})["sender_inherited"] is False
    assert facts(records)["joined_without_sender"] == [{"page": "messages2.html", "msg_id": "2"}]


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"messages.html": b"<html>"}, True),
        ({"ChatExport/messages.html": b"<html>", "ChatExport/photos/a.jpg": b""}, True),
        ({"export_results.html": b"<html>", "chats/chat_01/messages.html": b"<html>"}, True),
        ({"export_results.html": b"<html>", "lists/chats.html": b"<html>"}, False),
        ({"result.json": b"{}"}, False),
        ({"notes.html": b"<html>"}, False),
    ],
)
def test_sniff(files: dict[str, bytes], expected: bool) -> None:
    assert TelegramHtmlParser().sniff(bytes_unit(files)) is expected


def test_same_chat_as_json_gives_the_same_instant_with_explicit_zone() -> None:
    """The langchain pair: one chat exported as JSON and HTML."""
    folder = PEERS / "langchain-community/libs/community/tests/unit_tests/chat_loaders/data"
    if not folder.is_dir():
        pytest.skip("peer corpus not available")
    unit = dir_unit(folder / "telegram_chat_html")
    html = messages(TelegramHtmlParser().parse(unit, options("America/Los_Angeles", True)))
    assert html[0].sent_at == utc(2023, 8, 23, 20, 11, 23)  # = JSON date_unixtime 1692821483
    lenient = messages(TelegramHtmlParser().parse(unit, options("America/Los_Angeles")))
    assert lenient[0].sent_at == utc(2023, 8, 23, 21, 11, 23)  # the exporter's standard offset


def test_sample_html_export_folder() -> None:
    unit = dir_unit(SAMPLES / "ChatExport_2024-02-02", wrap="ChatExport_2024-02-02")
    assert TelegramHtmlParser().sniff(unit)
    records = list(TelegramHtmlParser().parse(unit, options("Europe/Berlin", True)))
    ms = by_id(records)
    assert list(ms) == ["1", "2", "3", "4", "5", "6", "7", "8", "9"]
    assert ms["3"].sender == Sender("name:Jonas Brandt", "Jonas Brandt")
    assert ms["4"].reply_to == "2"
    assert ms["5"].attachments[0].note == NOT_INCLUDED
    assert (ms["7"].kind, ms["9"].kind, ms["9"].reply_to) == ("call", "system", "8")
    assert ms["8"].sent_at == utc(2024, 2, 2, 7, 0)
