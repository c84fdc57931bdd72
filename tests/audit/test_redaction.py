"""`audit export --redact` on a real trail (ingest, search, people, policy, hold, purge,
export, backup, key, a failed ingest): data is hidden by meaning, operations stay
readable, the structure stays the same, and every field of the trail has a meaning."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from archiver.archive.session import open_archive
from archiver.audit import trail as audit
from archiver.security.keyring import Secret

Run = Callable[..., Result]
KEY = {"ARCHIVER_KEY_FILE": "k.key"}
REPO = Path(__file__).resolve().parents[2]
TOKEN = re.compile(r"hmac:[0-9a-f]{16}")


@pytest.fixture(scope="module")
def trail(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Plain and redacted exports of one real trail (built once: it takes a few seconds)."""
    from click.testing import CliRunner

    from archiver.cli import cli

    folder = tmp_path_factory.mktemp("trail")
    shutil.copytree(REPO / "sample_exports", folder / "sample_exports")
    shutil.copytree(REPO / "retention_policies", folder / "retention_policies")
    (folder / "junk").mkdir()
    (folder / "junk" / "WhatsApp Chat with Nobody.txt").write_bytes(b"\x00\x01 no chat here\n")
    runner = CliRunner()

    # Built once for the module, so outside the per-test isolation: the environment is
    # set here in full.
    clean: dict[str, str | None] = {
        name: None
        for name in ("ARCHIVER_PASSPHRASE", "ARCHIVER_RECOVERY_KEY", "ARCHIVER_NEW_PASSPHRASE",
                     "ARCHIVER_WAIT", "TZ")
    }  # fmt: skip

    def run(*args: str, key: str = "k.key") -> Result:
        import os

        cwd = os.getcwd()
        os.chdir(folder)
        env = clean | {"ARCHIVER_ARCHIVE": "archive", "ARCHIVER_KEY_FILE": key}
        try:
            return runner.invoke(cli, list(args), env=env | {"ARCHIVER_DEBUG": "1"})
        finally:
            os.chdir(cwd)

    steps = [
        ("init", "--tz", "Europe/London", "--key-file", "k.key"),
        ("ingest", "sample_exports", "--custodian", "dana@broker.example"),
        ("search", '"price guarantee" OR kaufpreis from:Jana', "--sort", "date"),
        ("people", "link", "Sam Lee", "Sam O'Neill", "--as", "Sam Whitaker"),
        ("policy", "load", "retention_policies/sec-17a-4.toml", "retention_policies/gdpr.toml"),
        ("hold", "create", "harlow-terms", "--matter", "Harlow v. Broker",
         "--reason", "letter from Harlow's counsel", "--chat", "Marcus Lee", "--query", "fill"),
        ("purge", "--as-of", "2028-01-01"),
        ("purge", "--as-of", "2028-01-01", "--execute", "--allow-future"),
        ("hold", "release", "harlow-terms", "--reason", "settled with Harlow"),
        ("export", "from:Sam", "--out", "production-harlow.jsonl"),
        ("key", "add-keyfile", "dana-laptop.key", "--role", "ingest", "--label", "Dana's laptop"),
        ("backup", "backup-harlow"),
        ("key", "add-keyfile", "officer-two.key", "--role", "admin", "--label", "Officer Two"),
        ("settings", "four-eyes", "on", "--purge-threshold", "5"),
        ("hold", "create", "harlow-appeal", "--matter", "Harlow appeal", "--reason", "appeal",
         "--chat", "Marcus Lee"),
        ("verify",),
        ("audit", "export", "--out", "plain.json"),
        ("audit", "export", "--out", "redacted.json", "--redact"),
    ]  # fmt: skip
    for step in steps[:4]:
        result = run(*step)
        assert result.exit_code == 0, (step, result.output)
    ids = {c["chat"]: str(c["id"]) for c in json.loads(run("chats", "--json").stdout)}
    marcus, nordlicht = ids["Marcus Lee"], ids["Projekt Nordlicht"]
    source = next(
        str(e["details"]["source_id"])
        for e in json.loads(run("audit", "--json").stdout)
        if e["details"].get("source") == "WhatsApp Chat - Projekt Nordlicht.zip"
    )
    for step in [
        ("chats", "merge", marcus, nordlicht, "--reason", "Nordlicht is Marcus's"),
        ("chats", "split", marcus, "--source", source, "--title", "Projekt Nordlicht",
         "--reason", "not Marcus's after all"),
        *steps[4:],
    ]:  # fmt: skip
        result = run(*step)
        assert result.exit_code == 0, (step, result.output)
    assert run("ingest", "junk").exit_code == 1  # a failure: its message names the file
    pending = run("hold", "release", "harlow-appeal", "--reason", "Harlow's appeal withdrawn")
    assert pending.exit_code == 7, pending.output  # four-eyes: filed for a second admin
    assert run("approve", "1", key="officer-two.key").exit_code == 0
    assert run("audit", "export", "--out", "redacted2.json", "--redact").exit_code == 0
    secret = Secret("keyfile", (folder / "k.key").read_bytes(), "t")
    archive = open_archive(folder / "archive", secret)
    try:
        redactor = audit.redactor(archive.store)
        audit.export_payload(archive.store, redactor)
        chats = [c["chat"] for c in json.loads(run("chats", "--json").stdout)]
        people = [p["name"] for p in json.loads(run("people", "list", "--json").stdout)]
    finally:
        archive.close()
    plain = json.loads((folder / "plain.json").read_text())["payload"]["entries"]
    redacted_text = (folder / "redacted2.json").read_text()
    return {
        "plain": plain,
        "redacted": json.loads(redacted_text)["payload"]["entries"],
        "text": redacted_text,
        "unknown": redactor.unknown,
        "chats": chats,
        "people": people,
    }


