"""`make bench`: the performance targets of the issues, measured in one run.

    python bench/run.py [--messages N] [--only whatsapp,telegram,search,verify,purge,produce]

Every measurement runs in a fresh subprocess that reports its own wall time and peak
RSS, so one step's memory never hides another's. Peers (whatstk, chat-miner) parse the
same generated files in the same run, as many times as we ingest them; their time is
the parse alone (after importing pandas), ours the whole ingest and closing the
archive. Results print as a table and are written to bench/out/results.json.
Generated inputs and archives live in bench/out/ (gitignored).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
PY = sys.executable


def child(code: str, timeout: int = 3600) -> dict[str, object]:
    """Run ``code`` in a fresh interpreter; it must print one JSON object last."""
    wrapped = textwrap.dedent(
        """
        import json, resource, sys, time
        sys.path.insert(0, {root!r})
        _t0 = time.perf_counter()
        result = {{}}
        {body}
        result.setdefault("seconds", round(time.perf_counter() - _t0, 2))
        result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        # the parser child of a big ingest (0 when the step forked none)
        result["child_peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)
        print(json.dumps(result))
        """
    ).format(root=str(ROOT), body=textwrap.indent(textwrap.dedent(code), "").strip().replace("\n", "\n"))
    proc = subprocess.run([PY, "-c", wrapped], capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark step failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def median_of(runs: int, code: str) -> dict[str, object]:
    results = [child(code) for _ in range(runs)]
    secs = [float(r["seconds"]) for r in results]  # type: ignore[arg-type]
    best = results[secs.index(statistics.median(secs))] if runs % 2 else results[0]
    return {**best, "seconds": round(statistics.median(secs), 2), "runs": secs}


NEW_ARCHIVE = """
import shutil
from pathlib import Path
from archiver.archive.session import create_archive, open_archive
from archiver.store.auditlog import Invocation
from archiver.security.keyring import Secret, create_key_file
root = Path({root!r}); shutil.rmtree(root, ignore_errors=True); root.mkdir(parents=True)
key = root / "bench.key"; create_key_file(key)
secret = Secret("keyfile", key.read_bytes(), "bench")
inv = Invocation(command="ingest", user="bench", host="bench")
create_archive(root / "archive", secret, inv, tz="Europe/London").archive.close()
"""

INGEST = """
from archiver.archive.session import open_archive
from archiver.ingest.exports import IngestOptions, ingest
archive = open_archive(root / "archive", secret)
_t0 = time.perf_counter()
report = ingest(archive, [Path({path!r})], IngestOptions(custodian="bench@broker.example", tz="Europe/London"), inv)
archive.close()
result["seconds"] = round(time.perf_counter() - _t0, 2)
s = report.sources[0]
assert s.status == "ingested", s.error
result.update(messages=s.messages, new=s.new)
"""


def ingest_step(name: str, path: Path, runs: int) -> dict[str, object]:
    root = OUT / f"{name}-archive"
    code = NEW_ARCHIVE.format(root=str(root)) + INGEST.format(path=str(path))
    res = median_of(runs, code)
    res["messages_per_second"] = round(int(res["messages"]) / float(res["seconds"]))  # type: ignore[arg-type]
    # writer and parser process together; an upper bound: their peaks need not coincide,
    # and the forked child shares the interpreter's pages with the writer
    res["both_processes_peak_rss_mb_at_most"] = round(
        float(res["peak_rss_mb"]) + float(res["child_peak_rss_mb"]), 1  # type: ignore[arg-type]
    )
    return res


def whatsapp(n: int, runs: int) -> dict[str, object]:
    path = OUT / f"whatsapp-{n}.txt"
    if not path.exists():
        subprocess.run([PY, str(HERE / "gen_whatsapp.py"), str(path), "--messages", str(n)], check=True)
    ours = ingest_step("whatsapp", path, runs)
    peer = median_of(
        runs,
        f"""
        from whatstk import WhatsAppChat
        _t0 = time.perf_counter()  # the parse, not the import of pandas
        chat = WhatsAppChat.from_source(filepath={str(path)!r}, max_size=None)
        result["messages"] = len(chat.df)
        result["seconds"] = round(time.perf_counter() - _t0, 2)
        """,
    )
    return {"ours": ours, "whatstk_parse": peer, "ratio": round(float(ours["seconds"]) / float(peer["seconds"]), 2)}  # type: ignore[arg-type]


def telegram(n: int, runs: int) -> dict[str, object]:
    path = OUT / f"telegram-{n}.json"
    if not path.exists():
        subprocess.run([PY, str(HERE / "gen_telegram.py"), str(n), str(path)], check=True)
    ours = ingest_step("telegram", path, runs)
    peer = median_of(
        runs,
        f"""
        from chatminer.chatparsers import TelegramJsonParser
        _t0 = time.perf_counter()  # the parse, not the imports
        parser = TelegramJsonParser({str(path)!r})
        parser.parse_file()
        result["messages"] = len(parser.parsed_messages.get_df())
        result["seconds"] = round(time.perf_counter() - _t0, 2)
        """,
    )
    return {"ours": ours, "chat_miner_parse": peer, "ratio": round(float(ours["seconds"]) / float(peer["seconds"]), 2)}  # type: ignore[arg-type]


SEARCHES = {
    "rare word": "fjord",
    "two-word AND": "settlement approval",
    "phrase": '"term sheet"',
    "prefix": "notio*",
    "sender filter": 'from:"Grace Chen"',
    "date range": "after:2020-01-01 before:2020-03-01",
    "common word (~half)": "the",
}


def search_step(n: int, root: Path | None = None) -> dict[str, object]:
    root = root or OUT / "whatsapp-archive"
    code = f"""
        import statistics
        from pathlib import Path
        from archiver.archive.session import open_archive
        from archiver.store.auditlog import Invocation
        from archiver.security.keyring import Secret
        from archiver.search import engine as search
        from archiver.store.database import check_zone
        root = Path({str(root)!r})
        archive = open_archive(root / "archive", Secret("keyfile", (root / "bench.key").read_bytes(), "b"))
        store = archive.store
        zone = check_zone("Europe/London")
        total_messages = store.one("SELECT count(*) FROM messages")
        out = {{}}
        for label, q in {SEARCHES!r}.items():
            for sort in ("date", "relevance"):
                times = []
                for _ in range(7):
                    t = time.perf_counter()
                    plan = search.compile_query(store, q, zone)
                    total = search.count(store, plan)
                    ids = search.page(store, plan, sort, 50, 0)
                    times.append((time.perf_counter() - t) * 1000)
                out[f"{{label}} / {{sort}}"] = {{"query": q, "hits": total, "share": round(total / total_messages, 4), "median_ms": round(statistics.median(times), 1)}}
        result["queries"] = out
        """
    return child(code)


def verify_step(root: Path | None = None) -> dict[str, object]:
    root = root or OUT / "whatsapp-archive"
    return child(
        f"""
        sys.path.insert(0, {str(HERE)!r})
        from pathlib import Path
        from verify_bench import bench
        result.update(bench(Path({str(root / "archive")!r}), Path({str(root / "bench.key")!r})))
        """
    )


def purge_step(source: Path | None = None, copy: bool = True) -> dict[str, object]:
    import shutil

    root = source or OUT / "whatsapp-archive"
    if copy:
        root = OUT / "purge-archive"  # a copy: the purge changes it
        shutil.rmtree(root, ignore_errors=True)
        shutil.copytree(source or OUT / "whatsapp-archive", root)
    policy = OUT / "purge-policy.toml"
    policy.write_text(
        '[policy]\nname = "bench"\n[[rules]]\nname = "old-messages"\ndelete_after = "1 day"\n'
        'scope = { chat = ["*"], platform = ["whatsapp"] }\n'
    )
    return child(
        f"""
        from datetime import UTC, datetime
        from pathlib import Path
        from archiver.archive.session import open_archive
        from archiver.store.auditlog import Invocation
        from archiver.security.keyring import Secret
        from archiver.retention import holds
        from archiver.retention import purge
        from archiver.retention import decisions as retention
        root = Path({str(root)!r})
        archive = open_archive(root / "archive", Secret("keyfile", (root / "bench.key").read_bytes(), "b"))
        store = archive.store
        inv = Invocation(command="purge", user="bench", host="bench")
        ids = [r[0] for r in store.execute("SELECT id FROM messages ORDER BY id")]
        cutoff = datetime.fromtimestamp((ids[len(ids) // 2] >> 20) + 1, UTC)
        retention.load_policy(archive, [Path({str(policy)!r})], inv)
        empty = dict(custodian=[], chat=[], participant=[], sent_after=None, sent_before=None, query=None)
        holds.create(archive, "h1", matter="m1", reason="bench", inv=inv, **{{**empty, "query": "fjord"}})
        holds.create(archive, "h2", matter="m2", reason="bench", inv=inv, **{{**empty, "query": '"term sheet"'}})
        holds.create(archive, "h3", matter="m3", reason="bench", inv=inv, **{{**empty, "custodian": ["nobody@example"]}})
        from datetime import timedelta
        _t0 = time.perf_counter()
        report = purge.execute(archive, cutoff + timedelta(days=1), inv, allow_future=True)
        secs = time.perf_counter() - _t0
        result.update(seconds=round(secs, 2), deleted=report["deleted"], held=report["held"], examined=report["examined"], deleted_per_second=round(report["deleted"] / secs))
        archive.close()
        """
    )


def produce_step(n: int = 100_000) -> dict[str, object]:
    """Produce ``n`` messages (a generated WhatsApp export) to RSMF, HTML and DAT."""
    path = OUT / f"whatsapp-{n}.txt"
    if not path.exists():
        subprocess.run([PY, str(HERE / "gen_whatsapp.py"), str(path), "--messages", str(n)], check=True)
    root = OUT / f"produce-{n}-archive"
    child(NEW_ARCHIVE.format(root=str(root)) + INGEST.format(path=str(path)))
    target = OUT / f"produce-{n}"
    res = child(
        f"""
        import shutil
        from pathlib import Path
        from archiver.archive.session import open_archive
        from archiver.store.auditlog import Invocation
        from archiver.security.keyring import Secret
        from archiver.production.plan import Options
        from archiver.production.produce import produce
        root = Path({str(root)!r}); out = Path({str(target)!r})
        shutil.rmtree(out, ignore_errors=True)
        archive = open_archive(root / "archive", Secret("keyfile", (root / "bench.key").read_bytes(), "b"))
        inv = Invocation(command="produce", user="bench", host="bench")
        options = Options(matter="bench", out=out, formats=("rsmf", "html", "dat"), tz="Europe/London")
        _t0 = time.perf_counter()
        report = produce(archive, options, inv)
        result["seconds"] = round(time.perf_counter() - _t0, 2)
        archive.close()
        result.update(messages=report["counts"]["messages"], documents=report["counts"]["documents"])
        """
    )
    res["messages_per_second"] = round(int(res["messages"]) / float(res["seconds"]))  # type: ignore[arg-type]
    return res


def scale(total: int, per_file: int = 1_000_000) -> dict[str, object]:
    """A ``total``-message archive built from generated exports of ``per_file`` messages
    (each another group chat, same senders and years): every file's ingest whole process
    as it grows, then its size per message, search, verify and a purge of half of it."""
    root = OUT / f"scale-{total}-archive"
    child(NEW_ARCHIVE.format(root=str(root)) + "\nresult['created'] = True")
    files = []
    for i in range(total // per_file):
        path = OUT / f"scale-{per_file}-{i + 1}" / f"WhatsApp Chat with Desk {i + 1}.txt"
        if not path.exists():
            path.parent.mkdir(exist_ok=True)
            subprocess.run(
                [PY, str(HERE / "gen_whatsapp.py"), str(path), "--messages", str(per_file),
                 "--seed", str(i + 1)],
                check=True,
            )  # fmt: skip
        files.append(path)
    ingests = []
    for path in files:
        start = time.perf_counter()
        res = child(
            f"""
            from pathlib import Path
            from archiver.archive.session import open_archive
            from archiver.store.auditlog import Invocation
            from archiver.ingest.exports import IngestOptions, ingest
            from archiver.security.keyring import Secret
            root = Path({str(root)!r})
            archive = open_archive(root / "archive", Secret("keyfile", (root / "bench.key").read_bytes(), "b"))
            report = ingest(archive, [Path({str(path)!r})], IngestOptions(custodian="bench@broker.example", tz="Europe/London"), Invocation(command="ingest", user="bench", host="bench"))
            archive.close()
            s = report.sources[0]
            assert s.status == "ingested", s.error
            result.update(new=s.new, chats=[d["how"] for d in s.chats_decided])
            """
        )
        res["whole_process_seconds"] = round(time.perf_counter() - start, 2)
        res["messages_per_second"] = round(int(res["new"]) / float(res["whole_process_seconds"]))  # type: ignore[arg-type]
        ingests.append(res)
        print(json.dumps(res), flush=True)
    db = root / "archive" / "archive.db"
    size = db.stat().st_size
    out: dict[str, object] = {
        "messages": total,
        "ingest_per_file": ingests,
        "bytes_on_disk_per_message": round(size / total, 1),
        "archive_bytes": size,
    }
    out["search"] = search_step(total, root)
    print(json.dumps(out["search"]), flush=True)
    out["verify"] = verify_step(root)
    print(json.dumps(out["verify"]), flush=True)
    out["purge"] = purge_step(root, copy=False)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--messages", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3, help="runs per ingest measurement (median)")
    ap.add_argument("--only", default="whatsapp,telegram,search,verify,purge,produce")
    ap.add_argument("--produce-messages", type=int, default=100_000)
    ap.add_argument(
        "--scale", type=int, default=0, metavar="N",
        help="also build an N-message archive from 1M-message exports (e.g. 10000000)",
    )  # fmt: skip
    ap.add_argument("--scale-file", type=int, default=1_000_000, help="messages per export")
    args = ap.parse_args()
    OUT.mkdir(exist_ok=True)
    wanted = args.only.split(",")
    results: dict[str, object] = {"messages": args.messages, "started": time.strftime("%Y-%m-%d %H:%M:%S")}
    steps = {
        "whatsapp": lambda: whatsapp(args.messages, args.runs),
        "telegram": lambda: telegram(args.messages, args.runs),
        "search": lambda: search_step(args.messages),
        "verify": verify_step,
        "purge": purge_step,
        "produce": lambda: produce_step(args.produce_messages),
        "scale": lambda: scale(args.scale, args.scale_file),
    }
    if args.scale:
        wanted.append("scale")
    for name, step in steps.items():
        if name in wanted:
            print(f"== {name}", flush=True)
            results[name] = step()
            print(json.dumps(results[name], indent=2), flush=True)
    (OUT / "results.json").write_text(json.dumps(results, indent=2))
    print(f"results written to {OUT / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
