"""A busy archive: commands wait (``--wait``, bounded, reported), then exit 75; no raw
"database is locked" ever reaches the operator; commands run in parallel processes
finish with correct totals."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import Result

from archiver.archive.session import Archive, open_archive
from archiver.security.keyring import Secret
from tests.conftest import inv

Run = Callable[..., Result]
KEY = {"ARCHIVER_KEY_FILE": "k.key"}


def whatsapp_export(path: Path, who: str, count: int) -> Path:
    """A WhatsApp export of ``count`` messages from ``who``, one a minute, each with the
    word "marker" (so a search or a hold finds all of them)."""
    start = datetime(2024, 1, 1, 9, 0)
    lines = []
    for i in range(count):
        t = start + timedelta(minutes=i)
        lines.append(
            f"{t.month}/{t.day}/{t.year % 100}, {t.hour:02d}:{t.minute:02d} - {who}: "
            f"marker message {i} from {who}\n"
        )
    path.write_text("".join(lines), encoding="utf-8")
    return path


@pytest.fixture
def ready(run: Run, tmp_path: Path) -> Path:
    assert run("init", "--tz", "UTC", "--key-file", "k.key").exit_code == 0
    whatsapp_export(tmp_path / "WhatsApp Chat with Desk.txt", "Ann", 3)
    result = run("ingest", "WhatsApp Chat with Desk.txt", "--date-order", "mdy", **KEY)
    assert result.exit_code == 0, result.output
    return tmp_path / "archive"


@pytest.fixture
def held_lock(ready: Path, tmp_path: Path) -> Iterator[Archive]:
    """Another command in the middle of a write transaction."""
    other = open_archive(ready, Secret("keyfile", (tmp_path / "k.key").read_bytes(), "t"))
    try:
        with other.store.transaction():
            yield other
    finally:
        other.close()


WRITERS = [
    ("hold", "create", "h1", "--matter", "M", "--reason", "R", "--chat", "Desk"),
    ("people", "link", "Ann", "Annie"),
    ("policy", "load", "policy.toml"),
    ("search", "marker"),
    ("purge",),
    ("key", "rotate"),
]


@pytest.mark.parametrize("args", WRITERS, ids=lambda a: " ".join(a[:2]))
def test_a_command_that_meets_a_held_lock_waits_as_long_as_told_then_exits_75(
    run: Run, held_lock: Archive, tmp_path: Path, args: tuple[str, ...]
) -> None:
    (tmp_path / "policy.toml").write_text(
        '[policy]\nname = "p"\n[[rules]]\nname = "r"\nretain = "1 year"\nthen = "delete"\n'
        'scope = { platform = ["whatsapp"] }\n'
    )
    result = run(*args, "--wait", "0.3", **KEY)
    assert result.exit_code == 75
    assert result.stdout == ""
    assert result.stderr == (
        "The archive is in use by another archiver command; waiting up to 0.3 s for it "
        "(--wait).\n"
        "Error: archive/archive.db is in use by another archiver command (an ingest or a "
        "purge holds the "
        "archive until it commits; waited 0.3 s); run this command again when that one has "
        "finished, or give --wait SECONDS to wait longer\n"
    )


def test_busy_under_json_is_a_json_error_on_stdout(run: Run, held_lock: Archive) -> None:
    result = run("search", "marker", "--json", "--wait", "0", **KEY)
    assert result.exit_code == 75
    doc = json.loads(result.stdout)
    assert doc == {"error": doc["error"], "exit_code": 75}
    assert doc["error"].endswith("or give --wait SECONDS to wait longer")


def test_the_wait_is_taken_from_the_environment_and_bounded(run: Run, held_lock: Archive) -> None:
    from_env = run("status", **KEY, ARCHIVER_WAIT="0.2")
    assert from_env.exit_code == 75
    assert "waited 0.2 s" in from_env.stderr
    refused = run("status", "--wait", "90000", **KEY)
    assert refused.exit_code == 2
    assert "Invalid value for '--wait': 90000.0 is not in the range 0<=x<=86400.0" in (
        refused.stderr
    )


def test_an_ingest_that_stays_busy_stops_and_says_what_was_done(
    run: Run, ready: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "inbox"
    folder.mkdir()
    whatsapp_export(folder / "WhatsApp Chat with One.txt", "Bo", 2)
    whatsapp_export(folder / "WhatsApp Chat with Two.txt", "Cy", 2)
    other = open_archive(ready, Secret("keyfile", (tmp_path / "k.key").read_bytes(), "t"))
    try:
        with other.store.transaction():
            result = run("ingest", "inbox", "--date-order", "mdy", "--wait", "0", **KEY)
    finally:
        other.close()
    assert result.exit_code == 75
    assert result.stderr.splitlines()[-1].endswith(
        "or give --wait SECONDS to wait longer. 0 of 2 export(s) were ingested before; "
        "running the same ingest again skips them"
    )
    again = run("ingest", "inbox", "--date-order", "mdy", **KEY)
    assert again.exit_code == 0, again.output


def test_a_raw_lock_error_from_anywhere_is_reported_as_busy(
    run: Run, ready: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lock error from a statement the store does not guard still says "busy"."""
    from archiver.curation import chats
    from archiver.store.database import DbError

    def locked(*args: object) -> object:
        raise DbError("database is locked")

    monkeypatch.setattr(chats, "list_chats", locked)
    result = run("chats", **KEY)
    assert result.exit_code == 75
    assert "database is locked" not in result.output
    assert result.stderr.startswith("Error: archive/archive.db is in use by another")


