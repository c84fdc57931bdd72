"""Telegram Desktop JSON exports: every exporter era, single and full-account exports."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from archiver.core.errors import ParseError
from archiver.core.model import Attachment, Chat, Message, Notice, Sender, Unparsed
from archiver.parsers import telegram_json
from archiver.parsers.telegram_json import TelegramJsonParser
from tests.parsers.telegram_helpers import (
    FIXTURES,
    REPO,
    SAMPLES,
    by_id,
    bytes_unit,
    chats,
    dir_unit,
    facts,
    file_unit,
    messages,
    notices,
    options,
    unparsed,
    utc,
)

PH_NOT = "(File not included. Change data exporting settings to download.)"
PH_BIG = "(File exceeds maximum size. Change data exporting settings to download.)"
PH_UNAV = "(File unavailable, please try again later)"


def parse(name: str, tz: str = "Europe/Berlin") -> list[Any]:
    return list(TelegramJsonParser().parse(file_unit(FIXTURES / name, "result.json"), options(tz)))


# (fixture, msg_id) -> the fields that must match exactly
EXPECTED: list[tuple[str, str, dict[str, Any]]] = [
    # era 1 (v1.3.8-1.4.7): no from_id, no chat id; 'edited' 1970 placeholder = not edited
    ("era1_no_from_id.json", "101", {
        "sender": Sender("name:Marta Keller", "Marta Keller"), "kind": "text",
        "sent_at": utc(2018, 7, 2, 7, 15), "sent_at_text": "2018-07-02T09:15:00",
        "text": "Morning, can you send the July rate sheet?", "edited": False, "edited_at": None,
    }),
    ("era1_no_from_id.json", "102", {
        "sender": Sender("name:Jon Ide", "Jon Ide"), "reply_to": "101", "text": "Sending it now.",
    }),
    ("era1_no_from_id.json", "103", {
        "kind": "media", "text": "", "attachments": (
            Attachment("rates_2018-07.pdf", "files/rates_2018-07.pdf", "application/pdf"),
        ),
    }),
    # era 2 (v1.4.8-2.3): bare integer ids
    ("era2_bare_int.json", "1", {
        "kind": "system", "sender": None, "sent_at": utc(2019, 3, 4, 8, 0),
        "text": "Anna Berg created group «Ops Desk» with members Anna Berg, Ben Ott and "
        "Deleted Account",
    }),
    ("era2_bare_int.json", "2", {
        "sender": Sender("user202", "Ben Ott"), "edited": False, "edited_at": None,
        "text": "Settlement run starts at 10.",
    }),
    ("era2_bare_int.json", "3", {
        "sender": Sender("user201", "Anna Berg"), "edited": True,
        "edited_at": utc(2019, 3, 4, 9, 5), "sent_at": utc(2019, 3, 4, 8, 2),
    }),
    ("era2_bare_int.json", "4", {"kind": "poll", "text": "Move standup to 9:30?\nYes\nNo"}),
    ("era2_bare_int.json", "5", {
        "kind": "media",
        "attachments": (Attachment("sticker.webp", "stickers/sticker.webp"),),
    }),
    ("era2_bare_int.json", "6", {"kind": "location", "text": ""}),
    ("era2_bare_int.json", "7", {"kind": "system", "text": "Anna Berg invited Cleo Park"}),
    ("era2_bare_int.json", "8", {"sender": Sender("user205", None)}),
    # era 3 (v2.4.0-2.7.1): shifted ints, migrated negative ids, DST fall-back hour
    ("era3_shifted_int.json", "-999999990", {
        "kind": "system", "sent_at": utc(2020, 10, 24, 8, 0),
        "text": "Anna Berg created group «Ops» with members Anna Berg and Ben Ott",
    }),
    ("era3_shifted_int.json", "-999999989", {
        "sender": Sender("user202", "Ben Ott"), "reply_to": "-999999990",
    }),
    ("era3_shifted_int.json", "-999999988", {
        "text": "Anna Berg converted this group to a supergroup",
    }),
    ("era3_shifted_int.json", "1", {
        "text": "Rates Chat converted a basic group to this supergroup «Ops»",
    }),
    ("era3_shifted_int.json", "2", {
        "sender": Sender("channel1400000001", "Rates Chat"), "sent_at": utc(2020, 10, 24, 23, 50),
    }),
    ("era3_shifted_int.json", "3", {
        "forwarded_from": "Reuters Desk", "sent_at": utc(2020, 10, 25, 0, 30),
    }),
    ("era3_shifted_int.json", "4", {
        "text": "Ben, noted.", "reply_to": "3", "sent_at": utc(2020, 10, 25, 1, 10),
        "sent_at_text": "2020-10-25T02:10:00",
    }),
    ("era3_shifted_int.json", "5", {"sent_at": utc(2020, 10, 25, 1, 40)}),
    # era 4 (v2.7.2-3.7.5): string ids, no unixtime; channel posts with signatures
    ("era4_string_no_unixtime.json", "1", {
        "kind": "system", "text": "Channel «Market Notes» created", "sent_at": utc(2021, 3, 27, 7),
    }),
    ("era4_string_no_unixtime.json", "2", {
        "sender": Sender("channel1500000002", "Market Notes"), "text": "EUR/USD outlook: report",
    }),
    ("era4_string_no_unixtime.json", "3", {
        "kind": "media", "text": "Chart", "sent_at": utc(2021, 3, 28, 1, 30),
        "attachments": (
            Attachment("photo_1@28-03-2021_02-30-00.jpg", "photos/photo_1@28-03-2021_02-30-00.jpg"),
        ),
    }),
    ("era4_string_no_unixtime.json", "4", {
        "edited": True, "edited_at": utc(2021, 6, 1, 8, 20), "kind": "media",
        "attachments": (Attachment(
            "audio_1@01-06-2021_10-00-00.ogg", "voice_messages/audio_1@01-06-2021_10-00-00.ogg",
            "audio/ogg",
        ),),
    }),
    ("era4_string_no_unixtime.json", "7", {
        "text": "Q3 deck",
        "attachments": (Attachment("Q3 outlook.pdf", "files/Q3 outlook.pdf", "application/pdf"),),
    }),
    # current era: date_unixtime, text_entities, reactions, sizes, the three placeholders
    ("era5_current.json", "1001", {
        "sender": Sender("user7100000001", "Sam Lee"), "sent_at": utc(2024, 3, 15, 9, 0),
        "sent_at_text": "2024-03-15T10:00:00", "text": "Hi Ana, quick one on the GBP swap",
        "kind": "text", "edited": False,
    }),
    ("era5_current.json", "1002", {
        "kind": "media", "text": "",
        "attachments": (Attachment("photo", None, None, 123456, PH_NOT),),
    }),
    ("era5_current.json", "1003", {
        "attachments": (Attachment("deal_recording.mp4", None, "video/mp4", 104857600, PH_BIG),),
    }),
    ("era5_current.json", "1004", {
        "attachments": (
            Attachment("audio_1@15-03-2024_10-03-00.ogg", None, "audio/ogg", None, PH_UNAV),
        ),
    }),
    ("era5_current.json", "1005", {
        "kind": "call", "sender": Sender("user7100000001", "Sam Lee"),
        "text": "Sam Lee made a phone call (56 seconds, hangup)",
    }),
    ("era5_current.json", "1006", {
        "kind": "contact", "text": "Lee Broker +44 20 7946 0000",
        "attachments": (Attachment("contact_1.vcf", "contacts/contact_1.vcf", "text/vcard"),),
    }),
    ("era5_current.json", "1007", {
        "kind": "location", "text": "Exchange Square\n1 Exchange Sq, London",
    }),
    ("era5_current.json", "1009", {"sender": Sender("user99", None)}),
    ("era5_current.json", "1010", {"forwarded_from": None}),
    ("era5_current.json", "1011", {
        "text": "🔥 quote https://example.com/q", "reply_to": "77",
    }),
    ("era5_current.json", "1012", {
        "edited": True, "edited_at": utc(2024, 3, 15, 9, 15), "sent_at": utc(2024, 3, 15, 9, 11),
    }),
    ("era5_current.json", "1013", {
        "kind": "media", "text": "Term sheet",
        "attachments": (
            Attachment("term_sheet.pdf", "files/term_sheet.pdf", "application/pdf", 48213),
        ),
    }),
]  # fmt: skip


@pytest.mark.parametrize(("fixture", "msg_id", "expected"), EXPECTED)
def test_message_fields(fixture: str, msg_id: str, expected: dict[str, Any]) -> None:
    message = by_id(parse(fixture))[msg_id]
    assert {k: getattr(message, k) for k in expected} == expected
    assert message.chat_key == chats(parse(fixture))[0].key


@pytest.mark.parametrize(
    ("fixture", "key", "title", "type_", "extra"),
    [
        ("era1_no_from_id.json", "name:Marta Keller", "Marta Keller", "personal_chat", {}),
        ("era2_bare_int.json", "312345678", "Ops Desk", "private_group", {}),
        ("era3_shifted_int.json", "1400000001", "Rates Chat", "public_supergroup",
         {"id_as_written": (1 << 33) + 1400000001}),
        ("era4_string_no_unixtime.json", "1500000002", "Market Notes", "private_channel", {}),
        # a modern 64-bit user id above 2^32 is NOT unshifted: the era is the string era
        ("era5_current.json", "7100000001", "Sam Lee", "personal_chat", {}),
        ("escapes_v4_1_0.json", "5123456789", "Bot Desk", "bot_chat", {}),
        ("saved_messages.json", "42", "Saved Messages", "saved_messages", {}),
    ],
)  # fmt: skip
def test_chat_keys(
    fixture: str, key: str, title: str | None, type_: str, extra: dict[str, Any]
) -> None:
    records = parse(fixture)
    assert isinstance(records[0], Chat)
    assert chats(records) == [Chat("telegram", key, title, type_, {"section": "single", **extra})]


@pytest.mark.parametrize(
    ("fixture", "era"),
    [
        ("era1_no_from_id.json", "tdesktop 1.3.8 - 1.4.7 (no from_id)"),
        ("era2_bare_int.json", "tdesktop 1.4.8 - 2.3.x (bare integer from_id)"),
        ("era3_shifted_int.json", "tdesktop 2.4.0 - 2.7.1 (shifted integer from_id)"),
        ("era4_string_no_unixtime.json",
         "tdesktop 2.7.2 - 3.7.5 (string from_id, no date_unixtime)"),
        ("escapes_v4_1_0.json", "tdesktop 3.7.6 - 4.1.1 (date_unixtime, no text_entities)"),
        ("era5_current.json", "tdesktop >= 4.1.2 (text_entities)"),
    ],
)  # fmt: skip
def test_era_is_detected(fixture: str, era: str) -> None:
    f = facts(parse(fixture))
    assert f["exporter_era"] == era
    assert f["export_kind"] == "single"


def test_edit_placeholder_is_kept_but_not_an_edit() -> None:
    m = by_id(parse("era1_no_from_id.json"))["101"]
    assert m.extra == {"edited_placeholder": "1970-01-01T01:00:00", "sender_key_source": "name"}


def test_service_keeps_raw_action_and_actor() -> None:
    m = by_id(parse("era2_bare_int.json"))["1"]
    assert m.extra is not None
    assert m.extra["action"] == {
        "action": "create_group",
        "title": "Ops Desk",
        "members": ["Anna Berg", "Ben Ott", None],
    }
    assert (m.extra["actor"], m.extra["actor_id"], m.extra["actor_id_as_written"]) == (
        "Anna Berg",
        "user201",
        201,
    )


def test_poll_location_sticker_extras() -> None:
    ms = by_id(parse("era2_bare_int.json"))
    assert ms["4"].extra is not None and ms["4"].extra["poll"] == {
        "question": "Move standup to 9:30?",
        "answers": [
            {"text": "Yes", "voters": 2, "chosen": True},
            {"text": "No", "voters": 1, "chosen": False},
        ],
        "total_voters": 3,
        "closed": False,
    }
    assert ms["6"].extra is not None
    assert ms["6"].extra["location"] == {
        "coordinates": {"latitude": 50.110924, "longitude": 8.682127}
    }
    assert ms["5"].extra is not None and ms["5"].extra["media"] == {
        "type": "sticker",
        "media_type": "sticker",
        "sticker_emoji": "👍",
        "width": 512,
        "height": 512,
        "thumbnail": "stickers/sticker.webp_thumb.jpg",
    }


@pytest.mark.parametrize(
    ("msg_id", "media_type", "duration"),
    [("4", "voice", 7), ("5", "round_video", 12), ("6", "animation", 3), ("8", "video", 95)],
)
def test_media_kinds(msg_id: str, media_type: str, duration: int) -> None:
    m = by_id(parse("era4_string_no_unixtime.json"))[msg_id]
    assert m.kind == "media" and m.extra is not None
    assert (m.extra["media"]["type"], m.extra["media"]["duration_seconds"]) == (
        media_type,
        duration,
    )


def test_channel_post_author_and_entities() -> None:
    m = by_id(parse("era4_string_no_unixtime.json"))["2"]
    assert m.extra == {
        "author": "Dana Wu",
        "entities": [
            {"type": "bold", "text": "EUR/USD"},
            {"type": "plain", "text": " outlook: "},
            {"type": "text_link", "text": "report", "href": "https://example.com/r/1"},
            {"type": "plain", "text": ""},
        ],
    }


def test_dst_notes_and_facts() -> None:
    records = parse("era3_shifted_int.json")
    ms = by_id(records)
    notes = {k: (m.extra or {}).get("time_note") for k, m in ms.items()}
    assert notes["3"] == "dst-ambiguous"
    assert notes["4"] == notes["5"] == "dst-ambiguous-fold1"
    assert facts(records)["dst"] == {
        "ambiguous": 3,
        "second_occurrence": 2,
        "nonexistent_moved_forward": 0,
    }
    gap = by_id(parse("era4_string_no_unixtime.json"))["3"]
    assert gap.extra is not None and gap.extra["time_note"] == "dst-gap"


def test_current_era_extras() -> None:
    ms = by_id(parse("era5_current.json"))
    assert ms["1001"].extra == {
        "reactions": [
            {
                "type": "emoji",
                "count": 1,
                "emoji": "👍",
                "recent": [
                    {"from": "Ana Ruiz", "from_id": "user42", "date": "2024-03-15T10:00:30"}
                ],
            }
        ]
    }
    assert ms["1010"].extra == {"forwarded_from_hidden": True}
    extra = ms["1011"].extra
    assert extra is not None
    assert extra["reply_to_peer_id"] == "channel5"
    assert extra["via_bot"] == "@quotebot"
    assert extra["raw_unknown"] == {"paid_stars_amount": 10}
    assert extra["entities"][0] == {
        "type": "custom_emoji",
        "text": "🔥",
        "document_id": "stickers/sticker (2).webm",
    }
    assert extra["inline_bot_buttons"] == [
        [{"type": "url", "text": "Open", "data": "https://example.com/q"}]
    ]
    assert ms["1003"].extra is not None and ms["1003"].extra["media"]["thumbnail"] == PH_BIG


def test_unsupported_message_is_unparsed_and_noticed() -> None:
    records = parse("era5_current.json")
    [u] = unparsed(records)
    assert (u.raw, u.chat_key) == ('{"id": 1008, "type": "unsupported"}', "7100000001")
    assert "unsupported" in u.reason
    assert "1008" not in by_id(records)
    [n] = notices(records)
    assert (n.code, n.chat_key) == ("unsupported-messages", "7100000001")
    assert "1 message(s)" in n.message
    assert facts(records)["chats"] == [
        {
            "key": "7100000001",
            "title": "Sam Lee",
            "type": "personal_chat",
            "section": "single",
            "messages": 12,
            "unparsed": 1,
            "unsupported": 1,
        }
    ]


def test_messages_come_in_file_order_with_lines() -> None:
    ms = messages(parse("era5_current.json"))
    assert [m.msg_id for m in ms][:3] == ["1001", "1002", "1003"]
    text = (FIXTURES / "era5_current.json").read_text(encoding="utf-8").splitlines()
    for m in ms:
        assert m.line is not None
        assert text[m.line - 1] == "  {"
        assert f'   "id": {m.msg_id},' == text[m.line]


def test_saved_messages_without_name() -> None:
    [m] = messages(parse("saved_messages.json"))
    assert (m.forwarded_from, m.extra) == ("Sam Lee", {"saved_from": "Sam Lee"})


# --- full-account export ----------------------------------------------------------------


def test_full_account_export() -> None:
    unit = dir_unit(FIXTURES / "full_account", wrap="DataExport_2024-03-15")
    records = list(TelegramJsonParser().parse(unit, options()))
    kinds = [
        (type(r).__name__, getattr(r, "key", None) or getattr(r, "msg_id", None)) for r in records
    ]
    assert kinds == [
        ("Chat", "7100000001"), ("Message", "1"), ("Message", "2"),
        ("Chat", "1600000003"), ("Message", "10"), ("Message", "11"), ("Notice", None),
        ("Chat", "1600000004"), ("Message", "20"),
        ("Chat", "42"),
        ("Chat", "1600000005"), ("Message", "30"), ("Notice", None),
        ("ParseFacts", None),
    ]  # fmt: skip
    sections = {c.key: c.extra["section"] for c in chats(records)}
    assert sections == {
        "7100000001": "chats",
        "1600000003": "chats",
        "1600000004": "chats",
        "42": "chats",
        "1600000005": "left_chats",
    }
    partial = notices(records)
    assert [(n.code, n.chat_key) for n in partial] == [
        ("probably-partial", "1600000003"),
        ("probably-partial", "1600000005"),
    ]
    assert "only my messages" in partial[0].message
    f = facts(records)
    assert f["export_kind"] == "full"
    assert f["personal_information"] == {"user_id": 42}
    assert f["sections"] == {"contacts": 2, "frequent_contacts": 1}
    photo = by_id(records)["2"].attachments
    assert photo == (
        Attachment(
            "photo_1@15-03-2024_10-01-00.jpg",
            "chats/chat_1/photos/photo_1@15-03-2024_10-01-00.jpg",
            None,
            2048,
        ),
    )


# --- sniffing ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"ChatExport/result.json": b'{\n "name": "x"', "ChatExport/photos/a.jpg": b""}, True),
        ({"result.json": b"\xef\xbb\xbf{}"}, True),
        ({"chat.json": b'{"name": "x", "type": "personal_chat", "messages": []}'}, True),
        ({"export.json": b'{"about": "", "personal_information": {"user_id": 1}}'}, True),
        ({"data.json": b'{"rows": [1, 2], "type": "table"}'}, False),
        ({"WhatsApp Chat with Bob.txt": b"12/03/2024, 10:00 - Bob: hi"}, False),
        ({"messages.html": b"<!DOCTYPE html>"}, False),
    ],
)  # fmt: skip
def test_sniff(files: dict[str, bytes], expected: bool) -> None:
    assert TelegramJsonParser().sniff(bytes_unit(files)) is expected


# --- layouts the fast path does not expect ------------------------------------------------


def _records_without_lines(data: bytes) -> list[Any]:
    out = []
    for r in TelegramJsonParser().parse(bytes_unit({"result.json": data}), options()):
        if isinstance(r, Message | Unparsed):
            r = dataclasses.replace(r, line=None)
        out.append(r)
    return out[:-1]  # ParseFacts differ in layout counters


def test_minified_and_reindented_files_parse_the_same() -> None:
    pretty = (FIXTURES / "era5_current.json").read_bytes()
    doc = json.loads(pretty)
    minified = json.dumps(doc, ensure_ascii=False).encode()
    four = json.dumps(doc, ensure_ascii=False, indent=4).encode()
    # hand-edited: one message indented differently from the others
    mixed = pretty.replace(b'  {\n   "id": 1002,', b'   {\n   "id": 1002,', 1)
    expected = _records_without_lines(pretty)
    assert len(expected) == 15
    for variant in (minified, four, mixed):
        assert _records_without_lines(variant) == expected


def test_first_message_of_a_sender_and_later_ones_agree() -> None:
    msg = {
        "id": 1, "type": "message", "date": "2024-01-01T00:00:00", "date_unixtime": "1704067200",
        "from": "A", "from_id": "user1", "reply_to_message_id": 9,
        "text": ["x ", {"type": "bold", "text": "y"}],
        "text_entities": [{"type": "plain", "text": "x "}, {"type": "bold", "text": "y"}],
    }  # fmt: skip
    doc = {"name": "c", "type": "personal_chat", "id": 1, "messages": [msg, {**msg, "id": 2}]}
    data = json.dumps(doc, indent=1).encode()
    first, second = messages(
        TelegramJsonParser().parse(bytes_unit({"result.json": data}), options())
    )
    assert first.msg_id == "1" and second.msg_id == "2"
    fields = [f for f in Message.__slots__ if f not in ("msg_id", "line")]
    assert [getattr(first, f) for f in fields] == [getattr(second, f) for f in fields]


# --- errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "offset"),
    [
        # a missing comma in the chat header (structure, parsed by ijson)
        # (yajl stops at the end of the unexpected token: the "id" key, bytes 42-45)
        (b'{\n "name": "x",\n "type": "personal_chat"\n "id": 1,\n "messages": []\n}', 45),
        # an error inside a message (the fast path)
        (
            b'{\n "name": "x",\n "id": 1,\n "messages": [\n  {\n   "id": 1,\n'
            b'   "text": "a" "b"\n  }\n ]\n}',
            72,
        ),
        # not repairable: \x without two hex digits
        (b'{\n "name": "x",\n "id": 1,\n "messages": [\n  {\n   "text": "\\xZZ"\n  }\n ]\n}', 57),
    ],
)
def test_invalid_json_names_file_and_offset(data: bytes, offset: int) -> None:
    with pytest.raises(ParseError) as err:
        list(TelegramJsonParser().parse(bytes_unit({"result.json": data}), options()))
    assert str(err.value).startswith("result.json: ")
    assert f"at byte {offset};" in str(err.value)


def test_truncated_file_is_a_parse_error() -> None:
    data = (FIXTURES / "era5_current.json").read_bytes()[:-400]
    with pytest.raises(ParseError, match=r"^result\.json: "):
        list(TelegramJsonParser().parse(bytes_unit({"result.json": data}), options()))


def test_notice_and_messages_use_the_same_chat_key() -> None:
    records = parse("era5_current.json")
    keys = {getattr(r, "chat_key", None) for r in records if isinstance(r, Message | Notice)}
    assert keys == {"7100000001"}


# --- the sample export shipped with the repository ---------------------------------------


def test_sample_export_folder() -> None:
    folder = SAMPLES / "ChatExport_2024-03-15"
    unit = dir_unit(folder, wrap="ChatExport_2024-03-15")
    assert TelegramJsonParser().sniff(unit)
    records = list(TelegramJsonParser().parse(unit, options("Europe/London")))
    ms = by_id(records)
    assert [m.kind for m in ms.values()] == [
        "system", "text", "text", "text", "media", "text", "call", "text", "media", "poll",
        "media", "system",
    ]  # fmt: skip
    assert ms["3"].reply_to == "2"
    assert ms["6"].forwarded_from == "Compliance Alerts"
    assert (ms["8"].edited, ms["8"].edited_at) == (True, utc(2024, 3, 15, 8, 22, 40))
    for m in ms.values():
        for a in m.attachments:
            assert a.path is None or (folder / a.path).is_file()
    assert (
        ms["9"].attachments[0].size
        == (folder / "files/trade_confirmation_TX-20931.pdf").stat().st_size
    )
    assert sum(p.stat().st_size for p in SAMPLES.rglob("*") if p.is_file()) < 200_000


def _json_exports(tmp_path: Path) -> list[Path]:
    generated = tmp_path / "generated.json"
    subprocess.run(
        [sys.executable, str(REPO / "bench" / "gen_telegram.py"), "3000", str(generated)],
        check=True,
        capture_output=True,
    )
    return [
        *sorted(FIXTURES.glob("*.json")),
        *sorted(FIXTURES.glob("*/result.json")),
        *sorted(SAMPLES.glob("*/result.json")),
        generated,
    ]


def test_the_fast_path_gives_exactly_what_the_general_path_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    exports = _json_exports(tmp_path)
    fast = [
        list(TelegramJsonParser().parse(file_unit(p, "result.json"), options())) for p in exports
    ]
    monkeypatch.setattr(telegram_json._Chat, "convert", telegram_json._Chat._general)
    general = [
        list(TelegramJsonParser().parse(file_unit(p, "result.json"), options())) for p in exports
    ]
    for path, got, want in zip(exports, fast, general, strict=True):
        assert got == want, path
    # the generated export exercises every shape the fast path takes
    shapes = [m for m in fast[-1] if isinstance(m, Message)]
    assert {m.kind for m in shapes} >= {"text", "media", "system"}
    assert any(m.edited for m in shapes) and any(m.reply_to for m in shapes)
