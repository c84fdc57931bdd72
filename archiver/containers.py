"""Reading exports as received — a lone file, a zip, a folder — safely.

Turns the paths an operator gives into ``ExportUnit``s for the parsers, without ever
extracting anything to disk: zip members are read straight from the archive. Unsafe
input is refused before a byte is decompressed: path traversal, absolute member names,
symbolic links, password-protected members and zip bombs (members whose declared size,
total size or compression ratio exceed the limits below). ``__MACOSX/`` resource forks,
``.DS_Store`` and AppleDouble ``._*`` files are ignored.
"""

from __future__ import annotations

import hashlib
import os
import stat
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Literal, cast

from archiver.errors import InputError, UnsafeInput
from archiver.parsers.base import ExportFile, ExportUnit, Opener

MAX_MEMBER_BYTES = 8 << 30  # one member of a zip, uncompressed
MAX_TOTAL_BYTES = 64 << 30  # all members of a zip, uncompressed
MAX_RATIO = 200  # uncompressed / compressed, for members over RATIO_FLOOR
RATIO_FLOOR = 1 << 20
MAX_MEMBERS = 500_000

TELEGRAM_MARKERS = ("result.json", "messages.html", "export_results.html")
TELEGRAM_DIRS = (
    "photos",
    "files",
    "video_files",
    "voice_messages",
    "round_video_messages",
    "stickers",
    "animations",
    "contacts",
    "profile_pictures",
    "stories",
    "chats",
    "lists",
    "css",
    "js",
    "images",
)
EXPORT_SUFFIXES = (".zip", ".txt", ".json", ".html")

Kind = Literal["file", "zip", "folder"]


@dataclass(frozen=True)
class Received:
    """One export unit and where it came from.

    ``origin`` is the file or folder as found on disk. For ``file`` and ``zip`` the
    origin file itself is the evidence; for ``folder`` every file in the unit is.
    """

    unit: ExportUnit
    kind: Kind
    origin: Path


@dataclass
class Discovery:
    """What a walk over the operator's paths found."""

    units: list[tuple[Path, Kind]] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)


def _junk(name: str) -> bool:
    parts = PurePosixPath(name).parts
    return (
        "__MACOSX" in parts
        or parts[-1] in (".DS_Store", "Thumbs.db", "desktop.ini")
        or parts[-1].startswith("._")
    )


def discover(paths: list[Path]) -> Discovery:
    """Decide which export units the given paths hold (nothing is read yet)."""
    found = Discovery()
    for path in paths:
        if path.is_symlink():
            raise UnsafeInput(f"{path} is a symbolic link; give the real file or folder")
        if not path.exists():
            raise InputError(f"{path} does not exist")
        if path.is_dir():
            _walk(path, found)
        elif path.suffix.lower() == ".zip":
            found.units.append((path, "zip"))
        else:
            found.units.append((path, "file"))
    return found


def _walk(folder: Path, found: Discovery) -> None:
    entries = sorted(folder.iterdir())
    names = {e.name for e in entries}
    if any(marker in names for marker in TELEGRAM_MARKERS):
        found.units.append((folder, "folder"))
        return
    files = [e for e in entries if not e.is_symlink() and e.is_file() and not _junk(e.name)]
    texts = [f for f in files if f.suffix.lower() == ".txt"]
    media = [f for f in files if f.suffix.lower() not in EXPORT_SUFFIXES]
    if len(texts) == 1 and media and not any(f.suffix.lower() == ".zip" for f in files):
        found.units.append((folder, "folder"))  # an unzipped WhatsApp export with media
        return
    for entry in entries:
        if _junk(entry.name):
            continue
        if entry.is_symlink():
            found.skipped.append((entry, "symbolic link (not followed)"))
        elif entry.is_dir():
            _walk(entry, found)
        elif entry.suffix.lower() == ".zip":
            found.units.append((entry, "zip"))
        elif entry.suffix.lower() in EXPORT_SUFFIXES:
            found.units.append((entry, "file"))
        else:
            found.skipped.append((entry, "not an export file"))


@contextmanager
def open_unit(path: Path, kind: Kind) -> Iterator[Received]:
    """Open one unit found by ``discover`` for reading; zips stay open inside the block."""
    if kind == "zip":
        with _open_zip(path) as unit:
            yield Received(unit, kind, path)
    elif kind == "folder":
        yield Received(_folder_unit(path, path.name), kind, path)
    elif path.name in TELEGRAM_MARKERS:
        yield Received(_telegram_file_unit(path), "folder", path.parent)
    else:
        yield Received(ExportUnit(path.name, [_disk_file(path, path.name)]), kind, path)


def _disk_file(path: Path, rel: str) -> ExportFile:
    def opener() -> BinaryIO:
        return path.open("rb")

    return ExportFile(rel, path.stat().st_size, opener)


