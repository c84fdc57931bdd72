"""Which file of an export is the WhatsApp chat text, and what the chat is called.

iOS zips hold ``_chat.txt`` and take the chat's name from the zip (``WhatsApp Chat -
Team.zip``); Android names the text file after the chat, in the phone's language
(``WhatsApp Chat with Team.txt``, ``Conversa do WhatsApp com Team.txt``...); anything else
counts only if it is the one top-level ``.txt`` that starts like a chat. The patterns
are data in ``whatsapp_locale.TITLE_PATTERNS``.
"""

from __future__ import annotations

import re

from archiver.parsers.base import ExportFile, ExportUnit, read_head, top_level
from archiver.parsers.whatsapp_locale import DOWNLOAD_SUFFIXES, IOS_CHAT_FILE, TITLE_PATTERNS
from archiver.parsers.whatsapp_text import sniff_encoding, starts_like_chat

_TITLES = [re.compile(p) for p in TITLE_PATTERNS]
_DOWNLOAD_SUFFIX = re.compile("(?:" + "|".join(DOWNLOAD_SUFFIXES) + ")$")


def without_download_suffix(stem: str) -> str:
    """``WhatsApp Chat with Team (2)`` -> ``WhatsApp Chat with Team``: the marks a second
    download or a copy adds to a file name are not part of the chat's name."""
    while True:
        shorter = _DOWNLOAD_SUFFIX.sub("", stem).rstrip()
        if shorter == stem or not shorter:
            return stem
        stem = shorter


def _looks_like_chat(f: ExportFile, named: bool) -> bool:
    head = read_head(f)
    encoding = sniff_encoding(head)
    if isinstance(encoding, str):
        return False
    text = head.decode(encoding.codec, errors="replace")
    if named and not text.strip():
        return True  # empty: the parser says what is wrong with it
    return starts_like_chat(text)


def title_from_name(name: str) -> str | None:
    stem = without_download_suffix(name.rsplit(".", 1)[0] if "." in name else name)
    for rx in _TITLES:
        m = rx.fullmatch(stem)
        if m is not None:
            return m.group("t").strip()
    return None


def find_chat_file(unit: ExportUnit, strict: bool = True) -> ExportFile | None:
    """The chat text of an export: ``_chat.txt`` (iOS), a localized ``WhatsApp Chat
    with X.txt`` (Android), or the one top-level ``.txt`` that starts like a chat.

    ``strict`` (sniffing) also requires a named file to start like a chat (or be empty);
    parsing takes a named file as it is, so that a damaged one gets a precise error."""
    texts = [f for f in top_level(unit.files) if f.name.lower().endswith(".txt")]
    named = [f for f in texts if f.name == IOS_CHAT_FILE or title_from_name(f.name)]
    for f in sorted(named, key=lambda f: f.name != IOS_CHAT_FILE):
        if not strict or _looks_like_chat(f, named=True):
            return f
    if named:
        return None
    candidates = [f for f in texts if _looks_like_chat(f, named=False)]
    if len(candidates) == 1:
        return candidates[0]
    return texts[0] if not strict and len(texts) == 1 else None


def chat_title(unit: ExportUnit, f: ExportFile) -> str:
    """``WhatsApp Chat - Team.zip!/_chat.txt`` -> "Team"; ``WhatsApp Chat with Ann (1).txt``
    -> "Ann"; otherwise the file (or, for ``_chat.txt``, the export) name without
    extension and download suffix."""
    if f.name != IOS_CHAT_FILE:
        return title_from_name(f.name) or without_download_suffix(f.name.rsplit(".", 1)[0])
    folder = f.path.rsplit("/", 2)[-2] if "/" in f.path else None
    for name in (unit.name, folder):
        if name and title_from_name(name):
            return title_from_name(name) or name
    base = unit.name.rsplit("/", 1)[-1]
    base = base.rsplit(".", 1)[0] if base.lower().endswith((".zip", ".txt")) else base
    return without_download_suffix(base)
