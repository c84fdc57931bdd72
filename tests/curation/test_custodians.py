"""Custodians: one person is one custodian, however the name was typed; a probable typo
is refused with the name it was probably meant to be; `archiver custodians list|rename`."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from hypothesis import given, settings
from hypothesis import strategies as st

from archiver.archive.session import Archive, create_archive, open_archive
from archiver.core.errors import InputError, Refused
from archiver.core.names import custodian_name, edit_distance
from archiver.curation import custodians
from archiver.ingest.exports import IngestOptions, SourceReport, ingest
from archiver.security.keyring import Secret
from archiver.store import database as store_module
from archiver.store.schema import MIGRATIONS
from tests.conftest import inv

Run = Callable[..., Result]


@pytest.mark.parametrize(
    ("typed", "recorded"),
    [
        ("Dana@Broker.example ", "dana@broker.example"),
        ("  DANA@BROKER.EXAMPLE", "dana@broker.example"),
        ("Dana   Kim", "Dana Kim"),
        ("\tDana Kim\n", "Dana Kim"),
        ("Dana Kim <Dana@Broker.example>", "Dana Kim <dana@broker.example>"),
        ("Ame\u0301lie Roux", "Am\u00e9lie Roux"),  # one spelling of é (NFC)
        ("+1 555 010 2030", "+1 555 010 2030"),
    ],
)
def test_names_are_recorded_trimmed_with_addresses_in_lower_case(typed: str, recorded: str) -> None:
    assert custodian_name(typed) == recorded


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [
        ("dana@broker.example", "dana@broker.example", 0),
        ("dana@broker.example", "DANA@broker.example", 0),
        ("dana@broker.example", "dana@broker.exmaple", 1),  # two letters swapped
        ("dana@broker.example", "dana@broker.exampl", 1),
        ("dana@broker.example", "dan@broker.exampl", 2),
        ("dana@broker.example", "sam@broker.example", 3),  # more than the limit
        ("Dana Kim", "Tom Lee", 3),
    ],
)
def test_edit_distance(a: str, b: str, distance: int) -> None:
    assert edit_distance(a, b, 2) == distance


def _reference(a: str, b: str) -> int:
    """Optimal string alignment distance, computed in full."""
    a, b = a.casefold(), b.casefold()
    d = [[i + j if i * j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            d[i][j] = min(
                d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1])
            )
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[len(a)][len(b)]


@settings(max_examples=200, deadline=None)
@given(a=st.text("abcdAB@. ", max_size=8), b=st.text("abcdAB@. ", max_size=8))
def test_edit_distance_is_the_full_distance_capped_at_the_limit(a: str, b: str) -> None:
    assert edit_distance(a, b, 2) == min(_reference(a, b), 3)
    assert edit_distance(a, b, 2) == edit_distance(b, a, 2)


def export(folder: Path, title: str = "Deal Desk", text: str = "Price is 101.5") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"WhatsApp Chat with {title}.txt"
    path.write_text(
        f"6/14/24, 9:00 AM - Priya Nair: {text}\n6/14/24, 9:01 AM - Sam Lee: ok\n",
        encoding="utf-8",
    )
    return path


def ingest_as(archive: Archive, path: Path, custodian: str, **options: Any) -> SourceReport:
    opts = IngestOptions(custodian=custodian, tz="UTC", **options)
    (source,) = ingest(archive, [path], opts, inv("ingest")).sources
    assert source.status in ("ingested", "already-ingested"), source.error
    return source


def names(archive: Archive) -> list[str]:
    return [r["name"] for r in archive.store.rows("SELECT name FROM custodians ORDER BY id")]


def test_one_person_typed_two_ways_is_one_custodian(archive: Archive, tmp_path: Path) -> None:
    ingest_as(archive, export(tmp_path / "a"), "Dana@Broker.example ")
    second = ingest_as(archive, export(tmp_path / "b", "Bond Desk"), "DANA@broker.example")
    assert second.custodian == "dana@broker.example"
    assert names(archive) == ["dana@broker.example"]


def test_a_probable_typo_is_refused_naming_both(archive: Archive, tmp_path: Path) -> None:
    ingest_as(archive, export(tmp_path / "a"), "dana@broker.example")
    with pytest.raises(InputError) as refused:
        ingest_as(archive, export(tmp_path / "b", "Bond Desk"), "dana@broker.exmaple")
    assert str(refused.value) == (
        "custodian 'dana@broker.exmaple' is new, but 'dana@broker.example' is within 2 "
        "letters of it: did you mean 'dana@broker.example'? If 'dana@broker.exmaple' is "
        "another person, run again with --new-custodian"
    )
    assert archive.store.one("SELECT count(*) FROM sources") == 1
    ingest_as(
        archive, export(tmp_path / "b", "Bond Desk"), "dana@broker.exmaple", new_custodian=True
    )
    assert names(archive) == ["dana@broker.example", "dana@broker.exmaple"]


def cli(run: Run, tmp_path: Path, key_file: Path) -> Callable[..., Result]:
    def call(*args: str) -> Result:
        return run(*args, ARCHIVER_ARCHIVE=str(tmp_path / "arc"), ARCHIVER_KEY_FILE=str(key_file))

    return call


def test_custodians_on_the_command_line(run: Run, tmp_path: Path, key_file: Path) -> None:
    call = cli(run, tmp_path, key_file)
    assert call("init", "--tz", "UTC").exit_code == 0
    assert (
        call("ingest", str(export(tmp_path / "a")), "--custodian", " Dana@Broker.example").exit_code
        == 0
    )
    typo = call(
        "ingest", str(export(tmp_path / "b", "Bond Desk")), "--custodian", "dana@broker.exampel"
    )
    assert typo.exit_code == 1
    assert typo.stderr == (
        "Error: custodian 'dana@broker.exampel' is new, but 'dana@broker.example' is within 2 "
        "letters of it: did you mean 'dana@broker.example'? If 'dana@broker.exampel' is "
        "another person, run again with --new-custodian\n"
    )
    forced = call(
        "ingest", str(export(tmp_path / "b", "Bond Desk", "Bid 99")), "--custodian",
        "dana@broker.exampel", "--new-custodian",
    )  # fmt: skip
    assert forced.exit_code == 0, forced.output
    listed = call("custodians", "list")
    assert listed.stdout == (
        "Custodians\n"
        "┏━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━┳━━━━━━━━━━┓\n"
        "┃ custodian           ┃ sources ┃ messages ┃\n"
        "┡━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━╇━━━━━━━━━━┩\n"
        "│ dana@broker.exampel │ 1       │ 2        │\n"
        "│ dana@broker.example │ 1       │ 2        │\n"
        "└─────────────────────┴─────────┴──────────┘\n"
    )
    refused = call(
        "custodians", "rename", "dana@broker.exampel", "dana@broker.example", "--reason", "typo"
    )
    assert refused.exit_code == 1
    assert refused.stderr == (
        "Error: custodian 'dana@broker.example' already exists: renaming "
        "'dana@broker.exampel' to it makes them one custodian (their exports and messages "
        "together); run again with --merge if they are one person\n"
    )
    merged = call(
        "custodians", "rename", "dana@broker.exampel", "dana@broker.example", "--merge",
        "--reason", "typo at ingest",
    )  # fmt: skip
    assert merged.exit_code == 0, merged.output
    assert merged.stdout == (
        "Merged custodian 'dana@broker.exampel' into 'dana@broker.example': 2 source(s), "
        "2 message(s)\n"
    )
    rows = json.loads(call("custodians", "list", "--json").stdout)
    assert [(r["name"], r["sources"], r["messages"]) for r in rows] == [
        ("dana@broker.example", 2, 4)
    ]
    renamed = call("custodians", "rename", "dana@broker.example", "Dana Kim", "--reason", "name")
    assert renamed.stdout == (
        "Renamed custodian 'dana@broker.example' to 'Dana Kim': 2 source(s), 4 message(s)\n"
    )
    assert call("verify").exit_code == 0


def test_a_rename_never_narrows_a_hold(archive: Archive, tmp_path: Path) -> None:
    from archiver.retention import holds

    ingest_as(archive, export(tmp_path / "a"), "dana@broker.example")
    holds.create(
        archive, "dana", matter="M", reason="r", custodian=["dana@*"], chat=[], participant=[],
        sent_after=None, sent_before=None, query=None, inv=inv("hold.create"),
    )  # fmt: skip
    with pytest.raises(Refused, match=r"leave the scope of hold\(s\) dana"):
        custodians.rename(archive, "dana@broker.example", "Dana Kim", "full name", inv())
    assert names(archive) == ["dana@broker.example"]
    custodians.rename(archive, "dana@broker.example", "dana@broker.example.com", "domain", inv())
    assert names(archive) == ["dana@broker.example.com"]  # still within dana@*


def test_two_custodians_that_handed_over_one_export_are_not_merged(
    archive: Archive, tmp_path: Path
) -> None:
    path = export(tmp_path / "a")
    ingest_as(archive, path, "dana@broker.example")
    ingest_as(archive, path, "sam@broker.example")
    with pytest.raises(Refused) as refused:
        custodians.rename(
            archive, "sam@broker.example", "dana@broker.example", "x", inv(), merge=True
        )
    assert str(refused.value) == (
        "custodians 'sam@broker.example' and 'dana@broker.example' both handed over the "
        "export 'WhatsApp Chat with Deal Desk.txt' (sources 2 and 1); one custodian cannot "
        "hold one export twice, so they are not merged"
    )


def test_an_older_archive_gets_its_custodian_names_normalised(
    tmp_path: Path, key_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = Secret("keyfile", key_file.read_bytes(), "t")
    (moves,) = next(statements for version, _, statements in MIGRATIONS if version == 10)
    before = [m for m in MIGRATIONS if m[0] < 9]
    with monkeypatch.context() as m:  # an archive made before migration 9
        m.setattr(store_module, "MIGRATIONS", before)
        m.setattr(store_module, "SCHEMA_VERSION", before[-1][0])
        old = create_archive(tmp_path / "old", secret, inv("init"), tz="UTC").archive
        old.store.execute(moves)  # read by this build's ingest; dropped again below
        a, b, c = (export(tmp_path / d, f"Desk {d}", f"Price {d}") for d in ("a", "b", "c"))
        for path, who in ((a, "dana@broker.example"), (b, "tom@broker.example"), (c, "sam lee")):
            ingest_as(old, path, who, new_custodian=True)
        ingest_as(old, a, "ann@broker.example", new_custodian=True)  # the same export again
        for before, after in (
            ("tom@broker.example", "Dana@Broker.example "),  # Dana, typed otherwise
            ("sam lee", "  Sam   Lee "),
            ("ann@broker.example", "DANA@broker.example  "),  # Dana again, same export as a
        ):
            old.store.execute("UPDATE custodians SET name = ? WHERE name = ?", (after, before))
        old.store.execute("DROP TABLE message_moves")
        old.close()
    upgraded = open_archive(tmp_path / "old", secret, inv("status"))
    try:
        assert names(upgraded) == ["dana@broker.example", "Sam Lee", "DANA@broker.example  "]
        rows = {r["name"]: r for r in custodians.list_custodians(upgraded, inv())}
        assert (
            rows["dana@broker.example"]["sources"],
            rows["dana@broker.example"]["messages"],
        ) == (
            2,
            4,
        )
        assert (
            upgraded.store.one(
                "SELECT count(*) FROM message_custodians mc JOIN messages m "
                "ON m.id = mc.message_id AND m.custodian_id = mc.custodian_id"
            )
            == 0
        )
    finally:
        upgraded.close()
