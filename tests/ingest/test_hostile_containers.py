"""Hostile exports (built by tests/hostile_containers.py): each gets a clear error or a
correct ingest, in bounded time and memory, with nothing written outside the archive and
the archive unchanged by a refusal; one export's failure never stops the others."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import Result

from archiver import parsers
from archiver.core.errors import InputError, UnsafeInput
from archiver.ingest import containers
from archiver.ingest import exports as ingest_module
from archiver.store import blobs
from archiver.store.database import DbError
from tests.hostile_containers import Case, build, chat, deflated, good_zip, stored, write_zip

Run = Callable[..., Result]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Case]]:
    root = tmp_path_factory.mktemp("hostile")
    return root, build(root)


@pytest.fixture
def cli(run: Run) -> Run:
    assert run("init", "--tz", "UTC", "--key-file", "k.key").exit_code == 0

    def _run(*args: str, **env: str) -> Result:
        return run(*args, ARCHIVER_KEY_FILE="k.key", **env)

    return _run


def counts(cli: Run) -> dict[str, int]:
    status = cli("status", "--json")
    assert status.exit_code == 0, status.output
    found = json.loads(status.stdout)["counts"]
    del found["audit_entries"]
    return dict(found)


def verified(cli: Run) -> bool:
    result = cli("verify")
    return result.exit_code == 0 and "No damage found." in result.stdout


def case_slugs() -> list[str]:
    return [
        "understated",
        "many-members",
        "single-bomb",
        "nested-bomb",
        "nested-export",
        "traversal",
        "absolute",
        "symlink-member",
        "truncated",
        "symlink-in-folder",
        "symlink-among-exports",
        "pipe",
    ]


@pytest.mark.parametrize("slug", case_slugs())
def test_each_hostile_export_gets_a_clear_answer_and_a_refusal_changes_nothing(
    cli: Run, corpus: tuple[Path, list[Case]], slug: str
) -> None:
    root, cases = corpus
    (case,) = [c for c in cases if c.slug == slug]
    assert cli("ingest", str(root / "good")).exit_code == 0
    before = counts(cli)
    result = cli("ingest", str(root / slug))
    assert result.exit_code == 1
    if case.status == "failed":
        assert result.stderr == f"Error: {case.path.name}{case.says}\n"
        assert counts(cli) == before
    elif case.status == "skipped":
        assert result.stderr == (
            f"Error: no export found in {root / slug}; give WhatsApp .txt/.zip exports or "
            f"Telegram export folders (result.json / messages.html); skipped {case.path}"
            f"{case.says}\n"
        )
        assert counts(cli) == before
    else:  # the export itself is ingested; the chat export inside it is reported
        assert result.stderr.splitlines()[-1] == (f"Warning: not ingested: {case.path}{case.says}")
        assert result.stdout.splitlines()[-1] == (
            "1 export(s): 7 new message(s), 0 already archived, 0 previously purged, "
            "0 failed, 1 not ingested"
        )
        assert counts(cli)["messages"] == before["messages"] + 7
    assert verified(cli)


def test_the_corpus_builder_covers_every_case(corpus: tuple[Path, list[Case]]) -> None:
    _, cases = corpus
    expected = case_slugs() if hasattr(os, "mkfifo") else case_slugs()[:-1]
    assert [c.slug for c in cases] == ["good", *expected]


def _tree(root: Path, *, leave_out: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p): (p.lstat().st_size, p.lstat().st_mtime_ns)
        for p in root.rglob("*")
        if leave_out not in p.parents and p != leave_out
    }


# `archiver ingest --json PATH`, then its peak resident memory on stderr (the kernel's
# high-water mark of this process alone: rusage would count the forking test process too)
MEASURED_INGEST = """
import sys
from archiver.cli import main
sys.argv = ["archiver", "ingest", "--json", sys.argv[1]]
try:
    main()
finally:
    with open("/proc/self/status") as status:
        sys.stderr.write(next(line for line in status if line.startswith("VmHWM:")))
