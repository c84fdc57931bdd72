"""WhatsApp chat files as they arrive after a PC: other encodings, bad bytes, empty or
header-only files, endless lines and messages, captions under attachments."""

from __future__ import annotations

import codecs
import io
from collections.abc import Callable

import pytest

from archiver.core.errors import ParseError
from archiver.core.model import Attachment, Message, Notice, Record
from archiver.parsers.limits import MAX_MESSAGE_BYTES, MAX_MESSAGE_CHARS
from archiver.parsers.whatsapp_text import ChatBytes, Encoding, sniff_encoding
from tests import hostile
from tests.parsers.conftest import memory_unit, parse

Unit = Callable[..., object]
TEXT = hostile.wa_text()
NAME = "WhatsApp Chat with Hostile.txt"


def records_of(data: bytes) -> list[Record]:
    return parse(memory_unit(NAME, [(NAME, data)]))


def texts(records: list[Record]) -> list[str]:
    return [r.text for r in records if isinstance(r, Message)]


def notices(records: list[Record]) -> dict[str, str]:
    return {r.code: r.message for r in records if isinstance(r, Notice)}


def facts(records: list[Record]) -> dict[str, object]:
    return dict(records[-1].facts)  # type: ignore[union-attr]


# --- which encoding --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "name", "evidence"),
    [
        (TEXT.encode(), "utf-8", "valid UTF-8"),
        (codecs.BOM_UTF8 + TEXT.encode(), "utf-8", "byte order mark"),
        (TEXT.encode("utf-16"), "utf-16-le", "byte order mark"),
        (codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be"), "utf-16-be", "byte order mark"),
        (
            TEXT.encode("utf-16-le"),
            "utf-16-le",
            "no byte order mark; NUL bytes and message headers",
        ),
        (
            TEXT.encode("utf-16-be"),
            "utf-16-be",
            "no byte order mark; NUL bytes and message headers",
        ),
        (
            TEXT.replace("😀", "").encode("cp1252"),
            "windows-1252",
            "not UTF-8 (byte 0xe9 at offset 201)",
        ),
        # a multi-byte character cut by the end of the head is still UTF-8
        (TEXT.encode()[: TEXT.encode().index("é".encode()) + 1], "utf-8", "valid UTF-8"),
    ],
    ids=["utf8", "utf8-bom", "utf16le-bom", "utf16be-bom", "utf16le", "utf16be", "cp1252", "cut"],
)
def test_the_encoding_is_sniffed_from_the_head(data: bytes, name: str, evidence: str) -> None:
    found = sniff_encoding(data)
    assert isinstance(found, Encoding) and (found.name, found.evidence) == (name, evidence)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (
            b"\x89PNG\r\n\x1a\n\x00\x00",
            "byte 0x89 at offset 0 is not UTF-8, and read as UTF-16 or Windows-1252 the file "
            "does not start like a chat (binary data?)",
        ),
        (
            b"plain text\x00\x00\x00 with NULs",
            "it holds NUL bytes (byte offset 10): binary data, not text",
        ),
        (
            "Liebe Grüße, kein Chat".encode("cp1252"),
            "byte 0xfc at offset 8 is not UTF-8, and read as UTF-16 or Windows-1252 the file "
            "does not start like a chat (binary data?)",
        ),
    ],
    ids=["png", "nul", "latin1-but-no-chat"],
)
def test_what_is_not_a_chat_text_says_why(data: bytes, reason: str) -> None:
    assert sniff_encoding(data) == reason


@pytest.mark.parametrize(
    "encode",
    [
        lambda t: t.encode("utf-16"),
        lambda t: codecs.BOM_UTF16_BE + t.encode("utf-16-be"),
        lambda t: t.encode("utf-16-le"),
        lambda t: t.replace("😀", ":-)").encode("cp1252"),
        lambda t: codecs.BOM_UTF8 + t.encode(),
    ],
    ids=["utf16le-bom", "utf16be-bom", "utf16le", "cp1252", "utf8-bom"],
)
def test_every_encoding_gives_the_same_messages(encode: Callable[[str], bytes]) -> None:
    plain = records_of(TEXT.replace("😀", ":-)").encode())
    other = records_of(encode(TEXT.replace("😀", ":-)")))
    assert [m for m in other if isinstance(m, Message)] == [
        m for m in plain if isinstance(m, Message)
    ]


