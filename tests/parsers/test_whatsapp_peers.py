"""The peer corpus (shared/corpus/peers/whatsapp, beside the repository; never copied in,
the licences are mixed): every file parses, and what the peers' own tests assert holds
here too, wherever it is something a compliance archive shares.

Run with ``-s`` to see the per-file table (messages vs header lines, unparsed lines).
Divergences from a peer are deliberate and each says why, next to the case.
"""

from __future__ import annotations

import csv
import json
import re
import unicodedata
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest

from archiver.core.errors import AmbiguousDateOrder, ParseError
from archiver.core.model import Message, ParseFacts, Record, Unparsed
from archiver.parsers.base import DateOrder, ExportUnit
from tests.conftest import SHARED
from tests.parsers.conftest import chat_of, memory_unit, parse, zip_unit

PEERS = SHARED / "corpus" / "peers" / "whatsapp"
pytestmark = pytest.mark.skipif(not PEERS.is_dir(), reason=f"peer corpus not found at {PEERS}")

FALLBACK: dict[str, tuple[DateOrder, str]] = {
    # file -> the order its peer's expectations imply, used only if "auto" cannot decide
    "chat-analytics/tests/samples/whatsapp/4A_11M.txt": (
        "dmy", "4A_11M.txt.ts asserts 12/9/20 is 12 September 2020 (day-first fallback)"),
    "chat-analytics/tests/samples/whatsapp/4A_11M.zip": (
        "dmy", "4A_11M.zip.ts re-exports the 4A_11M.txt expectations"),
    "chat-miner/_history/test/whatsapp/test_dateformat4.txt": (
        "dmy", "test_dateformat4_target.csv reads 09/10/22 as 2022-10-09"),
    "chat-miner/_history/test/whatsapp/test_unicode.txt": (
        "dmy", "test_unicode_target.csv reads 09/10/22 as 2022-10-09"),
}  # fmt: skip


def _files() -> list[str]:
    if not PEERS.is_dir():
        return []
    found = [
        p
        for p in PEERS.rglob("*")
        if p.suffix in (".txt", ".zip") and p.is_file() and p.stat().st_size  # (empty: below)
    ]
    return sorted(p.relative_to(PEERS).as_posix() for p in found)


def _unit(rel: str) -> ExportUnit:
    path = PEERS / rel
    if path.suffix == ".zip":
        return zip_unit(path)  # the parser picks the chat .txt among the members
    return memory_unit(path.name, [(path.name, path.read_bytes())])


def peer_records(rel: str, tz: str = "UTC") -> list[Record]:
    try:
        return parse(_unit(rel), tz=tz)
    except AmbiguousDateOrder:
        if rel not in FALLBACK:
            raise
        return parse(_unit(rel), tz=tz, order=FALLBACK[rel][0])


def messages(records: list[Record]) -> list[Message]:
    return [r for r in records if isinstance(r, Message)]


def facts(records: list[Record]) -> dict[str, Any]:
    last = records[-1]
    assert isinstance(last, ParseFacts)
    return dict(last.facts)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def who(m: Message) -> str | None:
    return m.sender.name if m.sender else None


# --- every file --------------------------------------------------------------------------


@pytest.mark.parametrize("rel", _files())
def test_every_peer_file_parses(rel: str) -> None:
    records = peer_records(rel)
    got = facts(records)
    unparsed = sum(1 for r in records if isinstance(r, Unparsed))
    print(
        f"\n{rel}: {got['messages']} messages / {got['header_lines']} header lines, "
        f"{got['unparsed_lines']} unparsed lines, {got['header_like_body_lines']} header-like "
        f"body lines; {got['style']}, {got['date_order']} ({got['date_order_evidence']})"
    )
    assert got["messages"] == got["header_lines"]
    assert got["unparsed_lines"] == unparsed == 0
    assert all(m.sent_at is not None and m.sent_at.tzinfo is UTC for m in messages(records))


def test_fallbacks_are_still_needed() -> None:
    """If 'auto' starts deciding one of these files, its fallback entry must go."""
    for rel in FALLBACK:
        with pytest.raises(AmbiguousDateOrder):
            parse(_unit(rel))


# --- what the peers assert about their files ------------------------------------------------


