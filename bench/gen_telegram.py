"""Generate realistic single-chat Telegram Desktop exports for benchmarks.

JSON: current era (tdesktop >= 5.x): ``date_unixtime``, ``text_entities``, string
``from_id``, one-space indentation exactly as the exporter writes it. About 350 bytes per
message: plain text, text arrays with entities, replies, edits, service events and media
placeholders. Written streaming, so N can be large.
HTML: ``messages.html``, ``messages2.html``, … of 1,000 messages each, with joined blocks,
day separators, replies, photos and file placeholders, as the exporter writes them.

    python bench/gen_telegram.py 1000000 /tmp/tg1m.json
    python bench/gen_telegram.py --html 50000 /tmp/tg_html
    python bench/gen_telegram.py --bench /tmp/tg1m.json       # parse: wall time, peak RSS
    python bench/gen_telegram.py --bench-html /tmp/tg_html
"""

from __future__ import annotations

import json
import random
import sys
from collections.abc import Iterator
from typing import Any, TextIO

PLACEHOLDER = "(File not included. Change data exporting settings to download.)"
PEOPLE = [
    ("Alice Morgan", "user100001"),
    ("Bob Chen", "user100002"),
    ("Carla Diaz", "user100003"),
    ("Deniz Kaya", "user100004"),
    ("Emeka Obi", "user100005"),
]
WORDS = [
    "bid", "ask", "spread", "fill", "order", "desk", "client", "confirm", "trade", "bond",
    "yield", "swap", "notional", "settle", "today", "tomorrow", "risk", "limit", "book",
    "price", "quote", "size", "block", "hedge", "call", "later",
]  # fmt: skip
START = 1_704_067_200  # 2024-01-01T00:00:00Z


def _q(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


def _local(ts: int) -> str:
    # The exporter writes local wall time; the generator pretends the zone is UTC+1.
    import time

    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts + 3600))


def _sentence(rnd: random.Random) -> str:
    return " ".join(rnd.choice(WORDS) for _ in range(rnd.randint(3, 8))).capitalize()


def _message(i: int, ts: int, rnd: random.Random) -> str:
    head = (
        f'  {{\n   "id": {i},\n   "type": "%s",\n   "date": "{_local(ts)}",\n'
        f'   "date_unixtime": "{ts}",\n'
    )
    name, uid = PEOPLE[rnd.randrange(len(PEOPLE))]
    roll = rnd.random()
    if roll < 0.03:
        return (
            head % "service"
            + f'   "actor": {_q(name)},\n   "actor_id": "{uid}",\n'
            + '   "action": "pin_message",\n'
            + f'   "message_id": {max(1, i - 3)},\n   "text": "",\n   "text_entities": []\n  }}'
        )
    body = f'   "from": {_q(name)},\n   "from_id": "{uid}",\n'
    if roll < 0.10:
        body += f'   "reply_to_message_id": {max(1, i - rnd.randint(1, 20))},\n'
    elif roll < 0.13:
        body = f'   "edited": "{_local(ts + 60)}",\n   "edited_unixtime": "{ts + 60}",\n' + body
    if roll > 0.92:
        body += (
            f'   "photo": "{PLACEHOLDER}",\n   "width": 1280,\n   "height": 960,\n'
            '   "text": "",\n   "text_entities": []\n  }'
        )
        return head % "message" + body
    text = _sentence(rnd)
    if roll > 0.80:
        link = "https://example.com/ticket/" + str(i)
        body += (
            f'   "text": [\n    {_q(text + " ")},\n    {{\n     "type": "link",\n'
            f'     "text": "{link}"\n    }}\n   ],\n'
            f'   "text_entities": [\n    {{\n     "type": "plain",\n     "text": {_q(text + " ")}'
            f'\n    }},\n    {{\n     "type": "link",\n     "text": "{link}"\n    }}\n   ]\n  }}'
        )
    else:
        body += (
            f'   "text": {_q(text)},\n   "text_entities": [\n    {{\n     "type": "plain",\n'
            f'     "text": {_q(text)}\n    }}\n   ]\n  }}'
        )
    return head % "message" + body


def messages(n: int, seed: int = 1) -> Iterator[str]:
    rnd = random.Random(seed)
    ts = START
    for i in range(1, n + 1):
        ts += rnd.randint(1, 120)
        yield _message(i, ts, rnd)


def write(out: TextIO, n: int, seed: int = 1) -> None:
    """Write an n-message export to ``out``."""
    out.write(
        '{\n "name": "Rates Desk",\n "type": "private_supergroup",\n "id": 1777000001,\n'
        ' "messages": [\n'
    )
    first = True
    for m in messages(n, seed):
        if not first:
            out.write(",\n")
        out.write(m)
        first = False
    out.write("\n ]\n}\n")


_HTML_HEAD = """<!DOCTYPE html>
<html>

 <head>

  <meta charset="utf-8"/>
<title>Exported Data</title>
  <meta content="width=device-width, initial-scale=1.0" name="viewport"/>

  <link href="css/style.css" rel="stylesheet"/>

 </head>

 <body onload="CheckLocation();">

  <div class="page_wrap">

   <div class="page_header">

    <div class="content">

     <div class="text bold">
Rates Desk
     </div>

    </div>

   </div>

   <div class="page_body chat_page">

    <div class="history">
"""
_HTML_TAIL = """
    </div>

   </div>

  </div>

 </body>

</html>
"""


