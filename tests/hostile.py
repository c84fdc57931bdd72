"""Hostile and odd exports, generated at test time (nothing of this size is committed).

Every builder writes one case into ``folder`` and returns the path to give ``archiver
ingest``. Sizes are parameters: the tests use what shows the bound (100,000 nesting
levels, an integer of 5,000 digits, tens of megabytes on one line) and stay fast.
The zip, folder, symlink and terminal-escape cases live with the container tests.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from pathlib import Path

WA_TITLE = "WhatsApp Chat with Hostile"
ENCRYPTION = (
    "Messages and calls are end-to-end encrypted. No one outside of this chat, not even "
    "WhatsApp, can read or listen to them. Tap to learn more."
)
_WA_LINES = [
    f"25/03/2024, 10:15 - {ENCRYPTION}",
    "25/03/2024, 10:16 - Ann: Morning, the café opens at nine",
    "25/03/2024, 10:17 - Bob: Ok, see you there 😀",
]


# --- Telegram JSON ----------------------------------------------------------------------


def tg_message(i: int, text: str = '"hi"', msg_id: str | None = None) -> str:
    """One message exactly as Telegram Desktop lays it out (one-space indentation)."""
    return (
        f'  {{\n   "id": {msg_id if msg_id is not None else i},\n   "type": "message",\n'
        f'   "date": "2024-03-01T10:00:{i % 60:02d}",\n   "date_unixtime": "{1709287200 + i}",\n'
        f'   "from": "Ann",\n   "from_id": "user1",\n   "text": {text}\n  }}'
    )


def tg_document(messages: list[str], chat_id: str = "4242") -> str:
    body = ",\n".join(messages)
    return (
        f'{{\n "name": "Hostile",\n "type": "personal_chat",\n "id": {chat_id},\n'
        f' "messages": [\n{body}\n ]\n}}\n'
    )


def tg_write(folder: Path, document: str | bytes, name: str = "ChatExport_hostile") -> Path:
    """A Telegram export folder holding ``result.json``."""
    export = folder / name
    export.mkdir(parents=True, exist_ok=True)
    data = document.encode() if isinstance(document, str) else document
    (export / "result.json").write_bytes(data)
    return export


def tg_valid(folder: Path, count: int = 3) -> Path:
    return tg_write(folder, tg_document([tg_message(i) for i in range(1, count + 1)]))


def tg_nested_arrays(folder: Path, depth: int = 100_000) -> Path:
    """A message that is ``depth`` nested arrays: 200 KB that took 23 GB to read."""
    return tg_write(folder, tg_document([tg_message(1), "[" * depth + "]" * depth]))


def tg_deep_text(folder: Path, depth: int = 100_000) -> Path:
    return tg_write(folder, tg_document([tg_message(1, text="[" * depth + '"x"' + "]" * depth)]))


def tg_huge_integer_id(folder: Path, digits: int = 5_000) -> Path:
    """A chat id past the 4,300 digits at which ijson's C backend crashed the process."""
    return tg_write(folder, tg_document([tg_message(1)], chat_id="9" * digits))


def tg_huge_integer_minified(folder: Path, digits: int = 5_000) -> Path:
    """The same in a file not laid out like Telegram's (everything through ijson)."""
    message = {"id": 1, "type": "message", "date": "2024-03-01T10:00:00", "text": "x"}
    raw = json.dumps({"name": "Hostile", "id": 1, "messages": [message]}, separators=(",", ":"))
    return tg_write(folder, raw.replace('"id":1,"type"', f'"id":{"9" * digits},"type"'))


def tg_id_beyond_int64(folder: Path) -> Path:
    return tg_write(folder, tg_document([tg_message(1)], chat_id=str(2**63)))


def tg_nan_ids(folder: Path) -> Path:
    return tg_write(folder, tg_document([tg_message(1, msg_id="NaN"), tg_message(2, msg_id="NaN")]))


def tg_duplicate_keys(folder: Path) -> Path:
    """Two ``from`` in one message: readers disagree on which one counts."""
    twice = tg_message(1).replace('"from": "Ann",', '"from": "Ann",\n   "from": "Bob",')
    return tg_write(folder, tg_document([twice]))


def tg_cut_mid_message(folder: Path) -> Path:
    full = tg_document([tg_message(i) for i in range(1, 10)])
    return tg_write(folder, full[: full.index('"id": 7') + 20])


