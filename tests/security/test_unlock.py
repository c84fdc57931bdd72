"""Unlocking stays bounded and honest: Argon2 costs and slot counts from keys.json are
bounded, damage to archive.db is told apart from a keys.json that does not belong, and a
key file others can read is refused or warned about."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from hypothesis import given, settings
from hypothesis import strategies as st

from archiver import parsers
from archiver.archive.session import open_archive
from archiver.core import crypto
from archiver.core.crypto import ARGON2_BOUNDS, ARGON2_MAX_WORK_KIB, Argon2Params
from archiver.core.errors import Refused
from archiver.security import keyring
from archiver.security.keyring import Keyring, Secret, _slot_check
from archiver.store.database import PAGE_SIZE, connect
from tests.conftest import FIXED_NOW
from tests.fakeparser import FakeParser

Run = Callable[..., Result]
PASS = "correct horse battery staple"
PW = {"ARCHIVER_PASSPHRASE": PASS}
KEY = {"ARCHIVER_KEY_FILE": "k.key"}


def edit_kdf(keys_path: Path, **kdf: object) -> str:
    doc = json.loads(keys_path.read_text())
    slot = next(s for s in doc["slots"] if s["kind"] == "passphrase")
    slot["kdf"].update(kdf)
    slot["check"] = _slot_check(slot)
    keys_path.write_text(json.dumps(doc))
    return str(slot["id"])


@pytest.mark.parametrize(
    ("kdf", "problem"),
    [
        ({"iterations": 10**6}, "iterations is 1000000, outside 1..10"),
        ({"memory_kib": 32 * 1024 * 1024}, "memory_kib is 33554432, outside 8..1048576"),
        ({"lanes": 0}, "lanes is 0, outside 1..16"),
        ({"iterations": "3"}, "iterations is '3', outside 1..10"),
        (
            {"iterations": 8, "memory_kib": 1024 * 1024},
            "8 passes over 1048576 KiB exceed 4 passes over 1 GiB",
        ),
    ],
    ids=["a-million-passes", "32-GiB", "no-lanes", "not-a-number", "too-much-work"],
)
def test_argon2_parameters_out_of_bounds_are_refused_at_once(
    run: Run, tmp_path: Path, kdf: dict[str, object], problem: str
) -> None:
    assert run("init", "--tz", "UTC", **PW).exit_code == 0
    slot = edit_kdf(tmp_path / "archive" / "keys.json", **kdf)
    started = time.monotonic()
    result = run("status", **PW)
    assert time.monotonic() - started < 5
    assert result.exit_code == 3
    assert result.stderr == (
        f"Error: archive/keys.json: key slot {slot} asks for Argon2 parameters archiver "
        f"refuses ({problem}): unlocking would take too long or too much memory. archiver "
        "never writes such a slot; keys.json was edited outside archiver. Restore it from a "
        "backup, or unlock with another slot and remove this one.\n"
    )


def test_running_out_of_memory_in_argon2_is_a_clear_unlock_error(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run("init", "--tz", "UTC", **PW).exit_code == 0
    slot = json.loads((tmp_path / "archive" / "keys.json").read_text())["slots"][0]["id"]

    def exhausted(*args: object) -> bytes:
        raise MemoryError

    monkeypatch.setattr(crypto, "derive_passphrase_key", exhausted)
    result = run("status", **PW)
    assert result.exit_code == 3
    assert result.stderr == (
        f"Error: not enough memory to unlock passphrase slot {slot} (Argon2 asks for 8 MiB); "
        "free memory or unlock with a key file or the recovery key\n"
    )


@settings(max_examples=200, deadline=None)
@given(st.integers(-2, 12), st.integers(-1, 20), st.sampled_from([-1, 0, 7, 8, 64, 2**20, 2**21]))
def test_argon2_bounds_accept_exactly_the_bounded_costs(
    iterations: int, lanes: int, memory_kib: int
) -> None:
    inside = (
        all(
            low <= v <= high
            for v, (low, high) in zip(
                (iterations, lanes, memory_kib), ARGON2_BOUNDS.values(), strict=True
            )
        )
        and memory_kib >= 8 * lanes
        and iterations * memory_kib <= ARGON2_MAX_WORK_KIB
    )
    assert (Argon2Params(iterations, lanes, memory_kib).out_of_bounds() is None) == inside


def test_the_default_argon2_cost_is_inside_the_bounds() -> None:
    assert Argon2Params().out_of_bounds() is None


def test_slot_count_is_bounded(run: Run, tmp_path: Path, key_file: Path) -> None:
    assert run("init", "--tz", "UTC", "--key-file", "k.key").exit_code == 0
    keys_path = tmp_path / "archive" / "keys.json"
    doc = json.loads(keys_path.read_text())
    doc["slots"] = doc["slots"] * 17  # 34 slots
    keys_path.write_text(json.dumps(doc))
    result = run("status", **KEY)
    assert result.exit_code == 3
    assert result.stderr == (
        "Error: archive/keys.json lists 34 key slots; an archive has at most 32. It was "
        "edited outside archiver: restore keys.json from a backup\n"
    )


def test_adding_a_slot_beyond_the_bound_is_refused(tmp_path: Path, key_file: Path) -> None:
    ring = Keyring.new(tmp_path / "keys.json", "id", b"\0" * 32)
    db_key = crypto.random_bytes(32)
    for _ in range(keyring.MAX_SLOTS):
        ring.add_slot(
            Secret("keyfile", key_file.read_bytes(), "t"), db_key, FIXED_NOW, role="review"
        )
    with pytest.raises(Refused, match="already has 32 key slots, the most it may have"):
        ring.add_slot(
            Secret("keyfile", key_file.read_bytes(), "t"), db_key, FIXED_NOW, role="review"
        )


# --- damage or a wrong key --------------------------------------------------------------------


@pytest.fixture
def filled(run: Run, tmp_path: Path) -> Path:
    """./archive with enough pages that damage to one leaves others readable."""
    assert run("init", "--tz", "UTC", "--key-file", "k.key").exit_code == 0
    archive = open_archive(
        tmp_path / "archive", Secret("keyfile", (tmp_path / "k.key").read_bytes(), "t")
    )
    with archive.store.transaction():
        archive.store.execute("CREATE TABLE filler(x)")
        archive.store.conn.executemany(
            "INSERT INTO filler VALUES (?)", [(crypto.random_bytes(400),) for _ in range(300)]
        )
    archive.close()
    return tmp_path / "archive" / "archive.db"


def flip(path: Path, offset: int) -> None:
    with path.open("r+b") as fh:
        fh.seek(offset)
        byte = fh.read(1)
        fh.seek(offset)
        fh.write(bytes([byte[0] ^ 0xFF]))


def db_key(tmp_path: Path) -> bytes:
    ring = Keyring.load(tmp_path / "archive" / "keys.json")
    return ring.unlock(Secret("keyfile", (tmp_path / "k.key").read_bytes(), "t")).candidates[0]


def test_a_byte_flipped_on_page_1_is_damage_not_a_wrong_key(
    run: Run, tmp_path: Path, filled: Path
) -> None:
    pages = filled.stat().st_size // PAGE_SIZE
    flip(filled, 100)
    result = run("search", "x", **KEY)
    assert result.exit_code == 4
    assert result.stderr == (
        "Error: archive/archive.db is damaged: the key slot and keys.json prove the key is "
        f"right, but the HMAC check fails on 1 of its {pages} pages (1). Restore archive.db "
        "from a backup made with `archiver backup` (check the copy with `archiver verify "
        "--archive DIR`).\n"
    )


def test_a_cut_last_page_is_damage_not_a_wrong_key(run: Run, tmp_path: Path, filled: Path) -> None:
    os.truncate(filled, filled.stat().st_size - PAGE_SIZE)
    result = run("status", **KEY)
    assert result.exit_code == 4
    assert result.stderr == (
        "Error: archive/archive.db is damaged: the key slot and keys.json prove the key is "
        "right, but SQLite reports 'database disk image is malformed' although every page's "
        "HMAC verifies: the file was probably cut short, or changed by something other than "
        "SQLite. Restore archive.db from a backup made with `archiver backup` (check the "
        "copy with `archiver verify --archive DIR`).\n"
    )


def test_an_empty_database_file_is_damage_and_stays_untouched(
    run: Run, tmp_path: Path, filled: Path
) -> None:
    os.truncate(filled, 0)
    result = run("status", **KEY)
    assert result.exit_code == 4
    assert result.stderr == (
        "Error: archive/archive.db holds no archive (it is empty or was cut to nothing). "
        "Restore archive.db from a backup made with `archiver backup`.\n"
    )
    assert filled.stat().st_size == 0


def test_damage_met_by_a_command_is_damage_not_a_bug(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parsers, "all_parsers", lambda: [FakeParser()])
    assert run("init", "--tz", "UTC", "--key-file", "k.key").exit_code == 0
    lines = [f"2024-03-01T09:{i:02d}:00+00:00|Desk|Dana|text|price {i} zanzibar" for i in range(60)]
    (tmp_path / "desk.fake").write_text("\n".join(lines) + "\n")
    assert run("ingest", "desk.fake", **KEY).exit_code == 0
    db = tmp_path / "archive" / "archive.db"
    conn = connect(db, db_key(tmp_path))
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'messages'").fetchone()
    conn.close()
    flip(db, (int(root[0]) - 1) * PAGE_SIZE + 300)
    monkeypatch.delenv("ARCHIVER_DEBUG")  # as a user runs it: no re-raised exception
    result = run("search", "zanzibar", **KEY)
    assert result.exit_code == 4
    assert result.stderr == (
        "Error: archive/archive.db is damaged: SQLite reports 'database disk image is "
        "malformed' while running `archiver search`. Run `archiver verify` to see what is "
        "damaged, and restore the archive from a backup made with `archiver backup`.\n"
    )


def test_damage_met_while_reading_the_audit_trail_is_damage_too(
    run: Run, tmp_path: Path, filled: Path
) -> None:
    conn = connect(filled, db_key(tmp_path))
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'audit_log'").fetchone()
    conn.close()
    flip(filled, (int(root[0]) - 1) * PAGE_SIZE + 300)
    result = run("audit", **KEY)
    assert result.exit_code == 4
    assert result.stderr == (
        "Error: the archive database is damaged: SQLite reports 'database disk image is "
        "malformed'. Run `archiver verify` to see what is damaged, and restore the archive "
        "from a backup made with `archiver backup`.\n"
    )


def test_an_older_keys_json_after_a_rotate_is_a_wrong_key_not_damage(
    run: Run, tmp_path: Path, filled: Path
) -> None:
    keys_path = tmp_path / "archive" / "keys.json"
    before = keys_path.read_bytes()
    assert run("key", "rotate", **KEY).exit_code == 0
    keys_path.write_bytes(before)
    result = run("status", **KEY)
    assert result.exit_code == 3
    assert result.stderr == (
        "Error: the key slot opened but archive/archive.db does not decrypt with its key (not "
        "one page verifies): this keys.json does not belong to this database, or is older "
        "than its last `archiver key rotate`. Restore the matching keys.json.\n"
    )


# --- key file permissions ---------------------------------------------------------------------


@pytest.mark.parametrize("mode", [0o644, 0o604, 0o602, 0o666])
def test_a_key_file_every_user_can_open_is_refused(run: Run, tmp_path: Path, mode: int) -> None:
    assert run("init", "--tz", "UTC", "--key-file", "k.key").exit_code == 0
    (tmp_path / "k.key").chmod(mode)
    result = run("status", **KEY)
    assert result.exit_code == 3
    assert result.stderr == (
        f"Error: key file k.key is open to every user of this machine (mode {mode:04o}): any "
        "of them could unlock the archive with it. Run `chmod 600 k.key`, and if others may "
        "have copied it, `archiver key rotate` and replace the file (`archiver key "
        "add-keyfile`, then `archiver key remove` the old slot).\n"
    )
    assert result.stdout == ""


@pytest.mark.parametrize("mode", [0o640, 0o660, 0o620])
def test_a_key_file_its_group_can_open_is_used_with_a_warning(
    run: Run, tmp_path: Path, mode: int
) -> None:
    assert run("init", "--tz", "UTC", "--key-file", "k.key").exit_code == 0
    (tmp_path / "k.key").chmod(mode)
    result = run("status", "--json", **KEY)
    assert result.exit_code == 0
    assert result.stderr == (
        f"Warning: key file k.key is open to its group (mode {mode:04o}); run `chmod 600 "
        "k.key` so that only its owner can read it\n"
    )
    assert json.loads(result.stdout)["archive_id"]


def test_init_refuses_an_existing_key_file_every_user_can_read(run: Run, tmp_path: Path) -> None:
    path = tmp_path / "k.key"
    path.write_bytes(crypto.random_bytes(32))
    path.chmod(0o644)
    result = run("init", "--tz", "UTC", "--key-file", "k.key")
    assert result.exit_code == 3
    assert "is open to every user of this machine (mode 0644)" in result.stderr
    assert not (tmp_path / "archive").exists()


def test_a_private_key_file_gives_no_warning(run: Run, tmp_path: Path) -> None:
    assert run("init", "--tz", "UTC", "--key-file", "k.key").exit_code == 0
    result = run("status", **KEY)
    assert (result.exit_code, result.stderr) == (0, "")
