"""The parser child process: same records as inline, errors carried over, prompt stop."""

from __future__ import annotations

import fcntl
import os
import time
from contextlib import closing
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from archiver import parsers
from archiver.core.errors import ArchiverError, ParseError
from archiver.core.model import Chat, ParseFacts
from archiver.ingest import pipeline
from archiver.ingest.staging import Batch
from archiver.parsers.base import ParseOptions
from tests.fakeparser import FakeParser

OPTIONS = ParseOptions(tz=ZoneInfo("UTC"))


@pytest.fixture(autouse=True)
def fake_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parsers, "all_parsers", lambda: [FakeParser()])


def export(tmp_path: Path, *extra: str, messages: int = 12) -> Path:
    lines = [
        f"2024-03-01T09:{i // 60:02d}:{i % 60:02d}+00:00|Desk|Sam|text|note {i}"
        for i in range(messages)
    ]
    path = tmp_path / "a.fake"
    path.write_text("\n".join([*lines, *extra]) + "\n", encoding="utf-8")
    return path


def test_the_child_yields_exactly_what_the_inline_parser_yields(tmp_path: Path) -> None:
    path = export(tmp_path, messages=25)
    inline = list(pipeline.parse_staged(job(path, 10)))
    child = run(pipeline.start(job(path, 10)))
    assert child == inline
    assert [type(i).__name__ for i in child] == ["Chat", "Batch", "Batch", "Batch", "ParseFacts"]
    assert [len(i.rows) for i in child if isinstance(i, Batch)] == [10, 10, 5]


def test_a_parse_error_in_the_child_is_raised_in_the_caller(tmp_path: Path) -> None:
    path = export(tmp_path, "!boom")
    with pytest.raises(ParseError, match=r"a\.fake: line 13: boom"):
        run(pipeline.start(job(path, 5)))


def test_a_child_that_dies_is_an_error_naming_the_export(tmp_path: Path) -> None:
    path = export(tmp_path, "!exit 9")
    with pytest.raises(ArchiverError) as caught:
        run(pipeline.start(job(path, 5)))
    assert str(caught.value) == (
        "a.fake: the parser process ended unexpectedly (exit code 9); nothing from this "
        "export was kept"
    )


def test_a_caller_that_stops_early_stops_a_busy_child_at_once(tmp_path: Path) -> None:
    path = export(tmp_path, "!sleep 30", "2024-03-01T10:00:00+00:00|Desk|Sam|text|late")
    stream = pipeline.start(job(path, 5))
    assert isinstance(next(iter(stream)), Chat)
    pids = _children()
    assert pids, "the parser runs in a child process"
    started = time.monotonic()
    stream.close()  # what a writer that fails does
    assert time.monotonic() - started < 3
    assert not _children() & pids


def test_closing_a_stream_never_read_stops_its_child(
    tmp_path: Path,
) -> None:
    path = export(tmp_path, "!sleep 30")
    stream = pipeline.start(job(path, 5))
    deadline = time.monotonic() + 10
    while not _children() and time.monotonic() < deadline:
        time.sleep(0.01)
    pids = _children()
    assert pids, "the child starts before the stream is read"
    stream.close()
    assert not _children() & pids


def test_records_after_the_messages_still_arrive_in_order(tmp_path: Path) -> None:
    path = export(tmp_path, messages=3)
    items = run(pipeline.start(job(path, 100)))
    assert isinstance(items[0], Chat) and isinstance(items[-1], ParseFacts)
    assert items[-1].facts == {"lines": 3}


def job(path: Path, batch: int) -> pipeline.Job:
    return pipeline.Job(path, "file", "fake", OPTIONS, batch)


def run(stream: pipeline.Stream) -> list[pipeline.Item]:
    with closing(stream):
        return list(stream)


def _children() -> set[int]:
    """Live (not zombie) child processes of this test process."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == os.getpid() and fields[0] != "Z":
            found.add(int(stat.parent.name))
    return found


def test_batches_cross_a_one_mebibyte_pipe(tmp_path: Path) -> None:
    stream = pipeline.start(job(export(tmp_path), 5))
    assert isinstance(stream, pipeline.InChild)
    assert fcntl.fcntl(stream._receiver.fileno(), fcntl.F_GETPIPE_SZ) == 1 << 20
    assert len(run(stream)) > 1
