"""Generate a realistic N-message WhatsApp Android export, and time the parser on it.

    python bench/gen_whatsapp.py OUT.txt --messages 1000000        # write the export
    python bench/gen_whatsapp.py OUT.txt --messages 1000000 --bench # write, then time

The export is what a busy Android group chat looks like (DMY dates, 24-hour clock,
minute timestamps that collide in bursts): mixed senders including phone numbers,
multi-line bodies with blank lines, system events, ``<Media omitted>`` placeholders,
deleted and edited messages, locations. Output is deterministic for a given seed and is
written streaming, so memory stays flat. ``--bench`` parses the file in three fresh
processes (``WhatsAppParser().parse()`` consumed to the end) and prints the median wall
and CPU time (CPU time is the steadier figure on a shared machine) and the peak RSS
growth over the interpreter with the parser imported.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

SENDERS = [
    "Anna Schmidt", "Ben Okafor", "Carla Mendes", "David Levi", "Elif Yılmaz", "Frank Müller",
    "Grace Chen", "Hiro Tanaka", "Ines Duarte", "Jonas Berg", "Karim Haddad", "Laura Rossi",
    "+44 7700 900123", "+1 (212) 555-0147", "Marta Nowak", "Nadia Petrova", "Omar Farouk",
    "Priya Nair", "Quentin Roux", "Rosa Alvarez", "Sam O'Neill", "Tom Becker",
]  # fmt: skip
WORDS = [
    "deal", "client", "order", "price", "trade", "settlement", "confirm", "desk", "book",
    "limit", "offer", "bid", "spread", "margin", "call", "meeting", "tomorrow", "today",
    "please", "check", "sent", "signed", "draft", "term", "sheet", "revised", "volume", "EUR",
    "USD", "GBP", "bonds", "notional", "counterparty", "approval", "compliance", "risk",
    "report", "numbers", "update", "ok", "thanks", "sure", "will", "do", "on", "it", "later",
    "lunch", "coffee", "flight", "hotel", "invoice", "payment",
]  # fmt: skip
SYSTEM = [
    "{a} added {b}",
    "{a} left",
    '{a} changed the subject from "Desk" to "Desk EMEA"',
    "{a} changed this group's icon",
    "Messages and calls are end-to-end encrypted. No one outside of this chat, not even "
    "WhatsApp, can read or listen to them. Tap to learn more.",
    "Your security code with {a} changed. Tap to learn more.",
]


RARE = ["fjord", "zeppelin", "quasar", "marzipan", "obsidian"]


def _sentence(rng: random.Random) -> str:
    words = rng.choices(WORDS, k=rng.randint(2, 18))
    # For the search benchmark: one word in about half the messages, a few rare ones.
    if rng.random() < 0.5:
        words.insert(rng.randrange(len(words) + 1), "the")
    if rng.random() < 0.002:
        words.insert(rng.randrange(len(words) + 1), rng.choice(RARE))
    text = " ".join(words).capitalize()
    if rng.random() < 0.15:
        text += f" {rng.randint(1, 500)}k at {rng.uniform(90, 110):.2f}"
    return text + rng.choice([".", "", "?", "!"])


def _body(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.05:
        return "<Media omitted>"
    if r < 0.06:
        return "This message was deleted"
    if r < 0.065:
        lat, lon = rng.uniform(40, 55), rng.uniform(-5, 15)
        return f"location: https://maps.google.com/?q={lat:.6f},{lon:.6f}"
    if r < 0.075:
        return _sentence(rng) + " <This message was edited>"
    if r < 0.155:
        lines = [_sentence(rng) for _ in range(rng.randint(2, 4))]
        if rng.random() < 0.3:
            lines.insert(1, "")
        return "\n".join(lines)
    return _sentence(rng)


def generate(path: Path, messages: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    t = datetime(2019, 3, 1, 8, 0)
    with path.open("w", encoding="utf-8", newline="\n") as out:
        buf: list[str] = []
        for _ in range(messages):
            gap = rng.expovariate(1 / 150)  # seconds; bursts share a minute
            t += timedelta(seconds=gap)
            if t.hour >= 22:
                t = t.replace(hour=7, minute=rng.randint(0, 59)) + timedelta(days=1)
            stamp = f"{t.day:02d}/{t.month:02d}/{t.year}, {t.hour:02d}:{t.minute:02d} - "
            if rng.random() < 0.01:
                a, b = rng.sample(SENDERS, 2)
                buf.append(stamp + rng.choice(SYSTEM).format(a=a, b=b) + "\n")
            else:
                buf.append(stamp + rng.choice(SENDERS) + ": " + _body(rng) + "\n")
            if len(buf) >= 10_000:
                out.write("".join(buf))
                buf.clear()
        out.write("".join(buf))


_CHILD = """
import collections, gc, io, json, resource, sys, time
from pathlib import Path
from zoneinfo import ZoneInfo
from archiver.parsers.base import ExportFile, ExportUnit, ParseOptions
from archiver.parsers.whatsapp import WhatsAppParser
path = Path(sys.argv[1])
unit = ExportUnit(path.name, [ExportFile(path.name, path.stat().st_size, lambda: path.open("rb"))])
options = ParseOptions(ZoneInfo("Europe/London"), date_order=sys.argv[2])
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0, c0 = time.perf_counter(), time.process_time()
n = 0
for record in WhatsAppParser().parse(unit, options):
    n += 1
elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": elapsed, "cpu_seconds": cpu, "records": n,
                  "rss_base_kb": before, "rss_peak_kb": after}))
"""


def bench(path: Path, runs: int = 3, date_order: str = "auto") -> dict[str, object]:
    results = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", _CHILD, str(path), date_order],
            check=True,
            capture_output=True,
            text=True,
        )
        results.append(json.loads(out.stdout))
    return {
        "file": str(path),
        "bytes": path.stat().st_size,
        "date_order": date_order,
        "runs": [round(float(r["seconds"]), 3) for r in results],
        "median_seconds": round(statistics.median(float(r["seconds"]) for r in results), 3),
        "median_cpu_seconds": round(statistics.median(float(r["cpu_seconds"]) for r in results), 3),
        "records": results[0]["records"],
        "rss_interpreter_mb": round(int(results[0]["rss_base_kb"]) / 1024, 1),
        "rss_growth_mb": round(
            max(int(r["rss_peak_kb"]) - int(r["rss_base_kb"]) for r in results) / 1024, 1
        ),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("out", type=Path)
    ap.add_argument("--messages", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--bench", action="store_true", help="time the parser on the file (3 runs)")
    ap.add_argument("--date-order", default="auto", choices=["auto", "dmy"])
    args = ap.parse_args()
    t0 = time.perf_counter()
    generate(args.out, args.messages, args.seed)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    elapsed = time.perf_counter() - t0
    print(
        f"wrote {args.messages} messages to {args.out} in {elapsed:.1f} s (peak RSS {peak_mb} MB)"
    )
    if args.bench:
        print(json.dumps(bench(args.out, date_order=args.date_order), indent=2))


if __name__ == "__main__":
    main()
