"""The parser child of a big ingest dies with its parent, even one killed by SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from archiver.archive.session import create_archive
from archiver.ingest import exports as ingest_module
from archiver.security.keyring import Secret
from tests.conftest import inv

ROOT = Path(__file__).resolve().parents[2]

# The CLI with the readable test format registered (tests/fakeparser.py): its `!sleep`
# line keeps the parser busy without writing, which is where a child outlived its parent.
INGEST = """
import sys
from archiver import parsers
from archiver.ingest import pipeline
from archiver.cli import main
from tests.fakeparser import FakeParser

parsers.all_parsers = lambda: [FakeParser()]
if sys.argv[1] == "pipe-eof-only":
    pipeline._kill_with_parent = lambda: None  # what a system without PR_SET_PDEATHSIG has
sys.argv = ["archiver", "ingest", sys.argv[2]]
main()
"""


def big_fake_export(path: Path) -> Path:
    lines = [
        f"2024-03-01T{i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}+00:00|Desk|Sam|text|"
        f"note {i} about the price of bonds"
        for i in range(80_000)
    ]
    path.write_text("\n".join(["!sleep 60", *lines]) + "\n")
    assert path.stat().st_size >= ingest_module.BIG_EXPORT_BYTES  # parsed in a child
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


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc to find the child")
@pytest.mark.parametrize("mode", ["pdeathsig", "pipe-eof-only"])
def test_the_parser_child_dies_within_half_a_second_of_a_killed_parent(
    tmp_path: Path, key_file: Path, mode: str
) -> None:
    secret = Secret("keyfile", key_file.read_bytes(), "test")
    create_archive(tmp_path / "archive", secret, inv("init"), tz="UTC").archive.close()
    export = big_fake_export(tmp_path / "desk.fake.txt")
    env = {
        **os.environ,
        "ARCHIVER_ARCHIVE": str(tmp_path / "archive"),
        "ARCHIVER_KEY_FILE": str(key_file),
        "PYTHONPATH": os.pathsep.join(filter(None, [os.environ.get("PYTHONPATH"), str(ROOT)])),
    }
    proc = subprocess.Popen(
        [sys.executable, "-c", INGEST, mode, str(export)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    forked: list[int] = []
    try:
        deadline = time.monotonic() + 30
        while not (forked := children(proc.pid)) and time.monotonic() < deadline:
            assert proc.poll() is None, "the ingest ended before its parser child started"
            time.sleep(0.01)
        assert forked, "a big export is parsed in a child process"
        time.sleep(0.3)  # the child is now inside its parser, not writing
        assert all(alive(pid) for pid in forked)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        killed = time.monotonic()
        while any(alive(pid) for pid in forked) and time.monotonic() - killed < 5:
            time.sleep(0.01)
        gone_after = time.monotonic() - killed
        assert gone_after < 0.5, f"the parser outlived its parent by {gone_after:.2f} s"
    finally:  # leave nothing behind when the test fails
        proc.kill()
        for pid in forked:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
