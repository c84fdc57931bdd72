"""A tiny, readable export format for testing the ingest pipeline without a real parser.

A `.fake` file holds one message per line:
``time|chat|sender|kind|text[|msg_id[|files[|edited]]]`` with ``time`` as
``2024-01-02T03:04:05+00:00`` (or empty), ``\n`` in ``text`` for a line break, ``files``
comma-separated attachment paths and ``edited`` = ``1``. Lines starting with ``#`` are
comments; a line ``!boom`` makes the parser fail there (tests atomicity), ``!sleep S``
pauses it for S seconds and ``!exit N`` ends its process with exit code N.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import datetime
from typing import ClassVar

from archiver.core.errors import ParseError
from archiver.core.model import (
    Attachment,
    Chat,
    Message,
    ParseFacts,
    Platform,
    Record,
    Sender,
    Unparsed,
)
from archiver.parsers.base import ExportUnit, ParseOptions


class FakeParser:
    name: ClassVar[str] = "fake"
    platform: ClassVar[Platform] = "whatsapp"
    version: ClassVar[str] = "0"

    def sniff(self, unit: ExportUnit) -> bool:
        return any(f.path.endswith((".fake", ".fake.txt")) for f in unit.files)

    def parse(self, unit: ExportUnit, options: ParseOptions) -> Iterator[Record]:
        main = next(f for f in unit.files if f.path.endswith((".fake", ".fake.txt")))
        with main.open() as fh:
            lines = fh.read().decode("utf-8").splitlines()
        chats: set[str] = set()
        for number, line in enumerate(lines, 1):
            if line.startswith("#"):
                continue
            if line == "!boom":
                raise ParseError(f"{main.path}: line {number}: boom")
            if line.startswith("!sleep "):  # a slow parser
                time.sleep(float(line.split()[1]))
                continue
            if line.startswith("!exit "):  # a parser process that dies
                os._exit(int(line.split()[1]))
            parts = line.split("|")
            if len(parts) < 5:
                yield Unparsed(raw=line, reason="not a fake message", line=number)
                continue
            when, chat, sender, kind, text = parts[:5]
            msg_id = parts[5] if len(parts) > 5 and parts[5] else None
            files = parts[6].split(",") if len(parts) > 6 and parts[6] else []
            edited = len(parts) > 7 and parts[7] == "1"
            if chat not in chats:
                chats.add(chat)
                yield Chat(platform=self.platform, key=chat, title=chat)
            yield Message(
                chat_key=chat,
                kind=kind,  # type: ignore[arg-type]
                sender=Sender(sender, sender) if sender else None,
                sent_at=datetime.fromisoformat(when) if when else None,
                sent_at_text=when or None,
                text=text.replace("\\n", "\n"),
                line=number,
                edited=edited,
                msg_id=msg_id,
                attachments=tuple(Attachment(name=f.rsplit("/", 1)[-1], path=f) for f in files),
            )
        yield ParseFacts({"lines": len(lines)})


class FakeTelegramParser(FakeParser):
    name: ClassVar[str] = "fake-telegram"
    platform: ClassVar[Platform] = "telegram"

    def sniff(self, unit: ExportUnit) -> bool:
        return any(f.path.endswith(".tgfake") for f in unit.files)

    def parse(self, unit: ExportUnit, options: ParseOptions) -> Iterator[Record]:
        renamed = ExportUnit(
            unit.name,
            [type(f)(f.path.replace(".tgfake", ".fake"), f.size, f.open) for f in unit.files],
        )
        for record in super().parse(renamed, options):
            if isinstance(record, Chat):
                yield Chat(platform="telegram", key=record.key, title=record.title)
            else:
                yield record
