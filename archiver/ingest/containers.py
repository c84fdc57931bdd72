"""Reading exports as received — a lone file, a zip, a folder — safely.

Turns the paths an operator gives into ``ExportUnit``s for the parsers, without ever
extracting anything to disk: zip members are read straight from the archive. Unsafe
input is refused before a byte is decompressed: path traversal, absolute member names,
symbolic links, password-protected members and zip bombs (a zip whose list of members,
number of members, or declared sizes exceed the limits below, one member at a time or
all together). Nothing is read through a symbolic link or from anything but a regular
file. A member that turns out damaged while it is read (a bad CRC, a header that lies
about its size, corrupt compressed data) is an ``InputError`` naming the zip and the
member. ``__MACOSX/`` resource forks, ``.DS_Store`` and AppleDouble ``._*`` files are
ignored.
"""

from __future__ import annotations

import hashlib
import io
import lzma
import os
import stat
import struct
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO, Literal, cast

from archiver.core.errors import InputError, UnsafeInput
from archiver.parsers.base import ExportFile, ExportUnit, Opener

# Zip limits, checked on what the zip declares before anything is decompressed (zipfile
# never returns more bytes than a member declares, so the declared sizes bound the real
# ones). A real export is mostly media, which does not compress, plus text that shrinks
# 3 to 12 times; a zip bomb shrinks thousands of times.
MAX_MEMBER_BYTES = 8 << 30  # one member, uncompressed
MAX_TOTAL_BYTES = 32 << 30  # all members together, uncompressed
MAX_RATIO = 200  # uncompressed / compressed, for one member and for the whole zip ...
RATIO_FLOOR = 1 << 20  # ... once it expands to more than this
MAX_MEMBERS = 200_000
MAX_DIRECTORY_BYTES = 64 << 20  # the zip's list of members, read into memory to open it

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
    """What a walk over the operator's paths found: export units, files skipped as not
    exports (``skipped``), and folders or files that could not be looked at and so may
    hide an export (``unreadable``)."""

    units: list[tuple[Path, Kind]] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    unreadable: list[tuple[Path, str]] = field(default_factory=list)


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
        elif not path.is_file():
            raise InputError(
                f"{path} is not a regular file (a device, pipe or socket); give an export "
                "file or a folder"
            )
        elif path.suffix.lower() == ".zip":
            found.units.append((path, "zip"))
        else:
            found.units.append((path, "file"))
    return found


def _walk(folder: Path, found: Discovery) -> None:
    try:
        entries = sorted(folder.iterdir())
    except OSError as exc:
        found.unreadable.append((folder, f"the folder cannot be read ({exc.strerror})"))
        return
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
        elif not entry.is_file():
            found.skipped.append((entry, "not a regular file (a device, pipe or socket)"))
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


def open_regular(path: Path) -> BinaryIO:
    """``path`` opened for reading, refused unless it is a regular file reached without
    following a symbolic link (a file swapped for a link or a pipe after the walk is
    never read through)."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        if path.is_symlink():
            raise UnsafeInput(f"{path} is a symbolic link; refusing to follow it") from None
        raise InputError(f"{path} cannot be read ({exc.strerror})") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise UnsafeInput(f"{path} is not a regular file (a device, pipe or socket)")
    return os.fdopen(fd, "rb")


def _disk_file(path: Path, rel: str) -> ExportFile:
    return ExportFile(rel, path.stat().st_size, file_opener(path))


def _folder_unit(root: Path, name: str, only: tuple[str, ...] | None = None) -> ExportUnit:
    files: list[ExportFile] = []
    for dirpath, dirnames, filenames in os.walk(root, onerror=_unreadable, followlinks=False):
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


def _unreadable(exc: OSError) -> None:
    raise InputError(
        f"{exc.filename} cannot be read ({exc.strerror}); nothing from this export was kept. "
        "Make it readable and ingest the export again"
    )


def _allowed(rel: str, only: tuple[str, ...]) -> bool:
    top = rel.split("/", 1)[0]
    return top in only or (rel.startswith("messages") and rel.endswith(".html"))


def _telegram_file_unit(path: Path) -> ExportUnit:
    """A Telegram main file given directly: its folder, limited to the export's own files."""
    return _folder_unit(path.parent, path.parent.name, only=TELEGRAM_MARKERS + TELEGRAM_DIRS)


