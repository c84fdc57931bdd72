"""A mistake at ingest is corrected with evidence: `archiver sources list|reparse`."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archiver.archive.session import Archive, create_archive
from archiver.audit.verify import verify
from archiver.core import identity
from archiver.core.errors import InputError, NotFound, Refused
from archiver.core.model import Message, Record
from archiver.curation import rederive
from archiver.curation.sources import ReparseOptions, list_sources, reparse_source
from archiver.ingest.exports import IngestOptions, SourceReport, ingest
from archiver.parsers.base import ExportUnit, ParseOptions, Parser
from archiver.security.keyring import Secret
from tests.conftest import inv

SUMMER = [
    "6/14/24, 9:00 AM - Priya Nair: Morning, the term sheet is in",
    "6/14/24, 9:01 AM - Sam O'Neill: ok",
    "6/14/24, 9:01 AM - Sam O'Neill: ok",
    "6/15/24, 5:30 PM - Priya Nair: Price is 101.5",
    "6/15/24, 11:45 PM - Dana Kim: Signing tomorrow",
]
NY = "America/New_York"


def whatsapp(folder: Path, lines: list[str], title: str = "Deal Desk") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"WhatsApp Chat with {title}.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def ingest_one(
    archive: Archive,
    path: Path,
    tz: str = "UTC",
    custodian: str = "dana@broker.example",
    **options: Any,
) -> SourceReport:
    opts = IngestOptions(custodian=custodian, tz=tz, tz_explicit=True, **options)
    (source,) = ingest(archive, [path], opts, inv("ingest")).sources
    assert source.status in ("ingested", "already-ingested"), source.error
    return source


def reparse(archive: Archive, source_id: int = 1, **options: Any) -> dict[str, Any]:
    options.setdefault("reason", "test")
    return reparse_source(archive, source_id, ReparseOptions(**options), inv("sources.reparse"))


def messages(archive: Archive) -> list[dict[str, Any]]:
    return archive.store.rows(
        "SELECT id, sent_at, fingerprint, kind, text, occurrence, source_line FROM messages "
        "ORDER BY id"
    )


def verified(archive: Archive) -> None:
    report = verify(archive, inv("verify"))
    assert report.ok, report.first_problem


def last_entry(archive: Archive, action: str = "sources.reparse") -> dict[str, Any]:
    row = archive.store.rows(
        "SELECT outcome, details FROM audit_log WHERE action = ? ORDER BY seq DESC LIMIT 1",
        (action,),
    )[0]
    return {"outcome": row["outcome"], **json.loads(row["details"])}


@pytest.fixture
def other(tmp_path: Path, key_file: Path) -> Iterator[Archive]:
    """A second archive, for comparing a reparse with an ingest done right."""
    made = create_archive(
        tmp_path / "other", Secret("keyfile", key_file.read_bytes(), "t"), inv("init"), tz="UTC"
    )
    yield made.archive
    made.archive.close()


def test_a_wrong_zone_is_corrected_as_if_the_export_had_been_read_right(
    archive: Archive, other: Archive, tmp_path: Path
) -> None:
    export = whatsapp(tmp_path / "a", SUMMER)
    ingest_one(archive, export, tz="UTC")
    before = messages(archive)
    report = reparse(archive, tz=NY, reason="the phone was in New York")
    assert report["counts"] | {"unparsed": None} == {
        "derived": 5, "unchanged": 0, "moved": 5, "changed": 0, "merged": 0, "unlinked": 0,
        "added": 0, "linked": 0, "previously_purged": 0, "held": 0, "not_rederived": 0,
        "unparsed": None,
    }  # fmt: skip
    assert [(m["id"], m["from"], m["to"]) for m in report["moved"]] == [
        (before[0]["id"], "2024-06-14T09:00:00Z", "2024-06-14T13:00:00Z"),
        (before[1]["id"], "2024-06-14T09:01:00Z", "2024-06-14T13:01:00Z"),
        (before[2]["id"], "2024-06-14T09:01:00Z", "2024-06-14T13:01:00Z"),
        (before[3]["id"], "2024-06-15T17:30:00Z", "2024-06-15T21:30:00Z"),
        (before[4]["id"], "2024-06-15T23:45:00Z", "2024-06-16T03:45:00Z"),
    ]
    ingest_one(other, export, tz=NY)
    assert messages(archive) == messages(other)  # ids, times, fingerprints: all the same
    for row in messages(archive):
        assert identity.id_second(row["id"]) == row["sent_at"]
    verified(archive)


def test_the_reparse_is_recorded_with_options_ids_and_merkle_root(
    archive: Archive, tmp_path: Path
) -> None:
    ingest_one(archive, whatsapp(tmp_path / "a", SUMMER), tz="UTC")
    report = reparse(archive, tz=NY, reason="the phone was in New York")
    entry = last_entry(archive)
    assert entry["outcome"] == "ok"
    assert entry["options"]["tz"] == ["UTC", NY]
    assert entry["reason"] == "the phone was in New York"
    assert [(m["id"], m["new_id"]) for m in entry["moved"]] == [
        (m["id"], m["new_id"]) for m in report["moved"]
    ]
    recorded = archive.store.one("SELECT merkle_root FROM sources WHERE id = 1")
    assert entry["merkle_root"] == report["merkle_root"] == recorded
    assert archive.store.one("SELECT tz FROM sources WHERE id = 1") == NY
    verified(archive)  # the reparse entry anchors the source's new root


def test_a_dry_run_shows_the_change_and_writes_nothing_but_its_audit_entry(
    archive: Archive, tmp_path: Path
) -> None:
    ingest_one(archive, whatsapp(tmp_path / "a", SUMMER), tz="UTC")
    before = messages(archive)
    source_before = archive.store.rows("SELECT * FROM sources")
    dry = reparse(archive, tz=NY, dry_run=True, reason="")
    assert dry["dry_run"] and dry["counts"]["moved"] == 5
    assert messages(archive) == before
    assert archive.store.rows("SELECT * FROM sources") == source_before
    entry = last_entry(archive)
    assert entry["dry_run"] is True and "merkle_root" not in entry
    assert entry["would_be_merkle_root"] == dry["merkle_root"]
    verified(archive)
    applied = reparse(archive, tz=NY)
    assert applied["moved"] == dry["moved"]  # the dry run showed exactly what happens


def test_reparsing_with_the_options_it_was_read_with_changes_nothing(
    archive: Archive, tmp_path: Path
) -> None:
    ingest_one(archive, whatsapp(tmp_path / "a", SUMMER), tz=NY)
    before = messages(archive)
    report = reparse(archive)
    assert report["counts"]["unchanged"] == 5
    assert report["moved"] == report["changed"] == report["added"] == []
    assert messages(archive) == before
    verified(archive)


def test_a_reparse_needs_a_reason_unless_it_is_a_dry_run(archive: Archive, tmp_path: Path) -> None:
    ingest_one(archive, whatsapp(tmp_path / "a", SUMMER), tz="UTC")
    with pytest.raises(InputError) as refused:
        reparse(archive, tz=NY, reason=" ")
    assert str(refused.value) == (
        "a reparse changes archived messages: give --reason (recorded in the audit trail), "
        "or --dry-run to see the change first"
    )
    with pytest.raises(NotFound, match="no source with id 7; see `archiver sources list`"):
        reparse(archive, 7)


def test_a_wrong_date_order_is_corrected(archive: Archive, tmp_path: Path) -> None:
    ambiguous = [
        "03/04/2024, 09:00 - Mum: Sunday lunch at ours?",
        "05/04/2024, 18:00 - Dad: I will bring the wine",
    ]
    ingest_one(archive, whatsapp(tmp_path / "a", ambiguous, "Family"), date_order="mdy")
    assert archive.store.one("SELECT min(sent_at) FROM messages") == int(
        datetime(2024, 3, 4, 9, tzinfo=UTC).timestamp()
    )
    report = reparse(archive, date_order="dmy", reason="a UK phone")
    assert report["options"]["date_order"] == ["mdy", "dmy"]
    assert [(m["from"], m["to"]) for m in report["moved"]] == [
        ("2024-03-04T09:00:00Z", "2024-04-03T09:00:00Z"),
        ("2024-05-04T18:00:00Z", "2024-04-05T18:00:00Z"),
    ]
    (row,) = list_sources(archive, inv("sources.list"))
    assert (row["date_order"], row["status"], row["reparsed"]) == ("dmy", "reparsed", 1)
    verified(archive)


def hold(archive: Archive, name: str, **scope: Any) -> None:
    from archiver.retention import holds

    base: dict[str, Any] = {
        "custodian": [], "chat": [], "participant": [], "sent_after": None,
        "sent_before": None, "query": None,
    }  # fmt: skip
    holds.create(archive, name, matter="M", reason="r", inv=inv("hold.create"), **(base | scope))


def test_a_message_under_hold_refuses_the_reparse(archive: Archive, tmp_path: Path) -> None:
    ingest_one(archive, whatsapp(tmp_path / "a", SUMMER), tz="UTC")
    hold(archive, "sheet", query='"term sheet"')
    before = messages(archive)
    with pytest.raises(Refused) as refused:
        reparse(archive, tz=NY)
    assert str(refused.value) == (
        f"refused: 1 message(s) this reparse would change are under legal hold (sheet): "
        f"{before[0]['id']}. With --force and --reason they are kept exactly as they are and "
        "the others are reparsed"
    )
    assert messages(archive) == before


def test_forced_the_held_message_is_kept_exactly_and_the_others_are_reparsed(
    archive: Archive, tmp_path: Path
) -> None:
    ingest_one(archive, whatsapp(tmp_path / "a", SUMMER), tz="UTC")
    hold(archive, "sheet", query='"term sheet"')
    before = messages(archive)
    report = reparse(archive, tz=NY, force=True, reason="counsel approved; hold kept")
    assert report["held"] == [{"id": before[0]["id"], "holds": ["sheet"]}]
    assert report["counts"]["moved"] == 4
    after = {m["id"]: m for m in messages(archive)}
    assert after[before[0]["id"]] == before[0]
    verified(archive)


def test_a_corrected_custodian(archive: Archive, tmp_path: Path) -> None:
    from archiver.curation.custodians import list_custodians

    ingest_one(archive, whatsapp(tmp_path / "a", SUMMER), tz="UTC")
    report = reparse(archive, custodian=" Sam@Broker.example", reason="Sam's phone, not Dana's")
    assert report["options"]["custodian"] == ["dana@broker.example", "sam@broker.example"]
    holders = archive.store.rows(
        "SELECT DISTINCT c.name FROM message_custodian_ids v JOIN custodians c "
        "ON c.id = v.custodian_id"
    )
    assert holders == [{"name": "sam@broker.example"}]
    assert [(c["name"], c["sources"], c["messages"]) for c in list_custodians(archive, inv())] == [
        ("dana@broker.example", 0, 0),
        ("sam@broker.example", 1, 5),
    ]
    verified(archive)


def test_a_held_custodian_scope_refuses_a_custodian_correction(
    archive: Archive, tmp_path: Path
) -> None:
    ingest_one(archive, whatsapp(tmp_path / "a", SUMMER), tz="UTC")
    hold(archive, "dana", custodian=["dana@broker.example"])
    with pytest.raises(Refused, match=r"refused: 5 message\(s\) this reparse would change"):
        reparse(archive, custodian="sam@broker.example")


def test_copies_made_by_a_wrong_zone_become_one_message_once_the_chats_are_one(
    archive: Archive, tmp_path: Path
) -> None:
    from archiver.curation import chats

    export = whatsapp(tmp_path / "a", SUMMER)
    ingest_one(archive, export, tz=NY, custodian="priya@broker.example")
    wrong = ingest_one(archive, export, tz="UTC")  # Dana's copy, read in the wrong zone
    assert wrong.new == 5 and wrong.source_id == 2
    first = reparse(archive, 2, tz=NY)
    assert first["also_in_chat"] == {
        "chat_id": 1, "chat": "Deal Desk", "shared": 5, "this_chat": 2,
    }  # fmt: skip
    chats.merge(archive, 1, [2], "one group", inv("chats.merge"))
    second = reparse(archive, 2, reason="merge the copies")
    assert second["counts"]["merged"] == 5
    assert archive.store.one("SELECT count(*) FROM messages") == 5
    holders = archive.store.one("SELECT count(DISTINCT custodian_id) FROM message_custodian_ids")
    assert holders == 2
    assert archive.store.one("SELECT count(*) FROM message_sources WHERE source_id = 2") == 5
    verified(archive)


PURGE_2023 = """
[policy]
name = "test"
[[rules]]
name = "one-year"
scope = {}
delete_after = "1 year"
"""


def test_a_redacted_original_reparses_as_what_it_is_and_purged_stays_purged(
    archive: Archive, tmp_path: Path
) -> None:
    from archiver.retention.purge import execute
    from tests.retention_helpers import clock, load

    lines = ["6/14/23, 9:00 AM - Priya Nair: Old news", *SUMMER]
    ingest_one(archive, whatsapp(tmp_path / "a", lines), tz="UTC")
    load(archive, tmp_path, PURGE_2023)
    when = datetime(2024, 7, 1, tzinfo=UTC)
    assert execute(archive, when, clock(when))["deleted"] == 1
    assert archive.store.one("SELECT status FROM sources") == "redacted"
    report = reparse(archive, tz=NY)
    assert (report["counts"]["derived"], report["counts"]["moved"]) == (5, 5)
    assert report["added"] == [] and report["not_rederived"] == []
    assert archive.store.one("SELECT count(*) FROM messages") == 5
    assert archive.store.one("SELECT count(*) FROM tombstones") == 1
    verified(archive)


def test_purged_stays_purged_when_another_export_is_reparsed(
    archive: Archive, tmp_path: Path
) -> None:
    from archiver.retention.purge import execute
    from tests.retention_helpers import clock, load

    lines = ["6/14/23, 9:00 AM - Priya Nair: Old news", *SUMMER]
    ingest_one(archive, whatsapp(tmp_path / "a", lines), tz="UTC")
    load(archive, tmp_path, PURGE_2023)
    when = datetime(2024, 7, 1, tzinfo=UTC)
    execute(archive, when, clock(when))
    again = ingest_one(archive, whatsapp(tmp_path / "b", lines), tz="UTC", custodian="sam@x.io")
    assert again.previously_purged == 1
    report = reparse(archive, again.source_id)
    assert report["counts"]["previously_purged"] == 1
    assert archive.store.one("SELECT count(*) FROM messages WHERE text = 'Old news'") == 0
    verified(archive)


class Improved:
    """The WhatsApp parser after an improvement: 'Price is 101.5' is read as a poll, one
    message is no longer found, and a line it missed is a message now."""

    def __init__(self, inner: Parser) -> None:
        self.inner = inner
        self.name, self.platform, self.version = inner.name, inner.platform, "improved"

    def sniff(self, unit: ExportUnit) -> bool:
        return self.inner.sniff(unit)

    def parse(self, unit: ExportUnit, options: ParseOptions) -> Iterator[Record]:
        for record in self.inner.parse(unit, options):
            if isinstance(record, Message) and record.text == "Price is 101.5":
                yield Message(
                    record.chat_key, "poll", record.sender, record.sent_at,
                    record.sent_at_text, "Price is 101.5?", line=record.line,
                )  # fmt: skip
                continue
            if isinstance(record, Message) and record.text == "Signing tomorrow":
                yield Message(
                    record.chat_key, "text", record.sender, record.sent_at,
                    record.sent_at_text, "A message the old parser missed", line=99,
                )  # fmt: skip
                continue
            yield record


class Dropping(Improved):
    """A parser that no longer finds the "ok" messages."""

    def parse(self, unit: ExportUnit, options: ParseOptions) -> Iterator[Record]:
        for record in self.inner.parse(unit, options):
            if not (isinstance(record, Message) and record.text == "ok"):
                yield record


def test_a_parser_improvement_re_derives_kinds_and_texts_with_stable_ids(
    archive: Archive, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest_one(archive, whatsapp(tmp_path / "a", SUMMER), tz=NY)
    before = {m["text"]: m for m in messages(archive)}
    real = rederive.parser_named
    monkeypatch.setattr(rederive, "parser_named", lambda name: Improved(real(name)))
    report = reparse(archive, reason="WhatsApp locale tables improved")
    price = before["Price is 101.5"]["id"]
    assert report["changed"] == [
        {"id": price, "new_id": price, "fields": {
            "kind": ["text", "poll"], "text": ["Price is 101.5", "Price is 101.5?"],
        }},
    ]  # fmt: skip
    assert report["not_rederived"] == [before["Signing tomorrow"]["id"]]
    (added,) = report["added"]
    after = {m["id"]: m for m in messages(archive)}
    assert after[price]["kind"] == "poll" and after[added]["text"].startswith("A message")
    assert after[before["Signing tomorrow"]["id"]] == before["Signing tomorrow"]  # kept
    (row,) = list_sources(archive, inv("sources.list"))
    assert (row["status"], row["not_rederived"]) == ("reparsed", 1)
    assert row["parser"].startswith("whatsapp/improved")
    verified(archive)


def test_moved_messages_keep_their_attachments_and_are_found_by_search(
    archive: Archive, tmp_path: Path
) -> None:
    from archiver.search.engine import search

    folder = tmp_path / "z"
    folder.mkdir()
    export = folder / "WhatsApp Chat - Deal Desk.zip"
    with zipfile.ZipFile(export, "w") as z:
        z.writestr(
            "_chat.txt",
            "[14/06/2024, 09:00:00] Priya Nair: Term sheet attached\r\n"
            "[14/06/2024, 09:00:05] Priya Nair: <attached: 00000001-sheet.pdf>\r\n",
        )
        z.writestr("00000001-sheet.pdf", b"%PDF-1.4 term sheet")
    ingest_one(archive, export, tz="UTC")
    report = reparse(archive, tz="Europe/London")
    assert report["counts"]["moved"] == 2
    new_ids = {m["new_id"] for m in report["moved"]}
    assert set(
        archive.store.one("SELECT group_concat(message_id) FROM attachments").split(",")
    ) <= {str(i) for i in new_ids}
    found = search(archive, '"term sheet"', inv("search"))
    assert set(found.ids) <= new_ids and found.total == 1
    verified(archive)


TELEGRAM_HTML = Path(__file__).resolve().parents[2] / "sample_exports" / "telegram"


def test_a_telegram_message_edited_in_a_later_export_moves_with_all_its_versions(
    archive: Archive, tmp_path: Path
) -> None:
    import shutil

    first = tmp_path / "a" / "ChatExport_2024-02-02"
    later = tmp_path / "b" / "ChatExport_2024-02-02"
    shutil.copytree(TELEGRAM_HTML / "ChatExport_2024-02-02", first)
    shutil.copytree(TELEGRAM_HTML / "ChatExport_2024-02-02", later)
    page = later / "messages.html"
    page.write_text(
        page.read_text(encoding="utf-8").replace("Friday 09:15 is free.", "Friday 09:30 is free."),
        encoding="utf-8",
    )
    ingest_one(archive, first, tz="UTC")
    assert ingest_one(archive, later, tz="UTC", custodian="sam@broker.example").new_versions == 1
    report = reparse(archive, 1, tz="Europe/Berlin", reason="the practice is in Berlin")
    assert report["counts"]["moved"] == 7
    edited = archive.store.one("SELECT id FROM messages WHERE version = 2")
    assert edited in {m["new_id"] for m in report["moved"]}
    # Sam's export has the same messages by platform id: sightings whatever the zone
    counts = reparse(archive, 2, tz="Europe/Berlin")["counts"]
    assert (counts["unchanged"] + counts["linked"], counts["moved"], counts["added"]) == (9, 0, 0)
    verified(archive)


def cli_env(tmp_path: Path, key_file: Path) -> dict[str, str]:
    return {"ARCHIVER_ARCHIVE": str(tmp_path / "arc"), "ARCHIVER_KEY_FILE": str(key_file)}


def test_sources_reparse_on_the_command_line(run: Any, tmp_path: Path, key_file: Path) -> None:
    env = cli_env(tmp_path, key_file)
    export = whatsapp(tmp_path / "a", SUMMER[:2])
    assert run("init", "--tz", "UTC", "--key-file", str(key_file), **env).exit_code == 0
    assert run("ingest", str(export), "--custodian", "dana@broker.example", **env).exit_code == 0
    again = run("ingest", str(export), "--custodian", "dana@broker.example", "--tz", NY, **env)
    assert again.exit_code == 0
    assert " ".join(again.stderr.split()) == (
        "Warning: WhatsApp Chat with Deal Desk.txt: this export was ingested before (source 1) "
        "with time zone UTC; ingesting it again changes nothing. To read it again, run "
        "`archiver sources reparse 1 --tz America/New_York --reason ...`"
    )
    dry = run("sources", "reparse", "1", "--tz", NY, "--dry-run", **env)
    assert dry.exit_code == 0, dry.output
    lines = dry.stdout.splitlines()
    assert lines[:2] == [
        "Reparse of source 1 (WhatsApp Chat with Deal Desk.txt): time zone UTC -> America/New_York",
        "2 message(s) derived: 0 unchanged, 2 moved, 0 changed, 0 merged, 0 unlinked, 0 added, "
        "0 linked, 0 previously purged, 0 held, 0 not re-derived",
    ]
    old, new = (
        identity.id_base(int(datetime(2024, 6, 14, h, tzinfo=UTC).timestamp())) for h in (9, 13)
    )
    assert f"│ {old} │ {new} │ 2024-06-14 13:00:00 │ +4h      │" in dry.stdout
    assert lines[-1] == (
        "Dry run: nothing was changed. Run again without --dry-run (with --reason) to apply."
    )
    unreasoned = run("sources", "reparse", "1", "--tz", NY, **env)
    assert unreasoned.exit_code == 1
    assert unreasoned.stderr == (
        "Error: a reparse changes archived messages: give --reason (recorded in the audit "
        "trail), or --dry-run to see the change first\n"
    )
    legacy = run("sources", "reparse", "1", "--tz", "EST", "--reason", "x", **env)
    assert legacy.exit_code == 1
    assert legacy.stderr.startswith("Error: time zone EST has no daylight saving")
    done = run("sources", "reparse", "1", "--tz", NY, "--reason", "phone in NY", **env)
    assert done.exit_code == 0, done.output
    assert done.stdout.splitlines()[-1].startswith("Merkle root of the export's messages: ")
    human = run("sources", "list", **env).stdout.splitlines()
    assert human[4] == (
        "│ 1  │ …l Desk.txt │ dana@broker… │ America/New_York │ mdy   │ 2    │ reparsed │"
    )
    listed = json.loads(run("sources", "list", "--json", **env).stdout)
    assert [(s["id"], s["tz"], s["status"], s["original"], s["messages"]) for s in listed] == [
        (1, NY, "reparsed", "kept", 2)
    ]
    missing = run("sources", "reparse", "9", "--reason", "x", **env)
    assert (missing.exit_code, missing.stderr) == (
        1,
        "Error: no source with id 9; see `archiver sources list`\n",
    )
    assert run("verify", **env).exit_code == 0


def by_line(archive: Archive) -> list[dict[str, Any]]:
    """The messages in file order, each id as its second: a moved message takes the next
    free id of its new second, never one a message moved out of (ids are never reused),
    so its sequence number within the second can differ from a first ingest's."""
    rows = sorted(messages(archive), key=lambda r: (r["source_line"], r["id"]))
    assert all(identity.id_second(r["id"]) == r["sent_at"] for r in rows)
    return [r | {"id": identity.id_second(r["id"])} for r in rows]


