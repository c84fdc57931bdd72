"""HTML transcripts: one self-contained page per document, and ``index.html``.

A transcript needs nothing but itself and the natives beside it: styles are inline,
images up to ``INLINE_IMAGE`` bytes are embedded, other files are linked to their native
(``../NATIVES/<Bates>.<ext>``). Messages are chat bubbles: sender, local time and UTC,
system events, calls, deleted, edited, forwarded and context messages styled apart.
The transcript is cut into the same pages as the PDF (a page holds the messages whose
first line is on that PDF page); each page shows its Bates number at its top and
bottom, starts a new printed page, and every printed page carries the document's Bates
range in a running footer.
"""

from __future__ import annotations

import base64
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

from archiver.production.documents import Attachment, Document, Event
from archiver.production.layout import Layout, local_time, reactions_text, tags
from archiver.production.loadfile import pages_of_events
from archiver.store.blobs import read_blob
from archiver.store.database import Store

INLINE_IMAGE = 4 * 1024 * 1024
_MIME = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".gif": "image/gif",
    ".webp": "image/webp",
}

STYLE = """
body{font-family:"Noto Sans",Arial,sans-serif;font-size:10pt;margin:0 auto;max-width:48em;
color:#1b1b1b;background:#fff}
header.doc{border-bottom:2px solid #333;padding:.5em 0;margin-bottom:.5em}
header.doc h1{font-size:13pt;margin:0}
header.doc dl{display:grid;grid-template-columns:max-content auto;gap:0 1em;margin:.3em 0}
header.doc dt{font-weight:bold}header.doc dd{margin:0}
section.page{break-after:page;padding:.2em 0}
.bates{text-align:right;font-family:monospace;font-weight:bold;color:#333}
.running{position:fixed;bottom:0;right:0;font-family:monospace;font-size:8pt;background:#fff}
article.msg{border-radius:.6em;padding:.35em .7em;margin:.35em 0;max-width:80%;
background:#eef3fb;border:1px solid #c9d6ea;break-inside:avoid}
article.msg.out{margin-left:auto;background:#e4f4e0;border-color:#bfe0b6}
article.msg.system,article.msg.call{max-width:100%;text-align:center;background:#f4f4f4;
border-style:dashed;color:#555;font-style:italic}
article.msg.deleted .text{color:#8a1c1c;font-style:italic}
article.msg.context{opacity:.75;border-style:dotted}
.who{font-weight:bold}.when{font-size:8pt;color:#555}
.tag{display:inline-block;font-size:7.5pt;border:1px solid #999;border-radius:.3em;
padding:0 .3em;margin-right:.3em;color:#444;font-style:normal}
.tag.edited{border-color:#b07a00;color:#b07a00}.tag.forwarded{border-color:#2a62b0;color:#2a62b0}
.tag.context{border-color:#777}.tag.deleted{border-color:#8a1c1c;color:#8a1c1c}
.text{white-space:pre-wrap;overflow-wrap:anywhere;margin-top:.2em}
.meta{font-size:8.5pt;color:#444;white-space:pre-wrap}
img{max-width:100%;max-height:20em;display:block;margin-top:.3em}
table{border-collapse:collapse;width:100%}td,th{border:1px solid #bbb;padding:.2em .4em;
font-size:9pt;text-align:left;vertical-align:top}
@media print{.running{position:fixed}}
"""


def _page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>\n{body}</body>"
        "</html>\n"
    )


def _attachment(att: Attachment, bates: str | None, store: Store) -> str:
    if not att.stored or bates is None:
        return f'<div class="meta">File not in the export: {escape(att.name)}</div>'
    link = f"../NATIVES/{bates}{att.ext}"
    label = f'<a href="{escape(link)}">{escape(att.name)}</a> ({bates})'
    if att.is_image and att.size is not None and att.size <= INLINE_IMAGE:
        data = b"".join(read_blob(store, str(att.sha256)))
        src = f"data:{_MIME.get(att.ext, 'image/jpeg')};base64,{base64.b64encode(data).decode()}"
        return f'<div class="meta">{label}<img alt="{escape(att.name)}" src="{src}"></div>'
    return f'<div class="meta">{label}</div>'


def _bubble(
    event: Event, zone: ZoneInfo, me: int | None, bates_of: dict[int, str], store: Store
) -> str:
    classes = ["msg", event.kind]
    if event.context:
        classes.append("context")
    if me is not None and event.participant == me:
        classes.append("out")
    marks = "".join(
        f'<span class="tag {escape(t.split()[0])}">{escape(t)}</span>' for t in tags(event)
    )
    parts = [
        f'<article class="{" ".join(classes)}" id="m{event.id}" data-message-id="{event.id}">',
        f'<div class="who">{escape(event.sender or "System")}</div>',
        f'<div class="when">{escape(local_time(event.sent_at, zone))}</div>',
        f"<div>{marks}</div>" if marks else "",
        f'<div class="text">{escape(event.shown_text)}</div>',
    ]
    parts += [f'<div class="meta">Earlier text: {escape(text)}</div>' for text, _ in event.versions]
    parts += [_attachment(a, bates_of.get(a.id), store) for a in event.attachments]
    reactions = reactions_text(event)
    if reactions:
        parts.append(f'<div class="meta">{escape(reactions)}</div>')
    parts.append("</article>")
    return "".join(parts) + "\n"


def transcript(
    doc: Document,
    layout: Layout,
    zone: ZoneInfo,
    facts: dict[str, str],
    page_bates: list[str],
    bates_of: dict[int, str],
    me: int | None,
    store: Store,
) -> str:
    """The HTML transcript of a document; ``facts`` are shown at its top."""
    by_id = {e.id: e for e in doc.events}
    rows = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in facts.items())
    body = [
        f'<div class="running">{escape(facts["Bates"])}</div>',
        f'<header class="doc"><h1>{escape(doc.title)}</h1><dl>{rows}</dl></header>\n',
    ]
    for bates, ids in zip(page_bates, pages_of_events(layout), strict=True):
        body.append(f'<section class="page" id="{bates}"><div class="bates">{bates}</div>\n')
        if not ids:
            body.append('<div class="meta">(the message above continues on this page)</div>')
        body.extend(_bubble(by_id[i], zone, me, bates_of, store) for i in ids)
        body.append(f'<div class="bates">{bates}</div></section>\n')
    return _page(f"{page_bates[0]} {doc.title}", "".join(body))


def index(title: str, facts: dict[str, str], rows: list[dict[str, Any]]) -> str:
    """``index.html``: the production and a table of its documents."""
    head = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in facts.items())
    table = [
        "<table><tr><th>Bates range</th><th>Conversation</th><th>Platform</th>"
        "<th>Slice</th><th>Messages</th><th>Files</th></tr>"
    ]
    for r in rows:
        links = " ".join(
            f'<a href="{escape(href)}">{escape(name)}</a>' for name, href in r["links"]
        )
        table.append(
            f"<tr><td>{escape(r['range'])}</td><td>{escape(r['title'])}</td>"
            f"<td>{escape(r['platform'])}</td><td>{escape(r['slice'])}</td>"
            f"<td>{escape(r['messages'])}</td><td>{links}</td></tr>"
        )
    table.append("</table>")
    body = f'<header class="doc"><h1>{escape(title)}</h1><dl>{head}</dl></header>' + "".join(table)
    return _page(title, body + "\n")
