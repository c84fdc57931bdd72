"""Which file of an export is the WhatsApp chat text, and what the chat is called.

iOS zips hold ``_chat.txt`` and take the chat's name from the zip (``WhatsApp Chat -
Team.zip``); Android names the text file after the chat, in the phone's language
(``WhatsApp Chat with Team.txt``, ``Conversa do WhatsApp com Team.txt``...); anything else
counts only if it is the one top-level ``.txt`` that starts like a chat. The patterns
are data: the ``titles`` of each language file (``whatsapp_locale.TITLE_PATTERNS``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from archiver.parsers.base import ExportFile, ExportUnit, read_head, top_level
from archiver.parsers.whatsapp_locale import DOWNLOAD_SUFFIXES, IOS_CHAT_FILE, TITLE_PATTERNS
from archiver.parsers.whatsapp_text import sniff_encoding, starts_like_chat

_TITLES = [(re.compile(p, re.IGNORECASE), lang) for p, lang in TITLE_PATTERNS]
_DOWNLOAD_SUFFIX = re.compile("(?:" + "|".join(DOWNLOAD_SUFFIXES) + ")$")


@dataclass(frozen=True)
class Title:
    """A chat's title and what the file name says about the phone's language."""

    title: str
    language: str | None = None  # the language whose file-name pattern matched
    pattern: str | None = None  # the file name's stem that matched it


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
    found = _title_match(name)
    return found.title if found is not None else None


def _title_match(name: str) -> Title | None:
    """The title a file name gives by a language's pattern (NFC, download suffixes
    stripped), or None."""
    stem = name.rsplit(".", 1)[0] if "." in name else name
    stem = without_download_suffix(unicodedata.normalize("NFC", stem))
    for rx, lang in _TITLES:
        m = rx.fullmatch(stem)
        if m is not None and m.group("t").strip():
            return Title(m.group("t").strip(), lang, stem)
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
    return titled(unit, f).title


def titled(unit: ExportUnit, f: ExportFile) -> Title:
    """``chat_title`` with the language the file-name pattern shows."""
    if f.name != IOS_CHAT_FILE:
        found = _title_match(f.name)
        return found or Title(without_download_suffix(f.name.rsplit(".", 1)[0]))
    folder = f.path.rsplit("/", 2)[-2] if "/" in f.path else None
    for name in (unit.name, folder):
        found = _title_match(name) if name else None
        if found is not None:
            return found
    base = unit.name.rsplit("/", 1)[-1]
    base = base.rsplit(".", 1)[0] if base.lower().endswith((".zip", ".txt")) else base
    return Title(without_download_suffix(base))
