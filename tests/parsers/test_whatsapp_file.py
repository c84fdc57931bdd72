"""Whole-file behaviour: framing, line ends, encodings, errors, date order, time zones,
truncation, sniffing and chat titles; and the locale fixtures against their expected
output (one per platform, shared by every locale)."""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from archiver.core.errors import AmbiguousDateOrder, ParseError
from archiver.core.model import Chat, Message, Notice, ParseFacts, Record, Unparsed
from archiver.parsers.base import ExportFile, ExportUnit
from archiver.parsers.whatsapp import WhatsAppParser, chat_title, find_chat_file
from tests.parsers.conftest import WA_FIXTURES, chat_of, memory_unit, parse

Parse = Callable[..., list[Record]]
Messages = Callable[..., list[Message]]
Unit = Callable[..., ExportUnit]


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def facts(records: list[Record]) -> dict[str, Any]:
    assert isinstance(records[-1], ParseFacts)
    return dict(records[-1].facts)


def of(records: list[Record], kind: type) -> list[Any]:
    return [r for r in records if isinstance(r, kind)]


# --- framing: line ends, BOM, final newline, empty files ------------------------------------

THREE = (
    "14/03/2024, 09:00 - Anna: Term sheet attached.\n"
    "Second line\n"
    "\n"
    "Fourth line after a blank one\n"
    "14/03/2024, 09:05 - Ben: Thanks\n"
)


@pytest.mark.parametrize(
    ("newline", "name"),
    [("\n", "lf"), ("\r\n", "crlf"), ("\r", "cr"), ("\r\r\n", "crcrlf")],
)
def test_line_ends_give_the_same_messages(parse_text: Parse, newline: str, name: str) -> None:
    records = parse_text(THREE, newline=newline)
    anna, ben = of(records, Message)
    assert anna.text == "Term sheet attached.\nSecond line\n\nFourth line after a blank one"
    assert (anna.line, ben.line, ben.text) == (1, 5, "Thanks")
    assert facts(records)["line_ending"] == name
    assert facts(records)["blank_lines_dropped"] == 0


@pytest.fixture
def parse_text(wa_parse: Parse) -> Parse:
    return wa_parse


def test_mixed_line_ends(parse_text: Parse) -> None:
    records = parse_text("14/03/2024, 09:00 - A: x\r\n14/03/2024, 09:01 - B: y\n")
    assert facts(records)["line_ending"] == "mixed"
    assert [m.text for m in of(records, Message)] == ["x", "y"]


def test_stray_cr_before_lf_inside_a_body(parse_text: Parse) -> None:
    text = "2024/01/02 03:04 - Alice: first line\r\nsecond line\n2024/01/02 03:05 - Bob: ok\n"
    alice, _ = of(parse_text(text), Message)
    assert alice.text == "first line\nsecond line"


def test_bom_at_start_and_mid_file(parse_text: Parse) -> None:
    text = "14/03/2024, 09:00 - A: x\n\ufeff14/03/2024, 09:01 - B: y\n"
    records = parse_text(text, bom=True)
    assert [(m.sender.name, m.text) for m in of(records, Message)] == [("A", "x"), ("B", "y")]
    assert facts(records)["bom"] is True


def test_missing_final_newline(parse_text: Parse) -> None:
    records = parse_text("14/03/2024, 09:00 - A: x\n14/03/2024, 09:01 - B: last words")
    assert of(records, Message)[-1].text == "last words"


def test_trailing_blank_lines_are_dropped_and_counted(parse_text: Parse) -> None:
    records = parse_text("14/03/2024, 09:00 - A: x\n\n14/03/2024, 09:01 - B: y\n\n\n")
    assert [m.text for m in of(records, Message)] == ["x", "y"]
    assert facts(records)["blank_lines_dropped"] == 3


