"""Other projects' Telegram samples (shared/corpus/peers/telegram, read in place, never copied).

Every export there must parse without an unhandled error, and the records must account
for every message in the file, counted independently of the parser.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest

from archiver.core.errors import ParseError
from archiver.core.model import Message, Unparsed
from archiver.parsers.json_repair import RepairingReader
from archiver.parsers.telegram_html import TelegramHtmlParser
from archiver.parsers.telegram_json import TelegramJsonParser
from tests.parsers.telegram_helpers import PEERS, dir_unit, file_unit, options

FILES = (
    sorted(p for p in PEERS.rglob("*") if p.suffix in (".json", ".html") and p.is_file())
    if PEERS.is_dir()
    else []
)
# a service block with its text, or any other message block
_BLOCK = re.compile(
    r'<div class="message ([^"]*)" id="message(-?\d+)">\s*<div class="body details">'
    r'\s*([^<]*?)\s*</div>|<div class="message ([^"]*)" id="message(-?\d+)"'
)
_DAY = re.compile(r"\d{1,2} [A-Z][a-z]+ \d{4}")


def _count_json(path: Path) -> tuple[int, int] | None:
    """(messages, unsupported-or-unknown) by plain json.loads after repair; None if invalid."""
    data = RepairingReader(io.BytesIO(path.read_bytes())).read()
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except ValueError:
        return None
    if not isinstance(doc, dict):
        return 0, 0
    dialogs = [doc] if "messages" in doc else []
    for section in ("chats", "left_chats"):
        dialogs += (doc.get(section) or {}).get("list", [])
    items = [m for d in dialogs for m in d.get("messages", [])]
    good = sum(1 for m in items if isinstance(m, dict) and m.get("type") in ("message", "service"))
    return good, len(items) - good


def _count_html(path: Path) -> tuple[int, int]:
    """(message blocks, unsupported blocks), date separators left out."""
    text = path.read_text(encoding="utf-8")
    total = unsupported = 0
    for m in _BLOCK.finditer(text):
        mid = int(m.group(2) or m.group(5))
        body = m.group(3) or ""
        if -1_000_000_000 < mid < 0 and _DAY.fullmatch(body):
            continue
        if body.startswith("This message is not supported"):
            unsupported += 1
        else:
            total += 1
    return total, unsupported


def _parse(path: Path) -> list[Any] | None:
    if path.suffix == ".json":
        unit = file_unit(path)
        parser: TelegramJsonParser | TelegramHtmlParser = TelegramJsonParser()
    else:
        unit = dir_unit(path.parent)
        parser = TelegramHtmlParser()
    if not parser.sniff(unit):
        return None
    return list(parser.parse(unit, options("UTC")))


@pytest.mark.skipif(not FILES, reason="peer corpus not available (shared/corpus/peers/telegram)")
@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(PEERS)) for p in FILES])
def test_peer_export(path: Path) -> None:
    expected = _count_json(path) if path.suffix == ".json" else _count_html(path)
    try:
        records = _parse(path)
    except ParseError as exc:
        print(f"\n{path.relative_to(PEERS)}: invalid JSON, refused: {exc}")
        assert expected is None, "the parser refused a file that plain json.loads accepts"
        return
    if records is None:
        print(f"\n{path.relative_to(PEERS)}: not a Telegram export (sniff declined)")
        assert path.name in ("target.json",), "an export in the corpus was not recognised"
        return
    found = sum(isinstance(r, Message) for r in records)
    unparsed = sum(isinstance(r, Unparsed) for r in records)
    print(
        f"\n{path.relative_to(PEERS)}: {found} messages + {unparsed} unparsed found; "
        f"in file {expected[0] if expected else '?'} + {expected[1] if expected else '?'}"
    )
    assert expected is not None
    assert (found, unparsed) == expected
