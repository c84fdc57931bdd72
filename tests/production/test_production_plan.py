"""Productions on generated exports: slices across a DST change, a 25,000-message day cut
in parts, Bates numbers never reused (a failed production too), holds and purges, glyphs
no font has, roles, and the shared invalid RSMF samples."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import Result

from archiver import parsers
from archiver.production import pdf, rsmf_check
from tests.conftest import SHARED
from tests.fakeparser import FakeParser, FakeTelegramParser

Run = Callable[..., Result]
KEY = {"ARCHIVER_KEY_FILE": "k.key"}
INVALID = SHARED / "rsmf" / "samples"


@pytest.fixture(autouse=True)
def fake_parsers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parsers, "all_parsers", lambda: [FakeTelegramParser(), FakeParser()])


def ingest(run: Run, tmp_path: Path, name: str, lines: list[str]) -> None:
    if not (tmp_path / "archive").exists():
        assert run("init", "--tz", "UTC", "--key-file", "k.key").exit_code == 0
    (tmp_path / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run("ingest", name, "--custodian", "dana@x.example", **KEY)
    assert result.exit_code == 0, result.output


def produce(run: Run, *args: str, code: int = 0) -> dict:
    result = run("produce", *args, "--json", **KEY)
    assert result.exit_code == code, result.output
    return json.loads(result.stdout)


def documents(folder: Path) -> list[dict]:
    return json.loads((folder / "manifest.json").read_text())["documents"]


def test_day_slices_follow_the_zone_across_a_dst_change(run: Run, tmp_path: Path) -> None:
    # New York springs forward on 2024-03-10: that day is 23 hours long.
    times = ["2024-03-10T04:30:00", "2024-03-10T05:30:00", "2024-03-11T03:30:00",
             "2024-03-11T04:30:00"]  # fmt: skip
    ingest(run, tmp_path, "dst.fake", [f"{t}+00:00|Desk|Ann|text|m{i}" for i, t in
                                       enumerate(times)])  # fmt: skip
    produce(run, "--matter", "M", "--out", "p", "--format", "dat", "--tz", "America/New_York")
    docs = documents(tmp_path / "p")
    assert [(d["slice"], d["messages"]) for d in docs] == [
        ("2024-03-09", 1), ("2024-03-10", 2), ("2024-03-11", 1)]  # fmt: skip
    produce(run, "--matter", "M", "--out", "q", "--format", "dat", "--tz", "America/New_York",
            "--slice", "12h")  # fmt: skip
    assert [d["slice"] for d in documents(tmp_path / "q")] == [
        "2024-03-09 12:00-24:00", "2024-03-10 00:00-12:00", "2024-03-10 12:00-24:00",
        "2024-03-11 00:00-12:00"]  # fmt: skip


def test_a_day_of_25000_messages_is_cut_into_parts_of_at_most_10000(
    run: Run, tmp_path: Path
) -> None:
    start = datetime(2024, 5, 2, 0, 0, tzinfo=UTC)
    lines = [f"{(start + timedelta(seconds=3 * i)).isoformat()}|Bots|Bot|text|tick {i}"
             for i in range(25_000)]  # fmt: skip
    ingest(run, tmp_path, "busy.fake", lines)
    report = produce(run, "--matter", "M", "--out", "p", "--format", "dat")
    docs = documents(tmp_path / "p")
    assert [(d["part"], d["parts"], d["messages"]) for d in docs] == [
        (1, 3, 8334), (2, 3, 8334), (3, 3, 8332)]  # fmt: skip
    produced = json.loads((tmp_path / "p/manifest.json").read_text())["messages"]
    assert len(produced) == len({m[0] for m in produced}) == 25_000
    assert report["counts"]["messages"] == 25_000


def test_bates_numbers_continue_and_a_failed_production_never_gives_them_back(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest(run, tmp_path, "desk.fake", [f"2024-03-0{d}T09:00:00+00:00|Desk|Ann|text|day {d}"
                                        for d in range(1, 4)])  # fmt: skip
    first = produce(run, "--matter", "Harlow", "--out", "p1", "--bates-prefix", "ACME")
    assert (first["production"], first["bates_first"], first["bates_last"]) == (
        "PROD-001", "ACME-000000001", "ACME-000000003")  # fmt: skip

    def broken(*args: object, **kwargs: object) -> bytes:
        raise OSError(28, "No space left on device")

    original = pdf.render
    monkeypatch.setattr(pdf, "render", broken)
    failed = run("produce", "--matter", "harlow", "--out", "p2", **KEY)
    assert failed.exit_code == 1
    assert failed.stderr.startswith(
        "Error: production PROD-002 of matter 'Harlow' failed: [Errno 28] No space left on "
        "device. The files written were removed; Bates numbers ACME-000000004 to "
        "ACME-000000006 stay reserved and are never used again"
    )
    assert not (tmp_path / "p2").exists()
    monkeypatch.setattr(pdf, "render", original)
    third = produce(run, "--matter", "HARLOW", "--out", "p3")
    assert (third["production"], third["bates_first"]) == ("PROD-003", "ACME-000000007")
    listed = json.loads(run("production", "list", "--json", **KEY).stdout)
    assert [(p["production"], p["status"]) for p in listed] == [
        ("PROD-001", "complete"),
        ("PROD-002", "failed"),
        ("PROD-003", "complete"),
    ]
    shown = json.loads(run("production", "show", "Harlow", "3", "--json", **KEY).stdout)
    assert [d["bates_begin"] for d in shown["documents"]] == [
        "ACME-000000007", "ACME-000000008", "ACME-000000009"]  # fmt: skip
    audit = json.loads(run("audit", "--json", **KEY).stdout)
    done = [e for e in audit if e["action"] == "produce"]
    assert [e["outcome"] for e in done] == ["reserved", "ok", "reserved", "failed", "error",
                                            "reserved", "ok"]  # fmt: skip
    assert done[1]["details"]["manifest_sha256"] == first["manifest_sha256"]


def test_held_messages_are_produced_and_purged_ones_are_not(run: Run, tmp_path: Path) -> None:
    ingest(
        run,
        tmp_path,
        "a.fake",
        [
            "2020-01-01T09:00:00+00:00|Old|Ann|text|purge me",
            "2020-01-01T09:00:00+00:00|Kept|Ann|text|hold me",
        ],
    )
    (tmp_path / "p.toml").write_text(
        '[policy]\nname = "p"\n[[rules]]\nname = "r"\ndelete_after = "1 year"\n'
    )
    assert run("policy", "load", "p.toml", **KEY).exit_code == 0
    hold = ("hold", "create", "h", "--matter", "M", "--reason", "R", "--chat", "Kept")
    assert run(*hold, **KEY).exit_code == 0
    assert run("purge", "--execute", **KEY).exit_code == 0
    report = produce(run, "--matter", "M", "--out", "p", "--format", "dat")
    assert report["counts"]["messages"] == 1
    text = "".join(p.read_text() for p in (tmp_path / "p/TEXT").glob("*.txt"))
    assert "hold me" in text and "purge me" not in text
    nothing = run("produce", "purge", "--matter", "M", "--out", "q", **KEY)
    assert nothing.exit_code == 1
    assert "matches no message; nothing to produce" in nothing.stderr


def test_a_character_no_font_has_is_shown_and_reported(run: Run, tmp_path: Path) -> None:
    ingest(run, tmp_path, "g.fake", ["2024-01-01T09:00:00+00:00|Desk|Ann|text|Linear A \U00010600"])
    report = produce(run, "--matter", "M", "--out", "p", "--format", "pdf,dat")
    (missing,) = report["missing_glyphs"]
    assert missing["char"] == "U+10600" and missing["name"] == "LINEAR A SIGN AB001"
    said = run("produce", "--matter", "M", "--out", "q", "--format", "pdf", **KEY)
    assert "1 character(s) have no glyph in any font and show as [U+XXXX]" in said.stderr
    text = (tmp_path / "p/TEXT").glob("*.txt").__next__().read_text()
    assert "Linear A \U00010600" in text  # the extracted text keeps it


def test_only_an_admin_slot_may_produce(run: Run, tmp_path: Path) -> None:
    ingest(run, tmp_path, "a.fake", ["2024-01-01T09:00:00+00:00|Desk|Ann|text|hi"])
    made = run("key", "add-keyfile", "r.key", "--role", "review", **KEY)
    assert made.exit_code == 0
    refused = run("produce", "--matter", "M", "--out", "p", ARCHIVER_KEY_FILE="r.key")
    assert refused.exit_code == 6
    assert not (tmp_path / "p").exists()
    assert run("production", "list", ARCHIVER_KEY_FILE="r.key").exit_code == 0


@pytest.mark.skipif(not INVALID.is_dir(), reason="the shared RSMF samples are not here")
@pytest.mark.parametrize(
    ("sample", "expected"),
    [
        ("Sample1_rsmf_manifest.json", "participants/0: 'id' is a required property"),
        ("Sample4_rsmf_manifest.json", "participants/0/id: 1 is not of type 'string'"),
        ("Sample2_rsmf.zip", "'AV1' is named in the manifest but not in rsmf.zip"),
        ("Sample3_sample.rsmf", "an RSMF file has exactly one attachment, rsmf.zip; found 2"),
    ],
)
def test_the_invalid_samples_fail_validation(sample: str, expected: str) -> None:
    data = (INVALID / sample).read_bytes()
    if sample.endswith(".json"):
        problems = rsmf_check.manifest_problems(json.loads(data))
    elif sample.endswith(".zip"):
        problems = rsmf_check.zip_problems(data)
    else:
        problems = rsmf_check.rsmf_problems(data)
    assert any(p.startswith(expected) for p in problems), problems


def test_export_sqlite_is_a_plain_database_with_full_text_search(run: Run, tmp_path: Path) -> None:
    import sqlite3

    ingest(
        run,
        tmp_path,
        "a.fake",
        [
            "2024-01-01T09:00:00+00:00|Desk|Ann|text|price guarantee",
            "2024-01-01T09:01:00+00:00|Desk|Bob|text|no deal",
        ],
    )
    result = run("export", "price", "--format", "sqlite", "--out", "a.db", **KEY)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "a.db").stat().st_mode & 0o777 == 0o600
    db = sqlite3.connect(tmp_path / "a.db")
    assert db.execute("SELECT sender, text FROM messages").fetchall() == [
        ("Ann", "price guarantee")
    ]
    hits = db.execute("SELECT rowid FROM messages_fts WHERE messages_fts MATCH 'guarantee'")
    assert len(hits.fetchall()) == 1
    assert db.execute("SELECT platform, key, title FROM chats").fetchall() == [
        ("whatsapp", "Desk", "Desk")
    ]
