"""Shared fixtures: every test runs in its own folder with a clean environment."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from archiver.archive.session import Archive, create_archive, open_archive
from archiver.cli import cli
from archiver.core import crypto
from archiver.security import keyring
from archiver.security.keyring import Secret
from archiver.store.auditlog import Invocation

FIXED_NOW = datetime(2026, 11, 27, 12, 0, 0, tzinfo=UTC)
# The read-only material beside the repository (peer exports); tests that read it skip
# when it is absent. ARCHIVER_SHARED points elsewhere (e.g. from a git worktree).
SHARED = Path(
    os.environ.get("ARCHIVER_SHARED") or Path(__file__).resolve().parents[1].parent / "shared"
)


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """No test sees the operator's environment, home or real Argon2 cost."""
    for name in (
        "ARCHIVER_ARCHIVE",
        "ARCHIVER_KEY_FILE",
        "ARCHIVER_PASSPHRASE",
        "ARCHIVER_RECOVERY_KEY",
        "ARCHIVER_NEW_PASSPHRASE",
        "TZ",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ARCHIVER_DEBUG", "1")
    monkeypatch.setattr(
        keyring, "DEFAULT_ARGON2", crypto.Argon2Params(iterations=1, lanes=1, memory_kib=8192)
    )
    monkeypatch.chdir(tmp_path)
    yield tmp_path


def inv(command: str = "test", **args: object) -> Invocation:
    return Invocation(
        command=command, args=args, user="tester", host="testhost", clock=lambda: FIXED_NOW
    )


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "archive.key"
    keyring.create_key_file(path)
    return path


@pytest.fixture
def archive(tmp_path: Path, key_file: Path) -> Iterator[Archive]:
    """A fresh archive in tmp_path/archive unlocked with `key_file`."""
    made = create_archive(
        tmp_path / "archive",
        Secret("keyfile", key_file.read_bytes(), "test"),
        inv("init"),
        tz="Europe/London",
    )
    made.archive.close()
    opened = open_archive(tmp_path / "archive", Secret("keyfile", key_file.read_bytes(), "test"))
    yield opened
    opened.close()


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    """Run the CLI like a user would; env vars as keyword arguments."""

    def _run(*args: str, input: str | None = None, **env: str) -> Result:
        runner = CliRunner()
        return runner.invoke(cli, list(args), input=input, env=env or None, catch_exceptions=False)

    return _run