def test_pustur_short_chat() -> None:
    msgs = messages(peer_records("whatsapp-chat-parser/samples/short-chat.txt"))
    assert len(msgs) == 5
    assert [who(m) for m in msgs] == [None, None, "Sample User", "TestBot", "+410123456789"]
    assert msgs[0].text == (
        "Messages to this group are now secured with end-to-end encryption. Tap for more info."
    )
    assert msgs[1].text == 'You created group "ShortChat"'
    # The peer keeps the file's final newline in the last body ("...alright?\n"). We read it
    # as the line terminator it is (WhatsApp trims what people send); inner blank lines stay.
    assert msgs[4].text == "How are you?\n\nIs everything alright?"


def test_pustur_empty_file() -> None:
    # the peer returns no messages; we refuse the file and say that it is empty
    with pytest.raises(ParseError, match=r"^empty\.txt is empty: no message to ingest\."):
        peer_records("whatsapp-chat-parser/samples/empty.txt")


RWA_ROWS = [
    ("2017-07-12T22:35", None, "Messages to this group are now secured with end-to-end "
     "encryption. Tap for more info."),
    ("2017-07-12T22:35", None, 'You created group "Tes"'),
    ("2017-07-12T22:35", "Johannes Gruber", None),  # <Media omitted>: kind media, no text
    ("2017-07-12T22:35", "Johannes Gruber", "Fruit bread with cheddar ☺👌🏻"),
    ("2017-07-13T09:12", "Test", "It's fun doing text analysis with R\nisn't it?"),
    ("2017-07-13T09:16", "Johannes Gruber", "Haha it sure is 😅"),
    ("2018-09-28T13:27", "Johannes Gruber", "Did you know there is an incredible number of "
     "emojis in WhatsApp? Check it out:"),
    ("2018-09-28T13:28", "Johannes Gruber", None),
    ("2018-09-28T13:30", "Johannes Gruber", None),
]  # fmt: skip


@pytest.mark.parametrize(
    "rel", ["rwhatsapp/inst/extdata/sample.txt", "rwhatsapp/inst/extdata/sample.zip"]
)
def test_rwhatsapp_sample(rel: str) -> None:
    msgs = messages(peer_records(rel, tz="GMT"))
    assert len(msgs) == 9
    for m, (stamp, author, text) in zip(msgs, RWA_ROWS, strict=True):
        assert (m.sent_at, who(m)) == (at(stamp), author)
        if text is not None:
            assert m.text == text
    assert msgs[2].kind == "media" and msgs[2].attachments[0].note == "<Media omitted>"
    assert sum(m.kind == "system" for m in msgs) == 2


WHATSR = [
    ("englishandroid24h", "2018-01-29T12:24:00", "2018-01-30T00:23:00"),
    ("englishandroidampm", "2018-01-29T12:24:00", "2018-01-30T00:23:00"),
    ("englishios24h", "2018-01-29T12:24:03", "2018-01-30T00:23:03"),
    ("englishiosampm", "2018-01-29T12:24:03", "2018-01-30T00:23:03"),
    ("germanandroid24h", "2018-01-29T12:24:00", "2018-01-30T00:13:00"),
    ("germanandroidampm", "2018-01-29T12:24:00", "2018-01-30T00:23:00"),
    ("germanios24h", "2018-01-29T12:24:03", "2018-01-30T00:13:03"),
    ("germaniosampm", "2018-01-29T12:24:03", "2018-01-30T00:23:03"),
]


@pytest.mark.parametrize(("name", "first", "last"), WHATSR, ids=[w[0] for w in WHATSR])
def test_whatsr_fixtures(name: str, first: str, last: str) -> None:
    msgs = messages(peer_records(f"WhatsR/inst/{name}.txt"))
    assert len(msgs) == 50
    assert (msgs[0].sent_at, msgs[-1].sent_at) == (at(first), at(last))
    assert sum(m.kind == "system" for m in msgs) == 8
    people = Counter(who(m) for m in msgs if m.kind != "system")
    assert people == Counter(Bob=19, Alice=13, Carol=5, Dave=4, Mallory=1)
    names = [a.name for m in msgs for a in m.attachments if a.path]
    assert names == ["PTT-20180129-WA0025.opus"]
    assert sum(m.kind == "location" for m in msgs) == 2
    carol = next(m for m in msgs if who(m) == "Carol" and m.text == "")
    assert carol.extra == {"view_once": True}  # the peer's empty user row


