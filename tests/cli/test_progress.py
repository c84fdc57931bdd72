"""Progress on long commands (ingest of a big export, purge, verify, export): the library
reports phases with totals, the CLI draws bars with rate and time left on a terminal
only."""

from __future__ import annotations

import io
import sys
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from click.testing import Result
from rich.console import Console

from archiver.archive.session import Archive
from archiver.audit.verify import verify
from archiver.cli import common, render
from archiver.ingest import exports as ingest
from archiver.ingest.exports import IngestOptions
from archiver.retention import decisions as retention
from archiver.retention import purge
from archiver.search import export
from tests.conftest import FIXED_NOW, inv

Run = Callable[..., Result]


class Recorder:
    """A progress callback that adds up what each phase reports."""

    def __init__(self) -> None:
        self.done: dict[str, int] = defaultdict(int)
        self.totals: dict[str, set[int | None]] = defaultdict(set)

    def __call__(self, phase: str, n: int, total: int | None) -> None:
        self.done[phase] += n
        self.totals[phase].add(total)


def whatsapp(path: Path, count: int, pad: int = 0) -> Path:
    start = datetime(2024, 1, 1, 9, 0)
    lines = [
        f"{t.month}/{t.day}/{t.year % 100}, {t.hour:02d}:{t.minute:02d} - Ann: message {i} "
        + "x" * pad
        + "\n"
        for i, t in enumerate(start + timedelta(minutes=i) for i in range(count))
    ]
    path.write_text("".join(lines), encoding="utf-8")
    return path


def test_a_big_ingest_reports_lines_of_its_file_and_a_folder_its_exports(
    archive: Archive, tmp_path: Path
) -> None:
    folder = tmp_path / "inbox"
    folder.mkdir()
    # over 4 MB of text: a big export, parsed in a child process
    whatsapp(folder / "WhatsApp Chat with Big.txt", 40_000, pad=70)
    whatsapp(folder / "WhatsApp Chat with Small.txt", 10)
    seen = Recorder()
    options = IngestOptions(tz="UTC", date_order="mdy")
    report = ingest.ingest(archive, [folder], options, inv("ingest"), seen)
    assert report.failed == []
    assert seen.totals["exports"] == {2} and seen.done["exports"] == 2
    assert seen.totals["WhatsApp Chat with Big.txt"] == {40_000}
    assert seen.done["WhatsApp Chat with Big.txt"] == 40_000
    assert "WhatsApp Chat with Small.txt" not in seen.done  # small: no bar of its own


def test_purge_export_and_verify_report_every_item_against_a_total(
    archive: Archive, tmp_path: Path
) -> None:
    whatsapp(tmp_path / "WhatsApp Chat with Desk.txt", 2_500)
    options = IngestOptions(tz="UTC", date_order="mdy", custodian="dana@broker.example")
    ingest.ingest(archive, [tmp_path / "WhatsApp Chat with Desk.txt"], options, inv("ingest"))
    (tmp_path / "p.toml").write_text(
        '[policy]\nname = "p"\n[[rules]]\nname = "r"\ndelete_after = "1 year"\n'
        'scope = { platform = ["whatsapp"] }\n'
    )
    retention.load_policy(archive, [tmp_path / "p.toml"], inv("policy.load"))

    exported = Recorder()
    export.export(archive, tmp_path / "all.jsonl", "jsonl", inv("export"), progress=exported)
    assert (exported.done["exporting"], exported.totals["exporting"]) == (2_500, {2_500})
    queried = Recorder()
    export.export(
        archive, tmp_path / "some.jsonl", "jsonl", inv("export"), query="message", progress=queried
    )
    assert queried.totals["exporting"] == {2_500}

    dry = Recorder()
    purge.dry_run(archive, FIXED_NOW, inv("purge"), progress=dry)
    assert (dry.done["examining"], dry.totals["examining"]) == (2_500, {2_500})
    executed = Recorder()
    report = purge.execute(archive, FIXED_NOW, inv("purge"), progress=executed)
    assert report["deleted"] == 2_500
    assert (executed.done["deleting"], executed.totals["deleting"]) == (2_500, {2_500})

    checked = Recorder()
    verify(archive, inv("verify"), progress=checked)
    assert checked.done["database checks"] == 2


def test_bars_show_rate_and_time_left_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    screen = io.StringIO()
    monkeypatch.setattr(
        render, "console", lambda stderr=False: Console(file=screen, force_terminal=True, width=100)
    )
    with render.progress(True) as advance:
        advance("messages", 500, 1000)
        advance("messages", 250, None)
    drawn = screen.getvalue()
    assert "messages" in drawn and "750/1000" in drawn
    assert "/s" in drawn  # the rate
    assert "0:00:0" in drawn or "-:--:--" in drawn  # the time left


def test_no_bars_unless_both_outputs_are_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    assert common.show_progress() is False  # pytest's captured streams
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    assert common.show_progress() is True
    assert common.show_progress(as_json=True) is False
    monkeypatch.setattr(sys.stdout, "isatty", lambda: False, raising=False)
    assert common.show_progress() is False  # `archiver verify > report.txt`


def test_a_cron_run_prints_no_bar(run: Run, tmp_path: Path) -> None:
    assert run("init", "--tz", "UTC", "--key-file", "k.key").exit_code == 0
    whatsapp(tmp_path / "WhatsApp Chat with Desk.txt", 20)
    result = run(
        "ingest", "WhatsApp Chat with Desk.txt", "--date-order", "mdy", ARCHIVER_KEY_FILE="k.key"
    )
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
