"""`archiver search` and `show` as scripts and people use them: every hit or a loud cut,
times in the zone asked for and named, warnings where a query does not mean what it
seems to.

The archive holds 120 "deal" messages an hour apart from 2024-03-09 12:00 UTC (across
New York's change to summer time on March 10), by Dana and Sam, plus a few messages for
the README's example query.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import Result

from archiver import parsers
from archiver.archive.session import create_archive, open_archive
from archiver.cli import render
from archiver.cli.search_cmds import write_hits
from archiver.core.errors import ArchiverError
from archiver.ingest.exports import IngestOptions, ingest
from archiver.search.engine import stream
from archiver.security.keyring import Secret, create_key_file
from tests.conftest import inv
from tests.fakeparser import FakeParser

START = datetime(2024, 3, 9, 12, 0, tzinfo=UTC)
README_QUERY = '"price guarantee" OR (bond w/5 coupon) from:Dana after:2024-01-01'
OR_WARNING = "'or' is searched as a word; use OR (or write \"or\" in quotes to search for the word)"
EXTRA = [  # time|chat|sender|kind|text: the README query must find d1 and d3 only
    "2024-02-01T10:00:00+00:00|Desk|Dana Whitfield|text|We give a price guarantee",  # d1
    "2023-12-20T10:00:00+00:00|Desk|Dana Whitfield|text|A price guarantee, last year",
    "2024-02-02T10:00:00+00:00|Desk|Dana Whitfield|text|the bond pays a coupon",  # d3
    "2024-02-03T10:00:00+00:00|Desk|Sam Okafor|text|No price guarantee from me",
    "2024-02-04T10:00:00+00:00|Desk|Sam Okafor|text|bond with a coupon",
    "2024-02-05T10:00:00+00:00|Desk|Dana Whitfield|text|the bond: one two three four five "
    "six seven coupon",  # more than 5 words apart
]


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("cli")
    key = root / "k.key"
    create_key_file(key)
    secret = Secret("keyfile", key.read_bytes(), "t")
    create_archive(root / "archive", secret, inv("init"), tz="Europe/London").archive.close()
    lines = [
        f"{(START + timedelta(hours=i)).isoformat()}|Desk|"
        f"{'Dana Whitfield' if i % 2 else 'Sam Okafor'}|text|deal number {i}"
        for i in range(120)
    ]
    export = root / "desk.fake"
    export.write_text("\n".join(lines + EXTRA) + "\n", encoding="utf-8")
    archive = open_archive(root / "archive", secret)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(parsers, "all_parsers", lambda: [FakeParser()])
        report = ingest(archive, [export], IngestOptions(custodian="dana@firm.example"), inv())
    assert report.sources[0].new == 126
    archive.close()
    return root / "archive", key


@pytest.fixture
def search(made: tuple[Path, Path], run: Callable[..., Result]) -> Callable[..., Result]:
    """``archiver search ARGS`` on the module's archive."""

    def _search(*args: str, command: str = "search") -> Result:
        return run(command, *args, "--archive", str(made[0]), "--key-file", str(made[1]))

    return _search


def test_ids_csv_and_json_write_every_hit(search: Callable[..., Result]) -> None:
    ids = search("deal", "--ids")
    assert ids.exit_code == 0, ids.output
    assert len(ids.stdout.splitlines()) == 120 and ids.stderr == ""
    rows = list(csv.DictReader(io.StringIO(search("deal", "--csv").stdout)))
    assert [r["id"] for r in rows] == ids.stdout.split()
    doc = json.loads(search("deal", "--json").stdout)
    assert (doc["total"], len(doc["results"]), doc["warnings"]) == (120, 120, [])
    assert [str(r["id"]) for r in doc["results"]] == ids.stdout.split()


def test_streamed_json_has_one_record_per_line(search: Callable[..., Result]) -> None:
    out = search("deal", "--json", "--limit", "3").stdout
    doc = json.loads(out)
    head = json.dumps({**doc, "results": []}, indent=2, ensure_ascii=False)[: -len("]\n}")]
    records = ",\n".join("    " + json.dumps(r, ensure_ascii=False) for r in doc["results"])
    assert out == head + "\n" + records + "\n  ]\n}\n"
    empty = search("nothingmatches", "--json").stdout
    assert json.loads(empty) == {
        "query": "nothingmatches",
        "tz": "Europe/London",
        "total": 0,
        "warnings": [],
        "results": [],
    }
    assert empty == json.dumps(json.loads(empty), indent=2) + "\n"


