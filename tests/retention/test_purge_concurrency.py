"""A purge that runs while others act: holds placed mid-purge, purges killed mid-way."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from archiver import parsers
from archiver.archive.session import Archive, open_archive
from archiver.core.errors import ArchiveBusy, InputError
from archiver.retention import holds
from archiver.retention import purge as purge_module
from archiver.retention.purge import dry_run, execute, purge_lock
from archiver.security import signing
from archiver.security.keyring import Secret
from archiver.store import auditlog
from archiver.store.database import Waiting
from tests.conftest import inv
from tests.fakeparser import FakeParser, FakeTelegramParser
from tests.retention_helpers import add_export, at, clock, load, texts

NOW = at(2026, 11, 27)
POLICY = """
[policy]
name = "gdpr"
[[rules]]
name = "one-year"
scope = { chat = ["Family*", "Deal*"] }
delete_after = "1 year"
"""


def lines(chat: str, n: int, sender: str = "Mum") -> list[str]:
    return [
        f"2019-05-01T18:{i:02d}:00+00:00|{chat}|{sender}|text|{chat} note {i}" for i in range(n)
    ]


@pytest.fixture(autouse=True)
def fake_parsers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parsers, "all_parsers", lambda: [FakeTelegramParser(), FakeParser()])


@pytest.fixture
def second(archive: Archive, key_file: Path) -> Archive:
    """Another command's connection to the same archive."""
    other = open_archive(archive.path, Secret("keyfile", key_file.read_bytes(), "test"))
    yield other
    other.close()


