"""Fuzzing the parsers: random and mutated exports end in records or in one of the
project's own errors (``ArchiverError``), never in anything else.

``make test`` runs a few dozen examples per test. For a long run, set ``CHAOS=1`` (2,000
examples each) or ``ARCHIVER_FUZZ_EXAMPLES=N``:

    CHAOS=1 .venv/bin/pytest -q tests/parsers/test_fuzz.py
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archiver.core.errors import ArchiverError
from archiver.core.model import Message, Record, Unparsed
from archiver.parsers.base import DateOrder, ExportUnit, ParseOptions
from archiver.parsers.json_repair import RepairingReader
from archiver.parsers.telegram_html import TelegramHtmlParser
from archiver.parsers.telegram_json import TelegramJsonParser
from archiver.parsers.whatsapp import WhatsAppParser
from tests import hostile
from tests.parsers.conftest import WA_FIXTURES, memory_unit
from tests.parsers.telegram_helpers import FIXTURES, SAMPLES, bytes_unit

EXAMPLES = int(
    os.environ.get("ARCHIVER_FUZZ_EXAMPLES") or (2000 if os.environ.get("CHAOS") else 40)
)
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
OPTIONS = ParseOptions(ZoneInfo("Europe/Berlin"))


def parse_or_refuse(parse: Callable[[], list[Record]]) -> list[Record] | None:
    """The records, or None when the parser refused with one of our errors."""
    try:
        return parse()
    except ArchiverError:
        return None


# --- mutations ------------------------------------------------------------------------------

SPECIAL = [
    b"", b"\x00", b"\xff", b"\xe9", b"\xf0\x9f", b"\r", b"\n", b"\r\r\n", b"\\", b"\\x", b'"',
    b"{", b"}", b"[", b"]", b",", b":", b"<", b">", b"</div>", b"<div>", b"NaN", b"1e999",
    b"99999999999999999999", b"-", b"\xef\xbb\xbf", b"\xe2\x80\x8e", b" (file attached)",
    b"<attached: x>", b"25/03/2024, 10:15 - ", b"[25.03.24, 10:15:00] ", b"\t", "\u2028".encode(),
]  # fmt: skip


@st.composite
def mutated(draw: st.DrawFn, base: bytes) -> bytes:
    """``base`` with a few bytes flipped, cut, inserted or repeated."""
    data = bytearray(base)
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(data)))
        kind = draw(st.sampled_from(["flip", "cut", "insert", "special", "repeat", "truncate"]))
        if kind == "flip" and at < len(data):
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "cut":
            del data[at : at + draw(st.integers(1, 64))]
        elif kind == "insert":
            data[at:at] = draw(st.binary(max_size=16))
        elif kind == "special":
            data[at:at] = draw(st.sampled_from(SPECIAL))
        elif kind == "repeat":
            data[at:at] = data[at : at + draw(st.integers(1, 200))] * draw(st.integers(2, 4))
        else:
            del data[at:]
    return bytes(data)


def _files(folder: Path, pattern: str) -> list[bytes]:
    return [p.read_bytes() for p in sorted(folder.rglob(pattern)) if p.stat().st_size < 200_000]


WA_TEXTS = [*_files(WA_FIXTURES, "*.txt"), hostile.wa_text().encode()]
TG_JSON = [*_files(FIXTURES, "*.json"), *_files(SAMPLES, "result.json")]
TG_HTML = _files(FIXTURES, "messages*.html")


# --- WhatsApp -------------------------------------------------------------------------------


def _wa(data: bytes, order: DateOrder = "dmy", tz: str = "UTC") -> list[Record]:
    name = "WhatsApp Chat with Fuzz.txt"
    unit = memory_unit(name, [(name, data)])
    return list(WhatsAppParser().parse(unit, ParseOptions(ZoneInfo(tz), date_order=order)))


@FUZZ
@given(st.sampled_from(WA_TEXTS).flatmap(mutated))
def test_whatsapp_survives_mutated_exports(data: bytes) -> None:
    parse_or_refuse(lambda: _wa(data))


_LINE = st.one_of(
    st.text(max_size=40),
    st.builds(
        "{}/{}/{}, {}:{} - {}: {}".format,
        *(st.integers(0, 99) for _ in range(5)),
        st.text(max_size=12),
        st.text(max_size=30),
    ),
    st.sampled_from([s.decode("utf-8", "replace") for s in SPECIAL]),
)


@FUZZ
@given(
    st.lists(_LINE, max_size=30),
    st.sampled_from(["utf-8", "utf-16", "cp1252"]),
    st.sampled_from(["auto", "dmy", "mdy", "ymd"]),
    st.sampled_from(["UTC", "Europe/London", "America/Sao_Paulo"]),
)
def test_whatsapp_survives_random_lines_in_any_encoding(
    lines: list[str], encoding: str, order: DateOrder, tz: str
) -> None:
    data = "\n".join(lines).encode(encoding, "replace")
    records = parse_or_refuse(lambda: _wa(data, order, tz))
    if records is not None:
        assert all(m.sent_at is not None for m in records if isinstance(m, Message))


# --- Telegram JSON --------------------------------------------------------------------------


def _tg(data: bytes) -> list[Record]:
    return list(TelegramJsonParser().parse(bytes_unit({"result.json": data}), OPTIONS))


@FUZZ
@given(st.sampled_from(TG_JSON).flatmap(mutated))
def test_telegram_json_survives_mutated_exports(data: bytes) -> None:
    parse_or_refuse(lambda: _tg(data))


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(["id", "type", "text", "from", "from_id", "date", "photo", "x"]),
            inner,
            max_size=5,
        )
    ),
    max_leaves=30,
)
MESSAGE = st.fixed_dictionaries(
    {"id": st.integers(), "type": st.sampled_from(["message", "service", "other"])},
    optional={
        k: JSON_VALUES
        for k in (
            "date", "date_unixtime", "from", "from_id", "text", "text_entities", "edited",
            "edited_unixtime", "photo", "file", "media_type", "poll", "reply_to_message_id",
            "location_information", "contact_information", "actor", "actor_id", "action",
        )
    },
)  # fmt: skip


def _layouts(messages: list[Any]) -> dict[str, bytes]:
    """One document in Telegram's layout (indent 1) and minified."""
    doc = {"name": "Fuzz", "type": "personal_chat", "id": 1, "messages": messages}
    return {
        "pretty": json.dumps(doc, indent=1, ensure_ascii=False).encode(),
        "minified": json.dumps(doc, separators=(",", ":")).encode(),
    }