"""


def test_a_folder_of_hostile_exports_ingests_the_rest_in_bounded_time_and_memory(
    cli: Run, corpus: tuple[Path, list[Case]], tmp_path: Path
) -> None:
    root, cases = corpus
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    before = _tree(root, leave_out=tmp_path) | _tree(tmp_path, leave_out=tmp_path / "archive")
    env = {
        **os.environ,
        "ARCHIVER_ARCHIVE": str(tmp_path / "archive"),
        "ARCHIVER_KEY_FILE": str(tmp_path / "k.key"),
        "TMPDIR": str(scratch),
    }
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", MEASURED_INGEST, str(root)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    elapsed = time.monotonic() - started
    assert done.returncode == 1
    assert elapsed < 30, f"took {elapsed:.1f} s"
    peak_kib = int(done.stderr.rsplit("VmHWM:", 1)[1].split()[0])
    assert peak_kib < 250 * 1024, f"peak {peak_kib // 1024} MiB"
    out = done.stdout
    report = json.loads(out)
    statuses = {s["origin"]: s["status"] for s in report["sources"]}
    skipped = {str(root / s["path"]): "skipped" for s in report["skipped"]}  # shown relative
    missed = [n["path"] for n in report["not_ingested"]]
    for case in cases:
        if case.status == "not-ingested":
            assert statuses[str(case.path)] == "ingested"
            assert f"{case.path}!/{case.inner}" in missed
        else:
            assert {**statuses, **skipped}[str(case.path)] == case.status, case.slug
    assert report["totals"]["new"] == 21  # the good export and the two holding a zip
    assert report["failed"] == 8 and len(missed) == 2
    # nothing written outside the archive: not beside the exports, not in the temp folder
    assert _tree(root, leave_out=tmp_path) | _tree(tmp_path, leave_out=tmp_path / "archive") == (
        before
    )
    assert list(scratch.iterdir()) == []
    assert verified(cli)


def test_a_bug_in_one_export_fails_that_export_only_and_is_audited(
    cli: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("ARCHIVER_DEBUG")
    (tmp_path / "in").mkdir()
    for title in ("Alpha", "Beta", "Gamma"):
        _export(tmp_path / "in", title, 7)
    real = parsers.detect

    def buggy(unit, platform="auto"):  # type: ignore[no-untyped-def]
        if "Beta" in unit.name:
            raise KeyError("boom")
        return real(unit, platform)

    monkeypatch.setattr(parsers, "detect", buggy)
    result = cli("ingest", "in")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: WhatsApp Chat with Beta.txt: unexpected KeyError: 'boom'. Nothing from this "
        "export was kept. This is a bug in archiver; re-run with ARCHIVER_DEBUG=1 for details "
        "and report it\n"
    )
    assert result.stdout.splitlines()[-1] == (
        "3 export(s): 14 new message(s), 0 already archived, 0 previously purged, 1 failed"
    )
    audit = json.loads(cli("audit", "--json").stdout)
    failures = [e for e in audit if e["outcome"] == "error"]
    assert [e["details"]["source"] for e in failures] == ["WhatsApp Chat with Beta.txt"]


def test_under_debug_a_bug_is_raised_after_the_other_exports_are_in(
    cli: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "in").mkdir()
    _export(tmp_path / "in", "Alpha", 7)
    _export(tmp_path / "in", "Beta", 7)
    real = parsers.detect

    def buggy(unit, platform="auto"):  # type: ignore[no-untyped-def]
        if "Alpha" in unit.name:
            raise KeyError("boom")
        return real(unit, platform)

    monkeypatch.setattr(parsers, "detect", buggy)
    with pytest.raises(KeyError, match="boom"):
        cli("ingest", "in")
    assert counts(cli)["messages"] == 7


def test_an_unreadable_folder_is_reported_not_ingested(
    cli: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "in" / "locked").mkdir(parents=True)
    _export(tmp_path / "in", "Alpha", 7)
    real = Path.iterdir

    def iterdir(self: Path) -> Iterator[Path]:
        if self.name == "locked":
            raise PermissionError(13, "Permission denied")
        return real(self)

    monkeypatch.setattr(Path, "iterdir", iterdir)
    result = cli("ingest", "in")
    assert result.exit_code == 1
    assert result.stderr == (
        "Warning: not ingested: locked: the folder cannot be read (Permission denied)\n"
    )
    assert result.stdout.splitlines()[-1] == (
        "1 export(s): 7 new message(s), 0 already archived, 0 previously purged, 0 failed, "
        "1 not ingested"
    )


def test_an_unreadable_folder_inside_an_export_fails_that_export(
    cli: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    export = tmp_path / "ChatExport_Desk"
    (export / "photos").mkdir(parents=True)
    (export / "result.json").write_text('{"name": "Desk", "type": "private_group", "id": 1}')
    real = os.scandir

    def scandir(path):  # type: ignore[no-untyped-def]
        if str(path).endswith("photos"):
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    result = cli("ingest", str(export))
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: ChatExport_Desk/photos cannot be read (Permission denied); nothing "
        "from this export was kept. Make it readable and ingest the export again\n"
    )


# --- a chat export inside another export ---------------------------------------------------


def nested(tmp_path: Path) -> tuple[Path, Path]:
    inner = good_zip(tmp_path / "WhatsApp Chat - Inner.zip")
    outer = good_zip(
        tmp_path / "in" / "WhatsApp Chat - Outer.zip",
        stored("00000003-WhatsApp Chat - Inner.zip", inner.read_bytes()),
    )
    return outer, inner


def test_an_inner_export_is_reported_at_every_run_until_it_is_ingested_on_its_own(
    cli: Run, tmp_path: Path
) -> None:
    (tmp_path / "in").mkdir()
    outer, inner = nested(tmp_path)
    first = cli("ingest", str(outer), "--custodian", "dana")
    assert first.exit_code == 1
    again = cli("ingest", str(outer), "--custodian", "dana", "--json")
    assert again.exit_code == 1
    report = json.loads(again.stdout)
    assert report["sources"][0]["status"] == "already-ingested"
    assert [n["path"] for n in report["not_ingested"]] == [
        f"{outer}!/00000003-WhatsApp Chat - Inner.zip"
    ]
    audit = json.loads(cli("audit", "--json").stdout)
    ingests = [e for e in audit if e["action"] == "ingest"]
    assert [e["details"].get("inner_exports_not_ingested") for e in ingests] == [
        [f"{outer}!/00000003-WhatsApp Chat - Inner.zip"]
    ] * 2
    # the operator extracts it and ingests it under its own custodian: no longer reported
    assert cli("ingest", str(inner), "--custodian", "sam").exit_code == 0
    assert cli("ingest", str(outer), "--custodian", "dana").exit_code == 0


def test_an_inner_export_given_in_the_same_run_is_not_reported(cli: Run, tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    _, inner = nested(tmp_path)
    inner.rename(tmp_path / "in" / "x-WhatsApp Chat - Inner.zip")  # walked after the outer
    result = cli("ingest", "in", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["not_ingested"] == []


def test_an_ordinary_zip_inside_an_export_is_just_an_attachment(cli: Run, tmp_path: Path) -> None:
    pdfs = write_zip(tmp_path / "docs.zip", [deflated("term-sheet.pdf", b"%PDF-1.7 ...")])
    outer = good_zip(tmp_path / "WhatsApp Chat - Docs.zip", stored("docs.zip", pdfs.read_bytes()))
    result = cli("ingest", str(outer))
    assert result.exit_code == 0, result.output
    assert result.stderr == ""


def test_a_zip_that_only_bundles_exports_says_to_extract_it(cli: Run, tmp_path: Path) -> None:
    a = good_zip(tmp_path / "a.zip").read_bytes()
    bundle = write_zip(
        tmp_path / "exports.zip",
        [stored("WhatsApp Chat - A.zip", a), stored("WhatsApp Chat - B.zip", a)],
    )
    result = cli("ingest", str(bundle))
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: exports.zip: not recognised as a WhatsApp or Telegram export. "
        "Expected a WhatsApp 'Export chat' .txt or .zip, or a Telegram Desktop export "
        "(result.json or messages.html); use --platform to force one. It holds 2 zip file(s) "
        "('WhatsApp Chat - A.zip', 'WhatsApp Chat - B.zip'), which are not opened as exports: "
        "extract it and ingest the extracted folder, so that each export in it is ingested "
        "(and kept as evidence) on its own\n"
    )


# --- a full disk -----------------------------------------------------------------------------


@pytest.mark.parametrize("messages", [20_000, 60_000], ids=["inline", "big-export"])
def test_a_full_disk_mid_ingest_leaves_the_archive_as_it_was(
    cli: Run, tmp_path: Path, messages: int
) -> None:
    """The disk fills up while the export is written: the write limit of the process
    (RLIMIT_FSIZE) stands in for a full file system, without root or a loop device. A big
    export is parsed in a child process and written under a rollback journal."""
    assert cli("ingest", str(_export(tmp_path, "Small", 50))).exit_code == 0
    before = counts(cli)
    big = _export(tmp_path, "Big Desk", messages)
    assert (big.stat().st_size >= ingest_module.BIG_EXPORT_BYTES) == (messages == 60_000)
    db = tmp_path / "archive" / "archive.db"
    limit = db.stat().st_size + (256 << 10)

    def small_disk() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a failed write, not a killed process
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    env = {
        **os.environ,
        "ARCHIVER_ARCHIVE": str(tmp_path / "archive"),
        "ARCHIVER_KEY_FILE": str(tmp_path / "k.key"),
    }
    env.pop("ARCHIVER_DEBUG", None)
    done = subprocess.run(
        [sys.executable, "-m", "archiver", "ingest", str(big)],
        env=env,
        capture_output=True,
        text=True,
        preexec_fn=small_disk,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    error, summary = done.stderr.splitlines()[0], done.stdout.splitlines()[-1]
    assert error.startswith(f"Error: {big.name}: writing to {db} failed (")
    assert (
        "): the disk is full or failing. What was being written was rolled back and the "
        "archive is as it was; free disk space (or fix the disk) and run the command again"
    ) in error
    assert summary.endswith("0 previously purged, 1 failed")
    audited = [e for e in json.loads(cli("audit", "--json").stdout) if e["outcome"] == "error"]
    # the failure is in the audit log, or the message says it could not be written there
    assert bool(audited) != ("could not be written to the audit log either" in error)
    assert "unexpected" not in done.stderr
    assert counts(cli) == before
    assert verified(cli)
    again = cli("ingest", str(big))  # with room again, the same command completes
    assert again.exit_code == 0, again.output
    assert counts(cli)["messages"] == before["messages"] + messages


def _export(tmp_path: Path, title: str, messages: int) -> Path:
    path = tmp_path / f"WhatsApp Chat with {title}.txt"
    path.write_text(
        "".join(
            f"13/03/2024, {i // 60 % 24:02d}:{i % 60:02d} - Dana: {title} note {i} "
            f"{os.urandom(16).hex()}\n"
            for i in range(messages)
        )
    )
    return path


def test_a_write_failure_in_one_export_fails_it_and_the_next_one_goes_in(
    cli: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "in").mkdir()
    _export(tmp_path / "in", "Alpha", 20)
    _export(tmp_path / "in", "Beta", 20)
    real = blobs.put_steps
    calls = {"n": 0}

    def full_once(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 1:
            full = DbError("database or disk is full")
            full.sqlite_errorcode = 13  # type: ignore[attr-defined]  # SQLITE_FULL
            raise full
        yield from real(*args, **kwargs)

    monkeypatch.setattr(blobs, "put_steps", full_once)
    result = cli("ingest", "in")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: WhatsApp Chat with Alpha.txt: writing to archive/archive.db failed (database "
        "or disk is full): the disk is full or failing. What was being written was rolled "
        "back and the archive is as it was; free disk space (or fix the disk) and run the "
        "command again\n"
    )
    assert counts(cli)["messages"] == 20
    assert verified(cli)


def test_damage_to_the_archive_itself_stops_the_run_with_exit_4(
    cli: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "in").mkdir()
    _export(tmp_path / "in", "Alpha", 20)
    _export(tmp_path / "in", "Beta", 20)
    tried = []

    def corrupt(*args, **kwargs):  # type: ignore[no-untyped-def]
        tried.append(args[-1])
        damaged = DbError("database disk image is malformed")
        damaged.sqlite_errorcode = 11  # type: ignore[attr-defined]  # SQLITE_CORRUPT
        raise damaged
        yield  # a generator, like the real one

    monkeypatch.setattr(blobs, "put_steps", corrupt)
    result = cli("ingest", "in")
    assert result.exit_code == 4
    assert result.stderr == (
        "Error: archive/archive.db is damaged: SQLite reports 'database disk image is "
        "malformed' while running `archiver ingest`. Run `archiver verify` to see what is "
        "damaged, and restore the archive from a backup made with `archiver backup`.\n"
    )
    assert tried == ["WhatsApp Chat with Alpha.txt"]  # Beta was not attempted


# --- limits, unit by unit ---------------------------------------------------------------------


def test_the_member_count_is_refused_from_the_end_record_before_loading_the_list(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(containers, "MAX_MEMBERS", 10)
    z = write_zip(tmp_path / "many.zip", [deflated(f"f{i}.txt", b"x") for i in range(11)])
    loaded = []
    monkeypatch.setattr(containers.zipfile, "ZipFile", lambda *a: loaded.append(a))
    with (
        pytest.raises(UnsafeInput, match="it declares 11 members; refusing"),
        containers.open_unit(z, "zip"),
    ):
        pass
    assert loaded == []


def test_a_huge_member_list_is_refused_before_it_is_read(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(containers, "MAX_DIRECTORY_BYTES", 1000)
    z = write_zip(tmp_path / "long.zip", [deflated(f"{'n' * 200}{i}", b"x") for i in range(10)])
    with (
        pytest.raises(UnsafeInput, match=r"its list of members takes 2\.\d KiB"),
        containers.open_unit(z, "zip"),
    ):
        pass


def test_a_compressed_size_larger_than_the_zip_does_not_pass_the_ratio_check(
    tmp_path: Path,
) -> None:
    z = write_zip(tmp_path / "liar.zip", [deflated("big.bin", bytes(8 << 20))])
    data = bytearray(z.read_bytes())
    central = data.rfind(b"PK\x01\x02")
    data[central + 20 : central + 24] = (1 << 30).to_bytes(4, "little")  # claims 1 GiB packed
    z.write_bytes(bytes(data))
    with (
        pytest.raises(UnsafeInput, match="would expand from 1 GiB to 8 MiB"),
        containers.open_unit(z, "zip"),
    ):
        pass


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_pipe_given_directly_is_refused_without_blocking(tmp_path: Path) -> None:
    pipe = tmp_path / "chat.txt"
    os.mkfifo(pipe)
    with pytest.raises(InputError, match="is not a regular file"):
        containers.discover([pipe])
    with pytest.raises(UnsafeInput, match="is not a regular file"):
        containers.open_regular(pipe)


def test_a_file_swapped_for_a_link_after_the_walk_is_not_read(tmp_path: Path) -> None:
    export = tmp_path / "WhatsApp Chat with X.txt"
    export.write_bytes(chat("x"))
    (only,) = containers.discover([export]).units
    export.unlink()
    export.symlink_to("/etc/passwd")
    with (
        containers.open_unit(*only) as received,
        pytest.raises(UnsafeInput, match="is a symbolic link; refusing to follow it"),
    ):
        received.unit.files[0].open()