def _folder_unit(root: Path, name: str, only: tuple[str, ...] | None = None) -> ExportUnit:
    files: list[ExportFile] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        base = Path(dirpath)
        for d in list(dirnames):
            if (base / d).is_symlink():
                raise UnsafeInput(
                    f"{base / d} is a symbolic link inside the export; refusing to follow it "
                    "(copy the real files into the export folder)"
                )
            if d == "__MACOSX":
                dirnames.remove(d)
        dirnames.sort()
        for fname in sorted(filenames):
            full = base / fname
            rel = full.relative_to(root).as_posix()
            if _junk(rel) or (only is not None and not _allowed(rel, only)):
                continue
            mode = full.lstat().st_mode
            if stat.S_ISLNK(mode):
                raise UnsafeInput(
                    f"{full} is a symbolic link inside the export; refusing to follow it"
                )
            if stat.S_ISREG(mode):
                files.append(_disk_file(full, rel))
    return ExportUnit(name, files)


def _allowed(rel: str, only: tuple[str, ...]) -> bool:
    top = rel.split("/", 1)[0]
    return top in only or (rel.startswith("messages") and rel.endswith(".html"))


def _telegram_file_unit(path: Path) -> ExportUnit:
    """A Telegram main file given directly: its folder, limited to the export's own files."""
    return _folder_unit(path.parent, path.parent.name, only=TELEGRAM_MARKERS + TELEGRAM_DIRS)


def _member_name(info: zipfile.ZipInfo) -> str:
    name = info.filename
    if not info.flag_bits & 0x800:  # no UTF-8 flag: zipfile decoded cp437; try UTF-8
        with suppress(UnicodeEncodeError, UnicodeDecodeError):
            name = name.encode("cp437").decode("utf-8")
    return name.replace("\\", "/")


def _check_member(zip_path: Path, info: zipfile.ZipInfo, name: str) -> None:
    parts = PurePosixPath(name).parts
    if name.startswith("/") or (len(name) > 1 and name[1] == ":") or ".." in parts:
        raise UnsafeInput(
            f"{zip_path}: member {name!r} points outside the export (path traversal); "
            "refusing to read this zip"
        )
    if stat.S_ISLNK(info.external_attr >> 16):
        raise UnsafeInput(f"{zip_path}: member {name!r} is a symbolic link; refusing this zip")
    if info.flag_bits & 0x1:
        raise InputError(
            f"{zip_path}: member {name!r} is password-protected; export it again without a password"
        )
    if info.file_size > MAX_MEMBER_BYTES or (
        info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1)
    ):
        raise UnsafeInput(
            f"{zip_path}: member {name!r} would expand from {info.compress_size} to "
            f"{info.file_size} bytes; refusing a possible zip bomb"
        )


@contextmanager
def _open_zip(path: Path) -> Iterator[ExportUnit]:
    with open_zip(path, path.name) as unit:
        yield unit


@contextmanager
def open_zip(source: Path | BinaryIO, name: str) -> Iterator[ExportUnit]:
    """The members of a zip (a path, or a seekable stream such as a stored blob), checked
    for traversal, links, encryption and bombs before anything is decompressed."""
    path = Path(name) if not isinstance(source, Path) else source
    try:
        zf = zipfile.ZipFile(source)
    except zipfile.BadZipFile:
        raise InputError(
            f"{path} is not a valid zip file (damaged or incomplete download?)"
        ) from None
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_MEMBERS:
            raise UnsafeInput(
                f"{path} holds {len(infos)} members; refusing more than {MAX_MEMBERS}"
            )
        files: list[ExportFile] = []
        total = 0
        for info in infos:
            member = _member_name(info)
            _check_member(path, info, member)
            if info.is_dir() or _junk(member):
                continue
            total += info.file_size
            if total > MAX_TOTAL_BYTES:
                raise UnsafeInput(
                    f"{path} would expand to more than {MAX_TOTAL_BYTES} bytes; refusing a "
                    "possible zip bomb"
                )
            files.append(ExportFile(member, info.file_size, _member_opener(zf, info)))
        yield ExportUnit(path.name, files)


def _member_opener(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> Opener:
    def opener() -> BinaryIO:
        # reads at most info.file_size bytes; the CRC is checked at the end
        return cast(BinaryIO, zf.open(info))

    return opener


def sha256_stream(open_stream: Opener, block: int = 1 << 20) -> tuple[str, int]:
    """SHA-256 and size of a stream, read in blocks."""
    digest = hashlib.sha256()
    size = 0
    with open_stream() as fh:
        while chunk := fh.read(block):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def file_opener(path: Path) -> Opener:
    def opener() -> BinaryIO:
        return path.open("rb")

    return opener
