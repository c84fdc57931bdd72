"""The foundation through the CLI: init, unlock by every slot kind, key slots, backup."""

from __future__ import annotations

import hashlib
import json
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from archiver.core import crypto
from archiver.security.keyring import parse_recovery_key
from archiver.store.database import PAGE_SIZE, connect

Run = Callable[..., Result]
PASS = "correct horse battery staple"


def init_with_passphrase(run: Run, tmp_path: Path) -> str:
    """Create ./archive with a passphrase slot; returns the recovery key."""
    out = tmp_path / "recovery.txt"
    result = run(
        "init", "--tz", "Europe/Berlin", "--recovery-key-out", str(out), ARCHIVER_PASSPHRASE=PASS
    )
    assert result.exit_code == 0, result.output
    return out.read_text().strip()


def test_init_prints_identity_once_and_refuses_to_overwrite(run: Run, tmp_path: Path) -> None:
    result = run("init", "--tz", "UTC", "--key-file", "k.key")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "Created archive archive"
    assert lines[2] == "  time zone:   UTC"
    assert "keyfile (k.key, created)" in lines[3]
    assert lines[4].endswith("recovery")
    fingerprint = lines[7].strip()
    assert len(fingerprint.split(":")) == 16
    assert lines[9] == "Recovery key (shown once; keep it offline, it unlocks this archive):"
    parse_recovery_key(lines[10])  # a valid, typeable key
    assert stat.S_IMODE((tmp_path / "k.key").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "archive" / "archive.db").stat().st_mode) == 0o600

    again = run("init", "--tz", "UTC", "--key-file", "k.key")
    assert again.exit_code == 1
    assert again.stderr == (
        "Error: archive already holds an archive; refusing to overwrite it. "
        "Choose another --archive directory.\n"
    )


def test_unlock_with_passphrase_key_file_and_recovery_key(run: Run, tmp_path: Path) -> None:
    recovery = init_with_passphrase(run, tmp_path)
    assert run("status", "--json", ARCHIVER_PASSPHRASE=PASS).exit_code == 0
    assert run("status", ARCHIVER_RECOVERY_KEY=recovery).exit_code == 0
    # typed back loosely: lower case, spaces instead of dashes
    assert run("status", ARCHIVER_RECOVERY_KEY=recovery.lower().replace("-", " ")).exit_code == 0
    added = run("key", "add-keyfile", "job.key", "--role", "review", ARCHIVER_PASSPHRASE=PASS)
    assert added.exit_code == 0, added.output
    assert stat.S_IMODE((tmp_path / "job.key").stat().st_mode) == 0o600
    status = run("status", "--json", ARCHIVER_KEY_FILE="job.key")
    assert status.exit_code == 0
    assert [s["kind"] for s in json.loads(status.stdout)["slots"]] == [
        "passphrase",
        "recovery",
        "keyfile",
    ]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"ARCHIVER_PASSPHRASE": "wrong passphrase here"},
            "Error: wrong passphrase (from ARCHIVER_PASSPHRASE): it opens no key slot of "
            "this archive\n",
        ),
        (
            {},
            "Error: the archive is locked and no secret was given; supply one with "
            "--key-file PATH (or ARCHIVER_KEY_FILE), ARCHIVER_PASSPHRASE, or "
            "ARCHIVER_RECOVERY_KEY\n",
        ),
        (
            {"ARCHIVER_RECOVERY_KEY": "AAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AAAA"},
            "Error: the recovery key's last group does not match: check it for a typo\n",
        ),
    ],
    ids=["wrong-passphrase", "no-secret-no-tty", "mistyped-recovery-key"],
)
def test_missing_or_wrong_secret_exits_3_with_one_line(
    run: Run, tmp_path: Path, env: dict[str, str], message: str
) -> None:
    init_with_passphrase(run, tmp_path)
    result = run("status", **env)
    assert result.exit_code == 3
    assert result.stderr == message
    assert result.stdout == ""


def test_wrong_key_file_is_refused(run: Run, tmp_path: Path) -> None:
    init_with_passphrase(run, tmp_path)
    (tmp_path / "other.key").write_bytes(b"x" * 32)
    (tmp_path / "other.key").chmod(0o600)
    result = run("status", "--key-file", "other.key")
    assert result.exit_code == 3
    assert result.stderr == (
        "Error: this archive has no keyfile slot (it has: passphrase, recovery); the secret "
        "from --key-file other.key cannot unlock it\n"
    )


def db_pages(path: Path) -> list[bytes]:
    data = path.read_bytes()
    pages = range(0, len(data), PAGE_SIZE)
    return [hashlib.sha256(data[i : i + PAGE_SIZE]).digest() for i in pages]