# --- parallel processes ---------------------------------------------------------------------


def _env() -> dict[str, str]:
    env = {
        **os.environ,
        "ARCHIVER_ARCHIVE": "archive",
        "ARCHIVER_KEY_FILE": "k.key",
        "ARCHIVER_WAIT": "120",
    }
    env.pop("ARCHIVER_DEBUG", None)  # as an operator runs it
    return env


def spawn(cwd: Path, *args: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "archiver", *args]
    return subprocess.Popen(command, cwd=cwd, env=_env(), text=True, stdout=-1, stderr=-1)


def call(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "archiver", *args]
    return subprocess.run(command, cwd=cwd, env=_env(), text=True, capture_output=True, timeout=300)


RAW = ("database is locked", "Traceback", "unexpected", "bug in archiver")
WAIT_LINES = re.compile(
    r"The archive is in use by another archiver command; waiting up to 120 s for it "
    r"\(--wait\)\.|Waited \d+\.\d s; the archive is free, continuing\."
    # a hold placed before the ingests committed says so
    r"|Warning: --query 'marker' matches no message in the archive now \(.*\)"
)


def test_two_ingests_a_search_loop_a_purge_and_a_hold_in_parallel(run: Run, tmp_path: Path) -> None:
    """Each export is all or nothing, so every count seen meanwhile is one of the sums of
    whole exports; at the end every count is the full total, and nothing failed."""
    assert run("init", "--tz", "UTC", "--key-file", "k.key").exit_code == 0
    # The big one has over 4 MB of text: it is parsed in a child process and, if it
    # finds the archive unused, written holding the archive exclusively.
    big, small = 80_000, 20_000
    whatsapp_export(tmp_path / "WhatsApp Chat with Big Desk.txt", "Ann", big)
    whatsapp_export(tmp_path / "WhatsApp Chat with Small Desk.txt", "Bob", small)
    possible = {0, small, big, small + big}
    ingests = [
        spawn(tmp_path, "ingest", name, "--date-order", "mdy", "--json")
        for name in ("WhatsApp Chat with Big Desk.txt", "WhatsApp Chat with Small Desk.txt")
    ]
    others = [
        spawn(tmp_path, "purge", "--json"),
        spawn(tmp_path, "hold", "create", "h1", "--matter", "M", "--reason", "R",
              "--query", "marker", "--json"),
    ]  # fmt: skip
    searches: list[subprocess.CompletedProcess[str]] = []

    def search_loop() -> None:
        while any(p.poll() is None for p in ingests) or len(searches) < 3:
            searches.append(call(tmp_path, "search", "marker", "--count"))

    looping = threading.Thread(target=search_loop)
    looping.start()
    finished = [(*p.communicate(timeout=300), p.returncode) for p in [*ingests, *others]]
    looping.join(timeout=300)

    outputs = finished + [(s.stdout, s.stderr, s.returncode) for s in searches]
    for out, err, rc in outputs:
        assert rc == 0, err
        assert not [raw for raw in RAW if raw in out + err], out + err
        assert all(WAIT_LINES.fullmatch(line) for line in err.splitlines()), err
    (a_out, _, _), (b_out, _, _), (purge_out, _, _), (hold_out, _, _) = finished
    assert json.loads(a_out)["totals"]["new"] == big
    assert json.loads(b_out)["totals"]["new"] == small
    assert json.loads(purge_out)["examined"] in possible
    assert json.loads(hold_out)["held_now"] in possible
    assert {int(s.stdout) for s in searches} <= possible
    assert json.loads(call(tmp_path, "status", "--json").stdout)["counts"]["messages"] == (
        big + small
    )
    shown = call(tmp_path, "hold", "show", "h1", "--json")
    assert json.loads(shown.stdout)["held_now"] == big + small
    assert call(tmp_path, "verify").returncode == 0


def test_every_command_that_opens_the_archive_takes_wait() -> None:
    import click

    from archiver.cli import cli
    from archiver.cli.reference import command_paths

    opening, waiting = set(), set()
    for path in command_paths():
        command: click.Command = cli
        for name in path:
            assert isinstance(command, click.Group)
            command = command.commands[name]
        names = {p.name for p in command.params}
        options = {o for p in command.params for o in getattr(p, "opts", [])}
        if "archive_dir" in names and path != ("init",):
            opening.add(" ".join(path))
            if "--wait" in options:
                waiting.add(" ".join(path))
    assert len(opening) >= 25
    assert opening == waiting


def test_a_purge_waits_for_a_running_purge_within_its_limit(
    archive: Archive, tmp_path: Path
) -> None:
    """One purge at a time: a second one waits (--wait) for the first, saying so."""
    from archiver.retention import purge
    from archiver.store.database import Waiting
    from tests.store.test_transactions import Reports

    reports = Reports()
    archive.store.waiting = Waiting(10, reports)
    locked, released = threading.Event(), threading.Event()

    def first_purge() -> None:
        with purge.purge_lock(archive):
            locked.set()
            released.wait(0.6)

    running = threading.Thread(target=first_purge)
    running.start()
    locked.wait(5)
    try:
        with pytest.raises(Exception, match="no retention policy is loaded"):
            purge.execute(archive, datetime(2026, 11, 27, tzinfo=UTC), inv("purge"))
    finally:
        running.join()
    assert reports.events == ["waiting up to 10 s", "got it"]
