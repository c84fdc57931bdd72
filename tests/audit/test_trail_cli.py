"""The audit trail from the command line: one entry per command, reading adds none,
secrets never recorded, signed exports that an outsider can check."""

from __future__ import annotations

import base64
import json
import re
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from archiver import parsers
from archiver.archive.session import Archive, open_archive
from archiver.audit import trail as audit
from archiver.security.keyring import Secret
from archiver.store import auditlog
from tests.fakeparser import FakeParser, FakeTelegramParser

Run = Callable[..., Result]
KEY = {"ARCHIVER_KEY_FILE": "k.key"}
EXPORT = [
    "2024-03-01T09:00:00+00:00|Deal Desk|Dana|text|Morning, the term sheet is in",
    "2024-03-01T09:01:00+00:00|Deal Desk|Sam|text|ok",
    "2024-03-01T09:02:00+00:00|Deal Desk|Dana|text|Price for zanzibar is 101.5",
]


@pytest.fixture(autouse=True)
def fake_parsers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parsers, "all_parsers", lambda: [FakeTelegramParser(), FakeParser()])


@pytest.fixture
def ready(run: Run, tmp_path: Path) -> Path:
    """./archive unlocked by k.key, with desk.fake ingested for dana@broker.example."""
    assert run("init", "--tz", "UTC", "--key-file", "k.key").exit_code == 0
    (tmp_path / "desk.fake").write_text("\n".join(EXPORT) + "\n", encoding="utf-8")
    result = run("ingest", "desk.fake", "--custodian", "dana@broker.example", **KEY)
    assert result.exit_code == 0, result.output
    return tmp_path / "archive"


def opened(tmp_path: Path, key: str = "k.key") -> Archive:
    """The archive opened by the library, which logs nothing by itself."""
    return open_archive(tmp_path / "archive", Secret("keyfile", (tmp_path / key).read_bytes(), "t"))


def head_seq(run: Run) -> int:
    return int(json.loads(run("audit", "head", "--json", **KEY).stdout)["seq"])


def last_entry(tmp_path: Path) -> dict[str, object]:
    archive = opened(tmp_path)
    try:
        return archive.store.rows("SELECT * FROM audit_log ORDER BY seq DESC LIMIT 1")[0]
    finally:
        archive.close()


COMMANDS = [
    (("status",), "status"),
    (("key", "list"), "key.list"),
    (("key", "public"), "key.public"),
    (("key", "add-passphrase", "--role", "review"), "key.add-passphrase"),
    (("key", "add-keyfile", "job.key", "--role", "ingest"), "key.add-keyfile"),
    (("key", "remove", "{recovery_slot}", "--yes-i-understand"), "key.remove"),
    (("key", "rotate"), "key.rotate"),
    (("ingest", "more.fake"), "ingest"),
    (("chats",), "chats"),
    (("search", "price"), "search"),
    (("show", "{message_id}"), "show"),
    (("export", "--out", "all.jsonl"), "export"),
    (("people", "list"), "people.list"),
    (("people", "link", "Dana", "Sam"), "people.link"),
    (("backup", "bak"), "backup"),
    (("verify",), "verify"),
    (("audit", "export", "--out", "trail.json"), "audit.export"),
    (("policy", "load", "policy.toml"), "policy.load"),
    (("policy", "list"), "policy.list"),
    (("hold", "create", "h1", "--matter", "M", "--reason", "R", "--chat", "Deal*"), "hold.create"),
    (("hold", "list"), "hold.list"),
    (("purge",), "purge"),
    (("retention", "forecast"), "retention.forecast"),
]


def _fill(args: tuple[str, ...], tmp_path: Path) -> list[str]:
    archive = opened(tmp_path)
    try:
        values = {
            "recovery_slot": next(
                s["id"] for s in archive.keyring.describe() if s["kind"] == "recovery"
            ),
            "message_id": str(archive.store.one("SELECT min(id) FROM messages")),
        }
    finally:
        archive.close()
    return [a.format(**values) for a in args]


@pytest.mark.parametrize(("args", "action"), COMMANDS, ids=[" ".join(c[0]) for c in COMMANDS])
def test_every_command_appends_exactly_one_entry(
    run: Run, ready: Path, tmp_path: Path, args: tuple[str, ...], action: str
) -> None:
    (tmp_path / "more.fake").write_text(EXPORT[0].replace("09:00", "10:00") + "\n")
    (tmp_path / "policy.toml").write_text(
        '[policy]\nname = "p"\n[[rules]]\nname = "r"\ndelete_after = "1 year"\n'
    )
    argv = _fill(args, tmp_path)
    before = head_seq(run)
    result = run(*argv, **KEY, ARCHIVER_NEW_PASSPHRASE="a second long passphrase")
    assert result.exit_code == 0, result.output
    assert head_seq(run) == before + 1
    entry = last_entry(tmp_path)
    assert (entry["action"], entry["outcome"]) == (action, "ok")