def checkpoint(db: Path, key: bytes) -> None:
    conn = connect(db, key)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def test_slots_change_without_reencrypting_and_rotate_revokes_old_key(
    run: Run, tmp_path: Path
) -> None:
    from archiver.archive.session import open_archive
    from archiver.security.keyring import Secret

    init_with_passphrase(run, tmp_path)
    db = tmp_path / "archive" / "archive.db"
    archive = open_archive(tmp_path / "archive", Secret.passphrase(PASS, "test"))
    old_key = archive.db_key
    with archive.store.transaction():  # enough pages that "most unchanged" means something
        archive.store.execute("CREATE TABLE filler(x)")
        archive.store.conn.executemany(
            "INSERT INTO filler VALUES (?)", [(crypto.random_bytes(500),) for _ in range(2000)]
        )
    archive.close()
    checkpoint(db, old_key)
    before = db_pages(db)

    assert (
        run("key", "add-keyfile", "a.key", "--role", "admin", ARCHIVER_PASSPHRASE=PASS).exit_code
        == 0
    )
    added = run(
        "key",
        "add-passphrase",
        "--role",
        "review",
        ARCHIVER_PASSPHRASE=PASS,
        ARCHIVER_NEW_PASSPHRASE="second passphrase!",
    )
    assert added.exit_code == 0, added.output
    slots = json.loads(run("key", "list", "--json", ARCHIVER_KEY_FILE="a.key").stdout)
    first = next(s["id"] for s in slots if s["kind"] == "passphrase")
    assert run("key", "remove", first, ARCHIVER_KEY_FILE="a.key").exit_code == 0
    checkpoint(db, old_key)
    after = db_pages(db)
    unchanged = sum(a == b for a, b in zip(before, after, strict=False))
    assert unchanged >= len(before) - 8, "slot changes must not re-encrypt the database"
    # the removed passphrase no longer works, the others do
    assert run("status", ARCHIVER_PASSPHRASE=PASS).exit_code == 3
    assert run("status", ARCHIVER_PASSPHRASE="second passphrase!").exit_code == 0

    rotated = run("key", "rotate", ARCHIVER_KEY_FILE="a.key")
    assert rotated.exit_code == 0, rotated.output
    assert rotated.stdout.startswith("Database re-keyed; re-wrapped 3 slot(s): ")
    with pytest.raises(Exception, match="does not open with the unlocked key"):
        connect(db, old_key)
    assert run("status", ARCHIVER_KEY_FILE="a.key").exit_code == 0
    assert run("status", ARCHIVER_PASSPHRASE="second passphrase!").exit_code == 0
    checkpoint_key = open_archive(
        tmp_path / "archive", Secret.passphrase("second passphrase!", "t")
    )
    new_key = checkpoint_key.db_key
    checkpoint_key.close()
    assert new_key != old_key
    checkpoint(db, new_key)
    rekeyed = db_pages(db)
    same = sum(a == b for a, b in zip(after, rekeyed, strict=False))
    assert same <= 1, "rotate must re-encrypt every page"


def test_last_slot_cannot_be_removed(run: Run, tmp_path: Path) -> None:
    assert run("init", "--tz", "UTC", "--key-file", "k.key").exit_code == 0
    slots = json.loads(run("key", "list", "--json", ARCHIVER_KEY_FILE="k.key").stdout)
    recovery = next(s["id"] for s in slots if s["kind"] == "recovery")
    confirmed = run("key", "remove", recovery, "--yes-i-understand", ARCHIVER_KEY_FILE="k.key")
    assert confirmed.exit_code == 0
    keyfile_slot = next(s["id"] for s in slots if s["kind"] == "keyfile")
    result = run("key", "remove", keyfile_slot, ARCHIVER_KEY_FILE="k.key")
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: slot {keyfile_slot} is the last key slot; removing it would lock the archive "
        "forever. Add another slot first (`archiver key add-passphrase`).\n"
    )
    assert run("status", ARCHIVER_KEY_FILE="k.key").exit_code == 0


def test_add_keyfile_refuses_to_overwrite(run: Run, tmp_path: Path) -> None:
    assert run("init", "--tz", "UTC", "--key-file", "k.key").exit_code == 0
    (tmp_path / "exists.key").write_text("precious")
    result = run("key", "add-keyfile", "exists.key", "--role", "review", ARCHIVER_KEY_FILE="k.key")
    assert result.exit_code == 1
    assert result.stderr == "Error: exists.key already exists; refusing to overwrite it\n"
    assert (tmp_path / "exists.key").read_text() == "precious"


