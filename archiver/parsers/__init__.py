"""Registry of export parsers: pick one by name or by sniffing the export."""

from __future__ import annotations

from archiver.core.errors import InputError, UnknownParser
from archiver.parsers.base import ExportUnit, Parser, read_head

PLATFORM_CHOICES = ("auto", "whatsapp", "telegram")


def all_parsers() -> list[Parser]:
    """Every parser, most specific first (Telegram JSON before Telegram HTML)."""
    # Imported here so that importing the registry stays cheap for commands that
    # never parse.
    from archiver.parsers.telegram_html import TelegramHtmlParser
    from archiver.parsers.telegram_json import TelegramJsonParser
    from archiver.parsers.whatsapp import WhatsAppParser

    return [TelegramJsonParser(), TelegramHtmlParser(), WhatsAppParser()]


def get(name: str) -> Parser:
    """The parser called ``name`` (as recorded on a source), or an error listing the
    parsers this archiver has."""
    known = all_parsers()
    for parser in known:
        if parser.name == name:
            return parser
    raise UnknownParser(
        f"no parser called {name!r} in this archiver (it knows "
        + ", ".join(p.name for p in known)
        + "); the source was ingested by another version of archiver"
    )


def detect(unit: ExportUnit, platform: str = "auto") -> Parser:
    """The parser for ``unit``; ``platform`` narrows the choice ('auto' = any)."""
    if platform not in PLATFORM_CHOICES:
        raise InputError(
            f"unknown platform {platform!r}; choose one of {', '.join(PLATFORM_CHOICES)}"
        )
    candidates = [p for p in all_parsers() if platform in ("auto", p.platform)]
    for parser in candidates:
        if parser.sniff(unit):
            return parser
    binary = _binary_text(unit)
    if binary is not None:
        raise InputError(
            f"{unit.name}: not a chat export: {binary}. A WhatsApp export is a text file "
            "('WhatsApp Chat with <name>.txt', or _chat.txt inside a zip); give that file."
        )
    wanted = "a WhatsApp or Telegram export" if platform == "auto" else f"a {platform} export"
    raise InputError(
        f"{unit.name}: not recognised as {wanted}. Expected a WhatsApp 'Export chat' .txt "
        "or .zip, or a Telegram Desktop export (result.json or messages.html); "
        "use --platform to force one."
    )


def _binary_text(unit: ExportUnit) -> str | None:
    """Why the lone .txt of a unit is not text at all, if that is the case."""
    from archiver.parsers.whatsapp_text import sniff_encoding

    texts = [f for f in unit.files if f.name.lower().endswith(".txt")]
    if len(texts) != 1:
        return None
    found = sniff_encoding(read_head(texts[0]))
    return found if isinstance(found, str) else None