# --- zips -------------------------------------------------------------------------------


def _member_name(info: zipfile.ZipInfo) -> str:
    name = info.filename
    if not info.flag_bits & 0x800:  # no UTF-8 flag: zipfile decoded cp437; try UTF-8
        with suppress(UnicodeEncodeError, UnicodeDecodeError):
            name = name.encode("cp437").decode("utf-8")
    return name.replace("\\", "/")


def size_text(n: int) -> str:
    """A byte count as people read it: 812 bytes, 6.8 MiB, 32 GiB."""
    if n < 1024:
        return f"{n} bytes"
    size = n / 1024
    for unit in ("KiB", "MiB"):
        if size < 1024:
            return f"{size:.1f}".removesuffix(".0") + f" {unit}"
        size /= 1024
    return f"{size:.1f}".removesuffix(".0") + " GiB"


def _bomb(where: str, what: str) -> UnsafeInput:
    return UnsafeInput(
        f"{where}: {what}; refusing a possible zip bomb (limits: each member and the whole "
        f"zip at most {MAX_RATIO} times smaller than they expand to, a member at most "
        f"{size_text(MAX_MEMBER_BYTES)}, all members {size_text(MAX_TOTAL_BYTES)}, "
        f"{MAX_MEMBERS:,} members)"
    )


def _check_member(zip_path: Path, info: zipfile.ZipInfo, name: str, zip_bytes: int) -> None:
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
    # a compressed size larger than the zip itself is a lie told to pass the ratio check
    packed = max(min(info.compress_size, zip_bytes), 1)
    if info.file_size > MAX_MEMBER_BYTES or (
        info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * packed
    ):
        raise _bomb(
            str(zip_path),
            f"member {name!r} would expand from {size_text(info.compress_size)} to "
            f"{size_text(info.file_size)}",
        )


def _check_total(zip_path: Path, total: int, zip_bytes: int) -> None:
    if total > MAX_TOTAL_BYTES or (total > RATIO_FLOOR and total > MAX_RATIO * zip_bytes):
        expands = f"its members would expand to {size_text(total)}"
        raise _bomb(str(zip_path), f"{expands} from a zip of {size_text(zip_bytes)}")


_EOCD = struct.Struct("<4s4H2LH")  # end of central directory record
_EOCD64_LOCATOR = struct.Struct("<4sLQL")
_EOCD64 = struct.Struct("<4sQ2H2L4Q")


def _declared_directory(fh: BinaryIO) -> tuple[int, int, int] | None:
    """(members, bytes of the central directory, bytes of the zip) as the zip's end record
    declares them, read before zipfile loads the whole directory into memory; None when
    there is no end record (zipfile then says it is not a zip)."""
    size = fh.seek(0, io.SEEK_END)
    tail_len = min(size, _EOCD.size + 0xFFFF)
    fh.seek(size - tail_len)
    tail = fh.read(tail_len)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < _EOCD.size:
        return None
    members, directory = _EOCD.unpack_from(tail, at)[4:6]
    locator = at - _EOCD64_LOCATOR.size
    if (members == 0xFFFF or directory == 0xFFFFFFFF) and locator >= 0:
        signature, _, offset, _ = _EOCD64_LOCATOR.unpack_from(tail, locator)
        if signature == b"PK\x06\x07" and offset < size:
            fh.seek(offset)
            record = fh.read(_EOCD64.size)
            if len(record) == _EOCD64.size and record[:4] == b"PK\x06\x06":
                members, directory = _EOCD64.unpack(record)[7:9]
    return members, directory, size


