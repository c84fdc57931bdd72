"""The phone's language through `archiver ingest` (summary line, warnings, JSON) and
`archiver sources reparse --all-unrecognised` after a language table is added."""

from __future__ import annotations

import importlib
import importlib.resources
import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from archiver.archive.session import open_archive
from archiver.audit.verify import verify
from archiver.security.keyring import Secret
from tests.conftest import inv

ACTOR = "Ben Okafor"
RELOADED = (
    "archiver.parsers.whatsapp_locale",
    "archiver.parsers.whatsapp_body",
    "archiver.parsers.whatsapp_records",
    "archiver.parsers.whatsapp_files",
    "archiver.parsers.whatsapp_language",
    "archiver.parsers.whatsapp",
)


def env_for(tmp_path: Path, key_file: Path) -> dict[str, str]:
    return {"ARCHIVER_ARCHIVE": str(tmp_path / "arc"), "ARCHIVER_KEY_FILE": str(key_file)}


def export(folder: Path, name: str, lines: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _reload() -> None:
    for name in RELOADED:
        importlib.reload(importlib.import_module(name))


@contextmanager
def tables_without(code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The parser as it was before language ``code`` had a table: the packaged files
    less one, read again by the modules that build tables at import."""
    real = importlib.resources.files
    folder = tmp_path / "tables" / "whatsapp_locales"
    folder.mkdir(parents=True)
    for path in Path(str(real("archiver.parsers").joinpath("whatsapp_locales"))).glob("*.toml"):
        if path.name != f"{code}.toml":
            shutil.copy(path, folder / path.name)
    monkeypatch.setattr(
        importlib.resources,
        "files",
        lambda pkg: folder.parent if pkg == "archiver.parsers" else real(pkg),
    )
    _reload()
    try:
        yield
    finally:
        monkeypatch.setattr(importlib.resources, "files", real)
        _reload()


TURKISH = [
    "14.03.24, 09:00 - Ben Okafor: Günaydın, sözleşme hazır",
    "14.03.24, 09:01 - Ben Okafor: <Medya atlanmış>",
    "14.03.24, 09:02 - Ayşe Kaya: <medya dahil edilmedi>",
    "14.03.24, 09:03 - Ayşe Kaya: <ფაილი>",  # made up: a placeholder no table will know
    "14.03.24, 09:04 - Ayşe Kaya: Teşekkürler",
]


def test_the_summary_names_the_language_and_counts_unrecognised_placeholders(
    run: Any, tmp_path: Path, key_file: Path
) -> None:
    env = env_for(tmp_path, key_file)
    assert run("init", "--tz", "UTC", "--key-file", str(key_file), **env).exit_code == 0
    german = export(
        tmp_path / "de",
        "WhatsApp Chat mit Deal Desk.txt",
        [
            "14.03.24, 09:00 - Nachrichten und Anrufe sind Ende-zu-Ende-verschlüsselt. "
            "Tippe, um mehr zu erfahren.",
            "14.03.24, 09:01 - Anna Weber: <Medien ausgeschlossen>",
            "14.03.24, 09:02 - Anna Weber: <Video-Anruf verpasst>",  # made up: not in a table
        ],
    )
    done = run("ingest", str(german), "--custodian", "dana@broker.example", **env)
    assert done.exit_code == 0, done.output
    assert (
        "WhatsApp Chat mit Deal Desk.txt: language German (de) — the file name ('WhatsApp "
        "Chat mit Deal Desk'), the end-to-end encryption notice, 1 placeholder(s) or "
        "attachment marker(s); 1 unrecognised placeholder(s)"
    ) in done.stdout.splitlines()
    assert " ".join(done.stderr.split()) == (
        "Warning: WhatsApp Chat mit Deal Desk.txt: 1 message(s) have the shape of a "
        "WhatsApp placeholder no table knows ('<…>' on Android, '… omitted' on iOS) (the "
        "first on line 3) and are archived as text messages."
    )
    unknown = export(
        tmp_path / "ka",
        "ჩატი.txt",
        ["14.03.24, 09:00 - ჯგუფი შეიქმნა", "14.03.24, 09:01 - Nino: <ფაილი>"],
    )
    done = run("ingest", str(unknown), "--custodian", "dana@broker.example", "--json", **env)
    assert done.exit_code == 0, done.output
    (source,) = json.loads(done.stdout)["sources"]
    assert {k: source[k] for k in ("language", "language_name", "unrecognised_placeholders")} == {
        "language": None,
        "language_name": None,
        "unrecognised_placeholders": 1,
    }
    assert source["language_evidence"] == (
        "no string of any language table; WhatsApp's own texts here are in Georgian script"
    )
    assert [n["code"] for n in source["notices"]] == ["language-unknown"]


def test_reparse_all_unrecognised_after_a_table_is_added(
    run: Any, tmp_path: Path, key_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = env_for(tmp_path, key_file)
    assert run("init", "--tz", "UTC", "--key-file", str(key_file), **env).exit_code == 0
    plain = export(tmp_path / "en", "WhatsApp Chat with Desk.txt", ["14/03/2024, 09:00 - A: hi"])
    assert run("ingest", str(plain), "--custodian", "dana@broker.example", **env).exit_code == 0
    none = run("sources", "reparse", "--all-unrecognised", "--dry-run", **env)
    assert (none.exit_code, none.stdout) == (
        0,
        "No source holds unrecognised placeholders: nothing to reparse\n",
    )
    turkish = export(tmp_path / "tr", "Sohbet.txt", TURKISH)
    with tables_without("tr", tmp_path, monkeypatch):
        done = run("ingest", str(turkish), "--custodian", "dana@broker.example", "--json", **env)
    assert done.exit_code == 0, done.output
    (source,) = json.loads(done.stdout)["sources"]
    assert source["unrecognised_placeholders"] == 3
    archive = open_archive(tmp_path / "arc", Secret("keyfile", key_file.read_bytes(), "test"))
    before = archive.store.rows("SELECT id, kind, text, fingerprint FROM messages ORDER BY id")
    archive.close()
    assert [r["kind"] for r in before] == ["text"] * 6

    nothing = run("sources", "reparse", "--all-unrecognised", "--dry-run", "1", **env)
    assert nothing.exit_code == 2
    assert "give one SOURCE or --all-unrecognised (not both)" in nothing.stderr
    dry = run("sources", "reparse", "--all-unrecognised", "--dry-run", **env)
    assert dry.exit_code == 0, dry.output
    assert dry.stdout.splitlines()[-1] == (
        "1 of 1 source(s) with unrecognised placeholders shown (dry run)"
    )
    done = run("sources", "reparse", "--all-unrecognised", "--reason", "Turkish table", **env)
    assert done.exit_code == 0, done.output
    lines = done.stdout.splitlines()
    assert lines[0] == "Reparse of source 2 (Sohbet.txt): options as recorded (time zone UTC, "\
        "date order dmy)"  # fmt: skip
    assert lines[1] == (
        "5 message(s) derived: 3 unchanged, 0 moved, 2 changed, 0 merged, 0 unlinked, 0 "
        "added, 0 linked, 0 previously purged, 0 held, 0 not re-derived"
    )
    assert lines[-1] == "1 of 1 source(s) with unrecognised placeholders reparsed"

    archive = open_archive(tmp_path / "arc", Secret("keyfile", key_file.read_bytes(), "test"))
    try:
        after = archive.store.rows("SELECT id, kind, text, fingerprint FROM messages ORDER BY id")
        assert [r["id"] for r in after] == [r["id"] for r in before]  # ids stable
        changed = [(b["text"], a["kind"]) for b, a in zip(before, after, strict=True) if a != b]
        assert changed == [("<Medya atlanmış>", "media"), ("<medya dahil edilmedi>", "media")]
        notes = archive.store.rows("SELECT name, note FROM attachments ORDER BY id")
        assert notes == [
            {"name": "media", "note": "<Medya atlanmış>"},
            {"name": "media", "note": "<medya dahil edilmedi>"},
        ]
        report = verify(archive, inv("verify"))
        assert report.ok, report.first_problem
        facts = json.loads(archive.store.one("SELECT facts FROM sources WHERE id = 2"))
        assert (facts["language"], facts["unrecognised_placeholders"]) == ("tr", 1)
        audited = archive.store.rows(
            "SELECT details FROM audit_log WHERE action = 'sources.reparse' ORDER BY seq"
        )
        assert [json.loads(r["details"])["source_id"] for r in audited] == [2, 2]  # dry, real
    finally:
        archive.close()