@pytest.mark.parametrize(
    ("args", "lines", "stderr"),
    [
        (
            ["--limit", "10"],
            10,
            "Warning: output cut: 10 of 120 hit(s) written (--limit 10); "
            "run without --limit to get all 120\n",
        ),
        (
            ["--limit", "10", "--offset", "115"],
            5,
            "Warning: output cut: 5 of 120 hit(s) written (--limit 10 --offset 115); "
            "run without --limit and --offset to get all 120\n",
        ),
        (
            ["--offset", "100"],
            20,
            "Warning: output cut: 20 of 120 hit(s) written (--offset 100); "
            "run without --offset to get all 120\n",
        ),
        (["--limit", "500"], 120, ""),
    ],
)
def test_a_cut_machine_output_says_so_on_stderr(
    search: Callable[..., Result], args: list[str], lines: int, stderr: str
) -> None:
    result = search("deal", "--ids", *args)
    assert result.exit_code == 0
    assert len(result.stdout.splitlines()) == lines
    assert result.stderr == stderr


def test_limit_zero_is_a_usage_error(search: Callable[..., Result]) -> None:
    result = search("deal", "--ids", "--limit", "0")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.endswith(
        "Error: Invalid value for '--limit': 0 would show nothing; leave --limit out of --ids, "
        "--csv or --json to get every hit, or use --count for the number of hits alone\n"
    )


def test_count_prints_the_number_of_hits(search: Callable[..., Result]) -> None:
    result = search("deal", "--count")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "120\n", "")


def test_outputs_are_exclusive(search: Callable[..., Result]) -> None:
    result = search("deal", "--ids", "--count")
    assert result.exit_code == 2
    assert "choose one of --json, --csv, --ids, --count" in result.stderr


def test_the_table_shows_a_page_and_says_how_to_get_the_rest(
    search: Callable[..., Result],
) -> None:
    result = search("deal")
    lines = result.stdout.splitlines()
    assert lines[0] == "120 message(s) match 'deal' (showing 1-50; times in Europe/London)"
    assert lines[-1] == (
        "70 more: --offset 50 for the next page; --ids, --csv or --json (without --limit) "
        "give every hit"
    )
    assert sum("deal number" in line for line in lines) == 50
    last_page = search("deal", "--offset", "100").stdout.splitlines()
    assert "more:" not in last_page[-1]


@pytest.mark.parametrize(
    ("tz", "newest", "oldest"),
    [
        (None, "2024-03-14 11:00", "2024-03-09 12:00"),  # the archive's zone: London, GMT
        ("America/New_York", "2024-03-14 07:00", "2024-03-09 07:00"),  # EDT, then EST
        ("Asia/Kolkata", "2024-03-14 16:30", "2024-03-09 17:30"),
    ],
)
def test_search_shows_times_in_tz_and_names_the_zone(
    search: Callable[..., Result], tz: str | None, newest: str, oldest: str
) -> None:
    zone = ["--tz", tz] if tz else []
    top = search("deal", "--limit", "1", *zone).stdout.splitlines()
    assert top[0] == f"120 message(s) match 'deal' (showing 1-1; times in {tz or 'Europe/London'})"
    assert newest in "\n".join(top)
    bottom = search("deal", "--limit", "1", "--offset", "119", *zone).stdout
    assert oldest in bottom


def test_json_keeps_utc_and_adds_the_local_time(search: Callable[..., Result]) -> None:
    doc = json.loads(search("deal", "--json", "--tz", "America/New_York").stdout)
    assert doc["tz"] == "America/New_York"
    newest, oldest = doc["results"][0], doc["results"][-1]
    assert (newest["sent_at"], newest["sent_at_local"]) == (
        "2024-03-14T11:00:00Z",
        "2024-03-14T07:00:00-04:00",
    )
    assert (oldest["sent_at"], oldest["sent_at_local"]) == (
        "2024-03-09T12:00:00Z",
        "2024-03-09T07:00:00-05:00",
    )


def test_show_uses_tz_else_the_archives_zone(search: Callable[..., Result]) -> None:
    newest = search("deal", "--ids", "--limit", "1").stdout.strip()
    ny = search(newest, "--context", "0", "--tz", "America/New_York", command="show")
    assert ny.stdout.splitlines()[:2] == [
        "Conversation: Desk   (times in America/New_York)",
        ">> 2024-03-14 07:00:00  Dana Whitfield: deal number 119",
    ]
    london = search(newest, "--context", "0", command="show")
    assert london.stdout.splitlines()[:2] == [
        "Conversation: Desk   (times in Europe/London)",
        ">> 2024-03-14 11:00:00  Dana Whitfield: deal number 119",
    ]
    doc = json.loads(
        search(newest, "--context", "0", "--json", "--tz", "UTC", command="show").stdout
    )
    assert doc["tz"] == "UTC"
    assert doc["messages"][0]["sent_at_local"] == "2024-03-14T11:00:00+00:00"


@pytest.mark.parametrize("command", ["search", "show"])
def test_an_unknown_zone_is_an_error_not_a_crash(
    search: Callable[..., Result], command: str
) -> None:
    arg = "deal" if command == "search" else search("deal", "--ids", "--limit", "1").stdout.strip()
    result = search(arg, "--tz", "Mars/Olympus", command=command)
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: unknown time zone 'Mars/Olympus': use an IANA name such as Europe/London or "
        "America/New_York, UTC, or a fixed offset written UTC+05:30\n"
    )


