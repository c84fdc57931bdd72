"""Key-slot roles: what each role may run, how a refusal reads, and why editing keys.json
cannot change a slot's role."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from archiver import parsers
from archiver.archive.session import open_archive
from archiver.cli.permissions import COMMAND_PERMISSIONS
from archiver.cli.reference import command_paths
from archiver.core import crypto
from archiver.security.keyring import Keyring, Secret, _slot_check
from tests.fakeparser import FakeParser, FakeTelegramParser

Run = Callable[..., Result]
ADMIN = {"ARCHIVER_KEY_FILE": "k.key"}
EXPORT = [
    "2024-03-01T09:00:00+00:00|Deal Desk|Dana|text|Morning, the term sheet is in",
    "2024-03-01T09:02:00+00:00|Deal Desk|Sam|text|Price for zanzibar is 101.5",
]
POLICY = '[policy]\nname = "p"\n[[rules]]\nname = "r"\ndelete_after = "1 year"\n'


@pytest.fixture(autouse=True)
def fake_parsers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parsers, "all_parsers", lambda: [FakeTelegramParser(), FakeParser()])


def add_keyfile(run: Run, name: str, role: str, label: str | None = None) -> str:
    extra = ["--label", label] if label else []
    result = run("key", "add-keyfile", name, "--role", role, *extra, **ADMIN)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"Added {role} key-file slot ")
    return result.stdout.split()[4].rstrip(";")


@pytest.fixture
def ready(run: Run, tmp_path: Path) -> Path:
    """./archive (admin key k.key) with desk.fake ingested, a policy and a hold."""
    assert run("init", "--tz", "UTC", "--key-file", "k.key").exit_code == 0
    (tmp_path / "desk.fake").write_text("\n".join(EXPORT) + "\n", encoding="utf-8")
    (tmp_path / "more.fake").write_text(EXPORT[0].replace("09:00", "10:00") + "\n")
    (tmp_path / "policy.toml").write_text(POLICY)
    assert run("ingest", "desk.fake", "--custodian", "dana@x.example", **ADMIN).exit_code == 0
    assert run("policy", "load", "policy.toml", **ADMIN).exit_code == 0
    hold = ("hold", "create", "h1", "--matter", "M", "--reason", "R", "--chat", "Deal*")
    assert run(*hold, **ADMIN).exit_code == 0
    return tmp_path


def audit_tail(run: Run) -> dict[str, object]:
    entries = json.loads(run("audit", "--json", **ADMIN).stdout)
    return dict(entries[-1])


REFUSED, OK = 6, 0
READS = [
    (("status",), OK),
    (("search", "zanzibar"), OK),
    (("chats",), OK),
    (("export", "--out", "all.jsonl"), OK),
    (("key", "list"), OK),
    (("policy", "show"), OK),
    (("hold", "list"), OK),
    (("purge",), OK),  # a dry run
    (("retention", "forecast"), OK),
    (("requests", "list"), OK),
    (("settings", "show"), OK),
    (("verify",), OK),
]
ADMIN_ONLY = [
    ("hold", "create", "h2", "--matter", "M", "--reason", "R", "--chat", "*"),
    ("hold", "release", "h1", "--reason", "closed"),
    ("policy", "load", "policy.toml"),
    ("people", "link", "Dana", "Sam"),
    ("key", "add-keyfile", "another.key", "--role", "review"),
    ("key", "rotate"),
    ("settings", "four-eyes", "on"),
    ("approve", "1"),
]
ROLE_CASES = {
    "review": [*READS, (("ingest", "more.fake"), REFUSED), (("purge", "--execute"), REFUSED)]
    + [(args, REFUSED) for args in ADMIN_ONLY],
    "ingest": [*READS, (("ingest", "more.fake"), OK), (("purge", "--execute"), REFUSED)]
    + [(args, REFUSED) for args in ADMIN_ONLY],
    "purge": [*READS, (("ingest", "more.fake"), REFUSED), (("purge", "--execute"), OK)]
    + [(args, REFUSED) for args in ADMIN_ONLY],
}


@pytest.mark.parametrize("role", list(ROLE_CASES))
def test_each_role_runs_its_commands_and_is_refused_the_rest(
    run: Run, ready: Path, role: str
) -> None:
    add_keyfile(run, "job.key", role)
    for args, expected in ROLE_CASES[role]:
        result = run(*args, ARCHIVER_KEY_FILE="job.key")
        assert result.exit_code == expected, (args, result.output)
        if expected == REFUSED:
            assert "needs a key slot with" in result.stderr, args
    # nothing an admin-only command would have changed did change
    holds = json.loads(run("hold", "list", "--json", **ADMIN).stdout)
    assert [(h["name"], h["active"]) for h in holds] == [("h1", True)]
    slots = json.loads(run("key", "list", "--json", **ADMIN).stdout)
    assert len(slots) == 3


def test_a_refusal_names_both_roles_and_the_slot_and_is_audited(run: Run, ready: Path) -> None:
    slot = add_keyfile(run, "cron.key", "ingest", label="cron")
    result = run("hold", "release", "h1", "--reason", "closed", ARCHIVER_KEY_FILE="cron.key")
    assert result.exit_code == 6
    assert result.stderr == (
        "Error: `archiver hold release` needs a key slot with the admin role; this archive "
        f"was unlocked with key-file slot {slot} ('cron'), whose role is ingest. Unlock with a "
        "secret of a slot that has that role (`archiver key list` shows each slot's role).\n"
    )
    entry = audit_tail(run)
    assert (entry["action"], entry["outcome"]) == ("hold.release", "error")
    assert entry["details"]["error"] == "NotPermitted"  # type: ignore[index]
    purge = run("purge", "--execute", ARCHIVER_KEY_FILE="cron.key")
    assert purge.stderr.startswith(
        "Error: `archiver purge --execute` needs a key slot with the purge or admin role;"
    )


def test_init_makes_admin_slots_and_key_list_shows_roles(run: Run, ready: Path) -> None:
    add_keyfile(run, "r.key", "review")
    slots = json.loads(run("key", "list", "--json", ARCHIVER_KEY_FILE="r.key").stdout)
    assert [(s["kind"], s["role"], s["in_use"]) for s in slots] == [
        ("keyfile", "admin", False),
        ("recovery", "admin", False),
        ("keyfile", "review", True),
    ]


def test_a_slot_cannot_be_added_without_a_role(run: Run, ready: Path) -> None:
    result = run("key", "add-keyfile", "x.key", **ADMIN)
    assert result.exit_code == 2
    assert "Missing option '--role'" in result.stderr
    assert not (ready / "x.key").exists()


def test_every_command_has_a_decided_permission() -> None:
    """A new command must be placed in the table (else it needs admin)."""
    archive_free = {"init", "verify-signed", "verify-production"}
    leaves = {
        ".".join(path)
        for path in command_paths()
        if path and not any(p != path and p[: len(path)] == path for p in command_paths())
    }
    assert leaves - archive_free - set(COMMAND_PERMISSIONS) == set()
    groups_that_run = {"audit", "chats"}  # `archiver audit`, `archiver chats` list
    assert set(COMMAND_PERMISSIONS) - leaves - groups_that_run == set()


# --- the role is sealed into the slot ---------------------------------------------------------


def rewrite_slot(keys_path: Path, slot_id: str, **changes: object) -> None:
    """Edit a slot the way someone with a text editor would, fixing its checksum."""
    doc = json.loads(keys_path.read_text())
    for slot in doc["slots"]:
        if slot["id"] == slot_id:
            for key, value in changes.items():
                if value is None:
                    slot.pop(key, None)
                else:
                    slot[key] = value
            slot["check"] = _slot_check(slot)
    keys_path.write_text(json.dumps(doc))


@pytest.mark.parametrize(
    "change", [{"role": "admin"}, {"role": None}], ids=["role-edited", "role-removed"]
)
def test_editing_a_role_in_keys_json_breaks_the_slot_instead_of_upgrading_it(
    run: Run, ready: Path, change: dict[str, object]
) -> None:
    slot = add_keyfile(run, "cron.key", "ingest")
    keys_path = ready / "archive" / "keys.json"
    rewrite_slot(keys_path, slot, **change)
    result = run("hold", "release", "h1", "--reason", "x", ARCHIVER_KEY_FILE="cron.key")
    assert result.exit_code == 3
    assert result.stderr == (
        f"Error: {Path('archive/keys.json')}: key slot {slot} opened with this secret, but its "
        "sealed database key does not verify: the slot's role or sealed key was changed "
        "outside archiver (a role is sealed into its slot and cannot be edited). Restore "
        "keys.json from a backup and investigate.\n"
    )


def test_an_unknown_role_in_keys_json_is_refused_at_load(run: Run, ready: Path) -> None:
    slot = add_keyfile(run, "cron.key", "ingest")
    rewrite_slot(ready / "archive" / "keys.json", slot, role="root")
    result = run("status", **ADMIN)
    assert result.exit_code == 3
    assert result.stderr == (
        f"Error: archive/keys.json: key slot {slot} has an unknown role 'root' (roles: admin, "
        "ingest, review, purge); restore keys.json from a backup\n"
    )


def make_legacy(keys_path: Path, db_key: bytes) -> None:
    """Rewrite keys.json as archiver wrote it before roles: format 1, no role, the sealed
    database key bound to (archive, slot, kind) only."""
    doc = json.loads(keys_path.read_text())
    doc["version"] = 1
    for slot in doc["slots"]:
        slot.pop("role")
        aad = f"archiver-dbkey-v1|{doc['archive_id']}|{slot['id']}|{slot['kind']}".encode()
        public = crypto.b64d(slot["public_key"])
        slot["wrapped_db_key"] = crypto.b64e(crypto.envelope_seal(public, db_key, aad))
        slot["check"] = _slot_check(slot)
    doc.pop("mac")
    ring = Keyring(doc, keys_path)
    doc["mac"] = ring._mac(db_key)
    keys_path.write_text(json.dumps(doc))


def test_slots_of_an_archive_made_before_roles_are_admin(run: Run, ready: Path) -> None:
    archive = open_archive(
        ready / "archive", Secret("keyfile", (ready / "k.key").read_bytes(), "t")
    )
    db_key = archive.db_key
    archive.close()
    make_legacy(ready / "archive" / "keys.json", db_key)
    slots = json.loads(run("key", "list", "--json", **ADMIN).stdout)
    assert [(s["kind"], s["role"]) for s in slots] == [("keyfile", "admin"), ("recovery", "admin")]
    assert run("hold", "release", "h1", "--reason", "closed", **ADMIN).exit_code == 0
    # the next change writes format 2; the old slots keep working as admin
    add_keyfile(run, "r.key", "review")
    assert json.loads((ready / "archive" / "keys.json").read_text())["version"] == 2
    assert run("key", "rotate", **ADMIN).exit_code == 0
    assert run("hold", "create", "h3", "--matter", "M", "--reason", "R", **ADMIN).exit_code == 0
    refused = run(
        "hold", "create", "h4", "--matter", "M", "--reason", "R", ARCHIVER_KEY_FILE="r.key"
    )
    assert refused.exit_code == 6


# --- removing the slots an archive cannot do without -----------------------------------------


def slot_ids(run: Run, env: dict[str, str]) -> dict[str, str]:
    rows = json.loads(run("key", "list", "--json", **env).stdout)
    return {r["label"] or r["kind"]: r["id"] for r in rows}


def test_removing_the_recovery_slot_needs_confirmation(run: Run, ready: Path) -> None:
    recovery = slot_ids(run, ADMIN)["recovery"]
    result = run("key", "remove", recovery, **ADMIN)
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: slot {recovery} is the recovery slot: without it, a lost passphrase or key "
        "file can never be replaced and the archive is lost with it. If you really mean it, "
        "run this again with --yes-i-understand.\n"
    )
    assert recovery in slot_ids(run, ADMIN).values()
    confirmed = run("key", "remove", recovery, "--yes-i-understand", **ADMIN)
    assert confirmed.exit_code == 0, confirmed.output
    entry = audit_tail(run)
    assert entry["details"]["confirmed"][0].startswith(f"slot {recovery} is the recovery")  # type: ignore[index]


def test_removing_the_last_admin_slot_needs_confirmation(run: Run, ready: Path) -> None:
    add_keyfile(run, "r.key", "review", label="reviewer")
    ids = slot_ids(run, ADMIN)
    assert run("key", "remove", ids["recovery"], "--yes-i-understand", **ADMIN).exit_code == 0
    result = run("key", "remove", ids["keyfile"], **ADMIN)
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: slot {ids['keyfile']} is the last admin slot: without it no one can ever "
        "again manage key slots, holds, policies or settings (an admin slot cannot be made "
        "without one). If you really mean it, run this again with --yes-i-understand.\n"
    )
    assert run("key", "remove", ids["keyfile"], "--yes-i-understand", **ADMIN).exit_code == 0
    assert run("status", **ADMIN).exit_code == 3  # k.key no longer opens the archive
    assert run("status", ARCHIVER_KEY_FILE="r.key").exit_code == 0


def test_a_review_slot_cannot_remove_slots(run: Run, ready: Path) -> None:
    add_keyfile(run, "r.key", "review")
    recovery = slot_ids(run, ADMIN)["recovery"]
    result = run("key", "remove", recovery, "--yes-i-understand", ARCHIVER_KEY_FILE="r.key")
    assert result.exit_code == 6
    assert recovery in slot_ids(run, ADMIN).values()


def test_a_rotation_interrupted_before_promotion_is_finished_by_a_role_slot(
    run: Run, ready: Path
) -> None:
    """The pending key is sealed with the slot's role too: a non-admin slot finishes it."""
    add_keyfile(run, "cron.key", "ingest")
    path = ready / "archive"
    archive = open_archive(path, Secret("keyfile", (ready / "k.key").read_bytes(), "t"))
    old, new = archive.db_key, crypto.random_bytes(32)
    archive.keyring.set_pending(new)
    archive.keyring.save(old)
    archive.store.execute(f"PRAGMA rekey = \"x'{new.hex()}'\"")
    archive.close()  # killed here: the database has the new key, keys.json still the old
    reopened = open_archive(path, Secret("keyfile", (ready / "cron.key").read_bytes(), "t"))
    assert (reopened.db_key, reopened.role) == (new, "ingest")
    reopened.close()
    assert "pending_wrapped_db_key" not in (path / "keys.json").read_text()
    assert run("search", "zanzibar", ARCHIVER_KEY_FILE="cron.key").exit_code == 0
    assert run("status", **ADMIN).exit_code == 0