def test_a_hold_placed_mid_purge_protects_every_message_it_reported(
    archive: Archive, second: Archive, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_export(archive, tmp_path, "family.fake", lines("Family", 10))
    load(archive, tmp_path, POLICY)
    monkeypatch.setattr(purge_module, "BATCH", 2)
    placed: dict[str, object] = {}

    def after_batch(phase: str, n: int, total: int | None) -> None:
        if phase == "deleting" and not placed:  # a hold placed after the first batch
            placed.update(
                holds.create(
                    second, "family-matter", matter="M-1", reason="preservation letter",
                    custodian=[], chat=["Family"], participant=[], sent_after=None,
                    sent_before=None, query=None, inv=inv("hold.create"),
                )
            )  # fmt: skip

    report = execute(archive, NOW, clock(NOW), progress=after_batch)
    assert placed["held_now"] == 8
    assert report["would_delete"] == 10
    assert report["deleted"] == 2
    assert report["held"] == {"family-matter": 8}
    left = texts(archive)
    assert len(left) == 8 and all(t.startswith("Family note") for t in left)
    cert = json.loads(
        archive.store.one("SELECT certificate FROM purges WHERE id = ?", (report["purge_id"],))
    )["payload"]
    assert cert["counts"]["deleted"] == 2
    assert cert["tombstones"]["count"] == 2
    batches = [
        json.loads(r["details"])
        for r in archive.store.rows(
            "SELECT details FROM audit_log WHERE action = 'purge.batch' ORDER BY seq"
        )
    ]
    assert [(b["deleted"], b["kept_on_recheck"]) for b in batches] == [(2, 0)] + [(0, 2)] * 4


def test_a_longer_policy_loaded_mid_purge_stops_the_deletions(
    archive: Archive, second: Archive, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_export(archive, tmp_path, "family.fake", lines("Family", 6))
    load(archive, tmp_path, POLICY)
    monkeypatch.setattr(purge_module, "BATCH", 2)
    longer = POLICY.replace('"1 year"', '"10 years"')

    def after_batch(phase: str, n: int, total: int | None) -> None:
        if (
            phase == "deleting"
            and len(texts(second)) == 4
            and second.store.one("SELECT max(version) FROM policy_sets") == 1
        ):
            load(second, tmp_path, longer, name="longer.toml")

    report = execute(archive, NOW, clock(NOW), progress=after_batch)
    assert report["deleted"] == 2
    assert report["no_longer_due_on_recheck"] == 4
    assert len(texts(archive)) == 4


def test_a_read_only_command_mid_purge_does_not_rebuild_the_decisions(
    archive: Archive, second: Archive, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_export(archive, tmp_path, "family.fake", lines("Family", 6))
    load(archive, tmp_path, POLICY)
    monkeypatch.setattr(purge_module, "BATCH", 2)
    built: list[int] = []
    real = purge_module.Evaluator

    class Counting(real):  # type: ignore[misc, valid-type]
        def __init__(self, *args: object) -> None:
            built.append(1)
            super().__init__(*args)

    monkeypatch.setattr(purge_module, "Evaluator", Counting)

    def after_batch(phase: str, n: int, total: int | None) -> None:
        if phase == "deleting":  # a search loop in another process appends entries
            auditlog.append(second.store, inv("search"), details={"hits": 0})

    report = execute(archive, NOW, clock(NOW), progress=after_batch)
    assert report["deleted"] == 6
    assert len(built) == 1


def _kill_mid_purge(archive_path: Path, key_file: Path, after_batches: int) -> int:
    """Run a purge in a child process that SIGKILLs itself after some batches committed."""
    script = textwrap.dedent(
        f"""
        import os, signal
        from pathlib import Path
        from archiver import parsers
        from archiver.retention import purge
        from archiver.archive.session import open_archive
        from archiver.security.keyring import Secret
        from tests.fakeparser import FakeParser, FakeTelegramParser
        from tests.retention_helpers import at, clock
        parsers.all_parsers = lambda: [FakeTelegramParser(), FakeParser()]
        purge.BATCH = 2
        a = open_archive(Path({str(archive_path)!r}),
                         Secret("keyfile", Path({str(key_file)!r}).read_bytes(), "t"))
        done = []
        def step(phase, n, total):
            if phase != "deleting":
                return
            done.append(n)
            if len(done) == {after_batches}:
                os.kill(os.getpid(), signal.SIGKILL)
        purge.execute(a, at(2026, 11, 27), clock(at(2026, 11, 27)), progress=step)
        """
    )
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([sys.executable, "-c", script], env=env, cwd=root).returncode


def test_a_killed_purge_is_certified_by_the_next_one(
    archive: Archive, key_file: Path, tmp_path: Path
) -> None:
    add_export(archive, tmp_path, "family.fake", lines("Family", 4))
    load(archive, tmp_path, POLICY)
    first = execute(archive, NOW, clock(NOW))  # a certified purge before the killed one
    add_export(archive, tmp_path, "deal.fake", lines("Deal Desk", 10, sender="Dana"))
    archive.close()
    assert _kill_mid_purge(archive.path, key_file, after_batches=2) == -signal.SIGKILL
    reopened = open_archive(archive.path, Secret("keyfile", key_file.read_bytes(), "test"))
    try:
        assert len(texts(reopened)) == 6  # two batches of two were committed
        dry = dry_run(reopened, NOW, clock(NOW))
        assert dry["interrupted_purges"] == [first["purge_id"] + 1]
        cert_dir = tmp_path / "certs"
        cert_dir.mkdir()
        report = execute(reopened, NOW, clock(NOW), certificate_dir=cert_dir)
        (recovered,) = report["recovered"]
        assert recovered["deleted"] == 4
        assert report["deleted"] == 6
        assert texts(reopened) == set()
        public = reopened.signing_public_key
        docs = {}
        for path in sorted(cert_dir.iterdir()):
            doc = signing.verify_document(path.read_bytes(), public, path.name)
            docs[doc["payload"]["purge_id"]] = (doc["payload"], path)
        killed, _ = docs[recovered["purge_id"]]
        assert killed["counts"]["deleted"] == 4
        assert killed["tombstones"]["count"] == 4
        assert killed["interrupted"]["certified_by"] == "tester"
        assert killed["previous_certificate_sha256"] == first["certificate_sha256"]
        latest, _ = docs[report["purge_id"]]
        assert latest["previous_certificate_sha256"] == recovered["certificate_sha256"]
        assert "interrupted" not in latest
        # every tombstone belongs to a certified purge; nothing is left pending
        assert reopened.store.one("SELECT count(*) FROM purges WHERE certificate IS NULL") == 0
        assert reopened.store.one("SELECT count(*) FROM purge_lines") == 0
        assert reopened.store.one("SELECT count(*) FROM tombstones") == 14
        # the original the killed purge touched is redacted or deleted: no purged line left
        assert (
            reopened.store.one(
                "SELECT count(*) FROM sources WHERE name = 'deal.fake' AND status = 'purged'"
            )
            == 1
        )
    finally:
        reopened.close()


def test_certificate_dir_names_each_run_by_time_and_id(archive: Archive, tmp_path: Path) -> None:
    add_export(archive, tmp_path, "family.fake", lines("Family", 2))
    load(archive, tmp_path, POLICY)
    out = tmp_path / "certs"
    out.mkdir()
    one = execute(archive, NOW, clock(NOW), certificate_dir=out)
    two = execute(archive, NOW, clock(NOW), certificate_dir=out)
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        f"purge-20261127T000000Z-{one['purge_id']}.json",
        f"purge-20261127T000000Z-{two['purge_id']}.json",
    ]
    assert oct((out / names[0]).stat().st_mode & 0o777) == "0o600"
    with pytest.raises(InputError, match=r"--certificate-dir .*missing is not a directory"):
        execute(archive, NOW, clock(NOW), certificate_dir=tmp_path / "missing")


def test_only_one_purge_runs_at_a_time(archive: Archive, tmp_path: Path) -> None:
    add_export(archive, tmp_path, "family.fake", lines("Family", 2))
    load(archive, tmp_path, POLICY)
    archive.store.waiting = Waiting(0.4)  # --wait 0.4
    with purge_lock(archive), pytest.raises(ArchiveBusy, match="another `archiver purge"):
        execute(archive, NOW, clock(NOW))
    assert len(texts(archive)) == 2