def tg_many_unparsed(folder: Path, count: int = 20_000) -> Path:
    """Tens of thousands of array elements that are not messages."""
    return tg_write(folder, tg_document(["  [1]"] * count))


# --- Telegram HTML ----------------------------------------------------------------------


def tg_html_nested(folder: Path, depth: int = 100_000) -> Path:
    """A messages.html with ``depth`` nested divs inside a message body."""
    export = folder / "ChatExport_html_hostile"
    export.mkdir(parents=True, exist_ok=True)
    page = (
        '<!DOCTYPE html>\n<html>\n<head><meta charset="utf-8"/><title>Exported Data</title>'
        '</head>\n<body>\n<div class="page_wrap">\n<div class="page_header"><div class="text'
        ' bold">Hostile</div></div>\n<div class="page_body chat_page"><div class="history">\n'
        '<div class="message default clearfix" id="message1"><div class="body">'
        '<div class="pull_right date details" title="15.03.2024 09:00:00 UTC+01:00">09:00'
        '</div><div class="from_name">Ann</div><div class="text">'
        + "<div>" * depth
        + "deep"
        + "</div>" * depth
        + "</div></div></div>\n</div></div>\n</div>\n</body>\n</html>\n"
    )
    (export / "messages.html").write_text(page, encoding="utf-8")
    return export


# --- WhatsApp ---------------------------------------------------------------------------


def wa_write(folder: Path, data: bytes, name: str = WA_TITLE + ".txt") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(data)
    return path


def wa_text(lines: list[str] | None = None) -> str:
    return "\n".join(_WA_LINES if lines is None else lines) + "\n"


def wa_empty(folder: Path) -> Path:
    return wa_write(folder, b"")


def wa_header_only(folder: Path) -> Path:
    return wa_write(folder, wa_text(_WA_LINES[:1]).encode())


def wa_utf16_le(folder: Path) -> Path:
    return wa_write(folder, wa_text().encode("utf-16"))  # Python writes the BOM, LE here


def wa_utf16_be(folder: Path) -> Path:
    return wa_write(folder, b"\xfe\xff" + wa_text().encode("utf-16-be"))


def wa_latin1(folder: Path) -> Path:
    return wa_write(
        folder, wa_text([*_WA_LINES[:2], "25/03/2024, 10:17 - Bob: Ok, à tout"]).encode("cp1252")
    )


def wa_invalid_utf8(folder: Path, filler: int = 2_000) -> Path:
    """Valid UTF-8 for its first 64 KiB and more, then one byte that is not."""
    lines = [
        *_WA_LINES,
        *(f"25/03/2024, 11:{i % 60:02d} - Ann: line {i} {'x' * 40}" for i in range(filler)),
    ]
    data = wa_text(lines).encode() + b"25/03/2024, 12:00 - Bob: caf\xe9 au lait\n"
    return wa_write(folder, data)


def wa_binary_txt(folder: Path) -> Path:
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 64
    return wa_write(folder, png, "notes.txt")


def wa_long_line(folder: Path, size: int = 48 << 20) -> Path:
    """One message on one line of ``size`` bytes."""
    return _wa_big(folder, "25/03/2024, 10:16 - Ann: ", b"x" * size)


def wa_long_message(folder: Path, size: int = 48 << 20) -> Path:
    """One message of many ordinary lines, ``size`` bytes in all."""
    line = b"a line of an endless message, nothing special about it at all\n"
    return _wa_big(folder, "25/03/2024, 10:16 - Ann: start\n", line * (size // len(line)))


def _wa_big(folder: Path, first: str, body: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (WA_TITLE + ".txt")
    with path.open("wb") as fh:
        fh.write(wa_text(_WA_LINES[:1]).encode() + first.encode())
        fh.write(body)
        fh.write(b"\n25/03/2024, 10:20 - Bob: ok\n")
    return path


def wa_caption_zip(folder: Path, pdf: bytes = b"%PDF-1.4 quarterly figures\n%%EOF\n") -> Path:
    """An Android export with media: a PDF whose caption is on the line after it."""
    text = wa_text(
        [
            *_WA_LINES[:2],
            "25/03/2024, 10:18 - Ann: Q1-report.pdf (file attached)",
            "Here is the Q1 report",
            "25/03/2024, 10:19 - Bob: Thanks",
        ]
    )
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (WA_TITLE + ".zip")
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(WA_TITLE + ".txt", text)
        zf.writestr("Q1-report.pdf", pdf)
    return path


Builder = Callable[[Path], Path]
