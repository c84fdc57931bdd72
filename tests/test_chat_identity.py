"""One conversation is one chat, and purged stays purged: chat identity by evidence,
tombstones that match whatever title, file, custodian or phone, cross-device dedup."""

from __future__ import annotations

import shutil
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from archiver.archive import Archive
from archiver.ingest import IngestOptions, SourceReport, ingest
from archiver.purge import execute
from tests.conftest import inv
from tests.retention_helpers import clock, load

SAMPLES = Path(__file__).resolve().parents[1] / "sample_exports" / "whatsapp"
DEAL_DESK = SAMPLES / "WhatsApp Chat with Deal Desk EMEA.txt"
MARCUS = SAMPLES / "WhatsApp Chat - Marcus Lee.zip"
LATER = datetime(2031, 1, 1, tzinfo=UTC)
PURGE_DEAL_DESK = """
[policy]
name = "test"
[[rules]]
name = "desk-one-year"
scope = { chat = ["Deal Desk*"] }
delete_after = "1 year"
"""


def ingest_one(
    archive: Archive, path: Path, custodian: str = "dana@broker.example", tz: str = "Europe/London"
) -> SourceReport:
    report = ingest(archive, [path], IngestOptions(custodian=custodian, tz=tz), inv("ingest"))
    (source,) = report.sources
    assert source.status in ("ingested", "already-ingested"), source.error
    return source


def copy(src: Path, folder: Path, name: str) -> Path:
    folder.mkdir(exist_ok=True)
    dest = folder / name
    shutil.copyfile(src, dest)
    return dest


def chat_rows(archive: Archive) -> list[tuple[str, str | None, int]]:
    return [
        (r["key"], r["title"], r["n"])
        for r in archive.store.rows(
            "SELECT c.key, c.title, count(m.id) AS n FROM chats c "
            "LEFT JOIN messages m ON m.chat_id = c.id GROUP BY c.id ORDER BY c.id"
        )
    ]


def purge_deal_desk(archive: Archive, tmp_path: Path) -> int:
    load(archive, tmp_path, PURGE_DEAL_DESK)
    return int(execute(archive, LATER, clock(LATER))["deleted"])


def test_a_renamed_re_download_is_the_same_chat_and_purged_stays_purged(
    archive: Archive, tmp_path: Path
) -> None:
    first = ingest_one(archive, DEAL_DESK)
    assert first.new == 28
    assert purge_deal_desk(archive, tmp_path) == 28
    later = copy(DEAL_DESK, tmp_path / "dl", DEAL_DESK.stem + " (2).txt")
    with later.open("a", encoding="utf-8") as fh:  # exported again a week later
        fh.write("4/2/24, 9:00 AM - Priya Nair: New week, new book\n")
    again = ingest_one(archive, later)
    assert (again.new, again.existing, again.previously_purged) == (1, 0, 28)
    assert [(d["chat_id"], d["how"]) for d in again.chats_decided] == [(1, "shared-messages")]
    assert chat_rows(archive) == [("Deal Desk EMEA", "Deal Desk EMEA", 1)]


def test_the_identical_file_after_a_purge_reports_previously_purged(
    archive: Archive, tmp_path: Path
) -> None:
    ingest_one(archive, DEAL_DESK)
    purge_deal_desk(archive, tmp_path)
    again = ingest_one(archive, DEAL_DESK)
    assert again.status == "already-ingested"
    assert (again.messages, again.existing, again.previously_purged) == (28, 0, 28)


def test_a_purged_message_under_another_title_custodian_and_file_stays_purged(
    archive: Archive, tmp_path: Path
) -> None:
    ingest_one(archive, DEAL_DESK)
    purge_deal_desk(archive, tmp_path)
    renamed = copy(DEAL_DESK, tmp_path / "other", "WhatsApp Chat with EMEA desk (renamed).txt")
    again = ingest_one(archive, renamed, custodian="tom@broker.example")
    assert (again.new, again.previously_purged) == (0, 28)
    assert archive.store.one("SELECT count(*) FROM messages") == 0