def flip_byte_in_wrapped_key(keys_path: Path, slot_index: int) -> None:
    doc = json.loads(keys_path.read_text())
    wrapped = bytearray(crypto.b64d(doc["slots"][slot_index]["wrapped_private_key"]))
    wrapped[20] ^= 0x01
    doc["slots"][slot_index]["wrapped_private_key"] = crypto.b64e(bytes(wrapped))
    keys_path.write_text(json.dumps(doc))


def test_tampered_keys_json_is_a_clear_error(run: Run, tmp_path: Path) -> None:
    assert run("init", "--tz", "UTC", "--key-file", "k.key").exit_code == 0
    keys_path = tmp_path / "archive" / "keys.json"
    doc = json.loads(keys_path.read_text())
    slot_id = doc["slots"][0]["id"]
    flip_byte_in_wrapped_key(keys_path, 0)
    result = run("status", ARCHIVER_KEY_FILE="k.key")
    assert result.exit_code == 3
    assert result.stderr == (
        f"Error: {keys_path.relative_to(tmp_path)}: key slot {slot_id} is damaged (its checksum "
        "does not match); restore keys.json from a backup made with `archiver backup`\n"
    )


def test_keys_json_rewritten_by_an_attacker_is_detected_by_its_mac(
    run: Run, tmp_path: Path
) -> None:
    """Someone who recomputes the slot checksums still cannot forge the keyed MAC."""
    from archiver.security.keyring import _slot_check

    assert run("init", "--tz", "UTC", "--key-file", "k.key").exit_code == 0
    keys_path = tmp_path / "archive" / "keys.json"
    doc = json.loads(keys_path.read_text())
    doc["slots"][1]["label"] = "attacker was here"
    doc["slots"][1]["check"] = _slot_check(doc["slots"][1])
    keys_path.write_text(json.dumps(doc))
    result = run("status", ARCHIVER_KEY_FILE="k.key")
    assert result.exit_code == 3
    assert "was modified outside archiver (its MAC does not match" in result.stderr


def test_backup_is_a_verified_encrypted_copy_that_opens(run: Run, tmp_path: Path) -> None:
    assert run("init", "--tz", "UTC", "--key-file", "k.key").exit_code == 0
    result = run("backup", "bak", "--json", ARCHIVER_KEY_FILE="k.key")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["verified"] is True
    copied = tmp_path / "bak" / "archive.db"
    assert report["archive_db_sha256"] == hashlib.sha256(copied.read_bytes()).hexdigest()
    assert b"SQLite format 3" not in copied.read_bytes()[:16]  # encrypted
    status = run("status", "--json", "--archive", "bak", ARCHIVER_KEY_FILE="k.key")
    assert status.exit_code == 0
    assert (
        json.loads(status.stdout)["archive_id"]
        == json.loads(run("status", "--json", ARCHIVER_KEY_FILE="k.key").stdout)["archive_id"]
    )
    again = run("backup", "bak", ARCHIVER_KEY_FILE="k.key")
    assert again.exit_code == 1
    assert again.stderr == "Error: bak exists and is not empty; choose a new backup directory\n"


def test_status_json_reports_counts_slots_and_sizes(run: Run) -> None:
    assert run("init", "--tz", "Asia/Tokyo", "--key-file", "k.key").exit_code == 0
    report = json.loads(run("status", "--json", ARCHIVER_KEY_FILE="k.key").stdout)
    assert report["default_tz"] == "Asia/Tokyo"
    assert report["schema_version"] >= 1
    assert report["counts"]["messages"] == 0
    assert report["counts"]["audit_entries"] == 1  # init (counted before this entry)
    assert set(report["sizes"]) >= {"archive.db", "keys.json"}
    assert report["audit_head"].startswith("2:")


def test_unknown_zone_is_refused_before_anything_is_created(run: Run, tmp_path: Path) -> None:
    result = run("init", "--tz", "Mars/Olympus", "--key-file", "k.key")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: unknown time zone 'Mars/Olympus': use an IANA name such as Europe/London or "
        "America/New_York, UTC, or a fixed offset written UTC+05:30\n"
    )
    assert not (tmp_path / "archive" / "archive.db").exists()


def test_short_passphrase_is_refused(run: Run) -> None:
    result = run("init", "--tz", "UTC", ARCHIVER_PASSPHRASE="short")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: the passphrase from ARCHIVER_PASSPHRASE is too short: use at least 10 "
        "characters (a few unrelated words work well)\n"
    )
