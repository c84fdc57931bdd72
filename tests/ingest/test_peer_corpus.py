"""Every peer export ingests, or is refused with a clear message naming the file.

The peers' files are read from ../shared/corpus (never copied: mixed licences); the test
skips when that folder is absent. Per file it prints what was found.
"""

from __future__ import annotations

import pytest

from archiver.archive.session import Archive
from archiver.ingest.exports import IngestOptions, ingest
from tests.conftest import SHARED, inv

CORPUS = SHARED / "corpus" / "peers"


@pytest.mark.parametrize("platform", ["whatsapp", "telegram"])
def test_peer_corpus_ingests_or_is_refused_clearly(
    archive: Archive, platform: str, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = CORPUS / platform
    if not folder.exists():
        pytest.skip(f"{folder} is not present")
    report = ingest(archive, [folder], IngestOptions(custodian="corpus", tz="UTC"), inv())
    lines = []
    for s in report.sources:
        if s.status == "failed":
            assert s.error is not None and s.name in s.error, s.error  # names the file
            lines.append(f"refused   {s.origin}: {s.error.splitlines()[0]}")
        else:
            lines.append(
                f"{s.status:9s} {s.origin}: {s.messages} messages, {s.unparsed} unparsed lines"
            )
    with capsys.disabled():
        print(f"\n{platform} peer corpus ({len(report.sources)} exports):")
        for line in lines:
            print("  " + line)
    ingested = [s for s in report.sources if s.status != "failed"]
    assert len(ingested) >= len(report.sources) * 0.8
    assert sum(s.messages for s in ingested) > 0