CHAT_MINER_CURRENT = [
    "test_mmddyy_24hrs.txt",
    "test_ddmmyy_24hrs.txt",
    "test_mmddyyyy_12hrs.txt",
    "test_yyyymmdd_24hrs.txt",
    "test_[mmddyy]_24hrs.txt",
]


def _chat_miner_text(m: Message) -> str:
    # chat-miner joins continuation lines with one space and applies NFKC; we keep the
    # text as written, so compare after doing the same.
    return unicodedata.normalize("NFKC", m.text.replace("\n", " "))


@pytest.mark.parametrize("name", CHAT_MINER_CURRENT)
def test_chat_miner_targets(name: str) -> None:
    target = json.loads((PEERS / "chat-miner/test/whatsapp/target.json").read_text())
    msgs = [m for m in messages(peer_records(f"chat-miner/test/whatsapp/{name}")) if m.sender]
    ours = [(m.sent_at, who(m), _chat_miner_text(m)) for m in msgs]
    theirs = [(at(t["timestamp"]), t["author"], t["message"]) for t in reversed(target)]
    # chat-miner drops system lines and "John Doe:." (a self-destroying message, it says);
    # we keep both, so theirs must be ours minus those.
    assert [row for row in ours if row[2] != "."] == theirs


@pytest.mark.parametrize(
    "name",
    ["test_dateformat1", "test_dateformat2", "test_dateformat3", "test_dateformat4",
     "test_dateformat5", "test_dateformat6", "test_unicode"],
)  # fmt: skip
def test_chat_miner_history_targets(name: str) -> None:
    base = PEERS / "chat-miner/_history/test/whatsapp"
    with (base / f"{name}_target.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    ours = [
        (m.sent_at, who(m) or "System", _chat_miner_text(m))
        for m in messages(peer_records(f"chat-miner/_history/test/whatsapp/{name}.txt"))
        if m.text != "."  # peer: "<Disappearing Message>"; we keep the "." that was sent
    ]
    theirs = [
        (at(r["timestamp"]), r["author"], r["message"])
        for r in reversed(rows)
        if r["message"] != "<Disappearing Message>"
    ]
    assert ours == theirs


def test_whatstk_pokemon() -> None:
    msgs = messages(peer_records("whatstk/chats/whatsapp/pokemon.txt"))
    notice = msgs[0]
    assert (notice.kind, notice.sender, notice.sent_at) == ("system", None, at("2016-04-15T15:04"))
    assert notice.extra is not None and notice.extra["author_slot"] == "Pokemon Chat"
    # whatstk drops the author-less 13:18 line; we keep it as a system message
    assert (msgs[1].kind, msgs[1].sent_at) == ("system", at("2016-08-06T13:18"))
    assert [(m.sent_at, who(m)) for m in msgs[2:5]] == [
        (at("2016-08-06T13:23"), "Ash Ketchum"),
        (at("2016-08-06T13:25"), "Brock"),
        (at("2016-08-06T13:30"), "Misty"),
    ]


@pytest.mark.parametrize(
    ("name", "count", "first", "people"),
    [
        ("lorem.txt", 500, [("2020-01-15T02:22:56", "Mary"), ("2020-01-15T03:33:01", "Mary"),
                            ("2020-01-15T04:18:42", "+1 123 456 789"),
                            ("2020-01-15T06:05:14", "Giuseppe"), ("2020-01-15T06:56:00", "Mary")],
         None),
        ("lorem-merge-part1.txt", 300, [("2019-10-20T10:16:00", "John")],
         {"+1 123 456 789", "Giuseppe", "John", "Mary"}),
        ("lorem-merge-part2.txt", 300, [("2020-06-20T10:16:00", "John")],
         {"+1 123 456 789", "Giuseppe", "John", "Maria", "Maria2"}),
        ("lorem-2000.txt", 2000, [("2019-04-16T02:09:00", "+1 123 456 789")], None),
    ],
)  # fmt: skip
def test_whatstk_lorem(
    name: str, count: int, first: list[tuple[str, str]], people: set[str] | None
) -> None:
    msgs = messages(peer_records(f"whatstk/chats/whatsapp/{name}"))
    assert len(msgs) == count
    assert [(m.sent_at, who(m)) for m in msgs[: len(first)]] == [(at(t), a) for t, a in first]
    if people is not None:
        assert {who(m) for m in msgs} == people


