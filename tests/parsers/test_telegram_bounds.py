"""Telegram JSON that no exporter writes: each bound holds in both layouts (Telegram's
indentation, read by ``json.loads``, and any other, read by ijson), at its exact edge."""

from __future__ import annotations

import json
from typing import Any

import pytest

from archiver.core.errors import ParseError
from archiver.core.model import Message, Notice, Record, Unparsed
from archiver.parsers.json_repair import BLOCK
from archiver.parsers.limits import MAX_MESSAGE_BYTES, MAX_NESTING
from archiver.parsers.telegram_json import TelegramJsonParser
from tests import hostile
from tests.parsers.telegram_helpers import bytes_unit, facts, messages, notices, options


def parse(data: bytes | str) -> list[Record]:
    raw = data.encode() if isinstance(data, str) else data
    return list(TelegramJsonParser().parse(bytes_unit({"result.json": raw}), options()))


def refusal(data: bytes | str) -> str:
    with pytest.raises(ParseError) as err:
        parse(data)
    return str(err.value)


def pretty(*texts: str) -> str:
    """A single-chat export in Telegram's layout; ``texts`` are JSON for "text"."""
    return hostile.tg_document([hostile.tg_message(i, t) for i, t in enumerate(texts, 1)])


def minified(*texts: str) -> str:
    """The same document on one line: no element is split by indentation (ijson)."""
    items = ",".join(
        f'{{"id":{i},"type":"message","date":"2024-03-01T10:00:00","date_unixtime":"1709287200",'
        f'"from":"Ann","from_id":"user1","text":{t}}}'
        for i, t in enumerate(texts, 1)
    )
    return f'{{"name":"Hostile","type":"personal_chat","id":4242,"messages":[{items}]}}'


LAYOUTS = [pretty, minified]
REFUSED = "Telegram Desktop never writes that, so the file was edited or is not a Telegram export"


def nested(levels: int) -> str:
    return "[" * levels + '"x"' + "]" * levels


# the document, the messages array and the message take 3 of the 64 levels
@pytest.mark.parametrize("layout", LAYOUTS)
def test_nesting_up_to_the_bound_is_read(layout: Any) -> None:
    (message,) = messages(parse(layout(nested(MAX_NESTING - 3))))
    assert message.text == str(json.loads(nested(MAX_NESTING - 4)))  # (parts that are lists)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_nesting_beyond_the_bound_is_refused(layout: Any) -> None:
    error = refusal(layout(nested(MAX_NESTING - 2)))
    assert "arrays and objects nested more than 64 deep" in error and REFUSED in error


def test_nesting_in_the_header_is_refused() -> None:
    doc = pretty('"a"').replace('"type": "personal_chat"', f'"type": {nested(70)}')
    assert refusal(doc).startswith("result.json: arrays and objects nested more than 64 deep (by ")


def test_a_deep_message_names_its_line() -> None:
    error = refusal(pretty('"ok"', nested(1000)))
    assert error.startswith(
        "result.json: arrays and objects nested more than 64 deep, in the message starting "
        "on line 15 (at byte "
    )


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("NaN", "NaN"),
        ("Infinity", "Infinity"),
        ("-Infinity", "-Infinity"),
    ],
)
def test_nan_and_infinity_are_refused(layout: Any, text: str, reason: str) -> None:
    error = refusal(layout(f'{{"type": "plain", "text": "a", "n": {text}}}'))
    assert "NaN or Infinity" in error or f"{reason} is not a JSON number" in error, error
    assert REFUSED in error


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("number", ["9223372036854775808", "-9223372036854775809", "9" * 5000])
def test_integers_beyond_64_bits_are_refused(layout: Any, number: str) -> None:
    error = refusal(layout(f'[{{"type": "plain", "text": "a", "user_id": {number}}}]'))
    assert "does not fit in 64 bits" in error and REFUSED in error


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("number", ["9223372036854775807", "-9223372036854775807"])
def test_integers_at_the_64_bit_edges_are_read(layout: Any, number: str) -> None:
    (message,) = messages(
        parse(layout(f'[{{"type": "mention", "text": "a", "user_id": {number}}}]'))
    )
    assert message.extra is not None and message.extra["entities"][0]["user_id"] == int(number)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_float_beyond_a_double_is_refused(layout: Any) -> None:
    error = refusal(layout('[{"type": "plain", "text": "a", "x": 1e400}]'))
    assert "too large for a 64-bit float" in error and REFUSED in error


