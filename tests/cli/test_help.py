"""Every command documents itself with an example, and docs/cli.md shows every --help."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from archiver.cli import cli
from archiver.cli.reference import END, START, command_paths, render_reference

REFERENCE = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


@pytest.mark.parametrize("path", list(command_paths()), ids=lambda p: " ".join(p) or "archiver")
def test_help_has_an_example(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0
    assert "Example:" in result.output
    assert "archiver " in result.output.split("Example:", 1)[1].split("Options:")[0]


def test_the_command_reference_is_current() -> None:
    text = REFERENCE.read_text(encoding="utf-8")
    generated = text.split(START, 1)[1].split(END, 1)[0].strip()
    assert generated == render_reference().strip(), "run `make docs` to refresh docs/cli.md"


def test_make_docs_is_idempotent(tmp_path: Path) -> None:
    from archiver.cli.reference import update_reference

    page = tmp_path / "cli.md"
    assert update_reference(page) is True
    first = page.read_bytes()
    assert update_reference(page) is False
    assert page.read_bytes() == first


def test_python_dash_m_runs_the_cli() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "archiver", "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip().startswith("archiver, version ")
