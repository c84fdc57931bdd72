"""Telegram HTML that no exporter writes: nesting and page size are bounded before the
HTML parser sees the page (building a tree takes time in the square of its depth)."""

from __future__ import annotations

import pytest

from archiver.core.errors import ParseError
from archiver.core.model import Record
from archiver.parsers.limits import MAX_HTML_PAGE_BYTES, MAX_NESTING
from archiver.parsers.telegram_html import TelegramHtmlParser
from tests.parsers.telegram_helpers import bytes_unit, messages, options

# html, body, page_wrap, page_body, history, message, body, text: 8 levels before the text
_OPEN = (
    '<!DOCTYPE html>\n<html>\n<head><meta charset="utf-8"/><title>Exported Data</title>'
    '<link href="css/style.css" rel="stylesheet"/></head>\n<body>\n<div class="page_wrap">'
    '<div class="page_body chat_page"><div class="history">\n<div class="message default '
    'clearfix" id="message1"><div class="body"><div class="pull_right date details" '
    'title="15.03.2024 09:00:00 UTC+01:00">09:00</div><div class="from_name">Ann</div>'
    '<div class="text">'
)
_CLOSE = "</div></div></div>\n</div></div></div>\n</body>\n</html>\n"
SKELETON = 8


def page(inner: str) -> bytes:
    return (_OPEN + inner + _CLOSE).encode()


def parse(data: bytes) -> list[Record]:
    unit = bytes_unit({"messages.html": data}, name="ChatExport")
    return list(TelegramHtmlParser().parse(unit, options()))


def test_nesting_up_to_the_bound_is_read() -> None:
    levels = MAX_NESTING - SKELETON
    (message,) = messages(parse(page("<b>" * levels + "deep" + "</b>" * levels)))
    assert message.text == "deep"


@pytest.mark.parametrize(
    "inner",
    [
        "<b>" * (MAX_NESTING - SKELETON + 1) + "x" + "</b>" * (MAX_NESTING - SKELETON + 1),
        "<div>" * 100_000 + "x" + "</div>" * 100_000,
        "<i>" * 100_000,  # never closed
        "</div>" * 500 + "<div>" * 100 + "x",  # stray end tags do not hide what follows
        "<div/>" * 100,  # not self-closing in HTML: each opens a div
    ],
    ids=["one-too-deep", "100k-divs", "unclosed", "after-strays", "div-slash"],
)
def test_deeper_nesting_is_refused_before_parsing(inner: str) -> None:
    with pytest.raises(ParseError) as err:
        parse(page(inner))
    assert str(err.value) == (
        "messages.html: HTML elements nested more than 64 deep; Telegram Desktop nests about "
        "20, so the file was edited or is not a Telegram export. Nothing from it was "
        "ingested; export the chat again."
    )


def test_line_breaks_and_images_do_not_count_as_nesting() -> None:
    (message,) = messages(parse(page("line<br>" * 500 + '<img src="x.jpg"/>' * 100)))
    assert message.text.count("\n") == 500


def test_a_page_larger_than_the_bound_is_refused() -> None:
    padding = "<!-- " + "x" * MAX_HTML_PAGE_BYTES + " -->"
    with pytest.raises(ParseError) as err:
        parse(page(padding))
    assert str(err.value) == (
        "messages.html: a page larger than 16 MiB; Telegram Desktop writes 1,000 messages "
        "(1-2 MB) a page, so the file was edited or is not a Telegram export. Nothing from it "
        "was ingested; export the chat again."
    )