def test_reading_the_trail_adds_nothing_and_a_search_adds_one(run: Run, ready: Path) -> None:
    before = run("audit", "head", **KEY).stdout
    for args in (("audit",), ("audit", "--json"), ("audit", "--csv"), ("audit", "head")):
        assert run(*args, **KEY).exit_code == 0
    assert run("audit", "head", **KEY).stdout == before
    seq = head_seq(run)
    assert run("search", "zanzibar", **KEY).exit_code == 0
    assert head_seq(run) == seq + 1
    entries = json.loads(run("audit", "--json", "--action", "search", **KEY).stdout)
    assert [(e["seq"], e["args"]["query"], e["details"]["total"]) for e in entries] == [
        (seq + 1, "zanzibar", 1)
    ]


def test_a_failed_ingest_leaves_one_entry_saying_so(run: Run, ready: Path, tmp_path: Path) -> None:
    (tmp_path / "bad.fake").write_text(EXPORT[0] + "\n!boom\n")
    before = head_seq(run)
    result = run("ingest", "bad.fake", **KEY)
    assert result.exit_code == 1
    assert head_seq(run) == before + 1
    entry = last_entry(tmp_path)
    assert (entry["action"], entry["outcome"]) == ("ingest", "error")
    details = json.loads(str(entry["details"]))
    assert details["source"] == "bad.fake"
    assert details["error"] == "bad.fake: line 2: boom"


def test_a_refused_command_leaves_an_error_entry(run: Run, ready: Path, tmp_path: Path) -> None:
    before = head_seq(run)
    result = run("show", "12345", **KEY)
    assert result.exit_code == 1
    assert head_seq(run) == before + 1
    entry = last_entry(tmp_path)
    assert (entry["action"], entry["outcome"]) == ("show", "error")
    assert json.loads(str(entry["details"]))["error"] == "NotFound"


def test_audit_lists_filters_and_prints_the_head(run: Run, ready: Path) -> None:
    assert run("key", "list", **KEY).exit_code == 0
    assert run("key", "public", **KEY).exit_code == 0
    rows = json.loads(run("audit", "--json", **KEY).stdout)
    assert [r["action"] for r in rows] == ["init", "ingest", "key.list", "key.public"]
    assert [r["seq"] for r in rows] == [1, 2, 3, 4]
    assert set(rows[0]) == {
        "seq", "at", "user", "host", "action", "args", "outcome", "details", "prev_hash", "hash"
    }  # fmt: skip
    keyed = json.loads(run("audit", "--json", "--action", "key", **KEY).stdout)
    assert [r["action"] for r in keyed] == ["key.list", "key.public"]
    assert json.loads(run("audit", "--json", "--since", "2999-01-01", **KEY).stdout) == []
    today = rows[0]["at"][:10]
    assert len(json.loads(run("audit", "--json", "--since", today, **KEY).stdout)) == 4

    human = run("audit", "--action", "init", **KEY).stdout.splitlines()
    first = rows[0]
    assert human[0] == (f"     1  {first['at']}  {first['user']}@{first['host']}  init  ok")
    assert human[1] == "        args:     archive_dir=archive  key_file=k.key  tz=UTC"
    assert human[-2:] == [
        "1 entry",
        "Long lines were cut (…); `archiver audit --json` shows every entry in full.",
    ]
    assert max(len(line) for line in human) <= 80

    csv_lines = run("audit", "--csv", **KEY).stdout.splitlines()
    assert csv_lines[0] == "seq,at,user,host,action,outcome,args,details,prev_hash,hash"
    assert len(csv_lines) == 5

    head = run("audit", "head", **KEY).stdout
    assert head == f"4:{rows[-1]['hash']}\n"
    assert re.fullmatch(r"4:[0-9a-f]{64}\n", head)
    info = json.loads(run("audit", "head", "--json", **KEY).stdout)
    assert (info["seq"], info["hash"], info["head"]) == (4, rows[-1]["hash"], head.strip())


def test_bad_since_and_both_formats_are_refused(run: Run, ready: Path) -> None:
    before = head_seq(run)
    result = run("audit", "--since", "last tuesday", **KEY)
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: --since takes a date (YYYY-MM-DD, in UTC) or an ISO 8601 time such as "
        "2026-11-27T09:00:00Z; got 'last tuesday'\n"
    )
    assert run("audit", "--json", "--csv", **KEY).exit_code == 2
    assert head_seq(run) == before  # reading the trail, even failing, is not logged


