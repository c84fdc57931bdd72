"""What every parser sees and promises.

A parser never touches the database or the file system by itself: it receives an
``ExportUnit`` (one export as received: a lone ``.txt``, the members of a zip, or the
files of a folder) and yields model records. ``sniff`` says whether it recognises the
unit; the registry in ``archiver.parsers`` picks one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import BinaryIO, ClassVar, Literal, Protocol
from zoneinfo import ZoneInfo

from archiver.core.model import Platform, Record

DateOrder = Literal["auto", "dmy", "mdy", "ymd"]
Opener = Callable[[], BinaryIO]


@dataclass(frozen=True)
class ExportFile:
    """One file of an export. ``path`` is relative to the export root, '/'-separated."""

    path: str
    size: int
    open: Opener

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class ExportUnit:
    """One export as received.

    ``name`` is what the operator handed us (``WhatsApp Chat - Team.zip``, ``result.json``,
    ``ChatExport_2024-01-01``); ``files`` lists every file in it (junk such as
    ``__MACOSX/`` already removed by the container reader).
    """

    name: str
    files: Sequence[ExportFile]

    def get(self, path: str) -> ExportFile | None:
        return self._index.get(path)

    @cached_property
    def _index(self) -> dict[str, ExportFile]:
        return {f.path: f for f in self.files}


@dataclass(frozen=True)
class ParseOptions:
    """Choices the operator made (or left at their defaults) for one ingest.

    ``tz`` is the zone local wall times are interpreted in; ``tz_explicit`` says whether
    the operator gave ``--tz`` (Telegram HTML: an explicit zone wins over the exporter's
    standard-time offset).
    """

    tz: ZoneInfo
    tz_explicit: bool = False
    date_order: DateOrder = "auto"


class Parser(Protocol):
    """The interface every export-format handler implements."""

    name: ClassVar[str]
    platform: ClassVar[Platform]
    version: ClassVar[str]

    def sniff(self, unit: ExportUnit) -> bool:
        """Whether this parser recognises the unit (cheap: reads at most a few KiB)."""
        ...

    def parse(self, unit: ExportUnit, options: ParseOptions) -> Iterator[Record]:
        """Yield the unit's records: Chat before its Messages; ParseFacts last."""
        ...


def read_head(f: ExportFile, size: int = 4096) -> bytes:
    """The first ``size`` bytes of a file, for sniffing."""
    with f.open() as fh:
        return fh.read(size)


def top_level(files: Sequence[ExportFile]) -> list[ExportFile]:
    """Files whose path has no directory part, or sits under one wrapping folder."""
    roots = {f.path.split("/", 1)[0] for f in files if "/" in f.path}
    direct = [f for f in files if "/" not in f.path]
    if direct or len(roots) != 1:
        return direct
    root = roots.pop() + "/"
    return [f for f in files if f.path.startswith(root) and "/" not in f.path[len(root) :]]
