"""The examples of the README and of docs/ run as documented, and every `--help` example
is a valid command line.

The convention (also stated in the README): each `$ archiver …` line of a fenced block
(with `\\` continuation lines, and `VAR=value` in front) runs, in order (the README,
then the pages of DOCUMENTS), through
`sh` in a scratch copy of the repository's sample exports and policies, against the
archive the demo builds (ARCHIVER_ARCHIVE=.demo/archive, ARCHIVER_KEY_FILE=.demo/demo.key);
a line ending in `# exit N` must exit N, every other one 0. A fenced `sh` block is a
script and runs whole. Paths under /etc, /var, /srv, /media and /mnt are moved into the
scratch folder, whose folders exist there; /srv/archive there is the demo archive.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from archiver.cli import cli
from archiver.cli.reference import command_paths

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
# Pages whose examples run after the README's, in this order, on the same archive.
DOCUMENTS = [README, *(REPO / "docs" / page for page in ("operations.md", "search.md", "audit.md"))]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
ARCHIVER_LINE = re.compile(r"^(?:\w+=\S+\s+)*archiver\b")
EXPECTED_EXIT = re.compile(r"#\s*exit (\d+)\s*$")
SYSTEM_PATHS = re.compile(r"(?<![\w./~-])/(etc|var|srv|media|mnt)(?=/)")
SYSTEM_FOLDERS = (
    "etc/archiver",
    "var/log/archiver/certificates",
    "media/usb",
    "mnt/backups",
    "srv",
)


@dataclass(frozen=True)
class Example:
    line: int  # in README.md
    command: str
    exit_code: int
    script: bool = False


def examples(text: str) -> Iterator[Example]:
    for block in FENCE.finditer(text):
        lang, body = block.group(1), block.group(2)
        first_line = text.count("\n", 0, block.start()) + 2
        if lang == "sh":
            yield Example(first_line, body, 0, script=True)
            continue
        lines = body.splitlines()
        i = 0
        while i < len(lines):
            start, raw = i, lines[i]
            i += 1
            if not raw.startswith("$ "):
                continue
            command = raw[2:]
            while command.endswith("\\") and i < len(lines):
                command = command[:-1] + " " + lines[i].strip()
                i += 1
            if not ARCHIVER_LINE.match(command):
                continue  # make demo, make test
            wanted = EXPECTED_EXIT.search(command)
            yield Example(first_line + start, command, int(wanted.group(1)) if wanted else 0)


def test_the_readme_and_docs_have_examples_of_every_kind() -> None:
    readme = list(examples(README.read_text(encoding="utf-8")))
    found = [e for page in DOCUMENTS for e in examples(page.read_text(encoding="utf-8"))]
    assert len(readme) >= 10 and any(e.exit_code == 4 for e in readme)
    assert sum(e.script for e in found) == 1
    assert len(found) >= 30


def test_every_readme_example_runs_as_documented(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    for folder in ("sample_exports", "retention_policies"):
        shutil.copytree(REPO / folder, work / folder)
    (work / ".demo").mkdir()  # as `make demo` does before its first command
    scratch = tmp_path / "root"
    for folder in SYSTEM_FOLDERS:
        (scratch / folder).mkdir(parents=True)
    (scratch / "srv" / "archive").symlink_to(work / ".demo" / "archive")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "archiver"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m archiver "$@"\n')
    shim.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARCHIVER_") and k != "TZ"}
    env |= {
        "PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}",
        "HOME": str(tmp_path / "home"),
        "ARCHIVER_ARCHIVE": ".demo/archive",
        "ARCHIVER_KEY_FILE": ".demo/demo.key",
    }
    failures = []
    runs = [(page, e) for page in DOCUMENTS for e in examples(page.read_text(encoding="utf-8"))]
    for page, example in runs:
        command = SYSTEM_PATHS.sub(lambda m: f"{scratch}/{m.group(1)}", example.command)
        done = subprocess.run(
            ["sh", "-c", command] if not example.script else ["sh", "-e", "-c", command],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode != example.exit_code:
            failures.append(
                f"{page.relative_to(REPO)} line {example.line}: exit {done.returncode}, documented "
                f"{example.exit_code}: {example.command}\n{done.stdout}{done.stderr}"
            )
        for raw in ("Traceback", "This is a bug in archiver", "database is locked"):
            if raw in done.stdout + done.stderr:
                failures.append(
                    f"{page.relative_to(REPO)} line {example.line}: {raw}: {example.command}"
                )
    assert failures == [], "\n".join(failures)


# --- the examples of every command's --help ------------------------------------------------


def help_examples() -> Iterator[tuple[str, str]]:
    runner = CliRunner()
    for path in command_paths():
        text = runner.invoke(cli, [*path, "--help"], terminal_width=200).output
        if "Example:" not in text:
            continue
        block = text.split("Example:", 1)[1].split("\n\n", 1)[0]
        command = ""
        for raw in block.splitlines():
            command += " " + raw.strip()
            if command.endswith("\\"):
                command = command[:-1]
                continue
            if ARCHIVER_LINE.match(command.strip()):
                yield " ".join(path) or "archiver", command.strip()
            command = ""


def parse_example(command: str) -> None:
    """Resolve the command and parse its options and arguments as click would, converting
    every value but paths (which name files on the reader's machine)."""
    words = shlex.split(re.sub(r"\$\([^)]*\)", "X", command), comments=True)
    words = [w for w in words if not re.match(r"^\w+=", w)][1:]
    if ">>" in words or ">" in words:
        words = words[: min(words.index(w) for w in (">>", ">") if w in words)]
    current: click.Command = cli
    while isinstance(current, click.Group) and words and words[0] in current.commands:
        current = current.commands[words.pop(0)]
    if isinstance(current, click.Group) and not current.invoke_without_command:
        raise AssertionError(f"{command}: no such command")
    ctx = click.Context(current, info_name=current.name)
    opts, extra, _ = current.make_parser(ctx).parse_args(words)
    assert extra == [] or isinstance(current, click.Group), f"{command}: extra {extra}"
    for param in current.params:
        value = opts.get(param.name)
        if not isinstance(value, str | list | tuple) or isinstance(param.type, click.Path):
            continue  # not given (click marks that with a sentinel), or a path
        if isinstance(param, click.Option) and param.is_flag:
            continue
        for one in value if isinstance(value, list | tuple) else [value]:
            param.type.convert(one, param, ctx)
        if isinstance(param, click.Argument) and param.nargs == 1:
            assert not isinstance(value, list | tuple)


HELP_EXAMPLES = list(help_examples())


def test_the_help_examples_are_found() -> None:
    commands = {where for where, _ in HELP_EXAMPLES}
    assert {"ingest", "purge", "hold create", "audit export", "verify"} <= commands
    assert len(HELP_EXAMPLES) >= 40


@pytest.mark.parametrize(("where", "command"), HELP_EXAMPLES)
def test_every_help_example_is_a_valid_command_line(where: str, command: str) -> None:
    parse_example(command)


def test_an_invalid_example_would_be_caught() -> None:
    with pytest.raises(click.UsageError):
        parse_example("archiver export --no-such-option --out x.jsonl")
    with pytest.raises(click.BadParameter):
        parse_example("archiver export --format pdf --out x.pdf")
    with pytest.raises(AssertionError):
        parse_example("archiver hold")