ZONES = ["UTC", NY, "Europe/London", "Asia/Kolkata", "UTC-05:00", "Australia/Lord_Howe"]
SENDERS = ["Priya Nair", "Sam O'Neill", "Dana Kim"]
TEXTS = ["ok", "Price is 101.5", "Signing tomorrow", "ok"]


@settings(max_examples=12, deadline=None)
@given(
    first=st.sampled_from(ZONES),
    second=st.sampled_from(ZONES),
    rows=st.lists(
        st.tuples(
            st.sampled_from([(2024, 3, 9), (2024, 3, 10), (2024, 3, 31), (2024, 11, 3)]),
            st.integers(0, 23),
            st.sampled_from([0, 30, 59]),
            st.integers(0, 2),
            st.integers(0, 3),
        ),
        min_size=1,
        max_size=12,
    ),
)
def test_a_reparse_in_another_zone_equals_an_ingest_in_that_zone(
    first: str, second: str, rows: list[tuple[tuple[int, int, int], int, int, int, int]]
) -> None:
    import tempfile

    from archiver.security.keyring import create_key_file

    lines = [
        f"{m}/{d}/{y % 100}, {(h - 1) % 12 + 1}:{mi:02d} {'AM' if h < 12 else 'PM'} - "
        f"{SENDERS[s]}: {TEXTS[t]}"
        for (y, m, d), h, mi, s, t in sorted(rows)
    ]
    lines.insert(0, "12/31/23, 9:00 AM - Priya Nair: Happy new year")  # the date order: mdy
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        secret = Secret("keyfile", create_key_file(folder / "k.key"), "t")
        export = whatsapp(folder / "x", lines)
        archives = [
            create_archive(folder / name, secret, inv("init"), tz="UTC").archive
            for name in ("reparsed", "direct")
        ]
        try:
            reparsed, direct = archives
            ingest_one(reparsed, export, tz=first)
            reparse(reparsed, tz=second)
            ingest_one(direct, export, tz=second)
            assert by_line(reparsed) == by_line(direct)
            verified(reparsed)
        finally:
            for made in archives:
                made.close()