def test_a_converted_file_is_named_in_a_notice_and_the_facts() -> None:
    records = records_of(TEXT.encode("utf-16"))
    assert notices(records)["encoding"] == (
        f"{NAME}: read as UTF-16-LE (byte order mark); WhatsApp writes UTF-8, so the file was "
        "converted on its way here. Check a few messages with accents or emoji."
    )
    assert (facts(records)["encoding"], facts(records)["bom"]) == ("utf-16-le", True)


# --- bytes that do not decode ---------------------------------------------------------------


def test_bad_bytes_after_a_utf8_head_are_replaced_counted_and_located() -> None:
    head = TEXT + "".join(f"25/03/2024, 11:00 - Ann: line {i} {'x' * 60}\n" for i in range(1200))
    data = head.encode() + b"25/03/2024, 12:00 - Bob: caf\xe9 \xff\xfe ok\n"
    records = records_of(data)
    assert texts(records)[-1] == "caf\ufffd \ufffd\ufffd ok"
    bad = data.index(b"\xe9")
    assert notices(records)["undecodable-bytes"] == (
        f"{NAME}: 3 byte sequence(s) are not valid UTF-8 (the first at byte {bad}, line 1204) "
        "and were read as U+FFFD (the replacement character); the export is stored unchanged. "
        "If the file is in another encoding, convert it to UTF-8 and ingest it again."
    )
    assert facts(records)["undecodable_bytes"] == 3


def test_a_clean_file_has_no_such_notice() -> None:
    records = records_of(TEXT.encode())
    assert set(notices(records)) == set() and facts(records)["undecodable_bytes"] == 0


@pytest.mark.parametrize("block", [1, 2, 3, 5, 4096])
def test_chat_bytes_counts_across_read_boundaries(block: int) -> None:
    data = "é😀".encode() * 3 + b"\xff" + "ü".encode() + b"\xc3"  # cut at the very end
    stream = ChatBytes(lambda: io.BytesIO(data), sniff_encoding(b"x"), "x")  # type: ignore[arg-type]
    out = b""
    while chunk := stream.read(block):
        out += chunk
    assert out == data  # UTF-8 passes through; the text decoder replaces
    assert (stream.replaced, stream.first_bad) == (2, 18)


@pytest.mark.parametrize("block", [1, 3, 4096])
def test_chat_bytes_transcodes_utf16(block: int) -> None:
    data = (
        codecs.BOM_UTF16_LE + "a\né😀\n".encode("utf-16-le") + b"\x00\xd8" + "z".encode("utf-16-le")
    )
    found = sniff_encoding(data)
    assert isinstance(found, Encoding)
    stream = io.BufferedReader(ChatBytes(lambda: io.BytesIO(data), found, "x"), block)
    assert stream.read() == "a\né😀\n\ufffdz".encode()


# --- empty, header only ----------------------------------------------------------------------


def test_a_header_only_file_is_one_system_message_and_a_notice() -> None:
    records = records_of(hostile.wa_text(hostile._WA_LINES[:1]).encode())
    assert texts(records) == [hostile.ENCRYPTION]
    assert notices(records)["no-messages-from-people"] == (
        f"{NAME}: only WhatsApp's own notices (1 system line(s), such as the encryption "
        "notice), no message from a person: the chat was empty when exported, or the export "
        "was cut. Export it again if messages were expected."
    )


# --- bounds ------------------------------------------------------------------------------------


