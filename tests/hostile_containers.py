"""Hostile exports, built at test time (nothing of megabytes is committed).

``build(folder)`` writes one file or folder per case into ``folder`` and returns the
cases with what ingesting each must give. Zips are written by a small writer of our own
(``write_zip``) so that a case can lie in its headers (sizes, modes, names) and so that a
6 GiB zip bomb costs 6 MB and a few milliseconds: the compressed form of one mebibyte of
zeros is computed once and repeated.

Run it directly to look at the files: ``python -m tests.hostile_containers OUT_DIR``.
"""

from __future__ import annotations

import io
import os
import stat
import struct
import sys
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


def chat(about: str) -> bytes:
    """Seven messages of an iOS WhatsApp export; ``about`` makes each chat its own (two
    exports sharing their messages are one chat)."""
    return "".join(
        f"[{day:02d}.03.24, 10:00:00] Dana: note {day} about {about}\n" for day in range(13, 20)
    ).encode()


@dataclass(frozen=True)
class Member:
    """One zip member as written: ``packed`` is what is stored (``method`` 8: raw
    deflate), ``size`` and ``crc`` what the headers declare about the content."""

    name: str
    packed: bytes
    size: int
    crc: int
    method: int = 8
    mode: int = stat.S_IFREG | 0o644


def deflated(name: str, data: bytes, *, declared_size: int | None = None) -> Member:
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    packed = packer.compress(data) + packer.flush()
    size = len(data) if declared_size is None else declared_size
    return Member(name, packed, size, zlib.crc32(data))


def stored(name: str, data: bytes) -> Member:
    return Member(name, data, len(data), zlib.crc32(data), method=0)


def symlink(name: str, target: str) -> Member:
    data = target.encode()
    return Member(name, data, len(data), zlib.crc32(data), method=0, mode=stat.S_IFLNK | 0o777)


def zeros(name: str, mebibytes: int) -> Member:
    """A member of ``mebibytes`` MiB of zeros, compressed about a thousand times."""
    return deflated(name, bytes(mebibytes << 20))


_LOCAL = struct.Struct("<IHHHHHIIIHH")
_CENTRAL = struct.Struct("<IHHHHHHIIIHHHHHII")
_END = struct.Struct("<IHHHHIIH")


def write_zip(path: Path, members: Iterable[Member]) -> Path:
    """A zip with exactly these headers (UTF-8 names, Unix modes, no zip64)."""
    central = io.BytesIO()
    count = 0
    with path.open("wb") as out:
        for m in members:
            name = m.name.encode()
            offset = out.tell()
            sizes = (m.crc, len(m.packed), m.size, len(name))
            local = (0x04034B50, 20, 0x800, m.method, 0, 0x5821, *sizes, 0)
            out.write(_LOCAL.pack(*local) + name + m.packed)
            attrs = (0, 0, 0, 0, m.mode << 16, offset)
            entry = (0x02014B50, (3 << 8) | 20, 20, 0x800, m.method, 0, 0x5821, *sizes, *attrs)
            central.write(_CENTRAL.pack(*entry) + name)
            count += 1
        start = out.tell()
        directory = central.getvalue()
        out.write(directory)
        out.write(_END.pack(0x06054B50, 0, 0, count, count, len(directory), start, 0))
    return path


def good_zip(path: Path, *extra: Member) -> Path:
    return write_zip(path, [deflated("_chat.txt", chat(path.stem)), *extra])


LIMITS = (
    "refusing a possible zip bomb (limits: each member and the whole zip at most 200 times "
    "smaller than they expand to, a member at most 8 GiB, all members 32 GiB, 200,000 members)"
)
DAMAGED = (
    ". The zip is damaged or was altered; nothing from this export was kept. Get a fresh "
    "copy of the export (download or export it again)"
)
NOT_INGESTED = (
    "that was NOT ingested: a chat export found inside another export is kept only as part "
    "of that export's evidence (and as the attachment of the message that sent it). Extract "
    "it and ingest it on its own, with the --custodian and --tz it belongs to"
)


@dataclass(frozen=True)
class Case:
    """A hostile input, alone in its own folder, and what ingesting that folder must say:
    ``status`` is what becomes of ``path`` (failed, ingested, skipped, or ingested with
    an inner export ``not-ingested``) and ``says`` the message, which follows the path
    (of the inner zip for ``not-ingested``) in the output."""

    slug: str
    path: Path
    status: str
    says: str
    inner: str | None = None


def _many_members_bomb(path: Path) -> Path:
    one = zeros("x", 1)
    members = (Member(f"part{i:04d}.bin", one.packed, one.size, one.crc) for i in range(6000))
    return write_zip(path, members)


