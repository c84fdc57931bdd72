"""PDF transcripts (fpdf2): the layout's pages, each stamped with its Bates number.

Each A4 page has the conversation and slice at its top and, at its bottom, the
production and matter on the left and the page's Bates number on the right. Text is set
in the fonts of ``fonts.Fonts``, embedded (subset) in the file, character by character
in the first font that has the glyph; a character no font has was already replaced by a
visible ``[U+XXXX]`` in the layout and is reported by the production.
"""

from __future__ import annotations

from datetime import datetime

from archiver.production.fonts import Fonts
from archiver.production.layout import (
    FONT_PT,
    INDENT_PT,
    LINE_PT,
    MARGIN,
    PAGE_H,
    PAGE_W,
    Layout,
)

_COLOURS = {"head": (20, 60, 120), "system": (90, 90, 90), "meta": (70, 70, 70)}


def render(
    layout: Layout,
    fonts: Fonts,
    page_bates: list[str],
    top: str,
    bottom: str,
    created: datetime,
) -> bytes:
    """The PDF of a document's layout."""
    from fpdf import FPDF

    pdf = FPDF(unit="pt", format=(PAGE_W, PAGE_H))
    pdf.set_auto_page_break(False)
    pdf.set_creation_date(created)
    pdf.set_producer("archiver")
    added: set[int] = set()

    def use(face: int, size: float) -> None:
        if face not in added:
            path = fonts.faces[face].path
            if path.suffix.lower() == ".ttc":
                pdf.add_font(f"f{face}", fname=str(path), collection_font_number=0)
            else:
                pdf.add_font(f"f{face}", fname=str(path))
            added.add(face)
        pdf.set_font(f"f{face}", size=size)

    def draw(x: float, y: float, text: str, size: float = FONT_PT) -> float:
        for face, run in fonts.runs(text):
            use(face, size)
            pdf.text(x, y, run)
            x += fonts.width(run) * size
        return x

    for bates, page in zip(page_bates, layout.pages, strict=True):
        pdf.add_page()
        pdf.set_text_color(0, 0, 0)
        draw(MARGIN, MARGIN - 12, fonts.prepare(top, []), 8)
        y = MARGIN + LINE_PT
        for line in page:
            pdf.set_text_color(*_COLOURS.get(line.style, (0, 0, 0)))
            draw(MARGIN + (INDENT_PT if line.indent else 0), y, line.text)
            y += LINE_PT
        pdf.set_text_color(0, 0, 0)
        draw(MARGIN, PAGE_H - MARGIN + 16, fonts.prepare(bottom, []), 8)
        use(0, 10)
        pdf.text(PAGE_W - MARGIN - fonts.width(bates) * 10, PAGE_H - MARGIN + 16, bates)
    return bytes(pdf.output())