def test_a_byte_identical_re_download_from_a_second_custodian_adds_no_duplicate(
    archive: Archive, tmp_path: Path
) -> None:
    ingest_one(archive, MARCUS)
    again = ingest_one(
        archive, copy(MARCUS, tmp_path / "dl", MARCUS.stem + " (1).zip"), "marcus@broker.example"
    )
    assert (again.new, again.existing) == (0, 14)
    assert chat_rows(archive) == [("Marcus Lee", "Marcus Lee", 14)]
    holders = archive.store.one("SELECT count(DISTINCT custodian_id) FROM message_custodian_ids")
    assert holders == 2


def android(title: str, lines: list[str]) -> str:
    return "\n".join(lines) + "\n"


def test_two_unrelated_groups_that_share_a_title_stay_two_chats(
    archive: Archive, tmp_path: Path
) -> None:
    folder = tmp_path / "a"
    folder.mkdir()
    (folder / "WhatsApp Chat with Family.txt").write_text(
        "23/03/2024, 09:00 - Mum: Sunday lunch at ours?\n"
        "23/03/2024, 09:05 - Dad: I will bring the wine\n"
        "24/03/2024, 18:00 - Mum: Don't be late\n",
        encoding="utf-8",
    )
    other = tmp_path / "b"
    other.mkdir()
    (other / "WhatsApp Chat with Family.txt").write_text(
        "23/03/2024, 10:00 - Aunt Rosa: Who has the photos from the wedding?\n"
        "23/03/2024, 10:02 - Cousin Leo: I do, sending tonight\n"
        "25/03/2024, 20:00 - Aunt Rosa: Thank you!\n",
        encoding="utf-8",
    )
    ingest_one(archive, folder / "WhatsApp Chat with Family.txt")
    second = ingest_one(archive, other / "WhatsApp Chat with Family.txt")
    assert second.new == 3
    assert chat_rows(archive) == [("Family", "Family", 3), ("Family #2", "Family", 3)]
    (decision,) = second.chats_decided
    assert decision["how"] == "new"
    assert "chat 1 has the same title" in decision["note"]


def test_a_later_export_of_the_same_group_without_overlap_joins_it_by_participants(
    archive: Archive, tmp_path: Path
) -> None:
    folder = tmp_path / "a"
    folder.mkdir()
    (folder / "WhatsApp Chat with Family.txt").write_text(
        "23/03/2024, 09:00 - Mum: Sunday lunch at ours?\n"
        "23/03/2024, 09:05 - Dad: I will bring the wine\n",
        encoding="utf-8",
    )
    later = tmp_path / "b"
    later.mkdir()
    (later / "WhatsApp Chat with Family.txt").write_text(
        "20/05/2024, 09:00 - Dad: Barbecue on Saturday\n20/05/2024, 09:01 - Mum: Lovely\n",
        encoding="utf-8",
    )
    ingest_one(archive, folder / "WhatsApp Chat with Family.txt")
    second = ingest_one(archive, later / "WhatsApp Chat with Family.txt")
    assert chat_rows(archive) == [("Family", "Family", 4)]
    assert second.chats_decided[0]["how"] == "participants"


IOS = [
    "[23/03/2024, 09:15:03] Dana Whitfield: Morning, can you confirm the coupon?",
    "[23/03/2024, 09:15:41] Raj Patel: 4.25%, settles T+2",
    "[23/03/2024, 09:16:07] Dana Whitfield: ok",
    "[23/03/2024, 09:16:49] Dana Whitfield: ok",
    "[23/03/2024, 09:17:12] Raj Patel: \u200eimage omitted",
    "[23/03/2024, 09:18:30] Dana Whitfield: \u200eThis message was deleted.",
    "[23/03/2024, 09:19:05] Raj Patel: Term sheet\nsecond line of it",
    "[23/03/2024, 09:20:00] Dana Whitfield: On the hour exactly",
    "[23/03/2024, 09:21:15] Raj Patel: Thanks \u200e",
]
ANDROID = [
    "23/03/2024, 09:15 - Dana Whitfield: Morning, can you confirm the coupon?",
    "23/03/2024, 09:15 - Raj Patel: 4.25%, settles T+2",
    "23/03/2024, 09:16 - Dana Whitfield: ok",
    "23/03/2024, 09:16 - Dana Whitfield: ok",
    "23/03/2024, 09:17 - Raj Patel: <Media omitted>",
    "23/03/2024, 09:18 - Dana Whitfield: This message was deleted",
    "23/03/2024, 09:19 - Raj Patel: Term sheet\nsecond line of it",
    "23/03/2024, 09:20 - Dana Whitfield: On the hour exactly",
    "23/03/2024, 09:21 - Raj Patel: Thanks",
]


