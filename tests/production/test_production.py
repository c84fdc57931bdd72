"""`archiver produce` on the bundled sample exports (WhatsApp and Telegram, with media,
edits, deletions, system events and replies): RSMF validity, Bates numbers that agree
everywhere, transcripts holding every message once, and `verify-production`."""

from __future__ import annotations

import email
import email.policy
import io
import json
import re
import shutil
import subprocess
import zipfile
from collections import Counter
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import pypdf
import pytest
from click.testing import Result

from archiver.production import rsmf_check
from archiver.production.loadfile import NEWLINE, QUALIFIER, SEPARATOR

Run = Callable[..., Result]
KEY = {"ARCHIVER_KEY_FILE": "k.key"}
SAMPLES = Path(__file__).resolve().parents[2] / "sample_exports"
BATES = re.compile(r"ACME-\d{9}")


@pytest.fixture
def corpus(run: Run, tmp_path: Path) -> Path:
    """./archive with the sample exports ingested and the public key in pub.pem."""
    assert run("init", "--tz", "Europe/London", "--key-file", "k.key").exit_code == 0
    shutil.copytree(SAMPLES, tmp_path / "samples")
    ingested = run("ingest", "samples", "--custodian", "dana@broker.example", **KEY)
    assert ingested.exit_code == 0, ingested.output
    assert run("key", "public", "--out", "pub.pem", **KEY).exit_code == 0
    return tmp_path


def produce(run: Run, out: str, *args: str) -> dict:
    result = run("produce", "--matter", "Harlow", "--out", out, "--bates-prefix", "ACME",
                 *args, "--json", **KEY)  # fmt: skip
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text())


def test_every_rsmf_file_is_valid_and_maps_the_model(run: Run, corpus: Path) -> None:
    produce(run, "p1", "--format", "rsmf")
    files = sorted((corpus / "p1/NATIVES").glob("*.rsmf"))
    assert files
    kinds, types, seen = Counter(), Counter(), set()
    for path in files:
        data = path.read_bytes()
        assert data.isascii()
        assert rsmf_check.rsmf_problems(data) == [], path
        msg = email.message_from_bytes(data, policy=email.policy.default)
        for header in ("X-RSMF-Version", "X-RSMF-Generator", "X-RSMF-BeginDate",
                       "X-RSMF-EndDate", "X-RSMF-EventCount", "X-RSMF-Custodian",
                       "X-RSMF-Participants", "X-RSMF-AttachmentCount",
                       "X-RSMF-EventCollectionID", "From", "To", "Date", "Subject"):  # fmt: skip
            assert msg[header], (path, header)
        assert msg["X-RSMF-Version"] == "2.0.0"
        (part,) = list(msg.iter_attachments())
        assert part.get_filename() == "rsmf.zip"
        zf = zipfile.ZipFile(io.BytesIO(part.get_payload(decode=True)))
        doc = json.loads(zf.read("rsmf_manifest.json"))
        assert int(msg["X-RSMF-EventCount"]) == len(doc["events"])
        assert int(msg["X-RSMF-AttachmentCount"]) == len(zf.namelist()) - 1
        for e in doc["events"]:
            types[e["type"]] += 1
            custom = {c["name"]: c["value"] for c in e["custom"]}
            kinds[custom["kind"]] += 1
            seen.add(int(custom["archiver_message_id"]))
            if e.get("deleted"):
                assert custom["kind"] == "deleted"
            if "parent" in e:
                assert e["parent"] in {x.get("id") for x in doc["events"]}
    assert {"message", "join", "leave", "disclaimer", "history"} <= set(types)
    assert {"text", "media", "system", "deleted", "call"} <= set(kinds)
    assert len(seen) == manifest(corpus / "p1")["counts"]["messages"]


