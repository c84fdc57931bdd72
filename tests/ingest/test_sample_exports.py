"""Ingest with the real parsers: samples, zips, folders, atomicity under SIGKILL, canary."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from archiver.archive.session import Archive, open_archive
from archiver.ingest import exports as ingest_module
from archiver.ingest.exports import IngestOptions, ingest
from archiver.security.keyring import Secret
from tests.conftest import inv
from tests.store.test_no_plaintext_on_disk import TempFileProbe

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "sample_exports"


def run(archive: Archive, *paths: Path, custodian: str = "dana@broker.example", **kw: object):  # type: ignore[no-untyped-def]
    return ingest(
        archive, list(paths), IngestOptions(custodian=custodian, tz="Europe/London", **kw), inv()
    )  # type: ignore[arg-type]


def count(archive: Archive) -> int:
    return int(archive.store.one("SELECT count(*) FROM messages"))


def test_every_sample_export_ingests_and_reingest_adds_nothing(archive: Archive) -> None:
    report = run(archive, SAMPLES)
    assert [s.status for s in report.sources] == ["ingested"] * len(report.sources)
    assert {s.platform for s in report.sources} == {"whatsapp", "telegram"}
    total = count(archive)
    assert total == sum(s.new for s in report.sources) > 50
    again = run(archive, SAMPLES)
    assert [s.status for s in again.sources] == ["already-ingested"] * len(report.sources)
    assert count(archive) == total


def test_telegram_folder_and_zip_of_it_are_the_same_messages(
    archive: Archive, tmp_path: Path
) -> None:
    folder = SAMPLES / "telegram" / "ChatExport_2024-03-15"
    first = run(archive, folder).sources[0]
    assert (first.platform, first.parser) == ("telegram", "telegram-json")
    assert first.attachments_stored >= 1
    zpath = tmp_path / "ChatExport_2024-03-15.zip"
    with zipfile.ZipFile(zpath, "w") as z:
        for f in sorted(folder.rglob("*")):
            if f.is_file():
                z.write(f, f"ChatExport_2024-03-15/{f.relative_to(folder)}")
    second = run(archive, zpath, custodian="sam@broker.example").sources[0]
    assert (second.new, second.existing) == (0, first.messages)
    stored = archive.store.rows("SELECT count(*) AS n FROM attachments WHERE sha256 IS NOT NULL")
    assert stored[0]["n"] == first.attachments_stored


def test_folder_with_json_and_html_of_one_chat_is_ingested_once_from_json(
    archive: Archive, tmp_path: Path
) -> None:
    both = tmp_path / "ChatExport_both"
    shutil.copytree(SAMPLES / "telegram" / "ChatExport_2024-03-15", both)
    shutil.copy(
        SAMPLES / "telegram" / "ChatExport_2024-02-02" / "messages.html", both / "messages.html"
    )
    (report,) = run(archive, both).sources
    assert report.parser == "telegram-json"
    assert count(archive) == report.new


def big_export(path: Path, messages: int) -> Path:
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "gen_whatsapp.py"),
            str(path),
            "--messages",
            str(messages),
        ],
        check=True,
        capture_output=True,
    )
    return path


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_killing_the_process_mid_ingest_leaves_the_archive_unchanged(
    archive: Archive, tmp_path: Path, key_file: Path
) -> None:
    run(archive, SAMPLES / "whatsapp" / "WhatsApp Chat with Deal Desk EMEA.txt")
    before = {
        t: archive.store.one(f"SELECT count(*) FROM {t}")
        for t in ("messages", "sources", "blobs", "audit_log")
    }
    archive.close()
    export = big_export(tmp_path / "WhatsApp Chat with Big Desk.txt", 150_000)
    env = {
        **os.environ,
        "ARCHIVER_ARCHIVE": str(tmp_path / "archive"),
        "ARCHIVER_KEY_FILE": str(key_file),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "archiver", "ingest", str(export), "--date-order", "dmy"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    db = tmp_path / "archive" / "archive.db"
    journal = tmp_path / "archive" / "archive.db-journal"
    start = db.stat().st_size
    deadline = time.monotonic() + 60
    # a big export is written exclusively, under a rollback journal: kill it mid-write
    while time.monotonic() < deadline and not (
        journal.exists() and db.stat().st_size >= start + (8 << 20)
    ):
        assert proc.poll() is None, "the ingest finished before it could be interrupted"
        time.sleep(0.02)
    parsers_forked = children(proc.pid)
    assert parsers_forked, "a 150k-message export is parsed in a child process"
    assert journal.exists(), "the ingest is writing under its rollback journal"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(alive(pid) for pid in parsers_forked):
        time.sleep(0.05)
    assert not any(alive(pid) for pid in parsers_forked), "the parser outlived its writer"
    reopened = open_archive(tmp_path / "archive", Secret("keyfile", key_file.read_bytes(), "t"))
    try:
        after = {t: reopened.store.one(f"SELECT count(*) FROM {t}") for t in before}
        assert after == before
        assert not journal.exists() and reopened.store.journal_mode == "wal"
        assert reopened.store.one("PRAGMA integrity_check") == "ok"
        report = run(reopened, export, date_order="dmy").sources[0]
        assert report.status == "ingested" and report.new == report.messages == 150_000
    finally:
        reopened.close()


def test_canary_from_an_export_with_media_never_reaches_disk(
    archive: Archive, tmp_path: Path
) -> None:
    canary = "canaryzk" + os.urandom(4).hex()
    zpath = tmp_path / "WhatsApp Chat - Canary.zip"
    lines = [
        f"[{d}.03.24, 10:00:00] Dana: {canary} note {i} {'x' * 80}"
        for d in range(13, 20)
        for i in range(3000)
    ]
    lines.append("[20.03.24, 10:00:00] Dana: \u200e<attached: 00000001-PHOTO.jpg>")
    with zipfile.ZipFile(zpath, "w") as z:
        z.writestr("_chat.txt", "\n".join(lines) + "\n")
        z.writestr("00000001-PHOTO.jpg", f"JPEG {canary} pixels".encode())
    assert run(archive, zpath).sources[0].new == len(lines)
    probe = TempFileProbe(canary.encode(), every=1)
    archive.store.conn.set_progress_handler(probe, 5_000)
    rows = archive.store.execute(
        "SELECT text FROM messages ORDER BY substr(text, 5) DESC, id"
    ).fetchall()
    archive.store.conn.set_progress_handler(None, 0)
    assert len(rows) == len(lines) and probe.scans > 0 and probe.leaks == set()
    archive.close()
    for path in tmp_path.rglob("*"):
        if path.is_file() and path != zpath:
            assert canary.encode() not in path.read_bytes(), path


def test_a_big_ingest_under_a_rollback_journal_writes_no_plaintext(
    archive: Archive, tmp_path: Path
) -> None:
    canary = "canaryrj" + os.urandom(4).hex()
    first = tmp_path / "WhatsApp Chat with Canary.txt"
    first.write_text(
        "".join(f"13/03/2024, 10:{i % 60:02d} - Dana: {canary} note {i}\n" for i in range(3000))
    )
    assert run(archive, first, date_order="dmy").sources[0].new == 3000
    # the second export's pages join the first's: their old content goes to the journal
    second = big_export(tmp_path / "WhatsApp Chat with Big Desk.txt", 60_000)
    assert second.stat().st_size >= ingest_module.BIG_EXPORT_BYTES
    probe = TempFileProbe(canary.encode(), every=20)
    archive.store.conn.set_progress_handler(probe, 20_000)
    report = run(archive, second, date_order="dmy").sources[0]
    archive.store.conn.set_progress_handler(None, 0)
    assert report.new == 60_000
    journal = str(tmp_path / "archive" / "archive.db-journal")
    assert probe.scans > 0 and journal in probe.files_seen and probe.leaks == set()
    assert archive.store.journal_mode == "wal"


def test_ambiguous_dates_are_refused_with_the_fix_and_nothing_is_written(
    run_cli, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    export = tmp_path / "WhatsApp Chat with Bo.txt"
    export.write_text("01/02/2024, 10:00 - Bo: hi\n03/04/2024, 11:00 - Bo: bye\n")
    result = run_cli("ingest", str(export))
    assert result.exit_code == 1
    assert "--date-order" in result.stderr
    status = json.loads(run_cli("status", "--json").stdout)
    assert status["counts"]["messages"] == 0
    forced = run_cli("ingest", str(export), "--date-order", "dmy", "--json")
    assert forced.exit_code == 0
    assert json.loads(forced.stdout)["sources"][0]["new"] == 2


@pytest.fixture
def run_cli(run, tmp_path: Path):  # type: ignore[no-untyped-def]
    assert run("init", "--tz", "UTC", "--key-file", "k.key").exit_code == 0

    def _run(*args: str):  # type: ignore[no-untyped-def]
        return run(*args, ARCHIVER_KEY_FILE="k.key")

    return _run