def test_chat_analytics_2a_5m() -> None:
    msgs = messages(peer_records("chat-analytics/tests/samples/whatsapp/2A_5M.txt"))
    assert [(who(m), m.sent_at) for m in msgs] == [
        ("A", at("2021-01-01T12:00")),
        ("B", at("2021-01-01T12:01")),
        ("A", at("2021-01-01T12:02")),
        ("B", at("2021-01-01T12:03")),
        ("A", at("2021-01-01T12:02")),  # the peer sorts; we keep file order
    ]
    assert msgs[3].kind == "media" and msgs[3].attachments[0].note == "<media omitted>"
    assert msgs[4].text == "This message should be reordered"


@pytest.mark.parametrize(
    "rel",
    ["chat-analytics/tests/samples/whatsapp/4A_11M.txt",
     "chat-analytics/tests/samples/whatsapp/4A_11M.zip"],
)  # fmt: skip
def test_chat_analytics_4a_11m(rel: str) -> None:
    msgs = messages(peer_records(rel))
    assert {who(m) for m in msgs if m.sender} == {"Alice", "Bob", "Eve", "Mallory", "Trent"}
    rows = {(who(m), m.text, m.sent_at) for m in msgs}
    assert ("Alice", "boiii", at("2020-09-12T23:55")) in rows
    assert ("Trent", "👩🏻\u200d⚖️", at("2020-09-12T23:55")) in rows


def test_chat_analytics_1a_3m() -> None:
    msgs = messages(peer_records("chat-analytics/_history/tests/samples/whatsapp/1A_3M.txt"))
    assert [(who(m), m.text, m.sent_at) for m in msgs] == [
        ("A", "Hi", at("2021-01-01T12:00")),
        ("B", "Whats up?", at("2021-01-01T12:01")),
        ("A", "All good", at("2021-01-01T12:02")),
    ]


def test_chatvault_zip() -> None:
    (m,) = messages(peer_records("chatvault/backend/src/test/resources/test_chat.zip"))
    assert (who(m), m.sent_at, m.kind) == ("Fulano", at("2023-09-22T13:33"), "media")
    (attachment,) = m.attachments
    assert attachment.name == "IMG-20230922-WA0006.jpg"
    assert attachment.path == "IMG-20230922-WA0006.jpg.png"  # the member actually stored
    # the peer keeps the attachment line in the content; we keep the caption (double space)
    assert m.text == "Esse é  um teste"


def test_wa_reader_chat_json() -> None:
    shipped = json.loads((PEERS / "WA-Reader/sample/chat.json").read_text())
    msgs = messages(peer_records("WA-Reader/sample/whatsapp_chat_en.txt", tz="GMT"))
    for m, row in zip(msgs, shipped["chat"], strict=False):
        assert m.sent_at == at("2017-10-13T00:12")
        assert (who(m), m.text) == (shipped["users"][row["i"]], row["p"])
    assert len(shipped["chat"]) == 24 and len(msgs) == 30


def test_wa_reader_zip_attachments() -> None:
    msgs = messages(peer_records("WA-Reader/sample/Chat_Sample.zip"))
    paths = [a.path for m in msgs for a in m.attachments]
    assert paths == ["VID-20210528-WA0002.mp4", "PTT-20210528-WA0003.opus",
                     "IMG-20210528-WA0007.jpg"]  # fmt: skip


# --- inline cases (test strings from the peers' own tests) -----------------------------------


def _cases() -> list[dict[str, Any]]:
    path = PEERS / "_inline_cases" / "cases.jsonl"
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


REFUSED = {
    # peer expects a parse; these shapes are not WhatsApp exports (banner lines of peer fixtures)
    "rwhatsapp-50": "time first and no year: rwhatsapp's 'weirdo format', not an export shape",
    "rwhatsapp-54": "WhatsApp Viewer output ('date - time; name:'), not an export",
    "rwhatsapp-62": "comma-separated date; rwhatsapp itself needs an explicit format",
    "rwhatsapp-63": "space-separated date; rwhatsapp itself warns it is unsupported",
}