def test_an_id_a_reparse_retired_is_never_given_to_another_message(
    archive: Archive, tmp_path: Path
) -> None:
    first = ingest_one(archive, whatsapp(tmp_path / "a", SUMMER[:1]), tz="UTC")
    (old_id,) = [m["id"] for m in messages(archive)]
    moved = reparse(archive, first.source_id, tz=NY)["moved"][0]["new_id"]
    retired = archive.store.rows("SELECT old_id, new_id, how FROM message_moves")
    assert retired == [{"old_id": old_id, "new_id": moved, "how": "moved"}]
    # another export with a message in the very second the moved one left
    ingest_one(archive, whatsapp(tmp_path / "b", ["6/14/24, 9:00 AM - Sam Lee: hi"], "Other"))
    (other_id,) = [m["id"] for m in messages(archive) if m["text"] == "hi"]
    assert identity.id_second(other_id) == identity.id_second(old_id) and other_id > old_id
    verified(archive)


def test_a_dry_run_shows_the_forced_change_and_that_it_needs_force(
    archive: Archive, tmp_path: Path
) -> None:
    ingest_one(archive, whatsapp(tmp_path / "a", SUMMER), tz="UTC")
    hold(archive, "sheet", query='"term sheet"')
    before = messages(archive)
    dry = reparse(archive, tz=NY, dry_run=True)
    assert dry["counts"]["held"] == 1 and dry["counts"]["moved"] == 4
    assert dry["refused_without_force"].startswith(
        "refused: 1 message(s) this reparse would change are under legal hold (sheet)"
    )
    assert messages(archive) == before


