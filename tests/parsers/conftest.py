"""Helpers for parser tests: build an ExportUnit from a string, a fixture folder or a zip.

Fixture text files are readable UTF-8 with LF line ends; invisible characters are written
as ``\\uXXXX`` escapes (``\\u200e`` LRM, ``\\u202f`` narrow no-break space) and expanded
when the unit is built. Line ends and a BOM are applied at build time, so one readable
file covers every framing.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from archiver.core.model import Chat, Message, Record
from archiver.parsers.base import DateOrder, ExportFile, ExportUnit, ParseOptions
from archiver.parsers.whatsapp import WhatsAppParser

WA_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "whatsapp"
_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
_ZIP_TIME = (2024, 3, 14, 12, 0, 0)


def expand(text: str) -> str:
    """``\\u200e`` written in a fixture -> the character itself."""
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)


def encode(text: str, newline: str = "\n", bom: bool = False) -> bytes:
    data = text.replace("\n", newline).encode("utf-8")
    return b"\xef\xbb\xbf" + data if bom else data


def memory_unit(name: str, files: Sequence[tuple[str, bytes]]) -> ExportUnit:
    def opener(data: bytes) -> Callable[[], io.BytesIO]:
        return lambda: io.BytesIO(data)

    return ExportUnit(name, [ExportFile(path, len(data), opener(data)) for path, data in files])


def zip_unit(zip_path: Path) -> ExportUnit:
    """The members of a zip as an ExportUnit (AppleDouble junk left out, as the container
    reader does)."""
    with zipfile.ZipFile(zip_path) as zf:
        members = [
            (i.filename, zf.read(i))
            for i in zf.infolist()
            if not i.is_dir() and not i.filename.startswith("__MACOSX/")
        ]
    return memory_unit(zip_path.name, members)


def folder_files(folder: Path, newline: str = "\n", bom: bool = False) -> list[tuple[str, bytes]]:
    files = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        if rel == "expected.json":
            continue
        data = path.read_bytes()
        if path.suffix == ".txt":
            data = encode(expand(data.decode("utf-8")), newline, bom)
        files.append((rel, data))
    return files


def build_zip(folder: Path, out: Path, newline: str = "\n", bom: bool = False) -> Path:
    """A deterministic zip of a fixture folder (fixed member times, sorted members)."""
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for rel, data in folder_files(folder, newline, bom):
            zf.writestr(zipfile.ZipInfo(rel, _ZIP_TIME), data)
    return out


@pytest.fixture
def wa_unit() -> Callable[..., ExportUnit]:
    """``wa_unit(text, name=..., newline="\\n", bom=False)``: a lone .txt export."""

    def make(
        text: str | bytes,
        name: str = "WhatsApp Chat with Test.txt",
        newline: str = "\n",
        bom: bool = False,
    ) -> ExportUnit:
        data = text if isinstance(text, bytes) else encode(text, newline, bom)
        return memory_unit(name, [(name, data)])

    return make


@pytest.fixture
def wa_fixture_zip(tmp_path: Path) -> Callable[..., ExportUnit]:
    """``wa_fixture_zip("locales/de_ios", "WhatsApp Chat - Deal Desk.zip")``: the fixture
    folder zipped at test time and read back as an ExportUnit."""

    def make(folder: str, zip_name: str, newline: str = "\n", bom: bool = False) -> ExportUnit:
        return zip_unit(build_zip(WA_FIXTURES / folder, tmp_path / zip_name, newline, bom))

    return make


def parse(
    unit: ExportUnit, tz: str = "UTC", order: DateOrder = "auto", explicit: bool = True
) -> list[Record]:
    options = ParseOptions(ZoneInfo(tz), tz_explicit=explicit, date_order=order)
    return list(WhatsAppParser().parse(unit, options))


def chat_of(records: list[Record]) -> Chat:
    """The Chat record every parse starts with."""
    first = records[0]
    assert isinstance(first, Chat)
    return first


@pytest.fixture
def wa_parse(wa_unit: Callable[..., ExportUnit]) -> Callable[..., list[Record]]:
    """``wa_parse(text_or_unit, tz="UTC", order="auto", **unit_options)``: every record."""

    def run(
        source: str | bytes | ExportUnit, tz: str = "UTC", order: DateOrder = "auto", **kw: str
    ) -> list[Record]:
        unit = source if isinstance(source, ExportUnit) else wa_unit(source, **kw)
        return parse(unit, tz, order)

    return run


@pytest.fixture
def wa_messages(wa_parse: Callable[..., list[Record]]) -> Callable[..., list[Message]]:
    """Like ``wa_parse`` but only the Message records."""

    def run(source: str | bytes | ExportUnit, **kw: str) -> list[Message]:
        return [r for r in wa_parse(source, **kw) if isinstance(r, Message)]

    return run
