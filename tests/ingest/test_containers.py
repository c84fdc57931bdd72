"""Reading exports safely: zips, folders, junk, traversal, symlinks, bombs."""

from __future__ import annotations

import re
import stat
import zipfile
from pathlib import Path

import pytest

from archiver.core.errors import InputError, UnsafeInput
from archiver.ingest.containers import discover, open_unit


def make_zip(path: Path, members: dict[str, bytes], *, symlink: str | None = None) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            z.writestr(info, "/etc/passwd")
    return path


def unit_paths(path: Path) -> list[str]:
    (only,) = discover([path]).units
    with open_unit(*only) as received:
        return [f.path for f in received.unit.files]


def test_zip_members_are_read_in_memory_and_junk_is_ignored(tmp_path: Path) -> None:
    z = make_zip(
        tmp_path / "WhatsApp Chat - Team.zip",
        {
            "_chat.txt": b"[01.02.24, 10:00:00] A: hi\n",
            "00000001-PHOTO.jpg": b"\xff\xd8",
            "__MACOSX/._00000001-PHOTO.jpg": b"junk",
            ".DS_Store": b"junk",
        },
    )
    assert unit_paths(z) == ["_chat.txt", "00000001-PHOTO.jpg"]
    (only,) = discover([z]).units
    with open_unit(*only) as received, received.unit.files[0].open() as fh:
        assert fh.read() == b"[01.02.24, 10:00:00] A: hi\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["WhatsApp Chat - Team.zip"]


@pytest.mark.parametrize(
    ("member", "reason"),
    [
        ("../../etc/cron.d/evil", "points outside the export (path traversal)"),
        ("/etc/passwd", "points outside the export (path traversal)"),
        ("..\\..\\windows\\evil.txt", "points outside the export (path traversal)"),
        ("C:/evil.txt", "points outside the export (path traversal)"),
    ],
)
def test_path_traversal_is_refused(tmp_path: Path, member: str, reason: str) -> None:
    z = make_zip(tmp_path / "bad.zip", {"_chat.txt": b"x", member: b"evil"})
    with pytest.raises(UnsafeInput, match=re.escape(reason)):
        unit_paths(z)


def test_symlink_member_is_refused(tmp_path: Path) -> None:
    z = make_zip(tmp_path / "link.zip", {"_chat.txt": b"x"}, symlink="photo.jpg")
    with pytest.raises(UnsafeInput) as err:
        unit_paths(z)
    assert str(err.value) == (f"{z}: member 'photo.jpg' is a symbolic link; refusing this zip")


def test_zip_bomb_is_refused_before_decompressing(tmp_path: Path) -> None:
    z = make_zip(tmp_path / "bomb.zip", {"_chat.txt": b"x", "big.bin": b"\0" * (300 << 20)})
    assert z.stat().st_size < 2 << 20
    with pytest.raises(UnsafeInput, match="refusing a possible zip bomb"):
        unit_paths(z)


def test_damaged_zip_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "cut.zip"
    bad.write_bytes(b"PK\x03\x04 truncated download")
    with pytest.raises(InputError, match="is not a valid zip file"):
        unit_paths(bad)


def test_folder_walk_finds_each_export_once(tmp_path: Path) -> None:
    (tmp_path / "tg" / "photos").mkdir(parents=True)
    (tmp_path / "tg" / "result.json").write_text("{}")
    (tmp_path / "tg" / "photos" / "p.jpg").write_bytes(b"x")
    (tmp_path / "wa").mkdir()
    (tmp_path / "wa" / "WhatsApp Chat with Bo.txt").write_text("x")
    (tmp_path / "wa" / "IMG-1.jpg").write_bytes(b"x")
    make_zip(tmp_path / "other.zip", {"_chat.txt": b"x"})
    (tmp_path / "loose.txt").write_text("x")
    (tmp_path / "notes.pdf").write_bytes(b"x")
    found = discover([tmp_path])
    assert [(p.relative_to(tmp_path).as_posix(), k) for p, k in found.units] == [
        ("loose.txt", "file"),
        ("other.zip", "zip"),
        ("tg", "folder"),
        ("wa", "folder"),
    ]
    assert [(p.name, r) for p, r in found.skipped] == [("notes.pdf", "not an export file")]


def test_symlink_inside_a_folder_export_is_refused(tmp_path: Path) -> None:
    export = tmp_path / "ChatExport"
    (export / "photos").mkdir(parents=True)
    (export / "result.json").write_text("{}")
    (export / "photos" / "leak.jpg").symlink_to("/etc/hostname")
    with pytest.raises(UnsafeInput, match="is a symbolic link inside the export"):
        unit_paths(export)