def fields(entry: dict[str, Any]) -> tuple[Any, Any]:
    return json.loads(entry["args"]), json.loads(entry["details"])


def entry(entries: list[dict[str, Any]], action: str, n: int = 0) -> dict[str, Any]:
    return [e for e in entries if e["action"] == action][n]


def test_every_field_of_a_real_trail_has_a_meaning(trail: dict[str, Any]) -> None:
    assert trail["unknown"] == set()


def test_no_name_query_text_or_file_name_survives(trail: dict[str, Any]) -> None:
    text = trail["text"]
    secrets = [
        *trail["chats"], *trail["people"], "dana@broker.example", "Sam Whitaker",
        "harlow-terms", "Harlow", "price guarantee", "kaufpreis", "Jana", "from:Sam",
        "Dana's laptop", "dana-laptop.key", "production-harlow", "backup-harlow",
        "sample_exports", "WhatsApp Chat", "ChatExport", "retention_policies", "k.key",
        "Nobody", "Family*", "@broker.example", "Nordlicht", "Marcus's", "Officer Two",
        "officer-two",
    ]  # fmt: skip
    assert [s for s in secrets if s and s in text] == []


def test_operations_stay_readable_and_the_structure_unchanged(trail: dict[str, Any]) -> None:
    plain, redacted = trail["plain"], trail["redacted"][: len(trail["plain"])]
    for before, after in zip(plain, redacted, strict=True):
        for column in ("seq", "at", "user", "host", "action", "outcome", "prev_hash", "hash"):
            assert before[column] == after[column]
        for was, now in zip(fields(before), fields(after), strict=True):
            assert shape(was) == shape(now)

    args, details = fields(entry(redacted, "search"))
    _, original = fields(entry(plain, "search"))
    assert (args["sort"], details["sort"], details["tz"]) == ("date", "date", "Europe/London")
    assert (details["total"], details["returned"]) == (original["total"], original["returned"])
    assert TOKEN.fullmatch(args["query"]) and details["query"] == args["query"]

    for action, n in (("purge", 0), ("purge.start", 0), ("purge", -1)):  # dry run, executed
        _, was = fields(entry(plain, action, n))
        args, now = fields(entry(redacted, action, n))
        assert args["as_of"] == "2028-01-01"
        for kept in ("as_of", "policy_version", "examined", "would_delete", "by_rule", "deleted"):
            assert now.get(kept) == was.get(kept)
        assert sorted(now["by_chat"].values()) == sorted(was["by_chat"].values())
        assert sorted(now["held"].values()) == sorted(was["held"].values())
        assert all(TOKEN.fullmatch(k) for k in [*now["by_chat"], *now["held"]])
        assert all(TOKEN.fullmatch(h) for h in now.get("holds_checked", []))

    args, details = fields(entry(redacted, "hold.create"))
    for data in (args["name"], args["matter"], args["reason"], *args["chat"], args["query"]):
        assert TOKEN.fullmatch(data)
    assert details["scope"]["tz"] == "Europe/London"
    assert details["held_now"] == fields(entry(plain, "hold.create"))[1]["held_now"]

    _, details = fields(entry(redacted, "policy.load"))
    _, was = fields(entry(plain, "policy.load"))
    for now_change, was_change in zip(details["changes"], was["changes"], strict=True):
        assert now_change["rule"] == was_change["rule"]
        assert now_change["after"]["name"] == was_change["after"]["name"]
        assert now_change["after"]["retain"] == was_change["after"]["retain"]
        assert now_change["after"]["scope"].get("platform") == was_change["after"]["scope"].get(
            "platform"
        )

    _, details = fields(entry(trail["redacted"], "ingest", -1))
    assert TOKEN.fullmatch(details["error"])  # a message naming the file
    assert TOKEN.fullmatch(details["source"])
    _, details = fields(entry(redacted, "ingest"))
    _, was = fields(entry(plain, "ingest"))
    for kept in ("sha256", "merkle_root", "source_id", "counts", "merkle_format"):
        assert details[kept] == was[kept]
    for hidden in ("source", "custodian"):
        assert TOKEN.fullmatch(details[hidden])
    _, details = fields(entry(redacted, "export"))
    assert (details["format"], details["tz"]) == ("jsonl", "Europe/London")


def shape(value: Any, key: str = "") -> Any:
    """The structure of a value: dict keys (except those that are data), list lengths."""
    if isinstance(value, dict):
        if key in audit.DATA_KEYED:
            return sorted(str(shape(v)) for v in value.values())
        return {k: shape(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(v, key) for v in value]
    return type(value).__name__


def test_a_failure_keeps_its_error_class_and_hides_its_message() -> None:
    redactor = audit.Redactor(b"k" * 32)
    stored = '{"error":"Refused","message":"prod-Harlow.jsonl already exists","brand_new":"x"}'
    out = json.loads(redactor.fields("export", stored))
    assert out["error"] == "Refused"
    assert TOKEN.fullmatch(out["message"])
    assert TOKEN.fullmatch(out["brand_new"])  # a field nobody classified yet is hidden
    assert redactor.unknown == {("export", "brand_new")}
