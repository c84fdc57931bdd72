"""Nothing from the data reaches the terminal as a control sequence or as rich markup.

Chat titles, senders, file names and custodians are whatever the exports and the operator
say: escape sequences (screen clear, window title, OSC 8 links), rich markup
(``Ann[/bold]``, ``[link=…]``) and newlines must print as visible text, on their own row,
and never make a command fail for the whole archive."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from contextlib import redirect_stdout
from pathlib import Path

import pytest
from click.testing import Result
from hypothesis import given, settings
from hypothesis import strategies as st

from archiver.cli import render

Run = Callable[..., Result]

# what a terminal acts on: every C0 control (but the line end), DEL, C1, line separators
RAW_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]")
WINDOW_TITLE = "\x1b]0;pwned\x07"
CLEAR = "\x1b[2J"
OSC8 = "\x1b]8;;http://evil.example\x1b\\Bob\x1b]8;;\x1b\\"
CUSTODIAN = f"dana{CLEAR}[link=http://evil.example]x[/link]"


def hostile_exports(folder: Path) -> None:
    folder.mkdir()
    (folder / f"WhatsApp Chat with Desk{WINDOW_TITLE}{CLEAR}.txt").write_text(
        "13/03/2024, 10:00 - Ann[/bold]: price [link=http://evil.example]click[/link]\n"
        f"13/03/2024, 10:01 - {OSC8}: price \x1b[31mred\n"
        f"13/03/2024, 10:02 - Eve{CLEAR}: price again \u009b31m\n"
    )
    telegram = folder / f"ChatExport_{CLEAR}"
    telegram.mkdir()
    text = f"price {WINDOW_TITLE} ok"
    message = {
        "id": 1,
        "type": "message",
        "date": "2024-03-15T08:08:40",
        "date_unixtime": "1710490120",
        "from": "Mal\nlory [/bold]",
        "from_id": "user1",
        "text": text,
        "text_entities": [{"type": "plain", "text": text}],
    }
    result = {"name": "Desk\n│ 999 │ fake row", "type": "private_group", "id": 1}
    (telegram / "result.json").write_text(json.dumps({**result, "messages": [message]}))


@pytest.fixture
def cli(run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    monkeypatch.setattr(render, "WIDTH", 400)  # whole cells: nothing cut with "…"
    assert run("init", "--tz", "UTC", "--key-file", "k.key").exit_code == 0
    hostile_exports(tmp_path / "in")

    def _run(*args: str) -> Result:
        return run(*args, ARCHIVER_KEY_FILE="k.key")

    return _run


def assert_printable(result: Result) -> None:
    for stream in (result.stdout, result.stderr):
        for number, text in enumerate(stream.splitlines(), 1):
            assert not RAW_CONTROL.search(text), f"line {number}: {text!r}"


def test_ingest_prints_names_and_custodians_escaped(cli: Run) -> None:
    result = cli("ingest", "in", "--custodian", CUSTODIAN)
    assert result.exit_code == 0, result.output
    assert_printable(result)
    lines = result.stdout.splitlines()
    assert lines[0] == (
        "Custodian: dana\\x1b[2J[link=http://evil.example]x[/link]   Time zone assumed: UTC"
    )
    assert (
        "WhatsApp Chat with Desk\\x1b]0;pwned\\x07\\x1b[2J.txt: date order dmy — day > 12 in "
        "'13/03/2024' (line 1)"
    ) in lines


@pytest.mark.parametrize(
    ("command", "shown"),
    [
        (("chats",), ["Desk\\x1b]0;pwned\\x07\\x1b[2J", "dana\\x1b[2J[link=http://evil.example]"]),
        (("search", "price"), ["Ann[/bold]", "price \\x1b]0;pwned\\x07 ok"]),
        (("people", "list"), ["Ann[/bold]", "Mal\\nlory [/bold]", "\\x1b]8;;http://evil.exa"]),
        # audit lines are cut to their width; what shows is escaped (the full entry: --json)
        (("audit", "--action", "ingest"), []),
    ],
    ids=["chats", "search", "people", "audit"],
)
def test_every_listing_shows_hostile_data_as_text(
    cli: Run, command: tuple[str, ...], shown: list[str]
) -> None:
    assert cli("ingest", "in", "--custodian", CUSTODIAN).exit_code == 0
    result = cli(*command)
    assert result.exit_code == 0, result.output
    assert_printable(result)
    for text in shown:
        assert text in result.stdout, text


def test_a_newline_in_a_title_or_sender_stays_in_its_row(cli: Run) -> None:
    assert cli("ingest", "in").exit_code == 0
    rows = [r for r in cli("chats").stdout.splitlines() if "Desk\\n" in r]
    assert len(rows) == 1
    assert re.match(r"│ \d+ +│ telegram │ Desk\\n│ 999 │ fake row +│ 1 +│ 2024-03-15 ", rows[0])


def test_show_prints_a_conversation_escaped(cli: Run) -> None:
    assert cli("ingest", "in").exit_code == 0
    hits = json.loads(cli("search", "again", "--json").stdout)["results"]
    result = cli("show", str(hits[0]["id"]))
    assert result.exit_code == 0, result.output
    assert_printable(result)
    assert result.stdout.splitlines()[0] == (
        "Conversation: Desk\\x1b]0;pwned\\x07\\x1b[2J   (times in UTC)"
    )
    assert ">> 2024-03-13 10:02:00  Eve\\x1b[2J: price again \\x9b31m" in result.stdout


def test_an_error_naming_a_hostile_file_is_escaped(cli: Run, tmp_path: Path) -> None:
    bad = tmp_path / f"WhatsApp Chat - {CLEAR}\nError: all fine.zip"
    bad.write_bytes(b"PK\x03\x04 cut short")
    result = cli("ingest", str(bad))
    assert result.exit_code == 1
    assert_printable(result)
    # the line breaks stay, but no line after the first can pass for one of its own
    assert result.stderr == (
        "Error: WhatsApp Chat - \\x1b[2J\n"
        "  Error: all fine.zip is not a valid zip file (damaged or incomplete download?)\n"
    )


def test_json_output_keeps_the_exact_text_and_escapes_c1(cli: Run) -> None:
    assert cli("ingest", "in").exit_code == 0
    result = cli("search", "again", "--json")
    assert "\u009b" not in result.stdout and "\\u009b31m" in result.stdout
    (hit,) = json.loads(result.stdout)["results"]
    assert hit["sender"] == f"Eve{CLEAR}"
    assert hit["text"] == "price again \u009b31m"


# --- the mechanism ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("\x1b[2J", "\\x1b[2J"),
        ("a\nb\rc\td", "a\\nb\\rc\\td"),
        ("\x00\x07\x08\x7f", "\\x00\\x07\\x08\\x7f"),
        ("\u009b31m \u009d0;t", "\\x9b31m \\x9d0;t"),
        ("line\u2028sep", "line\\u2028sep"),
        ("Ann[/bold] [link=x]", "Ann[/bold] [link=x]"),
        ("Zoë — 東京 ‎+44", "Zoë — 東京 ‎+44"),
    ],
)
def test_safe_shows_each_control_character_as_an_escape(text: str, shown: str) -> None:
    assert render.safe(text) == shown


def test_error_lines_are_escaped_and_continuation_lines_indented(
    capsys: pytest.CaptureFixture[str],
) -> None:
    render.error("bad 'x\x1b[2J'\n  query\n  ^ (column 3)\nforged: line")
    assert capsys.readouterr().err == (
        "Error: bad 'x\\x1b[2J'\n  query\n  ^ (column 3)\n  forged: line\n"
    )


def test_a_highlight_stays_on_its_word_around_escapes() -> None:
    text = "\x1b[31m price \x1b[0m"
    start = text.index("price")
    snippet = render._highlighted(text, [(start, start + 5)])
    assert snippet.plain == "\\x1b[31m price \\x1b[0m"
    (span,) = snippet.spans
    assert snippet.plain[span.start : span.end] == "price"


@settings(max_examples=200, deadline=None)
@given(cells=st.lists(st.text(max_size=8), min_size=1, max_size=2))
def test_any_cell_text_prints_as_one_table_row(cells: list[str]) -> None:
    out = io.StringIO()
    with redirect_stdout(out):  # narrow enough never to wrap in 132 columns
        render.table(None, [f"c{i}" for i in range(len(cells))], [cells])
    printed = out.getvalue().splitlines()
    assert not any(RAW_CONTROL.search(text) for text in printed)
    body = [text for text in printed if text.startswith("│")]
    assert len(body) == 1  # the one data row: nothing split it