@pytest.mark.parametrize(
    ("content", "what"),
    [(b"", "is empty"), (b"\xef\xbb\xbf", "is empty"), (b"\n\n  \n", "holds only blank lines")],
)
def test_an_empty_file_is_refused_with_what_it_holds(
    wa_unit: Unit, parse_text: Parse, content: bytes, what: str
) -> None:
    with pytest.raises(ParseError) as err:
        parse_text(wa_unit(content))
    assert str(err.value) == (
        f"WhatsApp Chat with Test.txt {what}: no message to ingest. WhatsApp writes at least "
        "its end-to-end encryption notice into every export, so the file was cut or is not the "
        "export itself; export the chat again from the phone."
    )


def test_lines_before_the_first_header_are_unparsed(parse_text: Parse) -> None:
    records = parse_text("Chat history\n\n14/03/2024, 09:00 - Ben: hi\n")
    (unparsed,) = of(records, Unparsed)
    assert unparsed == Unparsed("Chat history", "before the first message header", 1, "Test")
    assert of(records, Message)[0].line == 3
    assert facts(records)["unparsed_lines"] == 1


def test_records_come_in_order_chat_first_facts_last(parse_text: Parse) -> None:
    records = parse_text("junk\n14/03/2024, 09:00 - Ben: hi\n")
    assert [type(r) for r in records] == [Chat, Unparsed, Message, ParseFacts]
    assert chat_of(records) == Chat(
        "whatsapp", "Test", "Test", None, {"file": "WhatsApp Chat with Test.txt"}
    )


# --- bodies that look like headers, order, facts ------------------------------------------


def test_body_lines_that_look_like_dates_or_times_stay_in_the_body(parse_text: Parse) -> None:
    body = [
        "2016-04-29 10:30:00",
        "20.15.21.15 h Stock Donnerstag  18.19 h",
        "16:45 works for me, 8:00 does not",
        "[14.03.24, 09:00:00] Pasted: a line copied from an iPhone chat",
        "14/03/2024 09:05 Meeting: no dash, so not this file's header",
    ]
    text = "14/03/2024, 09:00 - Anna: Notes:\n" + "\n".join(body) + "\n"
    records = parse_text(text + "14/03/2024, 09:10 - Ben: ok\n")
    anna, ben = of(records, Message)
    assert anna.text == "Notes:\n" + "\n".join(body)
    assert ben.line == 7
    assert facts(records)["header_lines"] == 2
    assert facts(records)["header_like_body_lines"] == 1  # the iOS-shaped pasted line
    assert facts(records)["style"] == "android"


def test_out_of_order_timestamps_are_kept_in_file_order(parse_text: Parse) -> None:
    records = parse_text("12/21/20, 23:50 - A: first\n12/21/20, 23:49 - B: second\n")
    a, b = of(records, Message)
    assert (a.text, b.text) == ("first", "second")
    assert a.sent_at == utc("2020-12-21T23:50") and b.sent_at == utc("2020-12-21T23:49")
    assert facts(records)["out_of_order"] == 1


def test_parse_facts(parse_text: Parse) -> None:
    text = (
        '[1/1/23, 7:02:00\u202fPM] Team: \u200eYou created group "Team"\n'
        "[1/1/23, 7:03:00\u202fPM] Ann: hi\n"
    )
    got = facts(parse_text(text, tz="America/New_York"))
    assert got | {"shape": None} == {
        "chat_file": "WhatsApp Chat with Test.txt",
        "tz": "America/New_York",
        "date_order": "dmy",
        "date_order_evidence": "day equals month in every date (e.g. '1/1/23'), so the "
        "order does not matter",
        "style": "ios",
        "shape": None,
        "12h": True,
        "title_is_a_person": False,
        "header_lines": 2,
        "messages": 2,
        "unparsed_lines": 0,
        "blank_lines_dropped": 0,
        "header_like_body_lines": 0,
        "out_of_order": 0,
        "media_attached": 0,
        "group_events": 1,
        "impossible_headers": 0,
        "kinds": dict(call=0, contact=0, deleted=0, location=0, media=0, poll=0, system=1, text=1),
        "line_ending": "lf",
        "group_evidence": True,
        "encoding": "utf-8",
        "encoding_evidence": "valid UTF-8",
        "bom": False,
        "undecodable_bytes": 0,
        "dst_gap_shifted": 0,
        "dst_second_occurrence": 0,
        "unrecognised_placeholders": 0,
        "language": "en",
        "language_name": "English",
        "language_evidence": "the file name ('WhatsApp Chat with Test'), 1 system event(s)",
        "language_votes": {"en": 4},
        "language_coverage": [
            "titles",
            "media",
            "attached",
            "deleted",
            "edited",
            "events",
            "twelve_hour",
            "location",
            "document",
            "poll",
        ],
    }
    json.dumps(got)  # JSON-serialisable