# What zipfile raises for a zip that is damaged or lies about itself: while reading a
# member, and (also ValueError, struct.error) while reading the list of members.
_DAMAGE = (zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, OSError, NotImplementedError)
_BAD_DIRECTORY = (*_DAMAGE, ValueError, struct.error)


@contextmanager
def _open_zip(path: Path) -> Iterator[ExportUnit]:
    with open_regular(path) as fh, open_zip(fh, str(path)) as unit:
        yield unit


@contextmanager
def open_zip(source: Path | BinaryIO, name: str) -> Iterator[ExportUnit]:
    """The members of a zip (a path, or a seekable stream such as a stored blob or a zip
    inside an export), checked for traversal, links, encryption and bombs before
    anything is decompressed. Errors name the zip as ``name``."""
    path = Path(name) if not isinstance(source, Path) else source
    with ExitStack() as stack:
        fh = stack.enter_context(open_regular(source)) if isinstance(source, Path) else source
        zip_bytes = fh.seek(0, io.SEEK_END)
        zf = stack.enter_context(_zipfile(fh, path))
        yield ExportUnit(path.name, _members(zf, path, zip_bytes))


@contextmanager
def _zipfile(fh: BinaryIO, path: Path) -> Iterator[zipfile.ZipFile]:
    invalid = f"{path} is not a valid zip file (damaged or incomplete download?)"
    try:
        declared = _declared_directory(fh)
        if declared is not None:
            members, directory, size = declared
            if members > MAX_MEMBERS:
                raise _bomb(str(path), f"it declares {members:,} members")
            if directory > min(MAX_DIRECTORY_BYTES, size):
                raise _bomb(str(path), f"its list of members takes {size_text(directory)}")
        fh.seek(0)
        zf = zipfile.ZipFile(fh)
    except _BAD_DIRECTORY:
        raise InputError(invalid) from None
    with zf:
        yield zf


def _members(zf: zipfile.ZipFile, path: Path, zip_bytes: int) -> list[ExportFile]:
    infos = zf.infolist()
    if len(infos) > MAX_MEMBERS:
        raise _bomb(str(path), f"it holds {len(infos):,} members")
    files: list[ExportFile] = []
    total = 0
    for info in infos:
        member = _member_name(info)
        _check_member(path, info, member, zip_bytes)
        if info.is_dir() or _junk(member):
            continue
        total += info.file_size
        files.append(ExportFile(member, info.file_size, _member_opener(zf, info, path, member)))
    _check_total(path, total, zip_bytes)
    return files


class _MemberReader(io.RawIOBase):
    """A zip member as zipfile decompresses it, with damage found while reading (a bad
    CRC, a header that understates the size, corrupt data) raised as an ``InputError``
    that names the zip and the member instead of zipfile's own exceptions."""

    def __init__(self, zf: zipfile.ZipFile, info: zipfile.ZipInfo, where: str) -> None:
        super().__init__()
        self._where = where
        with self._named():
            self._inner = zf.open(info)

    @contextmanager
    def _named(self) -> Iterator[None]:
        try:
            yield
        except _DAMAGE as exc:
            raise InputError(
                f"{self._where} cannot be read: {exc}. The zip is damaged or was altered; "
                "nothing from this export was kept. Get a fresh copy of the export "
                "(download or export it again)"
            ) from None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return bool(self._inner.seekable())

    def readinto(self, buffer: Any) -> int:
        with self._named():
            data = self._inner.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def readall(self) -> bytes:
        with self._named():
            return self._inner.read()

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        with self._named():
            return self._inner.seek(offset, whence)

    def tell(self) -> int:
        return self._inner.tell()

    def close(self) -> None:
        if not self.closed:
            self._inner.close()
        super().close()


def _member_opener(zf: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path, name: str) -> Opener:
    def opener() -> BinaryIO:
        # reads at most info.file_size bytes; the CRC is checked at the end
        raw = _MemberReader(zf, info, f"{path}: member {name!r}")
        return cast(BinaryIO, io.BufferedReader(raw, 1 << 16))

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
        return open_regular(path)

    return opener