def test_a_line_just_under_the_bound_is_read() -> None:
    prefix = "25/03/2024, 10:16 - Ann: "
    body = "x" * (MAX_MESSAGE_BYTES - len(prefix) - 1)
    assert texts(records_of((TEXT + prefix + body + "\n").encode()))[-1] == body


def test_a_longer_line_is_refused_with_its_number() -> None:
    data = (TEXT + "25/03/2024, 10:16 - Ann: " + "x" * MAX_MESSAGE_BYTES + "\n").encode()
    with pytest.raises(ParseError) as err:
        records_of(data)
    assert str(err.value) == (
        f"{NAME}: line 4 is longer than 1,048,576 bytes; WhatsApp caps a message at 65,536 "
        "characters, so this is not a chat export as WhatsApp writes it. Nothing from it was "
        "ingested."
    )


@pytest.mark.parametrize("ending", ["\n", "\r\n", "\r"])
def test_line_ends_of_every_kind_end_a_line(ending: str) -> None:
    lines = [f"25/03/2024, 10:{i % 60:02d} - Ann: {'y' * 2000}" for i in range(2000)]
    data = ending.join(lines).encode()  # 4 MB, every line short
    assert len(texts(records_of(data))) == 2000


def test_a_message_of_endless_lines_is_refused() -> None:
    more = ("continued " * 10 + "\n") * (MAX_MESSAGE_CHARS // 100 + 10)
    with pytest.raises(ParseError) as err:
        records_of((TEXT + "25/03/2024, 10:18 - Ann: start\n" + more).encode())
    assert str(err.value) == (
        f"{NAME}: the message starting on line 4 runs to more than 1,048,576 characters; "
        "WhatsApp caps a message at 65,536, so its later lines are not in this file's header "
        "format (a second export appended, or the file edited?). Nothing from it was ingested."
    )


# --- attachments with a caption -------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "kind", "text", "name"),
    [
        (
            "Q1.pdf (file attached)\nHere is the Q1 report",
            "media",
            "Here is the Q1 report",
            "Q1.pdf",
        ),
        ("Q1.pdf (file attached)\nline one\nline two", "media", "line one\nline two", "Q1.pdf"),
        ("IMG-1.jpg (Datei angehängt)\nSieh mal", "media", "Sieh mal", "IMG-1.jpg"),
        ("see (below)\nnot an attachment", "text", "see (below)\nnot an attachment", None),
        ("<attached: 0001-Q1.pdf>\nthe caption", "media", "the caption", "0001-Q1.pdf"),
    ],
    ids=["caption", "two-lines", "de", "parenthesis", "ios"],
)
def test_an_attachment_with_a_caption_below_is_media(
    body: str, kind: str, text: str, name: str | None
) -> None:
    records = records_of(("25/03/2024, 10:15 - Ann: " + body + "\n").encode())
    (message,) = [r for r in records if isinstance(r, Message)]
    assert (message.kind, message.text) == (kind, text)
    assert message.attachments == ((Attachment(name, name),) if name else ())


def test_more_distinct_dates_than_any_export_has_are_refused() -> None:
    days = [(d, m, y) for y in range(2000, 2300) for m in range(1, 13) for d in range(1, 29)]
    lines = [f"{d:02d}/{m:02d}/{y}, 10:00 - Ann: x" for d, m, y in days[:100_001]]
    with pytest.raises(ParseError) as err:
        records_of(("\n".join(lines) + "\n").encode())
    assert str(err.value) == (
        f"{NAME}: more than 100,000 different dates in message headers; a WhatsApp export "
        "covers at most a few years, so this is not one as the phone writes it. Nothing from "
        "it was ingested."
    )


def test_thousands_of_senders_are_read_alike_beyond_the_caches() -> None:
    lines = [f"25/03/2024, 10:{i % 60:02d} - Person {i}: hello {i}" for i in range(12_000)]
    records = records_of(("\n".join(lines) + "\n").encode())
    senders = [r.sender.name for r in records if isinstance(r, Message) and r.sender]
    assert senders == [f"Person {i}" for i in range(12_000)]