def test_rsmf_of_the_same_documents_is_byte_identical(run: Run, corpus: Path) -> None:
    first = produce(run, "p1", "--format", "rsmf", "chat:Deal*")
    again = produce(run, "p2", "--format", "rsmf", "chat:Deal*")
    assert again["bates_first"] != first["bates_first"]
    a = [p.read_bytes() for p in sorted((corpus / "p1/NATIVES").glob("*.rsmf"))]
    b = [p.read_bytes() for p in sorted((corpus / "p2/NATIVES").glob("*.rsmf"))]
    assert a and a == b


def _dat_rows(path: Path) -> list[dict[str, str]]:
    text = path.read_bytes().decode("utf-8")
    assert text.startswith("\ufeff")
    lines = text[1:].split("\r\n")
    assert lines[-1] == ""

    def cells(line: str) -> list[str]:
        parts = line.split(SEPARATOR)
        assert all(p[0] == QUALIFIER and p[-1] == QUALIFIER for p in parts), line
        return [p[1:-1] for p in parts]

    head = cells(lines[0])
    return [dict(zip(head, cells(line), strict=True)) for line in lines[1:-1]]


def test_bates_numbers_agree_across_dat_text_html_pdf_and_manifest(run: Run, corpus: Path) -> None:
    report = produce(run, "p1")
    folder = corpus / "p1"
    man = manifest(folder)
    rows = _dat_rows(folder / "DATA/PROD-001.dat")
    assert list(rows[0]) == ["BEGBATES", "ENDBATES", "BEGATTACH", "ENDATTACH", "CUSTODIAN",
        "ALL_CUSTODIANS", "CONVERSATION", "PLATFORM", "PARTICIPANTS", "DATE_BEGIN", "DATE_END",
        "MESSAGE_COUNT", "MD5HASH", "SHA256HASH", "NATIVEPATH", "TEXTPATH"]  # fmt: skip
    numbers = []
    for r in rows:
        lo, hi = int(r["BEGBATES"][5:]), int(r["ENDBATES"][5:])
        numbers += range(lo, hi + 1)
    # contiguous from 1, each once, the manifest's range
    assert numbers == list(range(1, len(numbers) + 1))
    assert (man["bates"]["first"], man["bates"]["last"]) == (
        "ACME-000000001",
        f"ACME-{len(numbers):09d}",
    )
    assert report["bates_last"] == man["bates"]["last"]
    files = {f["path"]: f for f in man["files"]}
    for doc in man["documents"]:
        begin, end = doc["bates_begin"], doc["bates_end"]
        pages = [f"ACME-{n:09d}" for n in range(int(begin[5:]), int(end[5:]) + 1)]
        text = (folder / f"TEXT/{begin}.txt").read_text()
        assert re.findall(r"^\[(ACME-\d{9})\]$", text, re.MULTILINE) == pages
        html = (folder / f"HTML/{begin}.html").read_text()
        assert re.findall(r'<section class="page" id="(ACME-\d+)"', html) == pages
        reader = pypdf.PdfReader(folder / f"PDF/{begin}.pdf")
        assert [BATES.findall(p.extract_text())[-1] for p in reader.pages] == pages
        row = next(r for r in rows if r["BEGBATES"] == begin)
        native = files[row["NATIVEPATH"].replace("\\", "/")]
        assert (row["SHA256HASH"], row["MD5HASH"]) == (native["sha256"], native["md5"])
        assert row["ENDATTACH"] == doc["family_end"]
        for number in doc["attachments"]:
            child = next(r for r in rows if r["BEGBATES"] == number)
            assert (child["BEGATTACH"], child["ENDATTACH"]) == (begin, doc["family_end"])
            assert (folder / child["NATIVEPATH"].replace("\\", "/")).is_file()
    assert all(NEWLINE not in r["CONVERSATION"] for r in rows)


class _Messages(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: list[int] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs).get("data-message-id")
        if tag == "article" and found:
            self.ids.append(int(found))