def _inline_records(case: dict[str, Any], text: str, name: str = "chat.txt") -> list[Record]:
    """Parse a peer's test string as a file; if 'auto' cannot decide (a single ambiguous
    date), use the order the peer's expectation implies (tried: dmy, then mdy)."""
    unit = memory_unit(name, [(name, text.encode())])
    try:
        return parse(unit)
    except AmbiguousDateOrder:
        want = _expected_instants(case)
        if not want:  # no instant asserted: the peers' own fallback is day-first
            return parse(unit, order="dmy")
        orders: tuple[DateOrder, ...] = ("dmy", "mdy")
        for order in orders:
            records = parse(unit, order=order)
            if [m.sent_at for m in messages(records)][: len(want)] == want:
                return records
        raise


def _expected_instants(case: dict[str, Any]) -> list[datetime]:
    if "expected_datetime" in case:
        return [at(case["expected_datetime"].split(" ")[0])]
    if "expected_datetimes" in case:
        return [at(t) for t in case["expected_datetimes"]]
    if case["id"].startswith("rwhatsapp-"):
        return _rwhatsapp_instants(case)
    if case["id"].startswith("chatvault-") and isinstance(case.get("expected"), list):
        return [at(case["expected"][0])]
    return []


def _rwhatsapp_instants(case: dict[str, Any]) -> list[datetime]:
    if case["id"] == "rwhatsapp-60":
        return [at("2015-05-07T22:35:22"), at("2015-05-08T09:12:44")]
    if case["id"] == "rwhatsapp-61":
        return [at("2017-07-12T10:35"), at("2017-07-13T22:36")]
    if case["id"] == "rwhatsapp-multiline-time-in-body":
        return [at("2017-09-20T16:54"), at("2020-02-08T17:35")]
    if case["id"] in ("rwhatsapp-65", "rwhatsapp-66"):
        return []
    seconds = re.search(r"\d:\d\d:\d\d", case["input"].split("\n")[0]) is not None
    first = at("2017-07-12T22:35:22" if seconds else "2017-07-12T22:35")
    second = at("2017-07-13T09:12:44" if seconds else "2017-07-13T09:12")
    return [first, second]


@pytest.mark.parametrize("case", _cases(), ids=lambda c: c["id"])
def test_inline_case(case: dict[str, Any]) -> None:
    cid = case["id"]
    if cid in REFUSED:
        with pytest.raises(ParseError, match="no WhatsApp message header found"):
            parse(memory_unit("chat.txt", [("chat.txt", case["input"].encode())]))
        return
    handler = _HANDLERS.get(cid) or _HANDLERS[cid.split("-")[0] + "-*"]
    handler(case)


def _pustur(case: dict[str, Any]) -> None:
    cid = case["id"]
    if cid == "pustur-daysFirst-option":
        unit = memory_unit("c.txt", [("c.txt", case["input"].encode())])
        dmy = messages(parse(unit, order="dmy"))[0].sent_at
        mdy = messages(parse(unit, order="mdy"))[0].sent_at
        assert (dmy, mdy) == (at("2018-06-03T13:55"), at("2018-03-06T13:55"))
        return
    msgs = messages(_inline_records(case, case["input"]))
    if "expected_author" in case:
        assert msgs[0].sent_at == _expected_instants(case)[0]
        assert (who(msgs[0]), msgs[0].text) == (case["expected_author"], case["expected_message"])
    if "expected_attachment_filename" in case:
        assert [a.name for a in msgs[0].attachments] == [case["expected_attachment_filename"]]
    if "expected_messages" in case:
        assert len(msgs) == case["expected_messages"]
    if "expected_message_text" in case:
        assert msgs[0].text == case["expected_message_text"]
    if "expected_system" in case:
        assert (msgs[0].kind == "system") is case["expected_system"]
    if "expected_datetimes" in case:
        assert [m.sent_at for m in msgs] == _expected_instants(case)
    if cid == "pustur-chatExample":
        assert [who(m) for m in msgs[:2]] == [None, None]
        # the peer keeps the final newline in the body; see test_pustur_short_chat
        assert msgs[-1].text == case["expected_last_message"].rstrip("\n")


