"""Plain-text transcripts and the Concordance DAT load file.

Extracted text: one UTF-8 file per document, ``TEXT/<first Bates number>.txt``, each
page opening with its Bates number on a line of its own (``[ACME-000000012]``), then the
messages whose first line is on that page, exactly as archived.

The DAT file (``DATA/<PROD>.dat``, UTF-8 with a byte-order mark, CRLF rows) has a header
row and one row per document and per produced attachment. Fields are separated by
ASCII 20 (DC4, shown as ¶ by review tools), enclosed in þ (U+00FE), and a line break
inside a field is written as ® (U+00AE), the Concordance defaults. Dates are ISO 8601
in UTC. A document's family is the document and its attachments: BEGATTACH is the
document's first Bates number, ENDATTACH the last number of its last attachment.
"""

from __future__ import annotations

from collections.abc import Sequence
from zoneinfo import ZoneInfo

from archiver.production.documents import Document, Event
from archiver.production.layout import Layout, header_text, reactions_text
from archiver.production.outdir import Written

SEPARATOR = "\x14"
QUALIFIER = "\u00fe"
NEWLINE = "\u00ae"
FIELDS = (
    "BEGBATES",
    "ENDBATES",
    "BEGATTACH",
    "ENDATTACH",
    "CUSTODIAN",
    "ALL_CUSTODIANS",
    "CONVERSATION",
    "PLATFORM",
    "PARTICIPANTS",
    "DATE_BEGIN",
    "DATE_END",
    "MESSAGE_COUNT",
    "MD5HASH",
    "SHA256HASH",
    "NATIVEPATH",
    "TEXTPATH",
)


def plain_event(event: Event, zone: ZoneInfo, bates_of: dict[int, str]) -> str:
    """A message as plain text: head line, text, earlier texts, files, reactions."""
    lines = [header_text(event, zone)]
    lines += ["    " + t for t in event.shown_text.split("\n")]
    lines += [f"    Earlier text: {t}" for t, _ in event.versions]
    for a in event.attachments:
        where = f" ({bates_of[a.id]})" if a.id in bates_of else ""
        what = "Attachment" if a.stored else "Attachment not in the export"
        lines.append(f"    {what}: {a.name}{where}")
    reactions = reactions_text(event)
    if reactions:
        lines.append("    " + reactions)
    return "\n".join(lines) + "\n"


def body_text(doc: Document, zone: ZoneInfo) -> str:
    """The transcript without Bates numbers (an RSMF body: the same for every
    production of the same document)."""
    return "\n".join(plain_event(e, zone, {}) for e in doc.events)


def pages_of_events(layout: Layout) -> list[list[int]]:
    """Per page, the ids of the messages whose first line is on it."""
    return [[line.event for line in page if line.first] for page in layout.pages]


def text_file(
    doc: Document,
    layout: Layout,
    zone: ZoneInfo,
    page_bates: Sequence[str],
    bates_of: dict[int, str],
) -> str:
    by_id = {e.id: e for e in doc.events}
    out = []
    for bates, ids in zip(page_bates, pages_of_events(layout), strict=True):
        out.append(f"[{bates}]\n")
        out.extend(plain_event(by_id[i], zone, bates_of) + "\n" for i in ids)
    return "".join(out)


def _field(value: object) -> str:
    text = "" if value is None else str(value)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", NEWLINE)
    return QUALIFIER + text.replace(QUALIFIER, "") + QUALIFIER


def row(values: Sequence[object]) -> str:
    return SEPARATOR.join(_field(v) for v in values) + "\r\n"


def header() -> str:
    return "\ufeff" + row(FIELDS)


def _path(rel: str | None) -> str:
    return "" if rel is None else rel.replace("/", "\\")


def document_rows(
    doc: Document,
    bates: dict[str, str],
    native: Written | None,
    text: Written,
    natives: Sequence[tuple[str, Written | None]],
    iso: dict[str, str],
) -> str:
    """The DAT rows of a document and of each of its attachments.

    ``bates``: begin, end (pages), family end; ``natives``: (Bates number, written
    native or None) per stored attachment; ``iso``: begin and end times."""
    people = sorted({str(p["name"] or p["key"]) for p in doc.participants.values()})
    common = [
        doc.custodian or "",
        "; ".join(doc.custodians),
        doc.title,
        doc.chat["platform"],
        "; ".join(people),
    ]
    hashed = native or text
    rows = [
        row(
            [
                bates["begin"],
                bates["end"],
                bates["begin"],
                bates["family_end"],
                *common,
                iso["begin"],
                iso["end"],
                len(doc.events),
                hashed.md5,
                hashed.sha256,
                _path(native.path if native else None),
                _path(text.path),
            ]
        )
    ]
    for number, written in natives:
        rows.append(
            row(
                [
                    number,
                    number,
                    bates["begin"],
                    bates["family_end"],
                    *common,
                    iso["begin"],
                    iso["end"],
                    "",
                    written.md5 if written else "",
                    written.sha256 if written else "",
                    _path(written.path if written else None),
                    "",
                ]
            )
        )
    return "".join(rows)
