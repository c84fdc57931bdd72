"""Time `archiver verify` on an existing archive: the median of 3 runs, in messages/s.

    python bench/verify_bench.py ARCHIVE_DIR KEY_FILE [--runs 3] [--phases]

Builds nothing: point it at an archive made elsewhere (the ingest benchmark makes a
1M-message one). Each run opens the archive with the key file and runs the whole
``archiver.audit.verify.verify`` — audit chain, SQLite/SQLCipher/FTS5 checks, fingerprints,
Merkle roots, stored files — including the audit entry it appends, as the CLI does.
With --phases, also times the main-thread checks alone, to show where time goes.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from archiver.archive.session import open_archive
from archiver.audit import verify as verify_lib
from archiver.security.keyring import Secret, read_key_file
from archiver.store.auditlog import Invocation


def _invocation() -> Invocation:
    return Invocation(
        "verify", {"bench": True}, "verify-bench", "bench", clock=lambda: datetime.now(UTC)
    )


def bench(archive_dir: Path, key_file: Path, runs: int = 3) -> dict[str, object]:
    """Median wall time of ``runs`` full verifications and the messages/s it gives, with
    the CPU time of each run (all threads) and the machine's load average, since other
    work on a 2-core machine changes the wall time a lot."""
    secret = Secret("keyfile", read_key_file(key_file), str(key_file))
    times: list[float] = []
    cpu: list[float] = []
    messages = 0
    ok = True
    for _ in range(runs):
        archive = open_archive(archive_dir, secret)
        try:
            messages = int(archive.store.one("SELECT count(*) FROM messages"))
            start, start_cpu = time.perf_counter(), time.process_time()
            report = verify_lib.verify(archive, _invocation())
            times.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
            ok = ok and report.ok
        finally:
            archive.close()
    median = statistics.median(times)
    return {
        "archive": str(archive_dir),
        "messages": messages,
        "runs_s": [round(t, 2) for t in times],
        "median_s": round(median, 2),
        "cpu_s": [round(t, 2) for t in cpu],
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "messages_per_s": round(messages / median) if median else None,
        "clean": ok,
    }


def phases(archive_dir: Path, key_file: Path) -> dict[str, float]:
    """Seconds each main-thread phase takes on its own (no worker threads running)."""
    secret = Secret("keyfile", read_key_file(key_file), str(key_file))
    archive = open_archive(archive_dir, secret)
    store = archive.store
    out: dict[str, float] = {}
    try:
        check = verify_lib.Check
        steps: list[tuple[str, Callable[[], object]]] = [
            ("audit chain", lambda: verify_lib.check_chain(store, archive.archive_id, None)),
            ("fingerprints", lambda: verify_lib.check_messages(check("m", "", ""), store)),
            ("merkle roots", lambda: verify_lib.check_ingests(check("i", "", ""), store, {})),
            ("stored files", lambda: verify_lib.check_files(store)),
        ]
        for name, run in steps:
            start = time.perf_counter()
            run()
            out[name] = round(time.perf_counter() - start, 2)
    finally:
        archive.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("archive", type=Path, help="archive directory")
    parser.add_argument("key_file", type=Path, help="a key file that unlocks it")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--phases", action="store_true", help="also time each phase alone")
    args = parser.parse_args()
    result = bench(args.archive, args.key_file, args.runs)
    if args.phases:
        result["phases_alone_s"] = phases(args.archive, args.key_file)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
