"""Time zones an operator types: places and explicit offsets are accepted, names that would
read summer times an hour off are refused with the zone to use instead."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import Result
from hypothesis import given, settings
from hypothesis import strategies as st

from archiver.archive.session import Archive
from archiver.core import zones
from archiver.core.errors import InputError
from archiver.ingest.exports import IngestOptions, ingest
from tests.conftest import inv

Run = Callable[..., Result]
SUMMER = "6/15/24, 9:00 AM - Dana Kim: Summer price 101.5\n"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            "EST",
            "time zone EST has no daylight saving (a fixed UTC-05:00); use --tz "
            "America/New_York, or --tz UTC-05:00 if the phone really kept a fixed offset",
        ),
        (
            "est",
            "time zone est has no daylight saving (a fixed UTC-05:00); use --tz "
            "America/New_York, or --tz UTC-05:00 if the phone really kept a fixed offset",
        ),
        (
            "MST",
            "time zone MST has no daylight saving (a fixed UTC-07:00); use --tz America/Denver "
            "or America/Phoenix, or --tz UTC-07:00 if the phone really kept a fixed offset",
        ),
        (
            "HST",
            "time zone HST is a fixed UTC-10:00; use --tz Pacific/Honolulu, or --tz UTC-10:00 "
            "if the phone really kept a fixed offset",
        ),
        ("EST5EDT", "time zone EST5EDT is a POSIX rule, not a place; use --tz America/New_York"),
        ("CST6CDT", "time zone CST6CDT is a POSIX rule, not a place; use --tz America/Chicago"),
        ("MST7MDT", "time zone MST7MDT is a POSIX rule, not a place; use --tz America/Denver"),
        (
            "PST8PDT",
            "time zone PST8PDT is a POSIX rule, not a place; use --tz America/Los_Angeles",
        ),
        (
            "CET",
            "time zone CET is a rule, not a place; use --tz Europe/Berlin, Europe/Paris or "
            "Europe/Madrid",
        ),
        (
            "MET",
            "time zone MET is a rule, not a place; use --tz Europe/Berlin, Europe/Paris or "
            "Europe/Madrid",
        ),
        (
            "EET",
            "time zone EET is a rule, not a place; use --tz Europe/Athens, Europe/Helsinki or "
            "Europe/Kyiv",
        ),
        ("WET", "time zone WET is a rule, not a place; use --tz Europe/Lisbon or Atlantic/Canary"),
        (
            "GMT",
            "time zone GMT has no summer time (a fixed UTC+00:00); use --tz Europe/London, or "
            "--tz UTC if the times really are UTC",
        ),
        (
            "Etc/GMT+5",
            "time zone Etc/GMT+5 is a fixed offset with its sign inverted the POSIX way "
            "(Etc/GMT+5 is UTC-05:00); use --tz UTC-05:00 if the phone really kept a fixed offset",
        ),
        (
            "Etc/GMT-3",
            "time zone Etc/GMT-3 is a fixed offset with its sign inverted the POSIX way "
            "(Etc/GMT+5 is UTC-05:00); use --tz UTC+03:00 if the phone really kept a fixed offset",
        ),
        (
            "PST",
            "time zone PST is an abbreviation (Pacific time), not a time zone; use --tz "
            "America/Los_Angeles or America/Vancouver",
        ),
        (
            "CST",
            "time zone CST is an abbreviation (US Central, China or Cuba time), not a time "
            "zone; use --tz America/Chicago or Asia/Shanghai",
        ),
        (
            "BST",
            "time zone BST is an abbreviation (British Summer Time or Bangladesh time), not a "
            "time zone; use --tz Europe/London or Asia/Dhaka",
        ),
        (
            "IST",
            "time zone IST is an abbreviation (India, Ireland or Israel time), not a time "
            "zone; use --tz Asia/Kolkata, Europe/Dublin or Asia/Jerusalem",
        ),
        (
            "CEST",
            "time zone CEST is an abbreviation (Central European summer time), not a time "
            "zone; use --tz Europe/Berlin or Europe/Paris",
        ),
        (
            "AEST",
            "time zone AEST is an abbreviation (Eastern Australia time), not a time zone; use "
            "--tz Australia/Sydney or Australia/Brisbane",
        ),
        (
            "GMT+5",
            "time zone GMT+5 is an offset written without UTC; use --tz UTC+05:00 if the phone "
            "really kept a fixed offset",
        ),
        (
            "+05:30",
            "time zone +05:30 is an offset written without UTC; use --tz UTC+05:30 if the "
            "phone really kept a fixed offset",
        ),
        (
            "Zulu",
            "time zone Zulu is another spelling of UTC; use --tz UTC if the times really are UTC",
        ),
        (
            "right/Europe/London",
            "time zone right/Europe/London counts leap seconds (times 27 s off); use --tz "
            "Europe/London",
        ),
        (
            "UTC+15:00",
            "time zone 'UTC+15:00': an offset runs from UTC-14:00 to UTC+14:00 with minutes "
            "below 60 (for example UTC+05:30)",
        ),
        (
            "Europe/Londn",
            "unknown time zone 'Europe/Londn': did you mean Europe/London? use an IANA name "
            "such as Europe/London or America/New_York, UTC, or a fixed offset written "
            "UTC+05:30",
        ),
        (
            "america/new_york",
            "unknown time zone 'america/new_york': did you mean America/New_York? use an IANA "
            "name such as Europe/London or America/New_York, UTC, or a fixed offset written "
            "UTC+05:30",
        ),
    ],
)
def test_names_that_read_times_wrong_are_refused_with_the_zone_to_use(
    name: str, message: str
) -> None:
    with pytest.raises(InputError) as refused:
        zones.resolve(name)
    assert str(refused.value) == message


@pytest.mark.parametrize(
    ("typed", "recorded"),
    [
        ("America/New_York", "America/New_York"),
        (" Europe/London ", "Europe/London"),
        ("US/Eastern", "US/Eastern"),
        ("UTC", "UTC"),
        ("utc", "UTC"),
        ("Etc/UTC", "UTC"),
        ("UTC+05:30", "UTC+05:30"),
        ("UTC-05:00", "UTC-05:00"),
        ("UTC+5", "UTC+05:00"),
        ("utc-0930", "UTC-09:30"),
        ("UTC+00:00", "UTC"),
    ],
)
def test_places_and_explicit_offsets_are_accepted(typed: str, recorded: str) -> None:
    assert zones.canonical(typed) == recorded
    assert zones.resolve(typed).key == recorded


@settings(max_examples=60, deadline=None)
@given(
    minutes=st.integers(min_value=-14 * 60, max_value=14 * 60),
    instant=st.datetimes(min_value=datetime(1950, 1, 1), max_value=datetime(2090, 1, 1)),
)
def test_an_explicit_offset_is_that_offset_at_every_instant(
    minutes: int, instant: datetime
) -> None:
    sign = "-" if minutes < 0 else "+"
    name = f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    zone = zones.resolve(name)
    assert zone.key == zones.canonical(name)
    assert instant.replace(tzinfo=zone).utcoffset() == timedelta(minutes=minutes)
    assert instant.replace(tzinfo=UTC).astimezone(zone).utcoffset() == timedelta(minutes=minutes)


def test_a_name_an_older_archive_recorded_still_opens_as_it_was_used() -> None:
    est = zones.recorded("EST")
    assert datetime(2024, 7, 1, 12, tzinfo=est).utcoffset() == timedelta(hours=-5)
    assert zones.recorded("UTC-05:00").key == "UTC-05:00"


def summer_export(folder: Path) -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / "WhatsApp Chat with Dana Kim.txt"
    path.write_text(SUMMER, encoding="utf-8")
    return path


def sent_at(archive: Archive) -> datetime:
    return datetime.fromtimestamp(int(archive.store.one("SELECT sent_at FROM messages")), UTC)


def test_new_york_in_summer_is_four_hours_behind_utc_an_explicit_offset_five(
    archive: Archive, tmp_path: Path
) -> None:
    export = summer_export(tmp_path / "a")
    opts = IngestOptions(custodian="dana@broker.example", tz="America/New_York", tz_explicit=True)
    ingest(archive, [export], opts, inv("ingest"))
    assert sent_at(archive) == datetime(2024, 6, 15, 13, 0, tzinfo=UTC)
    assert archive.store.one("SELECT tz FROM sources") == "America/New_York"


def test_an_ingest_refuses_a_legacy_zone_before_anything_is_written(
    archive: Archive, tmp_path: Path
) -> None:
    export = summer_export(tmp_path / "a")
    opts = IngestOptions(custodian="dana@broker.example", tz="EST", tz_explicit=True)
    with pytest.raises(InputError, match=r"^time zone EST has no daylight saving"):
        ingest(archive, [export], opts, inv("ingest"))
    assert archive.store.one("SELECT count(*) FROM sources") == 0


def test_an_archive_whose_default_zone_is_legacy_asks_for_tz_at_ingest(
    archive: Archive, tmp_path: Path
) -> None:
    with archive.store.transaction():
        archive.store.set_meta("default_tz", "EST")  # an archive made before the refusal
    export = summer_export(tmp_path / "a")
    with pytest.raises(InputError) as refused:
        ingest(archive, [export], IngestOptions(tz=archive.default_tz), inv("ingest"))
    assert str(refused.value) == (
        "the archive's default zone cannot be used for an ingest: time zone EST has no "
        "daylight saving (a fixed UTC-05:00); use --tz America/New_York, or --tz UTC-05:00 "
        "if the phone really kept a fixed offset"
    )


def cli(run: Run, tmp_path: Path, key_file: Path) -> Callable[..., Result]:
    def call(*args: str) -> Result:
        return run(*args, ARCHIVER_ARCHIVE=str(tmp_path / "arc"), ARCHIVER_KEY_FILE=str(key_file))

    return call


@pytest.mark.parametrize(
    "command",
    [
        ("init", "--tz", "EST"),
        ("ingest", "x.txt", "--tz", "EST"),
        ("search", "price", "--tz", "EST"),
        ("show", "1", "--tz", "EST"),
        ("export", "--out", "x.jsonl", "--tz", "EST"),
    ],
    ids=lambda c: c[0],
)
def test_every_tz_option_refuses_a_legacy_zone(
    run: Run, tmp_path: Path, key_file: Path, command: tuple[str, ...]
) -> None:
    call = cli(run, tmp_path, key_file)
    if command[0] != "init":
        assert call("init", "--tz", "Europe/London").exit_code == 0
    result = call(*command)
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: time zone EST has no daylight saving (a fixed UTC-05:00); use --tz "
        "America/New_York, or --tz UTC-05:00 if the phone really kept a fixed offset\n"
    )


def test_an_explicit_offset_is_recorded_and_shown(run: Run, tmp_path: Path, key_file: Path) -> None:
    call = cli(run, tmp_path, key_file)
    assert call("init", "--tz", "utc-5").stdout.splitlines()[2] == "  time zone:   UTC-05:00"
    export = summer_export(tmp_path / "a")
    assert call("ingest", str(export), "--tz", "UTC+05:30").exit_code == 0
    mid = call("search", "summer", "--ids").stdout.strip()
    shown = call("show", mid, "--tz", "UTC+05:30")
    assert shown.exit_code == 0, shown.output
    assert shown.stdout.splitlines()[0] == "Conversation: Dana Kim   (times in UTC+05:30)"
    assert "2024-06-15 09:00:00" in shown.stdout


def test_a_source_read_with_an_explicit_offset_is_redacted_not_deleted_after_a_purge(
    archive: Archive, tmp_path: Path
) -> None:
    from archiver.retention.purge import execute
    from tests.retention_helpers import clock, load

    path = tmp_path / "WhatsApp Chat with Dana Kim.txt"
    path.write_text(
        "1/15/24, 9:00 AM - Dana Kim: Old news\n6/15/24, 9:00 AM - Dana Kim: Keep me\n",
        encoding="utf-8",
    )
    opts = IngestOptions(custodian="dana@broker.example", tz="UTC+05:30", tz_explicit=True)
    ingest(archive, [path], opts, inv("ingest"))
    load(
        archive,
        tmp_path,
        '[policy]\nname = "t"\n[[rules]]\nname = "r"\nscope = {}\ndelete_after = "1 year"\n',
    )
    report = execute(
        archive, datetime(2025, 3, 1, tzinfo=UTC), clock(datetime(2025, 3, 1, tzinfo=UTC))
    )
    assert report["deleted"] == 1
    assert archive.store.one("SELECT status FROM sources") == "redacted"