PASS = "correct horse battery staple"
NEW_PASS = "a second passphrase, also long"


def test_secrets_never_reach_the_trail_or_an_export(run: Run, tmp_path: Path) -> None:
    pw = {"ARCHIVER_PASSPHRASE": PASS}
    init = run("init", "--tz", "UTC", "--recovery-key-out", "rec.txt", **pw)
    assert init.exit_code == 0
    recovery = (tmp_path / "rec.txt").read_text().strip()
    (tmp_path / "desk.fake").write_text("\n".join(EXPORT) + "\n", encoding="utf-8")
    steps: list[tuple[tuple[str, ...], dict[str, str], int]] = [
        (("key", "add-keyfile", "job.key", "--role", "admin"), pw, 0),
        (
            ("key", "add-passphrase", "--role", "review"),
            {**pw, "ARCHIVER_NEW_PASSPHRASE": NEW_PASS},
            0,
        ),
        (("ingest", "desk.fake"), {"ARCHIVER_KEY_FILE": "job.key"}, 0),
        (("status",), {"ARCHIVER_RECOVERY_KEY": recovery}, 0),
        (("search", "price"), {"ARCHIVER_PASSPHRASE": NEW_PASS}, 0),
        (("show", "1"), pw, 1),  # no such message: an error entry
        (("key", "rotate"), {"ARCHIVER_KEY_FILE": "job.key"}, 0),
        (("audit", "export", "--out", "trail.json"), pw, 0),
        (("audit", "export", "--out", "redacted.json", "--redact"), pw, 0),
    ]
    for args, env, code in steps:
        assert run(*args, **env).exit_code == code, args
    key_bytes = (tmp_path / "job.key").read_bytes()
    needles = [
        PASS.encode(),
        NEW_PASS.encode(),
        recovery.encode(),
        recovery.replace("-", "").encode(),
        key_bytes,
        key_bytes.hex().encode(),
        key_bytes.hex().upper().encode(),
        base64.b64encode(key_bytes),
    ]
    archive = opened(tmp_path, "job.key")
    try:
        rows = archive.store.execute("SELECT * FROM audit_log").fetchall()
        assert len(rows) == 10
    finally:
        archive.close()
    trail = "\n".join("|".join(str(v) for v in row) for row in rows).encode()
    for haystack in (
        trail,
        (tmp_path / "trail.json").read_bytes(),
        (tmp_path / "redacted.json").read_bytes(),
    ):
        for needle in needles:
            assert needle not in haystack


@pytest.fixture
def exported(run: Run, ready: Path, tmp_path: Path) -> Path:
    for args in (
        ("search", "zanzibar"),
        ("search", "zanzibar"),
        ("key", "public", "--out", "pub.pem"),
    ):
        assert run(*args, **KEY).exit_code == 0
    result = run("audit", "export", "--out", "trail.json", **KEY)
    assert result.exit_code == 0, result.output
    return tmp_path / "trail.json"


def test_export_is_the_chain_as_stored_signed_and_private(
    run: Run, exported: Path, tmp_path: Path
) -> None:
    assert stat.S_IMODE(exported.stat().st_mode) == 0o600
    doc = json.loads(exported.read_text())
    assert (doc["format"], doc["type"]) == ("archiver-signed", "audit-export")
    payload = doc["payload"]
    archive = opened(tmp_path)
    try:
        stored = archive.store.rows("SELECT * FROM audit_log ORDER BY seq")
        key = auditlog.chain_key(archive.store)
    finally:
        archive.close()
    # the export's own entry comes after the exported chain
    assert stored[-1]["action"] == "audit.export"
    assert payload["entries"] == stored[:-1]
    assert payload["head"] == {"seq": stored[-2]["seq"], "hash": stored[-2]["hash"]}
    assert json.loads(stored[-1]["details"])["head"] == f"{stored[-2]['seq']}:{stored[-2]['hash']}"
    for e in payload["entries"]:  # with the archive key, every HMAC recomputes from the file
        fields = [e[c] for c in audit.COLUMNS[:-1]]
        assert auditlog.entry_hash(key, fields) == e["hash"]
    assert audit.check_export(payload) is None
    again = run("audit", "export", "--out", "trail.json", **KEY)
    assert again.exit_code == 1
    assert again.stderr == (
        "Error: trail.json already exists; choose a new file name for the audit export\n"
    )


