"""The production folder: created empty, owner-only, every file hashed as it is written.

A production is plaintext by nature. Its folder must not exist or be empty (nothing of
another production is mixed in or overwritten), is made 0700 with 0700 subfolders, and
each file is 0600. Every file's size, SHA-256 and MD5 are recorded as it is written, for
the manifest.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

from archiver.core.errors import Refused


class Sink(Protocol):
    """Where bytes are written (a production file, or a stream inside one)."""

    def write(self, data: bytes) -> int: ...


@dataclass(frozen=True)
class Written:
    path: str
    size: int
    sha256: str
    md5: str

    def as_dict(self) -> dict[str, object]:
        return {"path": self.path, "size": self.size, "sha256": self.sha256, "md5": self.md5}


class _Hashing:
    """A binary file that hashes what is written to it."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.sha256 = hashlib.sha256()
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.size = 0

    def write(self, data: bytes) -> int:
        self.raw.write(data)
        self.sha256.update(data)
        self.md5.update(data)
        self.size += len(data)
        return len(data)


class OutDir:
    """Where a production's files go."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.written: list[Written] = []
        self._made_root = False

    def open(self) -> None:
        """Make the folder (or take an empty one); refuse one that holds anything."""
        if self.root.exists():
            if not self.root.is_dir():
                raise Refused(f"{self.root} is a file; give --out a new or empty folder")
            if any(self.root.iterdir()):
                raise Refused(
                    f"{self.root} is not empty; a production goes into a new or empty folder "
                    "(nothing is overwritten or mixed in)"
                )
            os.chmod(self.root, 0o700)
        else:
            self.root.mkdir(mode=0o700, parents=True)
            self._made_root = True

    def _folder(self, rel: str) -> Path:
        path = self.root / rel
        for parent in reversed(path.relative_to(self.root).parents):
            folder = self.root / parent
            if not folder.exists():
                folder.mkdir(mode=0o700)
        return path

    @contextmanager
    def create(self, rel: str) -> Iterator[_Hashing]:
        """A new file ``rel`` (POSIX path inside the folder), 0600, hashed as written."""
        path = self._folder(rel)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb", buffering=1 << 16) as raw:
            out = _Hashing(raw)
            yield out
        self.written.append(Written(rel, out.size, out.sha256.hexdigest(), out.md5.hexdigest()))

    def write(self, rel: str, data: bytes) -> Written:
        with self.create(rel) as out:
            out.write(data)
        return self.written[-1]

    def remove_all(self) -> None:
        """After a failure: take back every file written (the folder too if it was
        made here), so no half production lies around in plaintext."""
        if self._made_root:
            shutil.rmtree(self.root, ignore_errors=True)
            return
        for child in self.root.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child, ignore_errors=True)
            else:
                child.unlink(missing_ok=True)