def test_transcripts_hold_every_produced_message_exactly_once(run: Run, corpus: Path) -> None:
    produce(run, "p1", "--format", "html,pdf", "--context", "2", "price* OR mandate")
    folder = corpus / "p1"
    man = manifest(folder)
    produced = [m[0] for m in man["messages"]]
    roles = Counter(m[1] for m in man["messages"])
    assert roles["hit"] == man["counts"]["hits"] and roles["context"] == man["counts"]["context"]
    assert roles["context"] > 0
    parser = _Messages()
    for page in sorted((folder / "HTML").glob("*.html")):
        parser.feed(page.read_text())
    assert sorted(parser.ids) == sorted(produced)
    assert len(set(produced)) == len(produced)
    index = (folder / "index.html").read_text()
    assert all(d["bates_begin"] in index for d in man["documents"])
    # the PDFs hold every message's text and a Bates number on every page
    exported = run("export", "--out", "all.jsonl", **KEY)
    assert exported.exit_code == 0
    lines = (corpus / "all.jsonl").read_text().splitlines()
    texts = {r["id"]: r["text"] for r in map(json.loads, lines)}
    pdf_text = ""
    for path in sorted((folder / "PDF").glob("*.pdf")):
        for page in pypdf.PdfReader(path).pages:
            text = page.extract_text()
            assert BATES.search(text), path
            pdf_text += text
    flat = re.sub(r"\s+", "", pdf_text)
    for mid in produced:
        assert re.sub(r"\s+", "", texts[mid]) in flat, texts[mid]


def test_verify_production_passes_then_names_what_changed(run: Run, corpus: Path) -> None:
    produce(run, "p1", "--format", "rsmf,html,dat", "chat:Marcus*")
    check = ("verify-production", "p1", "--public-key", "pub.pem")
    ok = run(*check)
    assert ok.exit_code == 0, ok.output
    assert ok.stdout.startswith("OK: p1 is PROD-001 of matter 'Harlow', signed ")
    folder = corpus / "p1"
    target = sorted((folder / "NATIVES").glob("*.rsmf"))[0]
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 1
    target.write_bytes(bytes(data))
    bad = run(*check)
    assert bad.exit_code == 4
    rel = target.relative_to(folder).as_posix()
    assert bad.stderr.startswith(f"Error: p1: {rel} differs (sha256 ")
    target.unlink()
    assert f"{rel} is missing" in run(*check).stderr
    (folder / "extra.txt").write_text("x")
    assert run(*check, "--json").exit_code == 4
    assert "extra.txt was added" in json.loads(run(*check, "--json").stdout)["problems"][-1]


def test_a_production_refuses_a_folder_that_is_not_empty_and_keeps_files_private(
    run: Run, corpus: Path
) -> None:
    (corpus / "busy").mkdir()
    (corpus / "busy/note.txt").write_text("x")
    result = run("produce", "--matter", "Harlow", "--out", "busy", **KEY)
    assert result.exit_code == 1
    assert "busy is not empty" in result.stderr
    produce(run, "p1", "--format", "dat", "chat:Marcus*")
    for path in (corpus / "p1").rglob("*"):
        assert path.stat().st_mode & 0o777 == (0o700 if path.is_dir() else 0o600), path
    said = run("produce", "chat:Marcus*", "--matter", "Harlow", "--out", "p2", **KEY)
    assert "Plaintext: p2 holds the produced messages in the clear" in said.stderr


def test_chromium_renders_a_transcript_with_its_text(run: Run, corpus: Path) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    produce(run, "p1", "--format", "html", "chat:Marcus*")
    page = sorted((corpus / "p1/HTML").glob("*.html"))[0]
    subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", f"--print-to-pdf={corpus}/c.pdf",
         page.as_uri()],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    text = "".join(p.extract_text() for p in pypdf.PdfReader(corpus / "c.pdf").pages)
    assert page.stem in text
    assert "Marcus Lee" in text