@pytest.mark.parametrize("number", ["9" * 5000, str(2**63), "1e400"])
def test_numbers_in_the_header_are_bounded_too(number: str) -> None:
    error = refusal(hostile.tg_document([hostile.tg_message(1)], chat_id=number))
    assert error.startswith("result.json: a") and REFUSED in error


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_key_twice_in_a_message_is_refused(layout: Any) -> None:
    doc = layout('"a"').replace('"from": "Ann",', '"from": "Ann", "from": "Bob",')
    doc = doc.replace('"from":"Ann",', '"from":"Ann","from":"Bob",')
    error = refusal(doc)
    assert "the key 'from' appears twice in one object" in error and REFUSED in error


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_key_twice_in_a_text_part_is_refused(layout: Any) -> None:
    error = refusal(layout('[{"type": "bold", "text": "sell", "text": "buy"}]'))
    assert "the key 'text' appears twice in one object" in error


def test_a_key_twice_in_the_header_is_refused() -> None:
    doc = pretty('"a"').replace('"name": "Hostile",', '"name": "Hostile",\n "name": "Other",')
    error = refusal(doc)
    assert error.startswith("result.json: the key 'name' appears twice in one object (by byte ")


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_message_larger_than_the_bound_is_refused(layout: Any) -> None:
    big = '"' + "x" * (MAX_MESSAGE_BYTES + 2 * BLOCK) + '"'
    error = refusal(layout('"ok"', big))
    assert "longer than 1,048,576 bytes" in error and REFUSED in error


def test_a_long_header_value_is_refused() -> None:
    doc = pretty('"a"').replace('"Hostile"', '"' + "x" * (MAX_MESSAGE_BYTES + 2 * BLOCK) + '"')
    error = refusal(doc)
    assert error.startswith(
        "result.json: a JSON string, number or run of spaces longer than 1,048,576 bytes (by "
    )


def test_a_message_just_under_the_bound_is_read() -> None:
    text = "x" * (MAX_MESSAGE_BYTES - 1000)
    (message,) = messages(parse(pretty(json.dumps(text))))
    assert message.text == text


def test_a_cut_file_says_it_is_truncated() -> None:
    doc = pretty('"a"', '"b"', '"c"')
    cut = doc[: doc.index('"b"')]
    assert refusal(cut) == (
        f"result.json: the file ends at byte {len(cut)} in the middle of the JSON document: it "
        "is truncated (an export or a copy that did not finish). Nothing from it was ingested; "
        "copy it again, or export the chat again from Telegram Desktop."
    )


def test_invalid_utf8_is_replaced_counted_and_noticed() -> None:
    data = pretty('"caf\\u00e9"', '"ok"').encode().replace(b"caf\\u00e9", b"caf\xe9")
    records = parse(data)
    assert [m.text for m in messages(records)] == ["caf\ufffd", "ok"]
    (notice,) = [n for n in notices(records) if n.code == "invalid-utf8"]
    bad = data.index(b"\xe9")
    assert notice == Notice(
        "invalid-utf8",
        f"result.json: 1 run(s) of messages held bytes that are not UTF-8 (the first at byte "
        f"{bad}); each bad byte was read as U+FFFD (the replacement "
        "character) and the offsets are in the parse facts. The original file is stored "
        "unchanged.",
    )
    assert facts(records)["invalid_utf8_offsets"] == [bad]


def test_the_layout_of_a_normal_export_is_unchanged() -> None:
    records = parse(pretty('"a"', '[{"type": "bold", "text": "b"}]'))
    assert [m.text for m in records if isinstance(m, Message)] == ["a", "b"]
    assert facts(records)["layout"] == {"split_arrays": 1, "event_arrays": 0}


@pytest.mark.parametrize(
    ("kind", "field", "value"),
    [
        ("message", "media_type", '["voice"]'),
        ("service", "action", '{"a": 1}'),
        ("message", "from", "[1, 2]"),
    ],
)
def test_a_message_with_a_field_of_an_odd_type_is_kept_unparsed(
    kind: str, field: str, value: str
) -> None:
    message = (
        f'  {{\n   "id": 5,\n   "type": "{kind}",\n   "date": "2024-03-01T10:00:00",\n'
        f'   "file": "a.ogg",\n   "{field}": {value}\n  }}'
    )
    records = parse(hostile.tg_document([message]))
    (row,) = [r for r in records if isinstance(r, Unparsed)]
    assert row.line == 6 and row.reason.startswith("message 5: a field of an unexpected type (")
    assert json.loads(row.raw)[field] == json.loads(value)


def test_repairs_are_bounded() -> None:
    # each \xHH escape keeps an offset mark for error messages: a file of nothing else
    # would hold them all
    many = '"' + "\\x01" * 50_000 + '"'
    error = refusal(pretty(*[many] * 3))
    assert error.startswith("result.json: more than 100,000 escapes or tokens to repair (at byte ")
    assert [m.text for m in messages(parse(pretty(many)))] == ["\x01" * 50_000]