def _html_block(i: int, ts: int, rnd: random.Random, previous: str | None) -> tuple[str, str]:
    import html
    import time

    name, _ = PEOPLE[rnd.randrange(len(PEOPLE))]
    title = time.strftime("%d.%m.%Y %H:%M:%S", time.gmtime(ts + 3600)) + " UTC+01:00"
    joined = name == previous
    head = (
        f'\n     <div class="message default clearfix{" joined" if joined else ""}" '
        f'id="message{i}">\n'
    )
    if not joined:
        initials = "".join(w[0] for w in name.split())
        head += (
            '\n      <div class="pull_left userpic_wrap">\n\n       <div class="userpic '
            'userpic2" style="width: 42px; height: 42px">\n\n        <div class="initials" '
            f'style="line-height: 42px">\n{initials}\n        </div>\n\n       </div>\n\n'
            "      </div>\n"
        )
    body = (
        f'\n      <div class="body">\n\n       <div class="pull_right date details" '
        f'title="{title}">\n{title[11:16]}\n       </div>\n'
    )
    if not joined:
        body += f'\n       <div class="from_name">\n{html.escape(name)}\n       </div>\n'
    roll = rnd.random()
    if roll < 0.07:
        body += (
            '\n       <div class="reply_to details">\nIn reply to <a href="#go_to_message'
            f'{max(1, i - 3)}" onclick="return GoToMessage({max(1, i - 3)})">this message</a>'
            "\n       </div>\n"
        )
    if roll > 0.92:
        body += (
            '\n       <div class="media_wrap clearfix">\n\n        <div class="media clearfix '
            'pull_left media_photo">\n\n         <div class="fill pull_left">\n\n         '
            '</div>\n\n         <div class="body">\n\n          <div class="title bold">\nPhoto'
            '\n          </div>\n\n          <div class="description">\nNot included, change '
            "data exporting settings to download.\n          </div>\n\n          <div "
            'class="status details">\n1280x960, 120.4 KB\n          </div>\n\n         </div>'
            "\n\n        </div>\n\n       </div>\n"
        )
    else:
        text = html.escape(_sentence(rnd))
        if roll > 0.80:
            text += f' <a href="https://example.com/ticket/{i}">https://example.com/ticket/{i}</a>'
        body += f'\n       <div class="text">\n{text}\n       </div>\n'
    return head + body + "\n      </div>\n\n     </div>\n", name


def write_html(folder: str, n: int, seed: int = 1) -> None:
    """Write an n-message export as messages.html, messages2.html, … into ``folder``."""
    import os

    os.makedirs(folder, exist_ok=True)
    rnd = random.Random(seed)
    ts = START
    for page in range((n + 999) // 1000):
        name = "messages.html" if page == 0 else f"messages{page + 1}.html"
        previous: str | None = None
        day = None
        with open(os.path.join(folder, name), "w", encoding="utf-8", newline="\n") as out:
            out.write(_HTML_HEAD)
            for i in range(page * 1000 + 1, min(n, page * 1000 + 1000) + 1):
                ts += rnd.randint(1, 120)
                today = ts // 86400
                if today != day:
                    import time

                    label = time.strftime("%d %B %Y", time.gmtime(ts)).lstrip("0")
                    out.write(
                        f'\n     <div class="message service" id="message-{i}">\n\n      '
                        f'<div class="body details">\n{label}\n      </div>\n\n     </div>\n'
                    )
                    day, previous = today, None
                block, previous = _html_block(i, ts, rnd, previous)
                out.write(block)
            out.write(_HTML_TAIL)


def bench(path: str, html: bool = False) -> dict[str, float]:
    """Parse an export 3 times: median wall time and the peak RSS growth."""
    import resource
    import statistics
    import time
    from pathlib import Path
    from zoneinfo import ZoneInfo

    from archiver.parsers.base import ExportFile, ExportUnit, ParseOptions
    from archiver.parsers.telegram_html import TelegramHtmlParser
    from archiver.parsers.telegram_json import TelegramJsonParser

    root = Path(path)
    files = [root] if root.is_file() else sorted(p for p in root.iterdir() if p.is_file())

    def opener(p: Path) -> Any:
        return lambda: p.open("rb")

    unit = ExportUnit(
        root.name,
        [
            ExportFile("result.json" if p == root else p.name, p.stat().st_size, opener(p))
            for p in files
        ],
    )
    parser = TelegramHtmlParser() if html else TelegramJsonParser()
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    times = []
    count = 0
    for _ in range(3):
        t0 = time.perf_counter()
        count = sum(1 for _ in parser.parse(unit, ParseOptions(tz=ZoneInfo("UTC"))))
        times.append(time.perf_counter() - t0)
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "records": count,
        "median_s": round(statistics.median(times), 2),
        "runs_s": [round(t, 2) for t in times],  # type: ignore[dict-item]
        "rss_before_mb": round(rss0 / 1024, 1),
        "peak_rss_mb": round(rss1 / 1024, 1),
        "rss_growth_mb": round((rss1 - rss0) / 1024, 1),
    }


def main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[1] in ("--bench", "--bench-html"):
        print(json.dumps(bench(argv[2], html=argv[1] == "--bench-html"), indent=1))
        return 0
    if len(argv) == 4 and argv[1] == "--html":
        write_html(argv[3], int(argv[2]))
        return 0
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[2], "w", encoding="utf-8", newline="\n") as fh:
        write(fh, int(argv[1]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
