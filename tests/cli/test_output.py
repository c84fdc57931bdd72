"""Output a person can use: tables fit 80 columns with ids whole, audit lines bounded,
holds shown as values, errors naming the file once, advice WhatsApp allows, a row per
chat of a Telegram full-account export."""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from click.testing import Result
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.cells import cell_len

from archiver.cli import render

Run = Callable[..., Result]
KEY = {"ARCHIVER_KEY_FILE": "k.key"}
REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture
def demo(run: Run, tmp_path: Path) -> Path:
    shutil.copytree(REPO / "sample_exports", tmp_path / "sample_exports")
    assert run("init", "--tz", "Europe/London", "--key-file", "k.key").exit_code == 0
    result = run("ingest", "sample_exports", "--custodian", "dana@broker.example", **KEY)
    assert result.exit_code == 0, result.output
    return tmp_path


def widest(text: str, tables_only: bool = False) -> int:
    lines = text.splitlines()
    if tables_only:
        lines = [line for line in lines if line[:1] in ("┏", "┃", "┡", "│", "└")]
    return max((cell_len(line) for line in lines), default=0)


@pytest.mark.parametrize(
    "args",
    [
        ("chats",),
        ("people", "list"),
        ("key", "list"),
        ("status",),
        ("audit",),
        ("ingest", "sample_exports", "--custodian", "a-custodian-with-a-long-name@broker.example"),
        ("hold", "list"),
        ("policy", "list"),
    ],
    ids=lambda a: " ".join(a[:2]),
)
def test_tables_and_lines_fit_80_columns(run: Run, demo: Path, args: tuple[str, ...]) -> None:
    matter = "a hold whose matter and scope are far longer than any table column could be"
    run("hold", "create", "long-matter", "--matter", matter, "--reason", "r", "--chat",
        "Deal Desk EMEA", "--chat", "Projekt Nordlicht", "--query", "price", **KEY)  # fmt: skip
    run("policy", "load", str(REPO / "retention_policies" / "gdpr.toml"), **KEY)
    result = run(*args, **KEY)
    assert result.exit_code == 0, result.output
    assert "┃" in result.stdout or args == ("audit",)
    assert widest(result.stdout, tables_only=args != ("audit",)) <= 80, result.stdout


def test_chat_and_slot_ids_are_never_cut(run: Run, demo: Path) -> None:
    chats = json.loads(run("chats", "--json", **KEY).stdout)
    shown = run("chats", **KEY).stdout
    for chat in chats:
        assert f"│ {chat['id']} " in shown
    slots = json.loads(run("key", "list", "--json", **KEY).stdout)
    listed = run("key", "list", **KEY).stdout
    for slot in slots:
        assert f"│ {slot['id']}" in listed


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=10**16),
            st.text(st.characters(codec="utf-8", exclude_categories=("C",)), max_size=60),
            st.text(st.characters(codec="utf-8", exclude_categories=("C",)), max_size=60),
            st.integers(min_value=0, max_value=10**6),
        ),
        min_size=1,
        max_size=5,
    )
)
def test_a_table_fits_and_keeps_its_ids_whole(
    rows: list[tuple[int, str, str, int]],
) -> None:
    out = io.StringIO()
    original = render.sys.stdout
    render.sys.stdout = out  # type: ignore[assignment]
    try:
        render.table("T", ["id", "name", "note", "count"], rows)
    finally:
        render.sys.stdout = original  # type: ignore[assignment]
    text = out.getvalue()
    assert widest(text) <= render.WIDTH
    body = text.splitlines()[4:-1]
    assert len(body) == len(rows)  # one line a row: nothing wraps
    for line, (id_, name, note, count) in zip(body, rows, strict=True):
        cells = [c.strip() for c in line.split("│")[1:-1]]
        assert cells[0] == str(id_) and cells[3] == str(count)
        for shown, full in ((cells[1], name), (cells[2], note)):
            clean = " ".join(full.splitlines()).strip()
            assert shown == clean or (shown.endswith("…") and clean.startswith(shown[:-1]))


def test_audit_lines_are_bounded_and_say_where_to_read_them_whole(run: Run, demo: Path) -> None:
    run("policy", "load", str(REPO / "retention_policies"), **KEY)
    result = run("audit", **KEY)
    assert widest(result.stdout) <= 80
    assert result.stdout.splitlines()[-1] == (
        "Long lines were cut (…); `archiver audit --json` shows every entry in full."
    )