# --- time zones and daylight saving time --------------------------------------------------


def test_dst_gap_is_shifted_forward_with_one_notice(parse_text: Parse) -> None:
    """Europe/Berlin, 31 March 2024: 02:00 CET jumps to 03:00 CEST."""
    text = (
        "31/03/2024, 01:59 - A: before\n"
        "31/03/2024, 02:30 - A: in the gap\n"
        "31/03/2024, 02:45 - A: also in the gap\n"
        "31/03/2024, 03:00 - A: after\n"
    )
    records = parse_text(text, tz="Europe/Berlin")
    assert [m.sent_at for m in of(records, Message)] == [
        utc("2024-03-31T00:59"),
        utc("2024-03-31T01:30"),  # = 03:30 CEST
        utc("2024-03-31T01:45"),
        utc("2024-03-31T01:00"),
    ]
    (notice,) = of(records, Notice)
    assert notice.code == "nonexistent-local-time"
    assert "'31/03/2024, 02:30' (line 2) does not exist in Europe/Berlin" in notice.message
    assert facts(records)["dst_gap_shifted"] == 2


def test_dst_fall_back_uses_the_second_occurrence_once_the_clock_goes_back(
    parse_text: Parse,
) -> None:
    """Europe/Berlin, 27 October 2024: 03:00 CEST falls back to 02:00 CET."""
    text = (
        "27/10/2024, 01:55 - A: before\n"
        "27/10/2024, 02:30 - A: first 02:30 (CEST)\n"
        "27/10/2024, 02:50 - A: still CEST\n"
        "27/10/2024, 02:10 - B: the clock went back: CET\n"
        "27/10/2024, 02:10 - B: same minute\n"
        "27/10/2024, 02:40 - A: still the second pass\n"
        "27/10/2024, 03:05 - A: after\n"
    )
    records = parse_text(text, tz="Europe/Berlin")
    assert [m.sent_at for m in of(records, Message)] == [
        utc("2024-10-26T23:55"),
        utc("2024-10-27T00:30"),
        utc("2024-10-27T00:50"),
        utc("2024-10-27T01:10"),
        utc("2024-10-27T01:10"),
        utc("2024-10-27T01:40"),
        utc("2024-10-27T02:05"),
    ]
    assert facts(records)["dst_second_occurrence"] == 3
    assert facts(records)["out_of_order"] == 0


def test_zone_offsets_across_a_long_export(parse_text: Parse) -> None:
    text = "15/01/2024, 12:00 - A: winter\n15/07/2024, 12:00 - A: summer\n"
    winter, summer = of(parse_text(text, tz="America/New_York"), Message)
    assert winter.sent_at == utc("2024-01-15T17:00") and summer.sent_at == utc("2024-07-15T16:00")


# --- date order ----------------------------------------------------------------------------

