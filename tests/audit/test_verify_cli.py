"""`archiver verify` and `verify-signed` from the command line: exit codes and output."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from archiver import parsers
from archiver.archive.session import open_archive
from archiver.security.keyring import Secret
from tests.fakeparser import FakeParser, FakeTelegramParser

Run = Callable[..., Result]
EXPORT = [
    "2024-03-01T09:00:00+00:00|Deal Desk|Dana|text|Morning, the term sheet is in",
    "2024-03-01T09:01:00+00:00|Deal Desk|Sam|text|ok",
    "2024-03-01T09:02:00+00:00|Deal Desk|Dana|text|Price is 101.5",
]
CHECK_LINES = [
    ("audit trail", "entries"),
    ("SQLite integrity", "pages"),
    ("page HMACs", "pages"),
    ("search index", "entries"),
    ("messages", "messages"),
    ("message versions", "versions"),
    ("ingest Merkle roots", "sources"),
    ("stored originals", "files"),
    ("attachments", "files"),
]


@pytest.fixture(autouse=True)
def fake_parsers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parsers, "all_parsers", lambda: [FakeTelegramParser(), FakeParser()])


@pytest.fixture
def ready(run: Run, tmp_path: Path) -> Path:
    """./archive, unlocked by k.key, with one ingested export."""
    assert run("init", "--tz", "UTC", "--key-file", "k.key").exit_code == 0
    (tmp_path / "desk.fake").write_text("\n".join(EXPORT) + "\n", encoding="utf-8")
    result = run("ingest", "desk.fake", "--custodian", "dana", ARCHIVER_KEY_FILE="k.key")
    assert result.exit_code == 0, result.output
    return tmp_path / "archive"


def secret(tmp_path: Path) -> Secret:
    return Secret("keyfile", (tmp_path / "k.key").read_bytes(), "test")


def check_line(title: str, checked: int, unit: str, status: str = "ok") -> str:
    return f"  {status:<6}  {title:<19} {checked:>10,} {unit}"


def test_clean_archive_exits_0_and_prints_every_check(run: Run, ready: Path) -> None:
    result = run("verify", ARCHIVER_KEY_FILE="k.key")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    archive_id = json.loads(run("audit", "head", "--json", ARCHIVER_KEY_FILE="k.key").stdout)[
        "archive_id"
    ]
    assert lines[0] == f"Archive {archive_id}"
    # entries: init and ingest; pages vary; 3 messages indexed; 1 source with its original
    counts = [2, None, None, 3, 3, 0, 1, 1, 0]
    for line, (title, unit), n in zip(lines[1:10], CHECK_LINES, counts, strict=True):
        if n is None:
            assert line.startswith(f"  ok      {title:<19}") and line.endswith(f" {unit}")
        else:
            assert line == check_line(title, n, unit)
    assert lines[10] == "No damage found."
    head = run("audit", "head", ARCHIVER_KEY_FILE="k.key").stdout.strip()
    assert lines[11] == f"Audit head now {head} (record it outside the archive)"
    assert head.startswith("3:")  # the verify entry itself
    assert result.stderr == ""


def test_damage_exits_4_with_the_first_broken_item(run: Run, ready: Path, tmp_path: Path) -> None:
    archive = open_archive(ready, secret(tmp_path))
    mid = archive.store.one("SELECT id FROM messages WHERE text = 'ok'")
    archive.store.execute("UPDATE messages SET text = 'not ok' WHERE id = ?", (mid,))
    archive.close()
    result = run("verify", ARCHIVER_KEY_FILE="k.key")
    assert result.exit_code == 4
    problem = (
        f"message {mid}: its fingerprint does not match its content (text, sender, time or "
        "kind changed)"
    )
    assert check_line("messages", 3, "messages", "BROKEN") + f": {problem}" in result.stdout
    assert "DAMAGE FOUND in 1 check(s)." in result.stdout.splitlines()
    assert result.stderr == (
        f"Error: verification found damage in 1 check(s); first: messages: {problem}\n"
    )
    report = json.loads(run("verify", "--json", ARCHIVER_KEY_FILE="k.key").stdout)
    assert report["ok"] is False
    assert [c["check"] for c in report["checks"] if not c["ok"]] == ["messages"]


def test_head_recorded_outside_catches_a_cut_tail(run: Run, ready: Path, tmp_path: Path) -> None:
    assert run("search", "price", ARCHIVER_KEY_FILE="k.key").exit_code == 0
    head = run("audit", "head", ARCHIVER_KEY_FILE="k.key").stdout.strip()
    seq = int(head.split(":")[0])
    assert run("verify", "--head", head, ARCHIVER_KEY_FILE="k.key").exit_code == 0
    archive = open_archive(ready, secret(tmp_path))
    archive.store.execute("DELETE FROM audit_log WHERE seq >= ?", (seq,))
    archive.close()
    result = run("verify", "--head", head, ARCHIVER_KEY_FILE="k.key")
    assert result.exit_code == 4
    assert result.stdout.splitlines()[1] == f"Recorded head  {head}"
    assert (
        check_line("audit trail", seq - 1, "entries", "BROKEN")
        + (
            f": entry {seq} (the recorded head) is missing: the trail ends at entry {seq - 1}, "
            "so entries after it were removed"
        )
        in result.stdout.splitlines()
    )


@pytest.mark.parametrize("bad", ["12", "x:" + "a" * 64, "0:" + "a" * 64, "3:abc"])
def test_malformed_head_is_a_usage_error(run: Run, ready: Path, bad: str) -> None:
    result = run("verify", "--head", bad, ARCHIVER_KEY_FILE="k.key")
    assert result.exit_code == 2
    assert "a head looks like SEQ:HASH" in result.stderr


def test_verify_clean_after_search_export_key_changes_and_backup(
    run: Run, ready: Path, tmp_path: Path
) -> None:
    key = {"ARCHIVER_KEY_FILE": "k.key"}
    steps = [
        ("search", "price"),
        ("export", "--out", "all.jsonl"),
        ("key", "add-keyfile", "second.key", "--role", "review"),
        ("key", "rotate"),
        ("backup", "bak"),
    ]
    for step in steps:
        assert run(*step, **key).exit_code == 0, step
    added = run(
        "key",
        "add-passphrase",
        "--role",
        "review",
        **key,
        ARCHIVER_NEW_PASSPHRASE="a long passphrase",
    )
    assert added.exit_code == 0
    slot = added.stdout.split()[-1]
    assert run("key", "remove", slot, **key).exit_code == 0
    assert run("verify", **key).exit_code == 0
    copy = run("verify", "--archive", "bak", **key)
    assert copy.exit_code == 0, copy.output
    assert "No damage found." in copy.stdout.splitlines()
    assert run("verify", ARCHIVER_KEY_FILE="second.key").exit_code == 0


def test_verify_signed_needs_no_archive(run: Run, ready: Path, tmp_path: Path) -> None:
    key = {"ARCHIVER_KEY_FILE": "k.key"}
    assert run("key", "public", "--out", "pub.pem", **key).exit_code == 0
    assert run("audit", "export", "--out", "trail.json", **key).exit_code == 0
    (tmp_path / "archive").rename(tmp_path / "elsewhere")  # no archive, no key needed
    doc = json.loads((tmp_path / "trail.json").read_text())
    result = run("verify-signed", "trail.json", "--public-key", "pub.pem")
    assert result.exit_code == 0, result.output
    head = doc["payload"]["head"]
    assert result.stdout == (
        f"Valid: audit-export of archive {doc['archive_id']}, signed at {doc['signed_at']} by "
        f"key {doc['key_fingerprint']}; {doc['payload']['count']} entries linked up to head "
        f"{head['seq']}:{head['hash']}\n"
    )
    as_json = json.loads(
        run("verify-signed", "trail.json", "--public-key", "pub.pem", "--json").stdout
    )
    assert as_json["valid"] is True and as_json["type"] == "audit-export"


def test_verify_signed_reads_any_signed_type_and_names_bad_input(
    run: Run, ready: Path, tmp_path: Path
) -> None:
    from archiver.security import signing
    from tests.conftest import FIXED_NOW

    assert run("key", "public", "--out", "pub.pem", ARCHIVER_KEY_FILE="k.key").exit_code == 0
    archive = open_archive(ready, secret(tmp_path))
    doc = signing.sign_document(
        archive.store.signing_keys(),
        archive.archive_id,
        "purge-certificate",
        {"deleted": 3},
        FIXED_NOW,
    )
    archive.close()
    (tmp_path / "cert.json").write_bytes(signing.dumps(doc))
    result = run("verify-signed", "cert.json", "--public-key", "pub.pem")
    assert result.exit_code == 0
    assert result.stdout == (
        f"Valid: purge-certificate of archive {doc['archive_id']}, signed at "
        f"2026-11-27T12:00:00.000000Z by key {doc['key_fingerprint']}\n"
    )
    missing = run("verify-signed", "nope.json", "--public-key", "pub.pem")
    assert (missing.exit_code, missing.stderr) == (
        1,
        "Error: cannot read nope.json: No such file or directory\n",
    )
    (tmp_path / "garbage.json").write_text("not json")
    garbage = run("verify-signed", "garbage.json", "--public-key", "pub.pem")
    assert (garbage.exit_code, garbage.stderr) == (
        4,
        "Error: garbage.json is not valid JSON; it was damaged or is not signed\n",
    )
    head = "1:" + "a" * 64
    wrong = run("verify-signed", "cert.json", "--public-key", "pub.pem", "--head", head)
    assert (wrong.exit_code, wrong.stderr) == (
        1,
        "Error: --head applies to audit exports; cert.json is a purge-certificate\n",
    )