def test_hold_list_and_show_print_values(run: Run, demo: Path) -> None:
    made = run(
        "hold", "create", "marcus-lee-inquiry", "--matter", "FINRA 0412", "--reason", "letter",
        "--chat", "Marcus Lee", "--sent-after", "2024-01-01", **KEY,
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    listed = run("hold", "list", **KEY).stdout
    assert "['" not in listed and "{" not in listed
    assert "│ marcus-lee-inquiry │ active │" in listed
    shown = run("hold", "show", "marcus-lee-inquiry", **KEY).stdout.splitlines()
    created = json.loads(run("hold", "show", "marcus-lee-inquiry", "--json", **KEY).stdout)
    when = created["created_at"][:16].replace("T", " ")
    assert shown == [
        "Hold      marcus-lee-inquiry (active)",
        "Matter    FINRA 0412",
        "Reason    letter",
        "Scope     chat Marcus Lee; sent from 2024-01-01 (days in Europe/London)",
        f"Created   {when} UTC by {created['created_by']}",
        "Released  -",
        "Held now  14 message(s)",
    ]
    assert run("hold", "release", "marcus-lee-inquiry", "--reason", "closed", **KEY).exit_code == 0
    released = run("hold", "show", "marcus-lee-inquiry", **KEY).stdout.splitlines()
    assert released[0] == "Hold      marcus-lee-inquiry (released)"
    assert released[5].startswith("Released  ") and released[5].endswith(": closed")
    assert not any(line.startswith("Held now") for line in released)


def test_an_ingest_error_names_the_file_once_relative_to_the_folder(
    run: Run, tmp_path: Path
) -> None:
    assert run("init", "--tz", "UTC", "--key-file", "k.key").exit_code == 0
    (tmp_path / "inbox" / "dana").mkdir(parents=True)
    (tmp_path / "inbox" / "dana" / "WhatsApp Chat with X.txt").write_bytes(b"\x00\x01 no chat\n")
    (tmp_path / "inbox" / "dana" / "broken.zip").write_bytes(b"PK\x03\x04 cut short")
    result = run("ingest", "inbox", **KEY)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "Error: dana/WhatsApp Chat with X.txt: not a chat export: it holds NUL bytes (byte "
        "offset 0): binary data, not text. A WhatsApp export is a text file ('WhatsApp Chat "
        "with <name>.txt', or _chat.txt inside a zip); give that file.",
        "Error: dana/broken.zip is not a valid zip file (damaged or incomplete download?)",
    ]
    report = json.loads(run("ingest", str(tmp_path / "inbox"), "--json", **KEY).stdout)
    assert [s["path"] for s in report["sources"]] == [
        "dana/WhatsApp Chat with X.txt",
        "dana/broken.zip",
    ]
    assert report["error"] == "2 export(s) failed; see sources[].error"
    assert report["exit_code"] == 1


def test_the_truncation_warning_gives_advice_whatsapp_allows(run: Run, tmp_path: Path) -> None:
    assert run("init", "--tz", "UTC", "--key-file", "k.key").exit_code == 0
    start = datetime(2024, 1, 1, 9, 0)
    lines = [
        f"{t.month}/{t.day}/{t.year % 100}, {t.hour:02d}:{t.minute:02d} - Ann: "
        f"IMG-{i}.jpg (file attached)\n"
        for i, t in enumerate(start + timedelta(minutes=i) for i in range(9_800))
    ]
    (tmp_path / "WhatsApp Chat with Big.txt").write_text("".join(lines))
    result = run("ingest", "WhatsApp Chat with Big.txt", "--date-order", "mdy", **KEY)
    assert result.exit_code == 0, result.output
    assert result.stderr == (
        "Warning: WhatsApp Chat with Big.txt: 9800 messages in an export with media; WhatsApp "
        "puts only the latest messages in an export (about 10,000 with media, 40,000 "
        "without), so older messages are probably missing. Export the chat again without "
        "media (up to about 40,000 messages), and ask the other participants to export it "
        "from their phones too; WhatsApp cannot export a chat in parts or by date.\n"
    )


def test_a_telegram_full_account_export_shows_a_row_per_chat(run: Run, tmp_path: Path) -> None:
    assert run("init", "--tz", "UTC", "--key-file", "k.key").exit_code == 0
    shutil.copytree(FIXTURES / "telegram" / "full_account", tmp_path / "DataExport_2024")
    result = run("ingest", "DataExport_2024", **KEY)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1:13] == [
        "Ingest summary",
        "┏━━━━━━━━━━━━━━━━━━┳━━━━━━┳━━━━━┳━━━━━━━━━━┳━━━━━━━━┳━━━━━━━┳━━━━━━━━━━┓",
        "┃ export           ┃ msgs ┃ new ┃ archived ┃ purged ┃ media ┃ unparsed ┃",
        "┡━━━━━━━━━━━━━━━━━━╇━━━━━━╇━━━━━╇━━━━━━━━━━╇━━━━━━━━╇━━━━━━━╇━━━━━━━━━━┩",
        "│ DataExport_2024  │ 6    │ 6   │ 0        │        │ 0/1   │          │",
        "│   Sam Lee        │ 2    │ 2   │ 0        │        │       │          │",
        "│   Ops Desk       │ 2    │ 2   │ 0        │        │       │          │",
        "│   Rates Feed     │ 1    │ 1   │ 0        │        │       │          │",
        "│   Saved Messages │ 0    │ 0   │ 0        │        │       │          │",
        "│   Old Group      │ 1    │ 1   │ 0        │        │       │          │",
        "└──────────────────┴──────┴─────┴──────────┴────────┴───────┴──────────┘",
        "1 export(s): 6 new message(s), 0 already archived, 0 previously purged, 0 failed",
    ]
    chats = json.loads(run("chats", "--json", **KEY).stdout)
    assert "Saved Messages" in [c["chat"] for c in chats]


def test_search_hits_fit_80_columns_with_their_ids_whole(run: Run, demo: Path) -> None:
    query = "price* OR mandate OR kaufpreis OR consulta"
    hits = json.loads(run("search", query, "--json", **KEY).stdout)["results"]
    lines = run("search", query, **KEY).stdout.splitlines()[1:]
    assert widest("\n".join(lines)) <= 80
    heads = [line for line in lines if not line.startswith("    ")]
    assert [h.split("  ")[0] for h in heads] == [str(h["id"]) for h in hits]
    assert heads[0].endswith("Projekt Nordlicht · Dr. Jana Keller")
    assert lines[1] == "    Kaufpreis 48,5 Mio. EUR plus Earn-out, Exklusivität bis 31.05…"
