"""Building small archives and policies for the retention tests."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from archiver.archive.session import Archive
from archiver.ingest.exports import IngestOptions, IngestReport, ingest
from archiver.retention.decisions import load_policy
from archiver.store.auditlog import Invocation
from tests.conftest import inv


def clock(at: datetime) -> Invocation:
    return Invocation(command="test", user="tester", host="testhost", clock=lambda: at)


def add_export(
    archive: Archive,
    folder: Path,
    name: str,
    lines: list[str],
    custodian: str | None = "dana@broker.example",
    at: datetime | None = None,
) -> IngestReport:
    path = folder / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    who = clock(at) if at else inv("ingest")
    report = ingest(archive, [path], IngestOptions(custodian=custodian), who)
    assert all(s.status == "ingested" for s in report.sources), report.sources[0].error
    return report


def load(
    archive: Archive, folder: Path, toml: str, name: str = "policy.toml", *, lock: bool = False
) -> dict[str, object]:
    path = folder / name
    path.write_text(toml, encoding="utf-8")
    return load_policy(archive, [path], inv("policy.load"), lock=lock)


def ids_by_text(archive: Archive) -> dict[str, int]:
    return {r["text"]: r["id"] for r in archive.store.rows("SELECT id, text FROM messages")}


def texts(archive: Archive) -> set[str]:
    return {r["text"] for r in archive.store.rows("SELECT text FROM messages")}


def at(year: int, month: int = 1, day: int = 1) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)
