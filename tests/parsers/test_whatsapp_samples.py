"""The bundled sample exports (sample_exports/whatsapp): they are what
tests/fixtures/build_whatsapp_samples.py writes, and they parse to what each is meant
to show."""

from __future__ import annotations

import importlib.util
import zipfile
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from archiver.core.model import Message, ParseFacts, Record, Unparsed
from archiver.parsers.base import ExportUnit
from archiver.parsers.whatsapp import WhatsAppParser
from tests.parsers.conftest import chat_of, memory_unit, parse, zip_unit

SAMPLES = Path(__file__).resolve().parents[2] / "sample_exports" / "whatsapp"


def _build_module() -> ModuleType:
    builder = SAMPLES.parents[1] / "tests" / "fixtures" / "build_whatsapp_samples.py"
    spec = importlib.util.spec_from_file_location("wa_samples_build", builder)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _unit(name: str) -> ExportUnit:
    path = SAMPLES / name
    return (
        zip_unit(path) if path.suffix == ".zip" else memory_unit(name, [(name, path.read_bytes())])
    )


def _records(name: str) -> tuple[list[Message], dict[str, Any], list[Record]]:
    records = parse(_unit(name), tz="Europe/London")
    facts = records[-1]
    assert isinstance(facts, ParseFacts)
    return [r for r in records if isinstance(r, Message)], dict(facts.facts), records


def test_committed_samples_are_what_build_py_writes(tmp_path: Path) -> None:
    build = _build_module()
    written = build.build(tmp_path)
    assert sorted(p.name for p in written) == sorted(
        p.name for p in SAMPLES.iterdir() if p.suffix in (".txt", ".zip")
    )
    for path in written:
        committed = SAMPLES / path.name
        if path.suffix == ".txt":
            assert path.read_bytes() == committed.read_bytes(), path.name
            continue
        with zipfile.ZipFile(path) as new, zipfile.ZipFile(committed) as old:
            assert [(i.filename, i.date_time) for i in new.infolist()] == [
                (i.filename, i.date_time) for i in old.infolist()
            ]
            assert all(new.read(n) == old.read(n) for n in new.namelist()), path.name
            assert all(i.date_time == build.ZIP_TIME for i in old.infolist())


def test_samples_are_small() -> None:
    assert sum(p.stat().st_size for p in SAMPLES.iterdir()) < 200_000


def test_media_files_are_valid() -> None:
    with zipfile.ZipFile(SAMPLES / "WhatsApp Chat - Projekt Nordlicht.zip") as zf:
        png = zf.read("00000012-PHOTO-2024-05-06-10-15-22.png")
        pdf = zf.read("00000014-Angebot Nordlicht.pdf")
        vcf = zf.read("00000016-Thomas Reuter.vcf")
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and png.endswith(b"IEND\xaeB`\x82")
    xref = int(pdf.rsplit(b"startxref\n", 1)[1].split(b"\n")[0])
    assert pdf.startswith(b"%PDF-1.4") and pdf[xref:].startswith(b"xref")
    assert vcf.startswith(b"BEGIN:VCARD") and vcf.rstrip().endswith(b"END:VCARD")


@pytest.mark.parametrize(
    "name", sorted(p.name for p in SAMPLES.iterdir() if p.suffix in (".txt", ".zip"))
)
def test_every_sample_is_sniffed_and_parses_cleanly(name: str) -> None:
    assert WhatsAppParser().sniff(_unit(name))
    messages, facts, records = _records(name)
    assert [r for r in records if isinstance(r, Unparsed)] == []
    assert facts["header_lines"] == facts["messages"] == len(messages) > 0
    assert facts["header_like_body_lines"] == 0


def test_deal_desk_android_english_12h() -> None:
    messages, facts, records = _records("WhatsApp Chat with Deal Desk EMEA.txt")
    assert chat_of(records).key == "Deal Desk EMEA"
    assert (facts["style"], facts["12h"], facts["date_order"]) == ("android", True, "mdy")
    assert Counter(m.kind for m in messages) == Counter(
        text=16, system=8, media=1, deleted=1, poll=1, location=1
    )
    ticket = next(m for m in messages if m.text.startswith("Order ticket"))
    assert ticket.text.count("\n") == 7 and "\n\nSettlement" in ticket.text
    assert next(m for m in messages if m.edited).sender.name == "Sam O'Neill"  # type: ignore[union-attr]
    assert facts["out_of_order"] == 1 and facts["group_evidence"] is True
    noon = next(m for m in messages if m.sent_at_text == "3/26/24, 12:00\u202fPM")
    assert noon.sent_at is not None and noon.sent_at.isoformat() == "2024-03-26T12:00:00+00:00"


def test_nordlicht_ios_german_with_media() -> None:
    messages, facts, records = _records("WhatsApp Chat - Projekt Nordlicht.zip")
    assert chat_of(records).key == "Projekt Nordlicht"
    assert (facts["style"], facts["line_ending"], facts["media_attached"]) == ("ios", "crlf", 3)
    events = [m for m in messages if m.kind == "system"]
    assert len(events) == 8 and all(m.sender is None for m in events)
    assert {a.path for m in messages for a in m.attachments} == {
        "00000012-PHOTO-2024-05-06-10-15-22.png",
        "00000014-Angebot Nordlicht.pdf",
        "00000016-Thomas Reuter.vcf",
    }
    kinds = Counter(m.kind for m in messages)
    assert (kinds["contact"], kinds["call"], kinds["deleted"], kinds["location"]) == (1, 1, 1, 1)


def test_clinic_android_portuguese() -> None:
    messages, facts, records = _records("Conversa do WhatsApp com Clínica Sorriso.txt")
    assert chat_of(records).key == "Clínica Sorriso"
    assert facts["date_order"] == "dmy" and facts["shape"]["date_time_joins"] == [" "]
    assert [m.kind for m in messages[:3]] == ["system", "system", "system"]
    assert messages[-1].sent_at is not None
    assert messages[-1].sent_at.isoformat() == "2024-04-16T16:40:00+00:00"  # BST


def test_one_to_one_ios_without_media() -> None:
    messages, facts, records = _records("WhatsApp Chat - Marcus Lee.zip")
    assert chat_of(records).key == "Marcus Lee"
    assert facts["title_is_a_person"] is True and facts["group_evidence"] is False
    notice = messages[0]
    assert (notice.kind, notice.sender) == ("system", None)
    kinds = [m.kind for m in messages]
    assert kinds.count("media") == 2 and kinds.count("deleted") == 1 and kinds.count("call") == 1
    assert all(m.sender is not None for m in messages[1:])