@FUZZ
@given(st.lists(MESSAGE | JSON_VALUES, max_size=8))
def test_telegram_json_reads_any_messages_alike_in_both_layouts(messages: list[Any]) -> None:
    results = {}
    for layout, data in _layouts(messages).items():
        records = parse_or_refuse(lambda data=data: _tg(data))  # type: ignore[misc]
        results[layout] = None if records is None else [_without_line(r) for r in records[:-1]]
    # the fast path (json.loads per run) and ijson agree, refusals included
    assert (results["pretty"] is None) == (results["minified"] is None)
    assert results["pretty"] == results["minified"]


def _without_line(record: Record) -> Record:
    """Lines are known in Telegram's layout only."""
    return replace(record, line=None) if isinstance(record, Message | Unparsed) else record


@FUZZ
@given(st.binary(max_size=400), st.integers(1, 9))
def test_the_repairing_reader_gives_the_same_bytes_at_any_read_size(data: bytes, step: int) -> None:
    whole = RepairingReader(io.BytesIO(data)).read()
    reader = RepairingReader(io.BytesIO(data), chunk_size=step)
    pieces = b""
    while chunk := reader.read(step):
        pieces += chunk
    assert pieces == whole


# --- Telegram HTML --------------------------------------------------------------------------


def _html(data: bytes) -> list[Record]:
    unit = bytes_unit({"messages.html": data}, name="ChatExport")
    return list(TelegramHtmlParser().parse(unit, OPTIONS))


@FUZZ
@given(st.sampled_from(TG_HTML).flatmap(mutated))
def test_telegram_html_survives_mutated_pages(data: bytes) -> None:
    parse_or_refuse(lambda: _html(data))


# --- a zip of any of them --------------------------------------------------------------------


@FUZZ
@given(st.sampled_from(WA_TEXTS).flatmap(mutated), st.sampled_from(["_chat.txt", "x.txt"]))
def test_a_whatsapp_zip_of_mutated_text_survives(data: bytes, name: str) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr(name, data)
        zf.writestr("IMG-1.jpg", b"\xff\xd8")
    members = [(name, data), ("IMG-1.jpg", b"\xff\xd8")]
    unit: ExportUnit = memory_unit("WhatsApp Chat - Fuzz.zip", members)
    parse_or_refuse(lambda: list(WhatsAppParser().parse(unit, OPTIONS)))