def build(root: Path) -> list[Case]:
    """Write every case into its own folder under ``root``, beside a good export."""
    cases: list[Case] = []

    def folder(slug: str) -> Path:
        made = root / slug
        made.mkdir(parents=True)
        return made

    def case(slug: str, path: Path, status: str, says: str, inner: str | None = None) -> None:
        cases.append(Case(slug, path, status, says, inner))

    good = folder("good") / "WhatsApp Chat with Good.txt"
    good.write_bytes(chat("good"))
    case("good", good, "ingested", "")

    understated = deflated("_chat.txt", chat("understated"), declared_size=40)
    case(
        "understated",
        write_zip(folder("understated") / "WhatsApp Chat - Understated.zip", [understated]),
        "failed",
        ": member '_chat.txt' cannot be read: Bad CRC-32 for file '_chat.txt'" + DAMAGED,
    )
    case(
        "many-members",
        _many_members_bomb(folder("many-members") / "WhatsApp Chat - Many.zip"),
        "failed",
        ": its members would expand to 5.9 GiB from a zip of 6.5 MiB; " + LIMITS,
    )
    case(
        "single-bomb",
        good_zip(folder("single-bomb") / "WhatsApp Chat - Single.zip", zeros("video.mp4", 64)),
        "failed",
        ": member 'video.mp4' would expand from 63.7 KiB to 64 MiB; " + LIMITS,
    )
    bomb = _many_members_bomb(root / "inner-bomb.zip.part")
    inner = "00000002-archive.zip"
    nested = folder("nested-bomb") / "WhatsApp Chat - Nested Bomb.zip"
    good_zip(nested, stored(inner, bomb.read_bytes()))
    case(
        "nested-bomb",
        nested,
        "not-ingested",
        f"!/{inner}: could not be examined safely, so a chat export inside it would be missed: "
        f"its members would expand to 5.9 GiB from a zip of 6.5 MiB; {LIMITS}",
        inner,
    )
    bomb.unlink()
    inner = "00000003-WhatsApp Chat - Inner.zip"
    export = good_zip(root / "inner-export.zip.part")
    nested = folder("nested-export") / "WhatsApp Chat - Nested Export.zip"
    good_zip(nested, stored(inner, export.read_bytes()))
    case(
        "nested-export",
        nested,
        "not-ingested",
        f"!/{inner}: holds a WhatsApp export " + NOT_INGESTED,
        inner,
    )
    export.unlink()
    case(
        "traversal",
        good_zip(folder("traversal") / "WhatsApp Chat - Up.zip", deflated("../../evil.txt", b"x")),
        "failed",
        ": member '../../evil.txt' points outside the export (path traversal); refusing to read "
        "this zip",
    )
    case(
        "absolute",
        good_zip(folder("absolute") / "WhatsApp Chat - Abs.zip", deflated("/tmp/evil.txt", b"x")),
        "failed",
        ": member '/tmp/evil.txt' points outside the export (path traversal); refusing to read "
        "this zip",
    )
    case(
        "symlink-member",
        good_zip(folder("symlink-member") / "WhatsApp Chat - Link.zip", symlink("a.jpg", "/etc")),
        "failed",
        ": member 'a.jpg' is a symbolic link; refusing this zip",
    )
    whole = good_zip(root / "whole.zip.part")
    cut = folder("truncated") / "WhatsApp Chat - Truncated.zip"
    cut.write_bytes(whole.read_bytes()[:100])
    whole.unlink()
    case("truncated", cut, "failed", " is not a valid zip file (damaged or incomplete download?)")

    telegram = folder("symlink-in-folder") / "ChatExport_Link"
    (telegram / "photos").mkdir(parents=True)
    (telegram / "result.json").write_text('{"name": "Desk", "type": "private_group"}')
    (telegram / "photos" / "leak.jpg").symlink_to("/etc/hostname")
    case(
        "symlink-in-folder",
        telegram,
        "failed",
        "/photos/leak.jpg is a symbolic link inside the export; refusing to follow it",
    )
    loose = folder("symlink-among-exports") / "WhatsApp Chat with Passwd.txt"
    loose.symlink_to("/etc/passwd")
    case("symlink-among-exports", loose, "skipped", ": symbolic link (not followed)")
    if hasattr(os, "mkfifo"):
        pipe = folder("pipe") / "WhatsApp Chat with Pipe.txt"
        os.mkfifo(pipe)
        case("pipe", pipe, "skipped", ": not a regular file (a device, pipe or socket)")
    return cases


if __name__ == "__main__":  # pragma: no cover
    for built in build(Path(sys.argv[1])):
        print(f"{built.status:12s} {built.path}")