ORDERS = [
    ("23/06/2018, 13:55 - A: x\n", "dmy", "day > 12 in '23/06/2018' (line 1)"),
    ("01/01/2018, 10:00 - A: x\n06/23/2018, 13:55 - A: y\n", "mdy",
     "day > 12 in '06/23/2018' (line 2)"),
    ("11/01/2018, 10:00 - A: x\n02/02/2018, 10:00 - A: y\n", "dmy",
     "the first part goes back from 11 to 2 between '11/01/2018' (line 1) and '02/02/2018' "
     "(line 2) within one year; months cannot go back, so it is the day"),
    ("06/03/2017, 00:45 - A: x\n08/05/2017, 01:48 - A: y\n09/04/2017, 01:50 - A: z\n", "mdy",
     "the second part goes back from 5 to 4 between '08/05/2017' (line 2) and '09/04/2017' "
     "(line 3) within one year; months cannot go back, so it is the day"),
    ("01/01/2023, 10:00 - A: x\n02/02/2023, 10:00 - A: y\n", "dmy",
     "day equals month in every date (e.g. '01/01/2023'), so the order does not matter"),
    ("[2019/11/21, 13:58:48] A: x\n", "ymd", "year first in '2019/11/21' (line 1)"),
    ("12/12/2019, 10:00 - A: x\n11/12/2019, 10:00 - A: y\n", "dmy",
     "the first part goes back from 12 to 11 between '12/12/2019' (line 1) and '11/12/2019' "
     "(line 2) within one year; months cannot go back, so it is the day"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "order", "evidence"), ORDERS)
def test_date_order_rules(parse_text: Parse, text: str, order: str, evidence: str) -> None:
    got = facts(parse_text(text))
    assert (got["date_order"], got["date_order_evidence"]) == (order, evidence)


def test_date_order_from_a_later_line_applies_to_the_whole_file(parse_text: Parse) -> None:
    text = "06/03/2017, 10:00 - A: early\n" + "07/03/2017, 10:00 - A: x\n" * 50
    text += "13/03/2017, 10:00 - A: decides\n"
    first = of(parse_text(text), Message)[0]
    assert first.sent_at == utc("2017-03-06T10:00")


def test_forced_date_order(parse_text: Parse) -> None:
    records = parse_text("3/6/18, 1:55 p.m. - a: m\n", order="mdy")
    assert of(records, Message)[0].sent_at == utc("2018-03-06T13:55")
    assert facts(records)["date_order_evidence"] == "given by the operator (--date-order mdy)"


def test_undecidable_date_order_names_the_fix(parse_text: Parse) -> None:
    with pytest.raises(AmbiguousDateOrder) as raised:
        parse_text("12/9/20, 23:55 - Bob: hello\n")
    assert str(raised.value) == (
        "WhatsApp Chat with Test.txt: cannot tell whether dates are day-first or month-first "
        "(no day above 12, and the dates never go back). '12/9/20' (line 1) is 2020-09-12 with "
        "--date-order dmy or 2020-12-09 with --date-order mdy. Re-run with --date-order dmy "
        "or --date-order mdy."
    )


def test_contradicting_dates_are_an_error(parse_text: Parse) -> None:
    with pytest.raises(AmbiguousDateOrder) as raised:
        parse_text("23/06/2018, 10:00 - A: x\n06/24/2018, 10:00 - A: y\n")
    assert str(raised.value) == (
        "WhatsApp Chat with Test.txt: the dates contradict each other: day > 12 in "
        "'23/06/2018' (line 1) means day-first, but day > 12 in '06/24/2018' (line 2) means "
        "month-first. Re-run with --date-order dmy or --date-order mdy; dates that do not fit "
        "that order are kept as unparsed lines."
    )


def test_both_parts_going_back_is_an_error(parse_text: Parse) -> None:
    text = "05/03/2017, 10:00 - A: x\n04/04/2017, 10:00 - A: y\n06/02/2017, 10:00 - A: z\n"
    with pytest.raises(AmbiguousDateOrder, match="both the first and the second part go back"):
        parse_text(text)


