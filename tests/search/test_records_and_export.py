"""The message record every output shares, exactly, and the export files."""

from __future__ import annotations

import csv
import json
import stat
from collections.abc import Callable
from pathlib import Path

from click.testing import Result

Run = Callable[..., Result]
KEY = {"ARCHIVER_KEY_FILE": "k.key"}
SAMPLE = (
    Path(__file__).resolve().parents[2] / "sample_exports" / "telegram" / "ChatExport_2024-03-15"
)

REPLY = {
    "id": 1710490300 << 20,
    "platform": "telegram",
    "chat": "FX Desk — Client Flow",
    "sender": "Sam Lee",
    "sent_at": "2024-03-15T08:11:40Z",
    "kind": "text",
    "text": "Indicative 1.0874 / 1.0876. Do we have their signed mandate on file?",
    "edited": False,
    "edited_at": None,
    "attachments": [],
    "custodians": ["dana@broker.example"],
    "sources": [
        {
            "file": "ChatExport_2024-03-15",
            "sha256": "7b33f377209ad26c98bbb8225d080b172a94f25d30bb979c0a94818e504339b1",
            "line": 37,
        }
    ],
    "chat_key": "2100000001",
    "chat_type": "private_supergroup",
    "sender_key": "user5500000002",
    "sent_at_text": "2024-03-15T08:11:40",
    "tz": "Europe/London",
    "msg_id": "3",
    "reply_to": "2",
    "reply_to_id": 1710490120 << 20,
    "forwarded_from": None,
    "extra": None,
    "version": 1,
    "fingerprint": "0576446b224d8eb460fbb8844fbbad4a938878003a3bcf3f7a8ac898a992aee5",
}


def ready(run: Run) -> None:
    assert run("init", "--tz", "Europe/London", "--key-file", "k.key").exit_code == 0
    result = run("ingest", str(SAMPLE), "--custodian", "dana@broker.example", **KEY)
    assert result.exit_code == 0, result.output


def test_jsonl_record_is_exactly_the_contract(run: Run, tmp_path: Path) -> None:
    ready(run)
    result = run("export", "--out", "all.jsonl", **KEY)
    assert result.exit_code == 0, result.output
    out = tmp_path / "all.jsonl"
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in records] == sorted(r["id"] for r in records)  # oldest first
    assert next(r for r in records if r["msg_id"] == "3") == REPLY
    assert result.stdout.startswith(
        f"Exported {len(records)} message(s) to all.jsonl (jsonl, sha256 "
    )
    again = run("export", "--out", "all.jsonl", **KEY)
    assert again.exit_code == 1
    assert (
        again.stderr == "Error: all.jsonl already exists; choose a new file name for the export\n"
    )


def test_query_export_and_csv(run: Run, tmp_path: Path) -> None:
    ready(run)
    result = run("export", "mandate OR booking", "--format", "csv", "--out", "hits.csv", **KEY)
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader((tmp_path / "hits.csv").open(encoding="utf-8")))
    assert [r["text"] for r in rows] == [
        "Indicative 1.0874 / 1.0876. Do we have their signed mandate on file?",
        "Yes, renewed in January. Booking now.",
        "Blotter screenshot before booking",
    ]
    assert rows[0]["sent_at"] == "2024-03-15T08:11:40Z"
    assert rows[0]["custodians"] == "dana@broker.example"


def test_search_json_wraps_the_same_records(run: Run) -> None:
    ready(run)
    out = json.loads(run("search", "mandate", "--json", **KEY).stdout)
    assert (out["query"], out["tz"], out["total"]) == ("mandate", "Europe/London", 1)
    (record,) = out["results"]
    added = ("snippet", "highlights", "sent_at_local", "edited_at_local")
    assert {k: v for k, v in record.items() if k not in added} == REPLY
    assert record["sent_at_local"] == "2024-03-15T08:11:40+00:00"  # London is on GMT


def test_chats_lists_conversations(run: Run) -> None:
    ready(run)
    (chat,) = json.loads(run("chats", "--json", **KEY).stdout)
    assert (chat["platform"], chat["chat"], chat["type"]) == (
        "telegram",
        "FX Desk — Client Flow",
        "private_supergroup",
    )
    assert chat["custodians"] == ["dana@broker.example"]
    assert chat["first"] == "2024-03-15T08:06:40Z"
    assert "Sam Lee" in chat["participants"]
