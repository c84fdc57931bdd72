"""Hostile and odd exports through `archiver ingest`: a clear error or a correct ingest,
bounded time and memory, and an archive unchanged by a refusal (counts equal, `verify`
clean). The cases are generated at test time by ``tests/hostile.py``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from tests import hostile

Run = Callable[..., Result]
SECONDS = 30  # generous: the slowest case takes about a second on a quiet machine


@pytest.fixture
def env(tmp_path: Path, key_file: Path, run: Run) -> dict[str, str]:
    """An archive holding a first, ordinary export (so 'unchanged' means something)."""
    env = {"ARCHIVER_ARCHIVE": str(tmp_path / "archive"), "ARCHIVER_KEY_FILE": str(key_file)}
    made = run("init", "--tz", "Europe/London", "--key-file", str(key_file), **env)
    assert made.exit_code == 0, made.output
    seeded = run("ingest", str(hostile.tg_valid(tmp_path / "seed")), **env)
    assert seeded.exit_code == 0, seeded.output
    return env


def _counts(run: Run, env: dict[str, str]) -> dict[str, int]:
    """What the archive holds (the audit trail aside: a refusal is audited too)."""
    result = run("status", "--json", **env)
    assert result.exit_code == 0, result.output
    counts = json.loads(result.stdout)["counts"]
    del counts["audit_entries"]
    return dict(counts)


REFUSED = [
    (
        hostile.tg_nested_arrays,
        "result.json: arrays and objects nested more than 64 deep (by byte 65472); Telegram "
        "Desktop never writes that, so the file was edited or is not a Telegram export.",
    ),
    (
        hostile.tg_deep_text,
        "result.json: arrays and objects nested more than 64 deep, in the message starting on "
        "line 6 (at byte 78); Telegram Desktop never writes that",
    ),
    (
        hostile.tg_huge_integer_id,
        "result.json: an integer that does not fit in 64 bits (at byte 5055); Telegram Desktop "
        "never writes that",
    ),
    (
        hostile.tg_huge_integer_minified,
        "result.json: an integer that does not fit in 64 bits (at byte 5043); Telegram Desktop "
        "never writes that",
    ),
    (
        hostile.tg_id_beyond_int64,
        "result.json: an integer that does not fit in 64 bits (at byte 74); Telegram Desktop "
        "never writes that",
    ),
    (
        hostile.tg_nan_ids,
        "result.json: NaN is not a JSON number, in the message starting on line 6 (at byte 78); "
        "Telegram Desktop never writes that",
    ),
    (
        hostile.tg_duplicate_keys,
        "result.json: the key 'from' appears twice in one object, in the message starting on "
        "line 6 (at byte 78); Telegram Desktop never writes that",
    ),
    (
        hostile.tg_cut_mid_message,
        "result.json: the file ends at byte 1111 in the middle of the JSON document: it is "
        "truncated (an export or a copy that did not finish). Nothing from it was ingested; "
        "copy it again, or export the chat again from Telegram Desktop.",
    ),
    (
        hostile.tg_many_unparsed,
        "ChatExport_hostile: more than 10,000 records (or 16 MiB) that could not be read as "
        "messages (the first: message is not a JSON object). This is not an export archiver "
        "can read as given, and nothing from it was ingested;",
    ),
    (
        hostile.tg_html_nested,
        "messages.html: HTML elements nested more than 64 deep; Telegram Desktop nests about "
        "20, so the file was edited or is not a Telegram export. Nothing from it was ingested;",
    ),
    (
        hostile.wa_empty,
        "WhatsApp Chat with Hostile.txt is empty: no message to ingest. WhatsApp writes at "
        "least its end-to-end encryption notice into every export",
    ),
    (
        hostile.wa_binary_txt,
        "notes.txt: not a chat export: byte 0x89 at offset 0 is not UTF-8, and read as UTF-16 "
        "or Windows-1252 the file does not start like a chat (binary data?).",
    ),
    (
        hostile.wa_long_line,
        "WhatsApp Chat with Hostile.txt: line 2 is longer than 1,048,576 bytes; WhatsApp caps "
        "a message at 65,536 characters, so this is not a chat export as WhatsApp writes it.",
    ),
    (
        hostile.wa_long_message,
        "WhatsApp Chat with Hostile.txt: the message starting on line 2 runs to more than "
        "1,048,576 characters; WhatsApp caps a message at 65,536, so its later lines are not "
        "in this file's header format",
    ),
]


@pytest.mark.parametrize(("build", "error"), REFUSED, ids=[b.__name__ for b, _ in REFUSED])
def test_a_refused_export_says_why_and_leaves_the_archive_unchanged(
    run: Run, env: dict[str, str], tmp_path: Path, build: hostile.Builder, error: str
) -> None:
    before = _counts(run, env)
    export = build(tmp_path / "in")
    started = time.monotonic()
    result = run("ingest", str(export), **env)
    assert time.monotonic() - started < SECONDS
    assert result.exit_code == 1, result.output
    assert error in result.stderr
    assert _counts(run, env) == before
    assert run("verify", **env).exit_code == 0


ACCEPTED = [
    # builder, new messages, a notice that must be shown (or None)
    (hostile.wa_header_only, 1, "only WhatsApp's own notices (1 system line(s)"),
    (hostile.wa_utf16_le, 3, "read as UTF-16-LE (byte order mark); WhatsApp writes UTF-8"),
    (hostile.wa_utf16_be, 3, "read as UTF-16-BE (byte order mark); WhatsApp writes UTF-8"),
    (hostile.wa_latin1, 3, "read as WINDOWS-1252 (not UTF-8 (byte 0xe9 at offset"),
    (
        hostile.wa_invalid_utf8,
        2004,
        "1 byte sequence(s) are not valid UTF-8 (the first at byte 151184, line 2004) and "
        "were read as U+FFFD (the replacement character); the export is stored unchanged.",
    ),
]


@pytest.mark.parametrize(
    ("build", "new", "notice"), ACCEPTED, ids=[b.__name__ for b, _, _ in ACCEPTED]
)
def test_an_odd_but_legitimate_export_is_ingested_with_a_notice(
    run: Run, env: dict[str, str], tmp_path: Path, build: hostile.Builder, new: int, notice: str
) -> None:
    before = _counts(run, env)["messages"]
    result = run("ingest", str(build(tmp_path / "in")), **env)
    assert result.exit_code == 0, result.output
    assert notice in result.stderr
    assert _counts(run, env)["messages"] == before + new
    assert run("verify", **env).exit_code == 0


@pytest.mark.parametrize("build", [hostile.wa_utf16_le, hostile.wa_utf16_be, hostile.wa_latin1])
def test_other_encodings_are_searchable_as_written(
    run: Run, env: dict[str, str], tmp_path: Path, build: hostile.Builder
) -> None:
    assert run("ingest", str(build(tmp_path / "in")), **env).exit_code == 0
    found = run("search", "café", "--json", **env)
    assert found.exit_code == 0, found.output
    assert [h["text"] for h in json.loads(found.stdout)["results"]] == [
        "Morning, the café opens at nine"
    ]


# --- in a process of its own: crashes and memory ------------------------------------------


def _ingest_measured(export: Path, env: dict[str, str]) -> tuple[int, str, int]:
    """(exit code, stderr, peak RSS in MiB of the ingest and its parser process)."""
    probe = (
        "import resource, subprocess, sys\n"
        "done = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "sys.stderr.write(done.stderr)\n"
        "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024\n"
        "print(done.returncode, peak)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, sys.executable, "-m", "archiver", "ingest", str(export)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    code, peak = done.stdout.split()
    return int(code), done.stderr, int(peak)


MEASURED = [
    # the cases: 23 GB, a segfault, 1,129 MB
    (hostile.tg_nested_arrays, "nested more than 64 deep"),
    (hostile.tg_huge_integer_id, "an integer that does not fit in 64 bits"),
    (hostile.tg_huge_integer_minified, "an integer that does not fit in 64 bits"),
    (hostile.wa_long_line, "is longer than 1,048,576 bytes"),
    (hostile.wa_long_message, "runs to more than 1,048,576 characters"),
]


@pytest.mark.parametrize(("build", "error"), MEASURED, ids=[b.__name__ for b, _ in MEASURED])
def test_no_export_crashes_the_process_or_takes_unbounded_memory(
    env: dict[str, str], tmp_path: Path, build: hostile.Builder, error: str
) -> None:
    code, stderr, peak = _ingest_measured(build(tmp_path / "in"), env)
    assert code == 1, stderr  # an error, not a signal (a segfault is -11)
    assert error in stderr
    assert peak < 120, f"peak RSS {peak} MiB"  # 50 MiB measured; before: 23 GB, 1.1 GB