def test_a_date_impossible_in_the_forced_order_is_unparsed(parse_text: Parse) -> None:
    records = parse_text("23/06/2018, 10:00 - A: x\ncontinued\n24/06/2018, 10:00 - A: y\n",
                         order="mdy")  # fmt: skip
    first, second = of(records, Unparsed)
    assert first == Unparsed(
        "23/06/2018, 10:00 - A: x\ncontinued",
        "impossible date or time '23/06/2018, 10:00' (date order mdy)",
        1,
        "Test",
    )
    assert second.line == 3 and of(records, Message) == []
    assert facts(records)["unparsed_lines"] == 3 and facts(records)["messages"] == 0


# --- bad input -----------------------------------------------------------------------------


def test_text_without_any_header_is_refused(parse_text: Parse) -> None:
    with pytest.raises(ParseError) as raised:
        parse_text("Dear all,\nplease find the minutes below.\n")
    assert str(raised.value) == (
        "no WhatsApp message header found in WhatsApp Chat with Test.txt; is this a WhatsApp "
        "'Export chat' file? (expected lines like '23/06/2018, 13:55 - Name: text' or "
        "'[23.06.18, 13:55:12] Name: text')"
    )


def test_a_unit_without_a_chat_text_is_refused(parse_text: Parse) -> None:
    unit = memory_unit("photos.zip", [("IMG-1.jpg", b"x"), ("IMG-2.jpg", b"y")])
    with pytest.raises(ParseError, match=r"photos\.zip: no WhatsApp chat text found"):
        parse_text(unit)


# --- truncation and memory -------------------------------------------------------------------


def _many(n: int, body: str = "ok") -> bytes:
    line = f"14/03/2024, 09:00 - Ben: {body}\n".encode()
    return line * n


@pytest.mark.parametrize(
    ("n", "body", "truncated"),
    [
        (38_999, "ok", False),
        (39_000, "ok", True),
        (9_799, "IMG-1.jpg (file attached)", False),
        (9_800, "IMG-1.jpg (file attached)", True),
    ],
)
def test_probably_truncated_notice(
    wa_unit: Unit, parse_text: Parse, n: int, body: str, truncated: bool
) -> None:
    records = parse_text(wa_unit(_many(n, body)))
    notices = [r for r in of(records, Notice) if r.code == "probably-truncated"]
    assert len(notices) == int(truncated)
    if truncated:
        kind = "with media" if "attached" in body else "without media"
        assert f"{n} messages in an export {kind}" in notices[0].message
        assert records[-2] is notices[0]  # just before the facts
    assert facts(records)["messages"] == n


def test_memory_does_not_grow_while_streaming(tmp_path: Path) -> None:
    """Memory in use is the same after 3,000 and after 27,000 records, and the peak
    (one-off costs such as compiling the file's header regex) stays small."""
    path = tmp_path / "WhatsApp Chat with Big.txt"
    path.write_bytes(_many(30_000, "a normal message of some length, nothing special"))
    size = path.stat().st_size
    unit = ExportUnit(path.name, [ExportFile(path.name, size, lambda: path.open("rb"))])
    in_use: dict[int, int] = {}
    tracemalloc.start()
    try:
        for count, _ in enumerate(WhatsAppParser().parse(unit, _options()), 1):
            if count in (3_000, 27_000):
                in_use[count] = tracemalloc.get_traced_memory()[0]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert count == 30_002  # Chat, messages, ParseFacts
    assert in_use[27_000] - in_use[3_000] < 20_000, in_use  # < 1 byte per record
    assert peak < 3_000_000, f"peak {peak} bytes for a {size} byte file"


def _options() -> Any:
    from zoneinfo import ZoneInfo

    from archiver.parsers.base import ParseOptions

    return ParseOptions(ZoneInfo("UTC"))


