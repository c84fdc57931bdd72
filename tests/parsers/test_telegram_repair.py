"""The streaming repair pass for Telegram Desktop's almost-JSON (docs/formats.md)."""

from __future__ import annotations

import io
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archiver.core.errors import ParseError
from archiver.parsers.json_repair import RepairingReader
from archiver.parsers.telegram_json import TelegramJsonParser
from tests.parsers.telegram_helpers import FIXTURES, by_id, bytes_unit, facts, options


class Trickle(io.RawIOBase):
    """A file that returns at most ``step`` bytes per read (1 = every boundary)."""

    def __init__(self, data: bytes, step: int = 1) -> None:
        self.data = data
        self.pos = 0
        self.step = step

    def read(self, size: int = -1) -> bytes:
        n = self.step if size < 0 else min(size, self.step)
        chunk = self.data[self.pos : self.pos + n]
        self.pos += len(chunk)
        return chunk


def repaired(data: bytes, step: int, chunk_size: int) -> tuple[bytes, RepairingReader]:
    reader = RepairingReader(Trickle(data, step), chunk_size=chunk_size)  # type: ignore[arg-type]
    out = b""
    while block := reader.read(7):
        out += block
    return out, reader


SAMPLE = (
    b'{"a": "x\\x0By", "b": "\\\\x41", "c": "\\\\\\x01", "d": "\\\\\\\\x42",\n'
    b' "e": [{"type": "custom_emoji", "text": "x", "document_id": stickers/sticker (2).webm\n'
    b" }],\n"
    b' "f": {"document_id": \n },\n'
    b' "g": {"document_id": "stickers/ok.webp"\n },\n'
    b' "h": {"document_id": video_files/a.webm,\n "n": 1}}'
)
EXPECTED = {
    "a": "x\x0by",
    "b": "\\x41",
    "c": "\\\x01",
    "d": "\\\\x42",
    "e": [{"type": "custom_emoji", "text": "x", "document_id": "stickers/sticker (2).webm"}],
    "f": {"document_id": ""},
    "g": {"document_id": "stickers/ok.webp"},
    "h": {"document_id": "video_files/a.webm", "n": 1},
}


@pytest.mark.parametrize("step", [1, 2, 3, 5, 4096])
@pytest.mark.parametrize("chunk_size", [1, 2, 3, 16, 65536])
def test_repairs_survive_any_read_boundary(step: int, chunk_size: int) -> None:
    out, reader = repaired(SAMPLE, step, chunk_size)
    assert json.loads(out) == EXPECTED
    assert [(r.offset, r.kind, r.before, r.after) for r in reader.repairs] == [
        (SAMPLE.index(b"\\x0B"), "x-escape", "\\x0B", "\\u000B"),
        (SAMPLE.index(b"\\x01"), "x-escape", "\\x01", "\\u0001"),
        (SAMPLE.index(b"stickers/sticker"), "bare-document-id", "stickers/sticker (2).webm",
         '"stickers/sticker (2).webm"'),
        (SAMPLE.index(b' \n },\n "g"') + 1, "bare-document-id", "", '""'),
        (SAMPLE.index(b"video_files/a.webm"), "bare-document-id", "video_files/a.webm,",
         '"video_files/a.webm",'),
    ]  # fmt: skip


def test_offsets_map_back_to_the_original_file() -> None:
    out, reader = repaired(SAMPLE, 4096, 65536)
    for needle in (b'"b"', b'"e"', b'"h"', b'"n"'):
        assert reader.original_offset(out.index(needle)) == SAMPLE.index(needle)


def test_clean_input_passes_through_untouched() -> None:
    data = (FIXTURES / "era5_current.json").read_bytes()
    out, reader = repaired(data, 1, 3)
    assert out == data and reader.repairs == []


_CONTROL = st.characters(min_codepoint=0, max_codepoint=0x7F) | st.sampled_from('é€😀\\"')


@settings(max_examples=200, deadline=None)
@given(st.text(_CONTROL, max_size=40), st.integers(1, 9), st.integers(1, 9))
def test_tdesktop_escaping_round_trips(text: str, step: int, chunk: int) -> None:
    """Whatever the exporter writes with \\xHH escapes decodes to the original string."""
    encoded = json.dumps(text, ensure_ascii=False)
    for code in range(0x20):
        if chr(code) not in "\n\r\t":
            encoded = encoded.replace(f"\\u{code:04x}", f"\\x{code:02X}")
    out, _ = repaired(encoded.encode(), step, chunk)
    assert json.loads(out) == text


def test_repairs_reach_the_records_and_the_facts() -> None:
    path = FIXTURES / "escapes_v4_1_0.json"
    data = path.read_bytes()
    records = list(TelegramJsonParser().parse(bytes_unit({"result.json": data}), options()))
    ms = by_id(records)
    assert ms["1"].text == "Field\x0bseparated\x01values and a literal \\x41"
    assert ms["1"].extra is not None
    assert ms["1"].extra["inline_bot_buttons"][0][0]["data"] == "1=412\x012=97180"
    assert ms["2"].text == "🔥 hot deal"
    assert ms["2"].extra == {
        "entities": [
            {"type": "custom_emoji", "text": "🔥", "document_id": "stickers/sticker (2).webm"},
            {"type": "plain", "text": " hot deal"},
        ]
    }
    f = facts(records)
    assert f["repair_counts"] == {"x-escape": 3, "bare-document-id": 1}
    first = data.index(b"\\x0B")
    repairs = f["repairs"]
    assert isinstance(repairs, list)
    assert [r["offset"] for r in repairs] == [
        first,
        data.index(b"\\x01"),
        data.index(b"\\x012"),
        data.index(b"stickers/sticker"),
    ]


def test_unrepairable_input_names_the_byte() -> None:
    data = (FIXTURES / "escapes_v4_1_0.json").read_bytes().replace(b"\\x0B", b"\\x0G")
    with pytest.raises(ParseError) as err:
        list(TelegramJsonParser().parse(bytes_unit({"result.json": data}), options()))
    bad = data.index(b"\\x0G")
    assert f"at byte {bad};" in str(err.value)
