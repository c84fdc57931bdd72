"""Helpers shared by the Telegram parser tests: export units from fixture files."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO
from zoneinfo import ZoneInfo

from archiver.core.model import Chat, Message, Notice, ParseFacts, Record, Unparsed
from archiver.parsers.base import ExportFile, ExportUnit, ParseOptions
from tests.conftest import SHARED

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "telegram"
REPO = Path(__file__).resolve().parents[2]
PEERS = SHARED / "corpus" / "peers" / "telegram"
SAMPLES = REPO / "sample_exports" / "telegram"


def _opener(path: Path) -> Callable[[], BinaryIO]:
    return lambda: path.open("rb")


def file_unit(path: Path, name: str | None = None) -> ExportUnit:
    """A unit holding one file (as ``name``, default its own name)."""
    shown = name or path.name
    return ExportUnit(shown, [ExportFile(shown, path.stat().st_size, _opener(path))])


def dir_unit(root: Path, wrap: str | None = None) -> ExportUnit:
    """A unit holding every file under ``root`` (optionally under one wrapping folder)."""
    files = []
    for p in sorted(root.rglob("*")):
        if p.is_file():
            rel = p.relative_to(root).as_posix()
            if wrap:
                rel = f"{wrap}/{rel}"
            files.append(ExportFile(rel, p.stat().st_size, _opener(p)))
    return ExportUnit(wrap or root.name, files)


def bytes_unit(files: dict[str, bytes], name: str = "export") -> ExportUnit:
    return ExportUnit(
        name,
        [ExportFile(path, len(data), _bytes_opener(data)) for path, data in files.items()],
    )


def _bytes_opener(data: bytes) -> Callable[[], BinaryIO]:
    return lambda: io.BytesIO(data)


def options(tz: str = "Europe/Berlin", explicit: bool = False) -> ParseOptions:
    return ParseOptions(tz=ZoneInfo(tz), tz_explicit=explicit)


def messages(records: Iterable[Record]) -> list[Message]:
    return [r for r in records if isinstance(r, Message)]


def by_id(records: Iterable[Record]) -> dict[str | None, Message]:
    return {m.msg_id: m for m in messages(records)}


def chats(records: Iterable[Record]) -> list[Chat]:
    return [r for r in records if isinstance(r, Chat)]


def notices(records: Iterable[Record]) -> list[Notice]:
    return [r for r in records if isinstance(r, Notice)]


def unparsed(records: Iterable[Record]) -> list[Unparsed]:
    return [r for r in records if isinstance(r, Unparsed)]


def utc(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=UTC)


def facts(records: list[Record]) -> dict[str, object]:
    last = records[-1]
    assert isinstance(last, ParseFacts)
    return dict(last.facts)