def ios_zip(folder: Path, lines: list[str]) -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / "WhatsApp Chat - Bond Desk.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("_chat.txt", "\r\n".join(lines) + "\r\n")
    return path


def android_txt(folder: Path, lines: list[str], title: str = "Bond Desk") -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / f"WhatsApp Chat with {title}.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("first_phone", ["ios", "android"])
def test_the_same_group_from_an_iphone_and_an_android_phone_is_one_set_of_messages(
    archive: Archive, tmp_path: Path, first_phone: str
) -> None:
    ios = ios_zip(tmp_path / "ios", IOS)
    droid = android_txt(tmp_path / "android", ANDROID)
    first, second = (ios, droid) if first_phone == "ios" else (droid, ios)
    ingest_one(archive, first, custodian="dana@broker.example")
    again = ingest_one(archive, second, custodian="raj@broker.example")
    assert (again.new, again.existing, again.cross_device) == (0, 9, 8)
    assert archive.store.one("SELECT count(*) FROM messages") == 9
    assert archive.store.one("SELECT count(*) FROM message_sources") == 9
    # the two "ok" in one minute stay two, paired in order with their twins
    oks = archive.store.rows(
        "SELECT m.id, s.line FROM messages m JOIN message_sources s ON s.message_id = m.id "
        "WHERE m.text = 'ok' ORDER BY m.id"
    )
    assert [r["line"] for r in oks] == [3, 4]


def test_a_third_ok_in_the_same_minute_is_a_new_message(archive: Archive, tmp_path: Path) -> None:
    ingest_one(archive, ios_zip(tmp_path / "ios", IOS))
    more = [*ANDROID[:4], "23/03/2024, 09:16 - Dana Whitfield: ok", *ANDROID[4:]]
    again = ingest_one(archive, android_txt(tmp_path / "android", more))
    assert (again.new, again.existing) == (1, 9)


def test_two_phones_with_seconds_that_differ_are_two_messages(
    archive: Archive, tmp_path: Path
) -> None:
    ingest_one(archive, ios_zip(tmp_path / "a", IOS[:2]))
    moved = [IOS[0], IOS[1].replace("09:15:41", "09:15:42")]
    again = ingest_one(archive, ios_zip(tmp_path / "b", moved))
    assert (again.new, again.existing, again.cross_device) == (1, 1, 0)


def test_cross_device_merges_are_reported_in_the_ingest_summary(
    run: object, tmp_path: Path, key_file: Path
) -> None:
    from click.testing import Result

    def cli(*args: str) -> Result:
        return run(*args, ARCHIVER_ARCHIVE=str(tmp_path / "arc"), ARCHIVER_KEY_FILE=str(key_file))  # type: ignore[operator, no-any-return]

    assert cli("init", "--tz", "Europe/London", "--key-file", str(key_file)).exit_code == 0
    assert cli("ingest", str(ios_zip(tmp_path / "ios", IOS))).exit_code == 0
    result = cli("ingest", str(android_txt(tmp_path / "android", ANDROID)))
    assert result.exit_code == 0, result.output
    assert (
        "WhatsApp Chat with Bond Desk.txt: chat 'Bond Desk' is archived chat 1 'Bond Desk' "
        "(shares 9 message(s) with it)"
    ) in result.output
    assert (
        "WhatsApp Chat with Bond Desk.txt: 8 message(s) are the same messages exported from "
        "another phone (times to the minute there): merged, both sources kept"
    ) in result.output
