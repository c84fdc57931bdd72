"""Every message-line skeleton, date and clock variant WhatsApp is known to write
(docs/formats.md), each with the exact UTC instant, the sender and the kind it must give.

Expected instants are worked out by hand from the local wall time and the zone's offset
on that date (noted in the id where it is not UTC)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest

from archiver.core.errors import ParseError
from archiver.core.model import Message
from archiver.parsers.base import ExportUnit

E2E = (
    "Messages and calls are end-to-end encrypted. No one outside of this chat, not even "
    "WhatsApp, can read or listen to them."
)

P = pytest.param
# (line, zone, date order, expected UTC, sender (None = system), kind)
SKELETONS = [  # §a.1
    P("06/03/2017, 00:45 - Sample User: This is a test message", "UTC", "dmy",
      "2017-03-06T00:45:00", "Sample User", "text", id="1-android"),
    P('06/03/2017, 00:45 - You created group "Test"', "UTC", "dmy",
      "2017-03-06T00:45:00", None, "system", id="2-android-system"),
    P("[20.06.19, 15:58:53] John: Hey 👋", "Europe/Berlin", "auto",
      "2019-06-20T13:58:53", "John", "text", id="3-ios-berlin-cest"),
    P("[2019/06/20 15:58] John: Hey", "UTC", "auto",
      "2019-06-20T15:58:00", "John", "text", id="3-ios-ymd-no-seconds"),
    P("[20.06.19, 15:58:47] \u200eMessages to this group are now secured with end-to-end "
      "encryption.", "UTC", "auto", "2019-06-20T15:58:47", None, "system", id="4-ios-system"),
    P(f"[28/02/2022, 9:52:58 PM] ملتقي: {E2E}", "UTC", "auto",
      "2022-02-28T21:52:58", None, "system", id="5-group-name-in-author-slot"),
    P("[17/01/2023, 10:14:01 AM] ملتقي: You joined using this group's invite link", "UTC",
      "auto", "2023-01-17T10:14:01", None, "system", id="5-joined-in-author-slot"),
    P("[28/02/2022, 9:52:58 PM] ~ AK: ~ AK created this group", "UTC", "auto",
      "2022-02-28T21:52:58", None, "system", id="5b-actor-in-author-slot"),
    P("[7/20/21, 11:21:27] +1 (777) 777\u20117777: +1 (777) 777\u20117777 joined using this "
      "group's invite link", "UTC", "auto", "2021-07-20T11:21:27", None, "system",
      id="5b-phone-actor"),
    P("[11/04/2013, 21:56:03] Name: \u200eName changed the group name to “my family”", "UTC",
      "dmy", "2013-04-11T21:56:03", None, "system", id="5c-lrm-after-colon"),
    P(f"[11/01/22, 4:19:15 PM] +91 80--0 19942: {E2E}", "UTC", "dmy",
      "2022-01-11T16:19:15", None, "system", id="5d-one-to-one-notice"),
    P("02/09/14 8:25:04 pm: Prabhakar: ?", "UTC", "dmy",
      "2014-09-02T20:25:04", "Prabhakar", "text", id="6-legacy-ios"),
    P("27.01.14 23:38:13: Dude: hi", "UTC", "auto",
      "2014-01-27T23:38:13", "Dude", "text", id="7-legacy-colon-seconds"),
    P("3/24/14, 1:59:59 PM: Sender Name: Message", "UTC", "auto",
      "2014-03-24T13:59:59", "Sender Name", "text", id="8-legacy-us"),
    P("09/12/2012 17:03:48: Sender Name: Message", "UTC", "mdy",
      "2012-09-12T17:03:48", "Sender Name", "text", id="8-legacy-no-comma"),
    P("19/09/2023 22:58: Fulano: Olha aquela coisa!", "America/Sao_Paulo", "auto",
      "2023-09-20T01:58:00", "Fulano", "text", id="9-colon-no-seconds-sao-paulo-3"),
    P("30/12/2020 13:00 - User: text", "UTC", "auto",
      "2020-12-30T13:00:00", "User", "text", id="10-no-comma"),
    P("18/12/19 15:57 - MARCELO gomez: Estoy de acuerdo!", "Europe/Madrid", "auto",
      "2019-12-18T14:57:00", "MARCELO gomez", "text", id="10-no-comma-madrid+1"),
    P("[25/3/18 11:27:48] Carolina Elhordoy Lezama: Este mensaje fue eliminado.",
      "Europe/Madrid", "auto", "2018-03-25T09:27:48", "Carolina Elhordoy Lezama", "deleted",
      id="11-ios-no-comma-on-dst-day+2"),
    P("13.6.2018 klo 21.25.15 - a: m", "Europe/Helsinki", "auto",
      "2018-06-13T18:25:15", "a", "text", id="12-finnish-klo+3"),
    P("12/07/2017 à 22:35 - Les messages envoyés dans cette discussion et les appels sont "
      "désormais protégés avec le chiffrement de bout en bout. Appuyez pour plus "
      "d'informations.", "Europe/Paris", "dmy", "2017-07-12T20:35:00", None, "system",
      id="13-french-a+2"),
    P("13. 6. 2018. 21:25:15 a: m", "UTC", "auto",
      "2018-06-13T21:25:15", "a", "text", id="14-croatian-dotted"),
    P("16.11.23. 18:44 - Ana: ok", "UTC", "auto",
      "2023-11-16T18:44:00", "Ana", "text", id="14-trailing-dot-dash"),
    P("2022/12/14, 13:34. - John Doe: Lorem ipsum dolor sit amet.", "UTC", "auto",
      "2022-12-14T13:34:00", "John Doe", "text", id="15-dot-after-minutes"),
    P("02/01/2024 03:04 下午 - Alice: traditional period", "Asia/Taipei", "dmy",
      "2024-01-02T07:04:00", "Alice", "text", id="16-cjk-marker-after+8"),
    P("[2024/01/02 오후 03:06] Alice: fallback marker order", "Asia/Seoul", "auto",
      "2024-01-02T06:06:00", "Alice", "text", id="17-korean-marker-before+9"),
    P("[2026/7/9 02:28:37] Bob:Hi without sender-space", "UTC", "auto",
      "2026-07-09T02:28:37", "Bob", "text", id="18-no-space-after-colon"),
]  # fmt: skip

DATES = [  # §a.2
    P("23/06/2018, 01:55 p.m. - Loris: one", "UTC", "auto",
      "2018-06-23T13:55:00", "Loris", "text", id="dmy-slash-2digit-pm"),
    P("13/1/2021 13:00 - User: text", "UTC", "auto",
      "2021-01-13T13:00:00", "User", "text", id="dmy-1digit-month"),
    P("8/21/21, 11:06 PM - NAME: MESSAGE", "America/New_York", "auto",
      "2021-08-22T03:06:00", "NAME", "text", id="mdy-us-android-4"),
    P("01/30/2019, 08:49 p. m. - Jahn Doe: Lorem", "America/Mexico_City", "auto",
      "2019-01-31T02:49:00", "Jahn Doe", "text", id="mdy-4digit-12h-6"),
    P("29.01.18, 23:33 - Alice: Ist das hier ein Chatverlauf?", "Europe/Berlin", "auto",
      "2018-01-29T22:33:00", "Alice", "text", id="dmy-dot-german+1"),
    P(f"15.04.2016, 15:04 - Pokemon Chat: {E2E}", "UTC", "auto",
      "2016-04-15T15:04:00", None, "system", id="dmy-dot-4digit-notice-in-author-slot"),
    P("7.9.2020, 11:23 - Author A: Message A", "Asia/Kolkata", "dmy",
      "2020-09-07T05:53:00", "Author A", "text", id="dmy-dot-1digit-india+530"),
    P("[10.21.21, 15:21:45] John Doe: Lorem", "UTC", "auto",
      "2021-10-21T15:21:45", "John Doe", "text", id="mdy-dot"),
    P("26-04-2022 12:11 - [name]: [message]", "UTC", "auto",
      "2022-04-26T12:11:00", "[name]", "text", id="dmy-dash-4digit"),
    P("[01-29-2018, 23:33:00] Alice: Hello?", "UTC", "auto",
      "2018-01-29T23:33:00", "Alice", "text", id="mdy-dash-ios"),
    P("[15-01-20 02:22:56] Mary: Nostrud exercitation magna id.", "UTC", "auto",
      "2020-01-15T02:22:56", "Mary", "text", id="dmy-dash-2digit-ios"),
    P("[2019/11/21, 13:58:48] Zach Wolpe: hi", "Africa/Johannesburg", "auto",
      "2019-11-21T11:58:48", "Zach Wolpe", "text", id="ymd-slash-south-africa+2"),
    P("2020-09-22, 7:11 a.m. - XXXXXX XXXXXXX: @xxxxxxxxxx", "America/Toronto", "auto",
      "2020-09-22T11:11:00", "XXXXXX XXXXXXX", "text", id="ymd-dash-canada-am-4"),
    P("2017-7-12, 10:35:22 PM: Johannes Gruber: Was it good?", "UTC", "auto",
      "2017-07-12T22:35:22", "Johannes Gruber", "text", id="ymd-1digit-month-colon"),
    P("2023.11.16, 18:44 - Ana: ok", "UTC", "auto",
      "2023-11-16T18:44:00", "Ana", "text", id="ymd-dot"),
    P("[06/2018/13, 21:25:15] a: m", "UTC", "auto",
      "2018-06-13T21:25:15", "a", "text", id="year-in-the-middle"),
]  # fmt: skip

CLOCKS = [  # §a.3 and §a.4 (invisible characters in headers)
    P("[2026/7/9 2:28:09] Alice: Hey", "UTC", "auto",
      "2026-07-09T02:28:09", "Alice", "text", id="24h-unpadded"),
    P("[1/29/18, 23:46:03] Alice: Is this a chat log?", "UTC", "auto",
      "2018-01-29T23:46:03", "Alice", "text", id="24h-seconds"),
    P("03-06-2018, 01.55 PM - a: m", "UTC", "dmy",
      "2018-06-03T13:55:00", "a", "text", id="dot-time-separator-pm"),
    P("13.06.18 21.25.15: a: m", "UTC", "auto",
      "2018-06-13T21:25:15", "a", "text", id="dot-time-separator-seconds"),
    P("1/29/18, 11:46 PM - Alice: hi", "UTC", "auto",
      "2018-01-29T23:46:00", "Alice", "text", id="AM-PM"),
    P("09/10/2023, 11:11 am - +44 7123 456789: <Media omitted>", "Europe/London", "dmy",
      "2023-10-09T10:11:00", "+44 7123 456789", "media", id="lower-am-london-bst+1"),
    P("13/10/2017, 12:12 a.m. - The Joker: And I thought MY jokes were bad.", "UTC", "auto",
      "2017-10-13T00:12:00", "The Joker", "text", id="a.m.-twelve-is-midnight"),
    P("01/01/2019, 11:25 a. m. - John Doe: Lorem", "UTC", "dmy",
      "2019-01-01T11:25:00", "John Doe", "text", id="a. m.-spaced"),
    P("20/6/2017 8:28 p.\u00a0m. - Michelle: test", "America/Bogota", "auto",
      "2017-06-21T01:28:00", "Michelle", "text", id="nbsp-inside-p.m.-5"),
    P(f"1/4/23, 7:02\u202fPM - {E2E} Tap to learn more.", "America/New_York", "mdy",
      "2023-01-05T00:02:00", None, "system", id="nnbsp-before-PM-new-york-5"),
    P("09/10/2023, 12:14\u202fpm - +44 7123 456789: hi", "Europe/London", "dmy",
      "2023-10-09T11:14:00", "+44 7123 456789", "text", id="nnbsp-before-pm"),
    P("1/4/23, 7:02\u2009PM - Bob: hi", "UTC", "mdy",
      "2023-01-04T19:02:00", "Bob", "text", id="thin-space-before-PM"),
    P("2024/01/02 03:04 上午 - Alice: x", "UTC", "auto",
      "2024-01-02T03:04:00", "Alice", "text", id="zh-shangwu-am"),
    P("2024/01/02 03:04 午後 - Alice: x", "Asia/Tokyo", "auto",
      "2024-01-02T06:04:00", "Alice", "text", id="ja-gogo-pm+9"),
    P("2024/01/02 11:04 午前 - Alice: x", "UTC", "auto",
      "2024-01-02T11:04:00", "Alice", "text", id="ja-gozen-am"),
    P("[2024/01/02 오전 12:06] Alice: x", "UTC", "auto",
      "2024-01-02T00:06:00", "Alice", "text", id="ko-ojeon-twelve-is-midnight"),
    P("29.01.18, 11:33 nachm. - Alice: x", "UTC", "auto",
      "2018-01-29T23:33:00", "Alice", "text", id="de-nachm"),
    P("29.01.18, 9:10 vorm. - Bob: x", "UTC", "auto",
      "2018-01-29T09:10:00", "Bob", "text", id="de-vorm"),
    P("29.01.18, 7:15 abends - Bob: x", "UTC", "auto",
      "2018-01-29T19:15:00", "Bob", "text", id="de-abends"),
    P("29.01.18, 12:30 mittags - Bob: x", "UTC", "auto",
      "2018-01-29T12:30:00", "Bob", "text", id="de-mittags"),
    P("29.01.18, 1:10 nachts - Bob: x", "UTC", "auto",
      "2018-01-29T01:10:00", "Bob", "text", id="de-nachts"),
    P("29.01.18, 7:05 morgens - Bob: x", "UTC", "auto",
      "2018-01-29T07:05:00", "Bob", "text", id="de-morgens"),
    P("1/29/18, 12:05 AM - Alice: x", "UTC", "auto",
      "2018-01-29T00:05:00", "Alice", "text", id="12-AM-is-00"),
    P("1/29/18, 12:05 PM - Alice: x", "UTC", "auto",
      "2018-01-29T12:05:00", "Alice", "text", id="12-PM-is-12"),
    P("1/29/18, 23:59 PM - Bob: x", "UTC", "auto",
      "2018-01-29T23:59:00", "Bob", "text", id="impossible-23-59-PM"),
    P("[11/10/22 13:37:00 p.m.] John Doe: x", "UTC", "dmy",
      "2022-10-11T13:37:00", "John Doe", "text", id="impossible-13-37-p.m."),
    P("1/30/18, 00:04 AM - Bob: x", "UTC", "auto",
      "2018-01-30T00:04:00", "Bob", "text", id="impossible-00-04-AM"),
    P("\u200e[3/6/18 1:55:00 p. m.] a: m", "UTC", "dmy",
      "2018-06-03T13:55:00", "a", "text", id="lrm-before-bracket"),
    P("\ufeff[\ufeff29.01.18, 12:26:03] Dave: Test test", "UTC", "auto",
      "2018-01-29T12:26:03", "Dave", "text", id="bom-before-and-inside-bracket"),
    P("\u200e19/09/2023 22:58 - Fulano: Olha aquela coisa!", "UTC", "auto",
      "2023-09-19T22:58:00", "Fulano", "text", id="lrm-before-android-date"),
    P("\u200f[28/02/2022, 9:52:58 PM] \u202aAlice\u202c: hi", "UTC", "auto",
      "2022-02-28T21:52:58", "Alice", "text", id="rlm-and-embedding-marks-around-name"),
]  # fmt: skip


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text + "+00:00")


@pytest.mark.parametrize(
    ("line", "tz", "order", "utc", "sender", "kind"), SKELETONS + DATES + CLOCKS
)
def test_header_variant(
    wa_messages: Callable[..., list[Message]],
    line: str,
    tz: str,
    order: str,
    utc: str,
    sender: str | None,
    kind: str,
) -> None:
    (message,) = wa_messages(line + "\n", tz=tz, order=order)
    assert message.sent_at == _utc(utc)
    assert message.sent_at is not None and message.sent_at.utcoffset() is not None
    assert (message.sender.name if message.sender else None) == sender
    assert message.kind == kind
    assert message.line == 1


@pytest.mark.parametrize(
    ("line", "stamp"),
    [
        ("1/4/23, 7:02\u202fPM - Bob: hi", "1/4/23, 7:02\u202fPM"),
        ("[20.06.19, 15:58:53] John: Hey", "20.06.19, 15:58:53"),
        ("\ufeff[\ufeff29.01.18, 12:26:03] Dave: Test", "29.01.18, 12:26:03"),
        ("13.6.2018 klo 21.25.15 - a: m", "13.6.2018 klo 21.25.15"),
        ("[2024/01/02 오후 03:06] Alice: x", "2024/01/02 오후 03:06"),
        ("2022/12/14, 13:34. - John Doe: x", "2022/12/14, 13:34"),
    ],
)
def test_sent_at_text_is_the_stamp_as_written(
    wa_messages: Callable[..., list[Message]], line: str, stamp: str
) -> None:
    (message,) = wa_messages(line, order="dmy")
    assert message.sent_at_text == stamp


def test_sender_with_no_space_keeps_the_text(wa_messages: Callable[..., list[Message]]) -> None:
    (message,) = wa_messages("[2026/7/9 02:28:37] Bob:Hi without sender-space")
    assert message.text == "Hi without sender-space"


def test_mixed_date_separators_in_one_file(wa_messages: Callable[..., list[Message]]) -> None:
    text = (
        "15/04/2016, 15:04 - You created group “Sample Group”\n"
        "06.08.2016, 13:18 - Ash Ketchum: Hey guys!\n"
    )
    first, second = wa_messages(text)
    assert first.sent_at == _utc("2016-04-15T15:04:00") and first.kind == "system"
    assert second.sent_at == _utc("2016-08-06T13:18:00") and second.sender is not None
    assert second.sender.name == "Ash Ketchum"


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("01.04.2015 - 16:00:27; ME: hello\n", id="whatsapp-viewer-output"),
        pytest.param("[00:42, 9.9.2017] Name: hello\n", id="clipboard-copy"),
        pytest.param("10:35 PM, 07 20 - Johannes Gruber: Was it good?\n", id="no-year"),
        pytest.param("20 09 17, 16:54 - Johannes Gruber: hi\n", id="space-separated-date"),
    ],
)
def test_not_export_shapes_are_refused(
    wa_unit: Callable[..., ExportUnit], wa_messages: Callable[..., list[Message]], text: str
) -> None:
    """§a.1 #19: not WhatsApp-native; a file of only such lines is not an export."""
    with pytest.raises(ParseError, match="no WhatsApp message header found in"):
        wa_messages(text)
