"""docs/ stays true: its links resolve, and the worked examples of docs/retention.md are
exactly what the code prints (run again here on the sample exports, in the same order)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import Result
from dateutil.relativedelta import relativedelta

Run = Callable[..., Result]
ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
POLICIES = ROOT / "retention_policies"
KEY = {"ARCHIVER_KEY_FILE": "k.key"}
LINK = re.compile(r"\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.M | re.S)
STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")


def test_every_relative_link_in_docs_and_the_readme_resolves() -> None:
    missing = [
        f"{page.name}: {target}"
        for page in [DOCS.parent / "README.md", *sorted(DOCS.glob("*.md"))]
        for target in LINK.findall(page.read_text(encoding="utf-8"))
        if "://" not in target
        and not target.startswith("#")
        and not (page.parent / target.split("#", 1)[0]).exists()
    ]
    assert missing == []


def test_the_readme_stays_short_and_points_into_docs() -> None:
    readme = (DOCS.parent / "README.md").read_text(encoding="utf-8")
    assert readme.count("\n") < 300
    linked = {t.split("#", 1)[0] for t in LINK.findall(readme) if t.startswith("docs/")}
    assert linked == {f"docs/{page.name}" for page in DOCS.glob("*.md")}


# --- docs/retention.md, worked examples -----------------------------------------------------

DOC = (DOCS / "retention.md").read_text(encoding="utf-8")


def _section(number: int) -> str:
    start = DOC.index(f"\n### {number}. ")
    end = DOC.find("\n### ", start + 1)
    return DOC[start : end if end > 0 else len(DOC)]


def _block(text: str, lang: str, containing: str = "") -> str:
    return next(b for kind, b in FENCE.findall(text) if kind == lang and containing in b)


def _shown(command: str, *, whole: bool = False) -> str:
    """What the page prints after ``$ archiver COMMAND…`` (``whole``: exactly that command
    line), up to the next command."""
    for _, body in FENCE.findall(DOC):
        lines = body.splitlines()
        for i, line in enumerate(lines):
            written = f"$ archiver {command}"
            if line == written or (not whole and line.startswith(written)):
                rest = lines[i + 1 :]
                end = next((j for j, r in enumerate(rest) if r.startswith("$ ")), len(rest))
                return "\n".join(rest[:end]) + "\n"
    raise AssertionError(f"`archiver {command}` is not shown in docs/retention.md")


def _explain(run: Run, args: str) -> str:
    result = run("policy", "explain", *args.split(), **KEY)
    assert result.exit_code == 0, result.output
    return result.stdout


def _load(run: Run, *paths: Path | str) -> Result:
    result = run("policy", "load", *map(str, paths), **KEY)
    assert result.exit_code == 0, result.output
    return result


def _at(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def _one_stamp(output: str, years: int, ingested: tuple[datetime, datetime]) -> str:
    """The one timestamp of ``output`` that is ``years`` after the ingest, checked to be."""
    (stamp,) = set(STAMP.findall(output.split("Deletable at: ", 1)[1]))
    lo, hi = (t.replace(microsecond=0) + relativedelta(years=years) for t in ingested)
    assert lo <= _at(stamp) <= hi, (stamp, ingested)
    return stamp


@pytest.fixture
def samples(run: Run, tmp_path: Path) -> tuple[datetime, datetime]:
    """The archive of the examples: the WhatsApp samples and the made-up private chat for
    dana, the Telegram samples for sam. Returns when the ingest ran."""
    exports = tmp_path / "exports"
    shutil.copytree(ROOT / "sample_exports" / "whatsapp", exports)
    family = _block(DOC, "text", "Dinner on Sunday")
    (exports / "WhatsApp Chat with Family Group.txt").write_text(family, encoding="utf-8")
    assert run("init", "--tz", "Europe/London", "--key-file", "k.key").exit_code == 0
    before = datetime.now(UTC)
    for path, custodian in (
        (exports, "dana@broker.example"),
        (ROOT / "sample_exports" / "telegram", "sam@broker.example"),
    ):
        result = run("ingest", str(path), "--custodian", custodian, **KEY)
        assert result.exit_code == 0, result.output
    return before, datetime.now(UTC)


def test_the_worked_examples_print_what_the_page_shows(
    run: Run, tmp_path: Path, samples: tuple[datetime, datetime]
) -> None:
    for number in (1, 2):
        policy = tmp_path / f"example-{number}.toml"
        policy.write_text(_block(_section(number), "toml"), encoding="utf-8")
        _load(run, policy)
        command = "policy explain 1796385905049600 --as-of 2027-01-01"
        if number == 2:
            command = "policy explain 1794485822423040 --as-of 2027-01-01"
        assert _explain(run, command.removeprefix("policy explain ")) == _shown(command)

    _load(run, POLICIES / "finra-4511.toml", POLICIES / "gdpr.toml")
    command = "policy explain 1801860730060800 --as-of 2028-01-01"
    out = _explain(run, command.removeprefix("policy explain "))
    shown = _shown(command)
    (documented,) = set(STAMP.findall(shown.split("Deletable at: ", 1)[1]))
    assert out == shown.replace(documented, _one_stamp(out, 1, samples))

    loaded = _load(run, POLICIES / "mifid-ii.toml", POLICIES / "hipaa.toml")
    shown = _shown("policy load retention_policies/mifid-ii.toml")
    for warning in (line for line in shown.splitlines() if line.startswith("Warning: ")):
        assert warning in loaded.stderr.splitlines()
    command = "policy explain 1794485822423040 --as-of 2040-01-01"
    assert _explain(run, command.removeprefix("policy explain ")) == _shown(command)

    clinic = tmp_path / "clinic.toml"
    hipaa = (POLICIES / "hipaa.toml").read_text(encoding="utf-8")
    clinic.write_text(hipaa.replace('["Clinic*", "*Patient*"]', '["Cl?nic*"]'), encoding="utf-8")
    assert run("policy", "load", str(clinic), "--dry-run", **KEY).exit_code == 0
    _load(run, clinic)
    command = "policy explain 1796385905049600 --as-of 2040-01-01"
    assert _explain(run, command.removeprefix("policy explain ")) == _shown(command)

    _load(run, POLICIES / "sec-17a-4.toml")
    timeless = _explain(run, "0 --as-of 2028-01-01")
    assert "Decision: kept until " in timeless
    _one_stamp(timeless, 3, samples)  # three years from the ingest, not from 1970

    hold = run(
        "hold", "create", "desk-booking", "--matter", "Trade review TRD-240325",
        "--reason", "booking dispute", "--chat", "Deal Desk*", "--query", "booking", **KEY,
    )  # fmt: skip
    assert hold.stdout == _shown("hold create desk-booking")
    command = "policy explain 1794486262824960 --as-of 2028-01-01"
    assert _explain(run, command.removeprefix("policy explain ")) == _shown(command)


def test_the_purge_example_deletes_certifies_and_keeps_purged_messages_out(
    run: Run, tmp_path: Path, samples: tuple[datetime, datetime]
) -> None:
    assert run(
        "hold", "create", "desk-booking", "--matter", "Trade review TRD-240325",
        "--reason", "booking dispute", "--chat", "Deal Desk*", "--query", "booking", **KEY,
    ).exit_code == 0  # fmt: skip
    desk = tmp_path / "desk.toml"
    desk.write_text(
        '[policy]\nname = "desk-chats"\n\n[[rules]]\nname = "desk-two-years"\n'
        'scope = { chat = ["Deal Desk*"] }\ndelete_after = "2 years"\n',
        encoding="utf-8",
    )
    _load(run, desk)
    (tmp_path / "certs").mkdir(mode=0o700)
    purged = run("purge", "--execute", "--certificate-dir", "certs", **KEY)
    assert purged.exit_code == 0, purged.output
    shown = _shown("purge --execute --certificate-dir certs").splitlines()
    for line in shown[1:5] + shown[-3:]:  # counts and holds; not times and hashes
        assert line in purged.stdout.splitlines()

    original = ROOT / "sample_exports" / "whatsapp" / "WhatsApp Chat with Deal Desk EMEA.txt"
    again = tmp_path / "WhatsApp Chat with Deal Desk EMEA (2).txt"
    shutil.copy(original, again)
    result = run("ingest", again.name, "--custodian", "priya@broker.example", **KEY)
    assert result.exit_code == 0, result.output
    shown = _shown(f'ingest "{again.name}"').splitlines()
    assert result.stdout.splitlines()[-2:] == shown[-2:]

    gone = run("policy", "explain", "1794485822423040", **KEY)
    assert gone.exit_code == 1
    expected = _shown("policy explain 1794485822423040", whole=True).strip()
    assert STAMP.sub("T", gone.stderr.strip()) == STAMP.sub("T", expected)