def test_parse_is_lazy(wa_unit: Unit) -> None:
    opened: list[str] = []
    unit = wa_unit("14/03/2024, 09:00 - Ben: ok\n")
    file = unit.files[0]

    def spy_open() -> Any:
        opened.append("open")
        return file.open()

    spy = ExportFile(file.path, file.size, spy_open)
    records = WhatsAppParser().parse(ExportUnit(unit.name, [spy]), _options())
    assert opened == []
    assert isinstance(next(records), Chat)


# --- finding the chat text, chat titles ------------------------------------------------------

HEADER = b"14/03/2024, 09:00 - Ben: ok\n"


@pytest.mark.parametrize(
    ("unit_name", "files", "chat_file", "title"),
    [
        ("WhatsApp Chat - Projekt Nordlicht.zip",
         ["_chat.txt", "00000012-PHOTO-2024-05-06-10-15-22.jpg", "00000014-Angebot.pdf"],
         "_chat.txt", "Projekt Nordlicht"),
        ("Nordlicht export.zip", ["_chat.txt", "00000016-Jana.vcf"], "_chat.txt",
         "Nordlicht export"),
        ("WhatsApp Chat - Team", ["WhatsApp Chat - Team/_chat.txt"],
         "WhatsApp Chat - Team/_chat.txt", "Team"),
        ("WhatsApp Chat with Deal Desk.zip",
         ["WhatsApp Chat with Deal Desk.txt", "IMG-20240314-WA0001.jpg", "notes.txt"],
         "WhatsApp Chat with Deal Desk.txt", "Deal Desk"),
        ("x.zip", ["WhatsApp Chat mit Anna Weber.txt"], "WhatsApp Chat mit Anna Weber.txt",
         "Anna Weber"),
        ("x.zip", ["Conversa do WhatsApp com Fulano.txt", "IMG-20230922-WA0006.jpg.png"],
         "Conversa do WhatsApp com Fulano.txt", "Fulano"),
        ("x.zip", ["Conversa no WhatsApp com Beltrano.txt"],
         "Conversa no WhatsApp com Beltrano.txt", "Beltrano"),
        ("x.zip", ["Chat de WhatsApp con Ana.txt"], "Chat de WhatsApp con Ana.txt", "Ana"),
        ("x.zip", ["Chat WhatsApp con Luca.txt"], "Chat WhatsApp con Luca.txt", "Luca"),
        ("x.zip", ["Discussion WhatsApp avec Léa.txt"], "Discussion WhatsApp avec Léa.txt",
         "Léa"),
        ("x.zip", ["Чат WhatsApp с Иван.txt"], "Чат WhatsApp с Иван.txt", "Иван"),
        ("x.zip", ["与Alice的 WhatsApp 聊天.txt"], "与Alice的 WhatsApp 聊天.txt", "Alice"),
        ("x.zip", ["與Bob的 WhatsApp 對話.txt"], "與Bob的 WhatsApp 對話.txt", "Bob"),
        ("x.zip", ["WhatsApp_Chat_with_John.txt"], "WhatsApp_Chat_with_John.txt", "John"),
        ("sample.zip", ["sample.txt"], "sample.txt", "sample"),
        ("x.zip", ["WhatsApp Chat with Deal Desk EMEA (2).txt"],
         "WhatsApp Chat with Deal Desk EMEA (2).txt", "Deal Desk EMEA"),
        ("WhatsApp Chat - Marcus Lee (1).zip", ["_chat.txt"], "_chat.txt", "Marcus Lee"),
        ("WhatsApp Chat - Marcus Lee(3).zip", ["_chat.txt"], "_chat.txt", "Marcus Lee"),
        ("x.zip", ["WhatsApp Chat with Ops - Copy (2).txt"],
         "WhatsApp Chat with Ops - Copy (2).txt", "Ops"),
        ("x.zip", ["WhatsApp Chat with Ops copy 2.txt"], "WhatsApp Chat with Ops copy 2.txt",
         "Ops"),
        ("x.zip", ["WhatsApp Chat with Ops-1.txt"], "WhatsApp Chat with Ops-1.txt", "Ops"),
        ("x.zip", ["WhatsApp Chat with Team 2024-10.txt"], "WhatsApp Chat with Team 2024-10.txt",
         "Team 2024-10"),
        ("x.zip", ["WhatsApp Chat with Q3-2024.txt"], "WhatsApp Chat with Q3-2024.txt", "Q3-2024"),
        ("x.zip", ["WhatsApp Chat with Ops (1) (1).txt"], "WhatsApp Chat with Ops (1) (1).txt",
         "Ops"),
        ("chat (1).zip", ["_chat.txt"], "_chat.txt", "chat"),
        ("export.zip", ["README.txt", "WhatsApp Chat with Ops.txt"], "WhatsApp Chat with Ops.txt",
         "Ops"),
    ],
)  # fmt: skip
def test_chat_file_and_title(unit_name: str, files: list[str], chat_file: str, title: str) -> None:
    unit = memory_unit(unit_name, [(f, HEADER if f.endswith(".txt") else b"\x00") for f in files])
    found = find_chat_file(unit)
    assert found is not None and found.path == chat_file
    assert WhatsAppParser().sniff(unit)
    assert chat_title(unit, found) == title