def _chatlab(case: dict[str, Any]) -> None:
    cid = case["id"]
    if cid == "chatlab-locale-periods":
        # ChatLab picks the day/month order per line (4-digit year: day first, 2-digit:
        # month first) and mixes Android and iOS lines in one string. An export is rendered
        # in one locale, so we use one order per file, and a lone line of another style is
        # read as pasted text (counted in header_like_body_lines). We check the lines whose
        # reading does not depend on that: the first, and the colon-in-system-text line.
        records = parse(memory_unit("c.txt", [("c.txt", case["input"].encode())]), order="dmy")
        first, second, last = messages(records)
        assert (who(first), first.sent_at) == ("Alice", at("2024-01-02T15:04"))
        assert (last.kind, last.sender, last.sent_at) == ("system", None, at("2024-01-02T03:07"))
        assert "fallback marker order" in second.text
        assert facts(records)["header_like_body_lines"] == 1
        return
    name = "与Alice的 WhatsApp 聊天.txt" if cid == "chatlab-ymd-android-12h" else "c.txt"
    records = _inline_records(case, case["input"], name)
    msgs = messages(records)
    for m, row in zip(msgs[-len(case["expected"]) :], case["expected"], strict=True):
        author, stamp = row[0], row[1]
        assert m.sent_at == at(stamp)
        assert who(m) == (None if author == "system" else author)
        if len(row) > 2 and row[2] not in ("TEXT", "SYSTEM"):
            assert m.text == row[2] or (m.kind == "media" and row[2].endswith("(IMAGE)"))
    if cid == "chatlab-ymd-android-12h":
        assert chat_of(records).key == "Alice"
        assert [type(r).__name__ for r in records[1:2]] == ["Unparsed"]  # the undated line


def _chatvault(case: dict[str, Any]) -> None:
    cid = case["id"]
    if cid == "chatvault-date-shapes":
        for prefix in case["input"]:
            records = parse(memory_unit("c.txt", [("c.txt", f"{prefix} - A: x\n".encode())]),
                            order="dmy")  # fmt: skip
            # all are recognised as message headers; "23/16/11" (year-day-month) is not a
            # WhatsApp date order, so its date is impossible and the block is kept unparsed
            assert facts(records)["header_lines"] == 1, prefix
        return
    if cid == "chatvault-ambiguity":
        text = "".join(f"{d} - A: x\n" for d in case["input"])
        with pytest.raises(AmbiguousDateOrder):
            parse(memory_unit("c.txt", [("c.txt", text.encode())]))
        return
    msgs = messages(_inline_records(case, case["input"], "Conversa do WhatsApp com Fulano.txt"))
    m = msgs[0]
    expected = case["expected"]
    if cid == "chatvault-pt-system":
        assert (m.kind, m.sender, m.sent_at) == ("system", None, at(expected[0]))
    elif cid == "chatvault-ios-name-prefixed-system":
        # chatvault reads this as a message from "Name"; the LRM after the colon and the
        # actor repeated in the text make it a group event, so it has no sender here.
        assert (m.kind, m.sender, m.sent_at, m.text) == ("system", None, at(expected[0]),
                                                         expected[2])  # fmt: skip
    elif cid == "chatvault-pt-attachment":
        assert (who(m), m.sent_at) == ("Beltrano", at(expected[0]))
        assert [a.name for a in m.attachments] == ["IMG-20230922-WA0006.jpg"]
        assert m.text == "Esse é  um teste"
    elif cid == "chatvault-attachment-with-trailing-text":
        assert (m.kind, m.attachments) == ("text", ())
    else:
        assert (m.sent_at, who(m)) == (at(expected[0]), expected[1])
        if len(expected) > 2:
            assert m.text == expected[2]


def _rwhatsapp(case: dict[str, Any]) -> None:
    msgs = messages(_inline_records(case, case["input"]))
    instants = _expected_instants(case)
    if instants:
        assert [m.sent_at for m in msgs] == instants
    expected_authors = case.get("expected_authors", ["Johannes Gruber", "R"])
    if case["id"] == "rwhatsapp-55":
        assert (msgs[0].kind, msgs[0].sender, who(msgs[1])) == ("system", None, "XXX")
    else:
        assert [who(m) for m in msgs] == expected_authors
    if "expected_messages" in case:
        assert len(msgs) == case["expected_messages"]
    if case["id"] == "rwhatsapp-61":
        assert msgs[0].text == "Was it good?\n---> Another line - with a dash"


_HANDLERS = {"pustur-*": _pustur, "chatlab-*": _chatlab, "chatvault-*": _chatvault,
             "rwhatsapp-*": _rwhatsapp}  # fmt: skip