def test_an_edited_byte_or_another_key_fails_verify_signed(
    run: Run, exported: Path, tmp_path: Path
) -> None:
    assert run("verify-signed", "trail.json", "--public-key", "pub.pem").exit_code == 0
    data = exported.read_bytes()
    at = data.index(b'"outcome": "ok"') + len(b'"outcome": "o')
    exported.write_bytes(data[:at] + b"K" + data[at + 1 :])
    result = run("verify-signed", "trail.json", "--public-key", "pub.pem")
    assert result.exit_code == 4
    assert result.stderr == (
        "Error: trail.json: the signature does not match its content; the file was altered "
        "after it was signed\n"
    )
    assert result.stdout == ""

    exported.write_bytes(data)
    assert run("init", "--archive", "other", "--tz", "UTC", "--key-file", "o.key").exit_code == 0
    other = run("key", "public", "--archive", "other", "--out", "other.pem", "--key-file", "o.key")
    mine = json.loads(data)["key_fingerprint"]
    theirs = other.stdout.split()[-1]
    result = run("verify-signed", "trail.json", "--public-key", "other.pem")
    assert result.exit_code == 4
    assert result.stderr == (
        f"Error: trail.json was signed by key {mine}, not by the given public key {theirs}\n"
    )


def test_verify_signed_checks_a_recorded_head_against_the_export(run: Run, exported: Path) -> None:
    payload = json.loads(exported.read_text())["payload"]
    second = payload["entries"][1]
    recorded = f"2:{second['hash']}"
    ok = run("verify-signed", "trail.json", "--public-key", "pub.pem", "--head", recorded)
    assert ok.exit_code == 0
    forged = run(
        "verify-signed", "trail.json", "--public-key", "pub.pem", "--head", "2:" + "0" * 64
    )
    assert forged.exit_code == 4
    assert forged.stderr == (
        "Error: trail.json: the signature is valid, but entry 2 differs from the recorded "
        "head: the trail was rewritten\n"
    )
    n = payload["count"]
    beyond = run(
        "verify-signed", "trail.json", "--public-key", "pub.pem", "--head", f"{n + 5}:" + "a" * 64
    )
    assert beyond.exit_code == 4
    assert beyond.stderr == (
        f"Error: trail.json: the signature is valid, but the recorded head {n + 5} is not in "
        f"the export (it ends at entry {n}): entries were removed\n"
    )


def test_redacted_export_keeps_hashes_and_counts_but_no_argument_values(
    run: Run, exported: Path, tmp_path: Path
) -> None:
    plain = exported.read_text()
    assert "zanzibar" in plain and "dana@broker.example" in plain
    result = run("audit", "export", "--out", "redacted.json", "--redact", **KEY)
    assert result.exit_code == 0, result.output
    text = (tmp_path / "redacted.json").read_text()
    for word in ("zanzibar", "dana@broker.example", "desk.fake", "k.key", "pub.pem"):
        assert word not in text
    doc = json.loads(text)
    entries = doc["payload"]["entries"]
    assert doc["payload"]["redacted"] is True
    searches = [json.loads(e["args"]) for e in entries if e["action"] == "search"]
    assert searches[0] == searches[1]  # equal values, equal tokens
    assert re.fullmatch(r"hmac:[0-9a-f]{16}", searches[0]["query"])
    ingest_details = json.loads(next(e["details"] for e in entries if e["action"] == "ingest"))
    original = json.loads(
        next(
            e["details"] for e in json.loads(plain)["payload"]["entries"] if e["action"] == "ingest"
        )
    )
    for kept in ("sha256", "merkle_root", "source_id", "counts"):
        assert ingest_details[kept] == original[kept]
    assert ingest_details["source"].startswith("hmac:")
    assert ingest_details["custodian"].startswith("hmac:")
    signed = run("verify-signed", "redacted.json", "--public-key", "pub.pem")
    assert signed.exit_code == 0, signed.output


def test_check_export_names_the_first_broken_link() -> None:
    chain = [
        {"seq": 1, "prev_hash": "g", "hash": "a"},
        {"seq": 2, "prev_hash": "a", "hash": "b"},
        {"seq": 3, "prev_hash": "b", "hash": "c"},
    ]
    head = {"seq": 3, "hash": "c"}
    assert audit.check_export({"entries": chain, "head": head}) is None
    relinked = [chain[0], {**chain[1], "prev_hash": "x"}, chain[2]]
    assert audit.check_export({"entries": relinked, "head": head}) == (
        "entry 2 does not link to entry 1"
    )
    assert audit.check_export({"entries": [chain[0], chain[2]], "head": head}) == (
        "entry 2 is missing from the exported chain"
    )
    assert audit.check_export({"entries": chain[:2], "head": head}) == (
        "the declared head is not the last entry of the exported chain"
    )
