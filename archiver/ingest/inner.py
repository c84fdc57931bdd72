"""Zips found inside an export, and the chat exports among them that were not ingested.

A zip inside an export (a member of a zip, a file of a Telegram folder) is part of that
export's evidence and, when a message sent it, an attachment; it is never parsed as an
export of its own. When it holds a chat export (a parser recognises it) or cannot be
examined safely, the ingest says so loudly (``not_ingested``, a non-zero exit in the
CLI): such a chat was sent to the custodian, and only the operator can say under which
custodian and time zone it belongs. It stops being reported once its bytes have been
ingested as a source of their own. Each zip is opened in memory with the checks of any
zip (``containers.open_zip``); zips inside it are not opened.
"""

from __future__ import annotations

from typing import Any

from archiver import parsers
from archiver.core.errors import ArchiverError, UnsafeInput
from archiver.ingest.containers import Received, open_zip
from archiver.parsers.base import ExportFile, ExportUnit
from archiver.store.database import Store

_PLATFORM_NAMES = {"whatsapp": "WhatsApp", "telegram": "Telegram"}


def not_ingested(
    store: Store, received: Received, members: list[dict[str, Any]]
) -> list[dict[str, str]]:
    """Zips inside this export that hold a chat export (or cannot be examined safely) and
    whose bytes were never ingested as a source of their own: path, sha256 and why."""
    found = []
    hashes = {m["path"]: m["sha256"] for m in members}
    for f in received.unit.files:
        if not f.name.lower().endswith(".zip") or is_source(store, hashes.get(f.path)):
            continue
        where = f"{received.origin}!/{f.path}"
        try:
            why = examine(f, where)
        except Exception as exc:  # a bug while looking inside: say so, keep the export
            why = f"could not be examined (unexpected {type(exc).__name__}: {exc}; a bug)"
        if why is not None:
            found.append({"path": where, "sha256": hashes[f.path], "reason": why})
    return found


def examine(file: ExportFile, where: str) -> str | None:
    """Why a zip found inside an export needs the operator's attention: it holds a chat
    export, or it is unsafe to open, so nobody can tell what it holds. None for anything
    else: an ordinary zip (an attachment like any other) or one too damaged to hold a
    readable export."""
    try:
        with file.open() as fh, open_zip(fh, where) as unit:
            holds = _recognise(unit)
    except UnsafeInput as exc:
        why = str(exc).removeprefix(f"{where}: ")
        return f"could not be examined safely, so a chat export inside it would be missed: {why}"
    except ArchiverError:
        return None
    if holds is None:
        return None
    return (
        f"holds {holds} that was NOT ingested: a chat export found inside another export is "
        "kept only as part of that export's evidence (and as the attachment of the message "
        "that sent it). Extract it and ingest it on its own, with the --custodian and --tz "
        "it belongs to"
    )


def _recognise(unit: ExportUnit) -> str | None:
    for parser in parsers.all_parsers():
        if parser.sniff(unit):
            return f"a {_PLATFORM_NAMES.get(parser.platform, parser.platform)} export"
    return None


def still_not_ingested(store: Store, found: list[dict[str, str]]) -> list[dict[str, str]]:
    """``found`` without the zips ingested on their own since (later in the same run)."""
    return [n for n in found if not is_source(store, n.get("sha256"))]


def is_source(store: Store, sha256: str | None) -> bool:
    """Whether these bytes were ingested as an export of their own (any custodian)."""
    return (
        sha256 is not None
        and store.one("SELECT 1 FROM sources WHERE sha256 = ? LIMIT 1", (sha256,)) is not None
    )


def audit_detail(found: list[dict[str, str]]) -> dict[str, Any]:
    """What the export's audit entry says about them (nothing when there are none)."""
    return {"inner_exports_not_ingested": [n["path"] for n in found]} if found else {}