@pytest.mark.parametrize(
    "files",
    [
        [("result.json", b'{"chats": []}')],
        [("messages.html", b"<html></html>")],
        [("notes.txt", b"Dear all,\nthe minutes follow.\n")],
        [("a.txt", HEADER), ("b.txt", HEADER)],
        [("IMG-1.jpg", b"\xff\xd8")],
        [("_chat.txt", b"not a chat at all\n")],
    ],
)
def test_sniff_refuses(files: list[tuple[str, bytes]]) -> None:
    assert not WhatsAppParser().sniff(memory_unit("export.zip", files))


def test_sniff_accepts_an_empty_named_export() -> None:
    assert WhatsAppParser().sniff(memory_unit("x", [("WhatsApp Chat with Ann.txt", b"")]))


# --- locale fixtures: one conversation, every locale, one expected output per platform --------

LOCALES = [
    ("en_android", "WhatsApp Chat with Deal Desk.zip", "android"),
    ("de_android", "WhatsApp Chat mit Deal Desk.zip", "android"),
    ("en_ios", "WhatsApp Chat - Deal Desk.zip", "ios"),
    ("de_ios", "WhatsApp Chat - Deal Desk.zip", "ios"),
    ("es_ios", "WhatsApp Chat - Deal Desk.zip", "ios"),
]


@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["lf", "crlf"])
@pytest.mark.parametrize(("folder", "zip_name", "platform"), LOCALES, ids=[x[0] for x in LOCALES])
def test_locale_fixture_matches_the_platform_expectation(
    wa_fixture_zip: Callable[..., ExportUnit], folder: str, zip_name: str, platform: str,
    newline: str,
) -> None:  # fmt: skip
    expected = json.loads((WA_FIXTURES / "locales" / f"expected_{platform}.json").read_text())
    records = parse(wa_fixture_zip(f"locales/{folder}", zip_name, newline=newline),
                    tz=expected["tz"])  # fmt: skip
    assert chat_of(records).key == expected["chat"]
    got = [
        {
            "line": m.line,
            "kind": m.kind,
            "sender": m.sender.name if m.sender else None,
            "sent_at": m.sent_at.isoformat() if m.sent_at else None,
            "edited": m.edited,
            "attachments": [a.name for a in m.attachments],
        }
        for m in of(records, Message)
    ]
    assert got == expected["messages"]
    assert of(records, Unparsed) == []
    attached = [a for m in of(records, Message) for a in m.attachments]
    assert all(a.path == a.name and a.size and a.size > 0 for a in attached)  # found in the zip
    assert facts(records)["group_evidence"] is True
