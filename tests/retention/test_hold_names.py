"""Hold names in any spelling, and holds whose scope matches nothing say so."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from archiver import parsers
from archiver.archive.session import Archive, create_archive, open_archive
from archiver.core.errors import InputError, NotFound, Refused
from archiver.retention import holds
from archiver.security.keyring import Secret
from archiver.store import database as store_module
from archiver.store.schema import MIGRATIONS, hold_name_key
from tests.conftest import inv
from tests.fakeparser import FakeParser
from tests.retention_helpers import add_export

Run = Callable[..., Result]
KEY = {"ARCHIVER_KEY_FILE": "k.key"}
EXPORT = [
    "2024-02-13T09:31:00+00:00|Marcus Lee|Marcus Lee|text|the screen price looks low",
    "2024-02-13T09:40:00+00:00|Deal Desk EMEA|Sam O'Neill|text|settlement sent",
]


@pytest.fixture(autouse=True)
def fake_parsers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parsers, "all_parsers", lambda: [FakeParser()])


def place(archive: Archive, name: str, **scope: object) -> dict[str, object]:
    args: dict[str, object] = {
        "custodian": [],
        "chat": [],
        "participant": [],
        "sent_after": None,
        "sent_before": None,
        "query": None,
    }
    args.update(scope)
    return holds.create(
        archive, name, matter="Harlow v. Broker", reason="letter", inv=inv(), **args
    )  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("HARLOW-TERMS", "harlow-terms"),
        ("Harlow Terms", "harlow-terms"),
        ("harlow_terms", "harlow-terms"),
        ("  Harlow --  Terms_ ", "harlow-terms"),
        ("Ｈarlow–Terms", "harlow-terms"),  # full-width H (NFKC), en dash
        ("Straße 2026", "strasse-2026"),  # casefold, not lower
        ("sec.inquiry/2026", "sec.inquiry/2026"),
    ],
)
def test_hold_name_normal_form(name: str, key: str) -> None:
    assert hold_name_key(name) == key


@pytest.mark.parametrize("spelling", ["Harlow Terms", "harlow-terms", "HARLOW_TERMS "])
def test_a_name_taken_in_any_spelling_is_refused(archive: Archive, spelling: str) -> None:
    place(archive, "HARLOW-TERMS")
    with pytest.raises(Refused) as err:
        place(archive, spelling)
    assert str(err.value) == (
        f"a hold named 'HARLOW-TERMS' already exists ({spelling.strip()!r} is the same name: "
        "hold names ignore case, spaces, hyphens and underscores); holds are never renamed "
        "or reused, so choose another name"
    )


def test_a_released_name_is_not_reused_either(archive: Archive) -> None:
    place(archive, "harlow terms")
    holds.release(archive, "HARLOW-TERMS", "settled", inv())
    with pytest.raises(Refused, match="a hold named 'harlow terms' already exists"):
        place(archive, "Harlow-Terms")


def test_a_name_without_letters_or_digits_is_refused(archive: Archive) -> None:
    with pytest.raises(InputError) as err:
        place(archive, "- _ -")
    assert str(err.value) == "hold name '- _ -' has no letters or digits; give it a name to find"


def test_show_and_release_accept_any_spelling(archive: Archive) -> None:
    place(archive, "HARLOW-TERMS")
    assert holds.show(archive, "harlow terms", inv())["name"] == "HARLOW-TERMS"
    released = holds.release(archive, "Harlow_Terms", "matter closed", inv("hold release"))
    assert (released["name"], released["active"]) == ("HARLOW-TERMS", False)
    audit = archive.store.rows("SELECT details FROM audit_log ORDER BY seq DESC LIMIT 1")[0]
    assert json.loads(audit["details"]) == {"hold": "HARLOW-TERMS", "reason": "matter closed"}
    with pytest.raises(Refused, match="hold 'HARLOW-TERMS' was already released"):
        holds.release(archive, "harlow-terms", "again", inv())


def test_an_unknown_name_suggests_the_nearest_hold(archive: Archive) -> None:
    place(archive, "HARLOW-TERMS")
    with pytest.raises(NotFound) as err:
        holds.show(archive, "harlow-trems", inv())
    assert str(err.value) == (
        "no hold named 'harlow-trems'; did you mean 'HARLOW-TERMS'? see `archiver hold list`"
    )
    with pytest.raises(NotFound) as other:
        holds.show(archive, "acme", inv())
    assert str(other.value) == "no hold named 'acme'; see `archiver hold list`"


def test_the_migration_keeps_older_holds_that_share_a_name_reachable(
    tmp_path: Path, key_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two holds made before names were unique in normal form: both stay, the first
    owns the normal form, each is found by its exact name."""
    secret = Secret("keyfile", key_file.read_bytes(), "t")
    before = next(i for i, m in enumerate(MIGRATIONS) if "hold names unique" in m[1])
    with monkeypatch.context() as m:  # an archive made by a build without the migration
        m.setattr(store_module, "MIGRATIONS", MIGRATIONS[:before])
        m.setattr(store_module, "SCHEMA_VERSION", MIGRATIONS[before - 1][0])
        old = create_archive(tmp_path / "old", secret, inv("init"), tz="UTC").archive
        for name in ("Harlow Terms", "HARLOW-TERMS", "acme"):
            old.store.execute(
                "INSERT INTO holds(name, matter, reason, scope, created_at, created_by) "
                "VALUES (?, 'm', 'r', '{}', 0, 'old')",
                (name,),
            )
        old.close()
    reopened = open_archive(tmp_path / "old", secret, inv("status"))
    try:
        keys = reopened.store.rows("SELECT id, name, name_key FROM holds ORDER BY id")
        assert keys == [
            {"id": 1, "name": "Harlow Terms", "name_key": "harlow-terms"},
            {"id": 2, "name": "HARLOW-TERMS", "name_key": "harlow-terms #2"},
            {"id": 3, "name": "acme", "name_key": "acme"},
        ]
        assert holds.show(reopened, "HARLOW-TERMS", inv())["name"] == "HARLOW-TERMS"
        assert holds.show(reopened, "harlow_terms", inv())["name"] == "Harlow Terms"
        with pytest.raises(Refused, match="a hold named 'Harlow Terms' already exists"):
            place(reopened, "harlow terms")
    finally:
        reopened.close()


