"""With --json, stdout is one JSON document whatever happens: failures, usage errors
included, are {"error": ..., "exit_code": ...}; without --json errors stay one line on
stderr."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from archiver.archive.session import open_archive
from archiver.cli import json_requested
from archiver.security.keyring import Secret

Run = Callable[..., Result]
KEY = {"ARCHIVER_KEY_FILE": "k.key"}


@pytest.fixture
def ready(run: Run, tmp_path: Path) -> Path:
    assert run("init", "--tz", "UTC", "--key-file", "k.key").exit_code == 0
    (tmp_path / "WhatsApp Chat with Desk.txt").write_text(
        "3/1/24, 09:00 - Ann: the term sheet is in\n3/1/24, 09:01 - Bob: ok\n"
    )
    result = run("ingest", "WhatsApp Chat with Desk.txt", "--date-order", "mdy", **KEY)
    assert result.exit_code == 0, result.output
    return tmp_path / "archive"


def json_failure(result: Result, exit_code: int) -> str:
    assert result.exit_code == exit_code, result.output
    assert result.stderr == ""
    doc = json.loads(result.stdout)
    assert set(doc) == {"error", "exit_code"} and doc["exit_code"] == exit_code
    return str(doc["error"])


@pytest.mark.parametrize(
    ("args", "exit_code", "error"),
    [
        (("search", "--json"), 2, "Missing argument 'QUERY'."),
        (("chats", "--json", "--bogus"), 2, "No such option '--bogus'."),
        (("nosuch", "--json"), 2, "No such command 'nosuch'."),
        (("search", "x", "--json", "--csv"), 2, "choose one of --json, --csv, --ids, --count"),
        (("search", "--offset", "-1", "x", "--json"), 2,
         "Invalid value for '--offset': -1 is not in the range x>=0."),
        (("status", "--json", "--archive", "elsewhere"), 1,
         "no archive at elsewhere (no archive.db); create one with `archiver init`, or point "
         "--archive / ARCHIVER_ARCHIVE at an existing one"),
        (("search", "(unclosed", "--json"), 1, None),
        (("hold", "show", "no-such-hold", "--json"), 1, None),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, tuple) else str(v),
)  # fmt: skip
def test_failures_under_json_are_json_on_stdout(
    run: Run, ready: Path, args: tuple[str, ...], exit_code: int, error: str | None
) -> None:
    message = json_failure(run(*args, **KEY), exit_code)
    if error is not None:
        assert message == error


def test_without_json_an_error_is_one_line_on_stderr(run: Run, ready: Path) -> None:
    result = run("hold", "show", "no-such-hold", **KEY)
    as_json = json.loads(run("hold", "show", "no-such-hold", "--json", **KEY).stdout)
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == f"Error: {as_json['error']}\n"


def test_a_missing_secret_under_json(run: Run, ready: Path) -> None:
    message = json_failure(run("status", "--json"), 3)
    assert message.startswith("the archive is locked and no secret was given")


def test_an_unexpected_error_under_json(
    run: Run, ready: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from archiver.curation import chats

    def broken(*args: object) -> object:
        raise RuntimeError("boom")

    monkeypatch.delenv("ARCHIVER_DEBUG")
    monkeypatch.setattr(chats, "list_chats", broken)
    message = json_failure(run("chats", "--json", **KEY), 1)
    assert message == (
        "unexpected RuntimeError: boom. This is a bug in archiver; re-run with "
        "ARCHIVER_DEBUG=1 for details and report it."
    )


def test_verify_finding_damage_adds_the_error_to_its_report(
    run: Run, ready: Path, tmp_path: Path
) -> None:
    archive = open_archive(ready, Secret("keyfile", (tmp_path / "k.key").read_bytes(), "t"))
    archive.store.execute("UPDATE messages SET text = 'not ok' WHERE text = 'ok'")
    archive.close()
    result = run("verify", "--json", **KEY)
    assert result.exit_code == 4
    assert result.stderr == ""
    report = json.loads(result.stdout)
    assert report["ok"] is False and report["exit_code"] == 4
    assert report["error"].startswith("verification found damage in 1 check(s); first: messages")


@pytest.mark.parametrize(
    ("args", "wanted"),
    [
        (["search", "x", "--json"], True),
        (["--json"], True),
        (["search", "--", "--json"], False),  # a query, not the option
        (["search", "json"], False),
    ],
)
def test_json_is_recognised_only_as_an_option(args: list[str], wanted: bool) -> None:
    assert json_requested(args) is wanted


def test_a_request_filed_for_approval_under_json(run: Run, ready: Path) -> None:
    assert run("settings", "four-eyes", "on", **KEY).exit_code == 0
    made = run("hold", "create", "h1", "--matter", "M", "--reason", "R", "--chat", "Desk", **KEY)
    assert made.exit_code == 0, made.output
    result = run("hold", "release", "h1", "--reason", "closed", "--json", **KEY)
    assert result.exit_code == 7
    assert result.stderr == ""
    doc = json.loads(result.stdout)
    assert (doc["request_id"], doc["exit_code"]) == (1, 7)
    assert doc["pending"].startswith("four-eyes is on: releasing hold 'h1'")
