"""The audit-log mechanism: chained, keyed, written with its effect or not at all."""

from __future__ import annotations

import pytest

from archiver.archive.session import Archive
from archiver.store import auditlog
from tests.conftest import inv


def chain(archive: Archive) -> list[dict[str, object]]:
    return archive.store.rows("SELECT * FROM audit_log ORDER BY seq")


def test_entries_chain_from_a_genesis_bound_to_the_archive(archive: Archive) -> None:
    auditlog.append(archive.store, inv("status"), details={"n": 1})
    auditlog.append(archive.store, inv("search", query="deal"), details={"hits": 3})
    rows = chain(archive)
    assert [r["action"] for r in rows] == ["init", "status", "search"]
    key = auditlog.chain_key(archive.store)
    prev = auditlog.genesis_hash(key, archive.archive_id)
    for row in rows:
        assert row["prev_hash"] == prev
        fields = [
            row[k] for k in ("seq", "at", "user", "host", "action", "args", "outcome", "details")
        ]
        assert row["hash"] == auditlog.entry_hash(key, [*fields, prev])
        prev = row["hash"]
    assert rows[2]["args"] == '{"query":"deal"}'
    assert rows[2]["at"] == "2026-11-27T12:00:00.000000Z"


def test_entry_is_rolled_back_with_its_effect(archive: Archive) -> None:
    store = archive.store
    with pytest.raises(RuntimeError), store.transaction():
        store.set_meta("probe", "1")
        auditlog.append(store, inv("probe"))
        raise RuntimeError("effect failed")
    assert store.meta("probe") is None
    assert [r["action"] for r in chain(archive)] == ["init"]
    entry = auditlog.record_failure(store, inv("probe"), RuntimeError("effect failed\nmore"))
    assert entry.outcome == "error"
    assert entry.details == '{"error":"RuntimeError","message":"effect failed"}'


def test_chain_survives_key_rotation(archive: Archive) -> None:
    from archiver.archive import keys

    before = auditlog.chain_key(archive.store)
    keys.rotate(archive, inv("key.rotate"))
    assert auditlog.chain_key(archive.store) == before