# --- scopes that match nothing -----------------------------------------------------------


@pytest.mark.parametrize(
    ("scope", "messages"),
    [
        (
            {"chat": ["Marcus Le"]},
            ["--chat 'Marcus Le' matches no chat in the archive (nearest: 'Marcus Lee')"],
        ),
        (
            {"custodian": ["dana@broker.exmaple"], "chat": ["Deal*"]},
            [
                "--custodian 'dana@broker.exmaple' matches no custodian in the archive "
                "(nearest: 'dana@broker.example')"
            ],
        ),
        (
            {"participant": ["Sam ONeill"]},
            [
                "--participant 'Sam ONeill' matches no participant in the archive "
                '(nearest: "Sam O\'Neill")'
            ],
        ),
        (
            {"chat": ["Family*"]},
            [
                "--chat 'Family*' matches no chat in the archive (no chat in the archive is "
                "close; see `archiver chats`)"
            ],
        ),
        (
            {"query": "kaufpreis"},
            [
                "--query 'kaufpreis' matches no message in the archive now (check its spelling "
                "with `archiver search`)"
            ],
        ),
        (
            {"chat": ["Marcus Lee"], "participant": ["Sam*"]},
            [
                "the hold covers no message now: no message matches all the parts of its "
                "scope together"
            ],
        ),
        ({"chat": ["marcus*"], "query": "screen"}, []),
    ],
)
def test_a_hold_whose_scope_matches_nothing_warns(
    archive: Archive, tmp_path: Path, scope: dict[str, object], messages: list[str]
) -> None:
    add_export(archive, tmp_path, "a.fake", EXPORT)
    info = place(archive, "matter", **scope)
    assert [w["message"] for w in info["warnings"]] == messages  # type: ignore[attr-defined]
    assert holds.show(archive, "matter", inv())["warnings"] == info["warnings"]


def test_hold_create_warns_on_stderr_and_in_json(run: Run, tmp_path: Path) -> None:
    assert run("init", "--tz", "UTC", "--key-file", "k.key").exit_code == 0
    (tmp_path / "a.fake").write_text("\n".join(EXPORT) + "\n")
    assert run("ingest", "a.fake", "--custodian", "dana@broker.example", **KEY).exit_code == 0
    made = run(
        "hold", "create", "HARLOW-TERMS", "--matter", "m", "--reason", "r", "--chat", "Marcus Le",
        **KEY,
    )  # fmt: skip
    assert made.exit_code == 0
    assert made.stdout == "Hold HARLOW-TERMS placed for m: 0 message(s) held now\n"
    assert made.stderr == (
        "Warning: --chat 'Marcus Le' matches no chat in the archive (nearest: 'Marcus Lee')\n"
    )
    again = run("hold", "create", "Harlow Terms", "--matter", "m", "--reason", "r", **KEY)
    assert again.exit_code == 1
    assert again.stderr == (
        "Error: a hold named 'HARLOW-TERMS' already exists ('Harlow Terms' is the same name: "
        "hold names ignore case, spaces, hyphens and underscores); holds are never renamed or "
        "reused, so choose another name\n"
    )
    shown_json = run("hold", "show", "harlow_terms", "--json", **KEY)
    shown = json.loads(shown_json.stdout)
    assert (shown["name"], shown["held_now"]) == ("HARLOW-TERMS", 0)
    assert [w["nearest"] for w in shown["warnings"]] == ["Marcus Lee"]
    assert shown_json.stderr == made.stderr
    released = run("hold", "release", "harlow terms", "--reason", "typo", **KEY)
    assert released.stdout == "Hold HARLOW-TERMS released: typo\n"
