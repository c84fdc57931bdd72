"""Files a command creates (--out and the like): a folder that does not exist is a clear
usage error before anything is unlocked or changed, never "unexpected ... bug"."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import click
import pytest
from click.testing import Result

from archiver.archive.session import Archive
from archiver.cli import cli
from archiver.cli.common import NewPath
from archiver.cli.reference import command_paths
from archiver.core.errors import Refused
from archiver.search import export
from tests.conftest import inv

Run = Callable[..., Result]
KEY = {"ARCHIVER_KEY_FILE": "k.key"}

# Every command-line value that names a file or folder the command creates.
OUTPUTS = [
    (("init", "--tz", "UTC", "--recovery-key-out", "{}"), "--recovery-key-out"),
    (("export", "--out", "{}"), "--out"),
    (("audit", "export", "--out", "{}"), "--out"),
    (("key", "public", "--out", "{}"), "--out"),
    (("key", "add-keyfile", "{}"), "PATH"),
    (("purge", "--execute", "--certificate", "{}"), "--certificate"),
]  # fmt: skip
# Every other path the command line takes is read, not created, or (purge
# --certificate-dir) an existing folder the command checks itself before it starts.
INPUTS = {"archive_dir", "key_file", "paths", "file", "public_key", "certificate_dir", "folder"}


def params() -> Iterator[tuple[str, click.Parameter]]:
    for path in command_paths():
        command: click.Command = cli
        for name in path:
            assert isinstance(command, click.Group)
            command = command.commands[name]
        for param in command.params:
            yield " ".join(path), param


def test_every_path_a_command_creates_is_checked_before_it_runs() -> None:
    created = {
        (where, p.name)
        for where, p in params()
        if isinstance(p.type, click.Path) and p.name not in INPUTS
    }
    assert created == {
        ("init", "recovery_key_out"),
        ("export", "out"),
        ("audit export", "out"),
        ("key public", "out"),
        ("key add-keyfile", "path"),
        ("purge", "certificate"),
        ("approve", "certificate"),
        ("backup", "dest"),
        ("produce", "out"),
    }
    for where, p in params():
        if (where, p.name) in created:
            assert isinstance(p.type, NewPath), (where, p.name)


@pytest.fixture
def ready(run: Run) -> None:
    assert run("init", "--tz", "UTC", "--key-file", "k.key").exit_code == 0


@pytest.mark.parametrize(("args", "option"), OUTPUTS, ids=lambda v: str(v[0]))
def test_a_file_in_a_missing_folder_is_a_usage_error_naming_it(
    run: Run, ready: None, tmp_path: Path, args: tuple[str, ...], option: str
) -> None:
    head = json.loads(run("audit", "head", "--json", **KEY).stdout)["head"]
    result = run(*(a.format("missing-dir/x.out") for a in args), **KEY)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines()[-1] == (
        f"Error: Invalid value for '{option}': missing-dir/x.out: the folder missing-dir does "
        "not exist; create it first (mkdir -p missing-dir) or choose another path"
    )
    assert not (tmp_path / "missing-dir").exists()
    assert json.loads(run("audit", "head", "--json", **KEY).stdout)["head"] == head


def test_init_with_a_recovery_key_file_it_cannot_write_creates_no_archive(
    run: Run, tmp_path: Path
) -> None:
    """The recovery key is written after the archive is made: an unwritable destination
    would leave a recovery slot whose key nobody has. It is refused before."""
    result = run("init", "--tz", "UTC", "--key-file", "k.key", "--recovery-key-out", "usb/rk.txt")
    assert result.exit_code == 2
    assert not (tmp_path / "archive").exists()
    assert not (tmp_path / "k.key").exists()


def test_a_backup_folder_may_be_new_but_not_under_a_file(
    run: Run, ready: None, tmp_path: Path
) -> None:
    made = run("backup", "backups/2026/archive", **KEY)
    assert made.exit_code == 0, made.output
    assert (tmp_path / "backups/2026/archive/archive.db").exists()
    (tmp_path / "plain.txt").write_text("not a folder")
    result = run("backup", "plain.txt/archive", **KEY)
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == (
        "Error: Invalid value for 'DEST': plain.txt/archive: plain.txt is not a folder"
    )


def test_json_usage_error_for_a_missing_folder(run: Run, ready: None) -> None:
    result = run("export", "--out", "nowhere/x.jsonl", "--json", **KEY)
    assert result.exit_code == 2
    assert json.loads(result.stdout) == {
        "error": "Invalid value for '--out': nowhere/x.jsonl: the folder nowhere does not "
        "exist; create it first (mkdir -p nowhere) or choose another path",
        "exit_code": 2,
    }


def test_the_library_refuses_a_missing_folder_clearly(archive: Archive, tmp_path: Path) -> None:
    """A folder removed between the check and the write: still a clear error."""
    out = tmp_path / "gone" / "x.jsonl"
    with pytest.raises(Refused) as caught:
        export.export(archive, out, "jsonl", inv("export"))
    assert str(caught.value) == (
        f"cannot write the export {out}: No such file or directory (does its folder exist "
        "and may you write there?)"
    )


def test_a_missing_certificate_folder_is_refused_before_the_purge(run: Run, ready: None) -> None:
    result = run("purge", "--execute", "--certificate-dir", "missing/dir", **KEY)
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: --certificate-dir missing/dir is not a directory; create it first "
        "(mkdir -m 700 missing/dir)\n"
    )