def test_a_redacted_original_whose_parser_changed_is_not_re_derived(
    archive: Archive, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from archiver.retention.purge import execute
    from tests.retention_helpers import clock, load

    ingest_one(archive, whatsapp(tmp_path / "a", ["6/14/23, 9:00 AM - Priya Nair: Old", *SUMMER]))
    load(archive, tmp_path, PURGE_2023)
    when = datetime(2024, 7, 1, tzinfo=UTC)
    execute(archive, when, clock(when))
    real = rederive.parser_named
    monkeypatch.setattr(rederive, "parser_named", lambda name: Dropping(real(name)))
    with pytest.raises(rederive.Unpairable) as refused:
        reparse(archive, tz=NY)
    assert str(refused.value) == (
        "the redacted original now yields 3 message(s) where the archive holds 5 for it "
        "(the parser has changed since the purge that redacted it): its messages cannot be "
        "lined up, so it is not re-derived"
    )


def test_a_sighting_the_export_no_longer_holds_is_unlinked_and_comes_back(
    archive: Archive, tmp_path: Path
) -> None:
    export = whatsapp(tmp_path / "a", SUMMER)
    ingest_one(archive, export, tz=NY)
    sam = ingest_one(archive, export, tz=NY, custodian="sam@broker.example")
    assert (sam.new, sam.existing) == (0, 5)
    wrong = reparse(archive, sam.source_id, tz="UTC", reason="a mistake, to be undone")
    assert (len(wrong["unlinked"]), len(wrong["added"])) == (5, 5)
    assert archive.store.one("SELECT count(*) FROM messages") == 10
    verified(archive)
    right = reparse(archive, sam.source_id, tz=NY, reason="undo")
    assert right["counts"]["merged"] == 5
    assert archive.store.one("SELECT count(*) FROM messages") == 5
    assert archive.store.one("SELECT count(*) FROM message_sources WHERE source_id = 2") == 5
    holders = archive.store.one("SELECT count(DISTINCT custodian_id) FROM message_custodian_ids")
    assert holders == 2
    merged_ids = archive.store.rows("SELECT how FROM message_moves WHERE how = 'merged'")
    assert len(merged_ids) == 5
    verified(archive)


class Unlinked(Improved):
    """A parser before a fix: it did not link a message's attached file."""

    def parse(self, unit: ExportUnit, options: ParseOptions) -> Iterator[Record]:
        import dataclasses

        for record in self.inner.parse(unit, options):
            if isinstance(record, Message) and record.attachments:
                record = dataclasses.replace(record, attachments=())
            yield record


def test_a_fixed_parser_links_the_file_a_message_attached(
    archive: Archive, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from archiver import parsers

    folder = tmp_path / "z"
    folder.mkdir()
    export = folder / "WhatsApp Chat - Deal Desk.zip"
    with zipfile.ZipFile(export, "w") as z:
        z.writestr(
            "_chat.txt", "[14/06/2024, 09:00:05] Priya Nair: <attached: 00000001-sheet.pdf>\r\n"
        )
        z.writestr("00000001-sheet.pdf", b"%PDF-1.4 term sheet")
    real = parsers.all_parsers
    with monkeypatch.context() as m:
        m.setattr(parsers, "all_parsers", lambda: [Unlinked(p) for p in real()])
        ingest_one(archive, export, tz="UTC")
    assert archive.store.one("SELECT count(*) FROM attachments") == 0
    report = reparse(archive, reason="the parser links attached files now")
    (changed,) = report["changed"]
    assert changed["fields"] == {"attachments": [[], ["00000001-sheet.pdf"]]}
    row = archive.store.rows("SELECT message_id, name, sha256 FROM attachments")
    assert [(r["message_id"], r["name"]) for r in row] == [(changed["id"], "00000001-sheet.pdf")]
    assert row[0]["sha256"] is not None
    verified(archive)


def test_messages_purged_before_this_export_came_stay_purged_in_another_zone(
    archive: Archive, tmp_path: Path
) -> None:
    from archiver.retention.purge import execute
    from tests.retention_helpers import clock, load

    lines = ["6/14/23, 9:00 AM - Priya Nair: Old news", *SUMMER]
    ingest_one(archive, whatsapp(tmp_path / "a", lines), tz="UTC")
    load(archive, tmp_path, PURGE_2023)
    when = datetime(2024, 7, 1, tzinfo=UTC)
    execute(archive, when, clock(when))
    later = ingest_one(archive, whatsapp(tmp_path / "b", lines), tz="UTC", custodian="sam@x.io")
    assert later.previously_purged == 1
    report = reparse(archive, later.source_id, tz=NY, reason="Sam's phone was in New York")
    assert report["counts"]["previously_purged"] == 1
    assert archive.store.one("SELECT count(*) FROM messages WHERE text = 'Old news'") == 0
    verified(archive)
