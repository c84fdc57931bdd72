"""One conversation is one chat, and purged stays purged: chat identity by evidence,
tombstones that match whatever title, file, custodian or phone, cross-device dedup."""

from __future__ import annotations

import shutil
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from archiver.archive.session import Archive
from archiver.ingest.exports import IngestOptions, SourceReport, ingest
from archiver.retention.purge import execute
from tests.conftest import inv
from tests.retention_helpers import clock, load

SAMPLES = Path(__file__).resolve().parents[2] / "sample_exports" / "whatsapp"
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
            "LEFT JOIN messages m ON m.chat_id = c.id WHERE c.merged_into IS NULL "
            "GROUP BY c.id ORDER BY c.id"
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


# --- the officer corrects a decision: chats merge / split ---------------------------------


def two_families(tmp_path: Path) -> tuple[Path, Path]:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "WhatsApp Chat with Family.txt").write_text(
        "23/03/2024, 09:00 - Mum: Sunday lunch at ours?\n"
        "23/03/2024, 09:05 - Dad: I will bring the wine\n",
        encoding="utf-8",
    )
    (b / "WhatsApp Chat with Family.txt").write_text(
        "23/03/2024, 10:00 - Aunt Rosa: Who has the photos from the wedding?\n"
        "23/03/2024, 10:02 - Cousin Leo: I do, sending tonight\n"
        "25/03/2024, 20:00 - Aunt Rosa: Thank you!\n",
        encoding="utf-8",
    )
    return a / "WhatsApp Chat with Family.txt", b / "WhatsApp Chat with Family.txt"


def verified(archive: Archive) -> bool:
    from archiver.audit.verify import verify

    return verify(archive, inv("verify")).ok


def test_merge_makes_two_chats_one_and_later_exports_arrive_there(
    archive: Archive, tmp_path: Path
) -> None:
    from archiver.curation import chats

    a, b = two_families(tmp_path)
    ingest_one(archive, a)
    ingest_one(archive, b)
    report = chats.merge(archive, 1, [2], "the same family group", inv("chats.merge"))
    assert report["merged"][0]["messages"] == 3
    assert chat_rows(archive) == [("Family", "Family", 5)]
    assert [c["id"] for c in chats.list_chats(archive, inv("chats"))] == [1]
    assert verified(archive)  # fingerprints are checked under the chat they were made in
    with b.open("a", encoding="utf-8") as fh:
        fh.write("26/03/2024, 08:00 - Cousin Leo: Photos are up\n")
    again = ingest_one(archive, b, custodian="leo@family.example")
    assert (again.new, again.existing) == (1, 3)
    assert chat_rows(archive) == [("Family", "Family", 6)]
    entry = archive.store.rows(
        "SELECT details FROM audit_log WHERE action = 'chats.merge' ORDER BY seq DESC LIMIT 1"
    )
    assert '"reason":"the same family group"' in entry[0]["details"]


def test_split_takes_an_export_out_into_its_own_chat(archive: Archive, tmp_path: Path) -> None:
    from archiver.curation import chats

    a, b = two_families(tmp_path)
    ingest_one(archive, a)
    ingest_one(archive, b)
    chats.merge(archive, 1, [2], "looked like one group", inv("chats.merge"))
    source_b = archive.store.one("SELECT id FROM sources WHERE origin_path LIKE '%/b/%'")
    report = chats.split(
        archive, 1, source_b, "it is the cousins' group", inv("chats.split"), title="Cousins"
    )
    assert report["messages"] == 3 and report["new_chat"] == "Cousins"
    assert chat_rows(archive)[0] == ("Family", "Family", 2)
    assert chat_rows(archive)[-1] == ("Cousins", "Cousins", 3)
    assert verified(archive)


def test_a_merge_or_split_never_narrows_a_hold(archive: Archive, tmp_path: Path) -> None:
    from archiver.core.errors import Refused
    from archiver.curation import chats
    from archiver.retention import holds

    a, b = two_families(tmp_path)
    ingest_one(archive, a)
    ingest_one(archive, b)
    holds.create(
        archive, "rosa", matter="M", reason="r", custodian=[], chat=["family #2"],
        participant=[], sent_after=None, sent_before=None, query=None, inv=inv("hold.create"),
    )  # fmt: skip
    chats.merge(archive, 1, [2], "one group", inv("chats.merge"))
    assert holds.show(archive, "rosa", inv("hold.show"))["held_now"] == 5  # widened, not lost
    source_a = archive.store.one("SELECT id FROM sources WHERE origin_path LIKE '%/a/%'")
    with pytest.raises(Refused, match="leave the scope of hold"):
        chats.split(archive, 1, source_a, "parents", inv("chats.split"), title="Parents")
    assert chat_rows(archive)[0] == ("Family", "Family", 5)


def test_telegram_chats_are_not_merged(archive: Archive) -> None:
    from archiver.core.errors import Refused
    from archiver.curation import chats

    telegram = Path(__file__).resolve().parents[2] / "sample_exports" / "telegram"
    ingest(archive, [telegram], IngestOptions(), inv("ingest"))
    ids = [r["id"] for r in archive.store.rows("SELECT id FROM chats ORDER BY id")]
    with pytest.raises(Refused, match="identified by the platform's own chat id"):
        chats.merge(archive, ids[0], [ids[1]], "no", inv("chats.merge"))


def test_chats_merge_cli(run: object, tmp_path: Path, key_file: Path) -> None:
    from click.testing import Result

    def cli(*args: str) -> Result:
        return run(*args, ARCHIVER_ARCHIVE=str(tmp_path / "arc"), ARCHIVER_KEY_FILE=str(key_file))  # type: ignore[operator, no-any-return]

    a, b = two_families(tmp_path)
    assert cli("init", "--tz", "Europe/London", "--key-file", str(key_file)).exit_code == 0
    assert cli("ingest", str(a)).exit_code == 0
    second = cli("ingest", str(b))
    assert (
        "Warning: WhatsApp Chat with Family.txt: chat 'Family': chat 1 has the same title but "
        "no message and too few participants in common: archived as a separate chat "
        "(`archiver chats merge` if they are one)"
    ) in " ".join(second.output.split())
    result = cli("chats", "merge", "1", "2", "--reason", "one group")
    assert result.exit_code == 0, result.output
    assert result.output == "Merged chat 2 'Family' into chat 1 'Family': 3 message(s) moved\n"
    missing = cli("chats", "merge", "1", "9", "--reason", "x")
    assert missing.exit_code == 1
    assert "no chat with id 9; see `archiver chats`" in missing.output