def test_lower_case_or_warns_in_the_output_and_in_json(search: Callable[..., Result]) -> None:
    human = search("deal or price")
    assert human.stderr == f"Warning: {OR_WARNING}\n"
    assert human.stdout.startswith("0 message(s) match")
    doc = json.loads(search("deal or price", "--json").stdout)
    assert doc["warnings"] == [OR_WARNING]
    ids = search("deal or price", "--ids")
    assert ids.stderr == f"Warning: {OR_WARNING}\n"
    assert search("deal OR price", "--json").stderr == ""


def test_the_readme_example_returns_only_danas_messages_after_the_date(
    search: Callable[..., Result],
) -> None:
    doc = json.loads(search(README_QUERY, "--json").stdout)
    assert [r["text"] for r in doc["results"]] == [
        "the bond pays a coupon",
        "We give a price guarantee",
    ]


def test_a_half_applied_filter_is_refused(search: Callable[..., Result]) -> None:
    result = search("deal OR from:Dana")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: from: cannot be one side of an OR with words: filters apply to the whole "
        "query. Move it out of the OR to narrow the whole search, or run one search for the "
        "words and one for from:\n"
        "  deal OR from:Dana\n"
        "          ^ (column 9)\n"
    )


def test_json_document_writes_each_item_before_reading_the_next(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    seen: list[int] = []

    def items() -> Iterator[dict[str, int]]:
        for i in range(3):
            seen.append(len(out.getvalue()))
            yield {"n": i}

    render.json_document({"total": 3}, "results", items())
    assert seen[0] < seen[1] < seen[2]  # written as it went, not collected first
    assert out.getvalue() == (
        '{\n  "total": 3,\n  "results": [\n    {"n": 0},\n    {"n": 1},\n    {"n": 2}\n  ]\n}\n'
    )


def test_a_stream_reads_lazily(made: tuple[Path, Path], key_secret: Secret) -> None:
    archive = open_archive(made[0], key_secret)
    try:
        hits = stream(archive, "deal", inv("search"))
        ids = hits.ids()
        assert hits.delivered == 0
        next(ids)
        next(ids)
        assert (hits.delivered, hits.expected, hits.total) == (2, 120, 120)
    finally:
        archive.close()


@pytest.fixture
def key_secret(made: tuple[Path, Path]) -> Secret:
    return Secret("keyfile", made[1].read_bytes(), "t")


def test_an_archive_changed_mid_stream_is_an_error(
    tmp_path: Path, made: tuple[Path, Path], key_secret: Secret, capsys: pytest.CaptureFixture[str]
) -> None:
    """An ingest that commits between the count and the reading: the output no longer
    matches its total, and the command must not exit 0."""
    archive = open_archive(made[0], key_secret)
    try:
        hits = stream(archive, "later", inv("search"))
        assert hits.expected == 0
        extra = tmp_path / "later.fake"
        extra.write_text("2024-06-01T10:00:00+00:00|Desk|Sam Okafor|text|a later deal\n")
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(parsers, "all_parsers", lambda: [FakeParser()])
            ingest(archive, [extra], IngestOptions(custodian="dana@firm.example"), inv())
        with pytest.raises(ArchiverError) as err:
            write_hits(hits, "ids")
        assert str(err.value) == (
            "the archive changed while the hits were written (an ingest or purge committed "
            "meanwhile): 1 written, 0 counted; run the search again for a consistent result"
        )
        assert capsys.readouterr().out.strip().isdigit()
    finally:
        archive.close()


def test_chats_prints_dates_in_the_archives_zone(
    tmp_path: Path, key_file: Path, run: Callable[..., Result]
) -> None:
    secret = Secret("keyfile", key_file.read_bytes(), "t")
    create_archive(tmp_path / "tokyo", secret, inv("init"), tz="Asia/Tokyo").archive.close()
    export = tmp_path / "night.fake"
    export.write_text("2024-01-06T23:30:00+00:00|Night Desk|Ann|text|late\n", encoding="utf-8")
    archive = open_archive(tmp_path / "tokyo", secret)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(parsers, "all_parsers", lambda: [FakeParser()])
        ingest(archive, [export], IngestOptions(custodian="ann@firm.example"), inv())
    archive.close()
    result = run("chats", "--archive", str(tmp_path / "tokyo"), "--key-file", str(key_file))
    lines = result.stdout.splitlines()
    assert lines[0] == "Conversations (dates in Asia/Tokyo)"
    row = next(line for line in lines if "Night Desk" in line)
    assert row.count("2024-01-07") == 2 and "2024-01-06" not in row  # 08:30 in Tokyo
