"""Four-eyes: hold release, shortening policies, large purges, new admin slots and the
settings themselves wait for a different admin slot's approval, which performs them and
records both identities."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import Result

from archiver import parsers
from archiver.archive.session import Archive, create_archive
from archiver.core.errors import ApprovalPending, NotPermitted, Refused
from archiver.governance import approvals
from archiver.security.keyring import Secret
from archiver.store.auditlog import Invocation
from tests.conftest import FIXED_NOW, inv
from tests.fakeparser import FakeParser

Run = Callable[..., Result]
A = {"ARCHIVER_KEY_FILE": "k.key"}
LINES = [f"2024-03-01T09:{i:02d}:00+00:00|Desk|Dana|text|message {i}" for i in range(5)]
DELETE_1Y = '[policy]\nname = "p"\n[[rules]]\nname = "r"\ndelete_after = "1 year"\n'
DELETE_2Y = '[policy]\nname = "p"\n[[rules]]\nname = "r"\ndelete_after = "2 years"\n'
LONGER_AND_RETAIN = (
    '[policy]\nname = "p"\n[[rules]]\nname = "r"\ndelete_after = "3 years"\n'
    '[[rules]]\nname = "k"\nretain = "10 years"\n'
)
PENDING = re.compile(
    r"Pending approval: four-eyes is on: (?P<what>.+) needs a second admin\. Filed as "
    r"request (?P<id>\d+) \(expires \S+Z\); an admin key slot other than (?P<slot>[0-9a-f]{8}) "
    r"approves it with `archiver approve (?P=id)` \(`archiver requests list` shows it; "
    r"`archiver requests cancel (?P=id)` withdraws it\)\.\n"
)


@pytest.fixture(autouse=True)
def fake_parsers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parsers, "all_parsers", lambda: [FakeParser()])


@pytest.fixture
def second(run: Run, tmp_path: Path) -> dict[str, str]:
    """A four-eyes archive: k.key is one admin, the recovery key (B) the other; five
    messages of 2024 ingested, a hold on them, and a 2-year delete policy approved."""
    made = run("init", "--tz", "UTC", "--key-file", "k.key", "--recovery-key-out", "rec.txt")
    assert made.exit_code == 0
    assert run("settings", "four-eyes", "on", "--purge-threshold", "2", **A).exit_code == 0
    b = {"ARCHIVER_RECOVERY_KEY": (tmp_path / "rec.txt").read_text().strip()}
    (tmp_path / "desk.fake").write_text("\n".join(LINES) + "\n")
    assert run("ingest", "desk.fake", "--custodian", "dana@x.example", **A).exit_code == 0
    hold = ("hold", "create", "h1", "--matter", "M", "--reason", "R", "--chat", "Desk")
    assert run(*hold, **A).exit_code == 0
    (tmp_path / "p.toml").write_text(DELETE_2Y)
    filed = run("policy", "load", "p.toml", **A)
    assert filed.exit_code == 7, filed.output
    assert run("approve", pending_id(filed), **b).exit_code == 0
    return b


def pending_id(result: Result) -> str:
    match = PENDING.fullmatch(result.stderr)
    assert match, result.stderr
    return match["id"]


def requests(run: Run, *flags: str) -> list[dict[str, object]]:
    out = run("requests", "list", "--json", *flags, **A)
    assert out.exit_code == 0, out.output
    return list(json.loads(out.stdout))


def audit(run: Run, action: str) -> list[dict[str, object]]:
    return list(json.loads(run("audit", "--json", "--action", action, **A).stdout))


def slot_of(run: Run, env: dict[str, str]) -> str:
    rows = json.loads(run("key", "list", "--json", **env).stdout)
    return str(next(r["id"] for r in rows if r["in_use"]))


def test_init_with_four_eyes_and_settings_show(run: Run) -> None:
    made = run("init", "--tz", "UTC", "--key-file", "k.key", "--four-eyes")
    assert made.exit_code == 0
    assert "  four-eyes:   on (hold release, shortening policies" in made.stdout
    info = json.loads(run("settings", "show", "--json", **A).stdout)
    assert info["four_eyes"] is True
    assert (info["purge_threshold"], info["expire_hours"]) == (1000, 72)
    assert len(info["admin_slots"]) == 2


def test_releasing_a_hold_waits_for_a_different_admin_slot(
    run: Run, second: dict[str, str], tmp_path: Path
) -> None:
    a_slot, b_slot = slot_of(run, A), slot_of(run, second)
    filed = run("hold", "release", "h1", "--reason", "matter closed", **A)
    assert filed.exit_code == 7
    match = PENDING.fullmatch(filed.stderr)
    assert match and match["slot"] == a_slot
    assert match["what"] == "releasing hold 'h1' (5 message(s) held now)"
    rid = match["id"]
    assert json.loads(run("hold", "show", "h1", "--json", **A).stdout)["active"] is True
    [listed] = requests(run)
    assert (listed["id"], listed["status"], listed["what"]) == (
        int(rid),
        "pending",
        "release hold h1 (5 held)",
    )
    assert listed["requested_by"]["slot"] == a_slot  # type: ignore[index]

    same = run("approve", rid, **A)
    assert same.exit_code == 1
    assert same.stderr == (
        f"Error: request {rid} was filed with key slot {a_slot}, the slot this archive was "
        "unlocked with; four-eyes needs a different admin slot to approve it\n"
    )
    assert run("key", "add-keyfile", "r.key", "--role", "review", **A).exit_code == 0
    assert run("approve", rid, ARCHIVER_KEY_FILE="r.key").exit_code == 6

    approved = run("approve", rid, **second)
    assert approved.exit_code == 0, approved.output
    assert approved.stdout.splitlines()[0] == f"Approved request {rid}: release hold h1 (5 held)"
    assert json.loads(run("hold", "show", "h1", "--json", **A).stdout)["active"] is False
    assert requests(run) == []
    [done] = [r for r in requests(run, "--all") if r["id"] == int(rid)]
    assert done["status"] == "approved"
    assert done["decided_by"]["slot"] == b_slot  # type: ignore[index]

    [entry] = [e for e in audit(run, "approve") if e["details"].get("action") == "hold.release"]  # type: ignore[index]
    details = entry["details"]
    assert details["requested_by"]["slot"] == a_slot  # type: ignore[index]
    assert details["approved_by"]["slot"] == b_slot  # type: ignore[index]
    assert details["approved_by"]["label"] == "recovery"  # type: ignore[index]
    assert details["outcome"]["hold"] == "h1"  # type: ignore[index]
    released = audit(run, "hold.release")
    assert [(e["outcome"], e["args"].get("approval_request")) for e in released] == [  # type: ignore[union-attr]
        ("pending-approval", None),
        ("ok", int(rid)),
    ]
    again = run("approve", rid, **second)
    assert again.exit_code == 1
    assert again.stderr.startswith(f"Error: request {rid} was already approved (")
    assert run("verify", **A).exit_code == 0


def test_the_same_request_is_not_filed_twice(run: Run, second: dict[str, str]) -> None:
    first = run("hold", "release", "h1", "--reason", "closed", **A)
    rid = pending_id(first)
    again = run("hold", "release", "H1", "--reason", "closed", **A)  # any spelling of it
    assert again.exit_code == 7
    assert again.stderr.startswith(
        "Pending approval: four-eyes is on: releasing hold 'h1' (5 message(s) held now) was "
        f"already filed as request {rid} (expires "
    )
    assert len(requests(run)) == 1


def test_a_policy_that_only_lengthens_retention_loads_at_once(
    run: Run, second: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "longer.toml").write_text(DELETE_2Y.replace("2 years", "3 years"))
    result = run("policy", "load", "longer.toml", "--json", **A)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["version"] == 2
    (tmp_path / "keep.toml").write_text(LONGER_AND_RETAIN)
    assert run("policy", "load", "keep.toml", **A).exit_code == 0


def test_a_policy_that_shortens_retention_waits_and_is_applied_on_approval(
    run: Run, second: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "short.toml").write_text(DELETE_1Y)
    filed = run("policy", "load", "short.toml", **A)
    assert filed.exit_code == 7
    assert PENDING.fullmatch(filed.stderr)["what"] == (  # type: ignore[index]
        "a policy change that shortens or removes retention (1 rule change(s); 5 message(s) "
        "deletable sooner)"
    )
    [request] = requests(run)
    assert request["summary"]["shortening"] == ["rule p/r deletes after 1 year (before: 2 years)"]  # type: ignore[index]
    assert json.loads(run("policy", "show", "--json", **A).stdout)["version"] == 1
    assert run("approve", str(request["id"]), **second).exit_code == 0
    shown = json.loads(run("policy", "show", "--json", **A).stdout)
    assert (shown["version"], shown["policies"][0]["rules"][0]["delete_after"]) == (2, "1 year")


def test_a_policy_request_is_stale_once_another_policy_was_loaded(
    run: Run, second: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "short.toml").write_text(DELETE_1Y)
    rid = pending_id(run("policy", "load", "short.toml", **A))
    (tmp_path / "longer.toml").write_text(DELETE_2Y.replace("2 years", "3 years"))
    assert run("policy", "load", "longer.toml", **A).exit_code == 0
    stale = run("approve", rid, **second)
    assert stale.exit_code == 1
    assert stale.stderr == (
        "Error: the active policy is version 2, not version 1 this request was filed against "
        "(another policy was loaded since); nothing was changed. Cancel this request and load "
        "the policy again.\n"
    )
    assert json.loads(run("policy", "show", "--json", **A).stdout)["version"] == 2
    assert requests(run)[0]["status"] == "pending"


def test_a_purge_above_the_threshold_waits_and_the_certificate_names_both_slots(
    run: Run, second: dict[str, str], tmp_path: Path
) -> None:
    released = run("hold", "release", "h1", "--reason", "closed", **A)
    assert run("approve", pending_id(released), **second).exit_code == 0
    assert (
        run("key", "add-keyfile", "p.key", "--role", "purge", "--label", "cron", **A).exit_code == 0
    )
    filed = run("purge", "--execute", ARCHIVER_KEY_FILE="p.key")
    assert filed.exit_code == 7
    match = PENDING.fullmatch(filed.stderr)
    assert match and match["what"] == "a purge deleting 5 messages (more than the threshold of 2)"
    assert json.loads(run("status", "--json", **A).stdout)["counts"]["messages"] == 5
    approved = run("approve", match["id"], "--certificate", "cert.json", "--json", **A)
    assert approved.exit_code == 0, approved.output
    info = json.loads(approved.stdout)
    assert info["outcome"]["deleted"] == 5
    assert json.loads(run("status", "--json", **A).stdout)["counts"]["messages"] == 0
    payload = json.loads((tmp_path / "cert.json").read_text())["payload"]
    assert payload["approval"]["request"] == int(match["id"])
    assert payload["approval"]["requested_by"]["label"] == "cron"
    assert payload["approval"]["requested_by"]["role"] == "purge"
    assert payload["approval"]["approved_by"]["slot"] == slot_of(run, A)
    assert run("key", "public", "--out", "pub.pem", **A).exit_code == 0
    assert run("verify-signed", "cert.json", "--public-key", "pub.pem").exit_code == 0
    # the purge's own entries read as a purge, run by the approver for the request
    done = [e for e in audit(run, "purge") if e["action"] == "purge" and e["outcome"] == "ok"]
    assert [e["args"] for e in done] == [{"approval_request": int(match["id"])}]


def test_a_purge_at_or_under_the_threshold_runs_at_once(
    run: Run, second: dict[str, str], tmp_path: Path
) -> None:
    released = run("hold", "release", "h1", "--reason", "closed", **A)
    assert run("approve", pending_id(released), **second).exit_code == 0
    old = [f"2023-01-01T09:0{i}:00+00:00|Other|Sam|text|old {i}" for i in range(2)]
    (tmp_path / "other.fake").write_text("\n".join(old) + "\n")
    assert run("ingest", "other.fake", **A).exit_code == 0
    result = run("purge", "--execute", "--as-of", "2025-06-01", "--json", **A)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["deleted"] == 2


def test_an_approved_purge_never_deletes_more_than_it_showed(
    run: Run, second: dict[str, str], tmp_path: Path
) -> None:
    released = run("hold", "release", "h1", "--reason", "closed", **A)
    assert run("approve", pending_id(released), **second).exit_code == 0
    rid = pending_id(run("purge", "--execute", **A))
    more = [f"2023-01-01T09:0{i}:00+00:00|Other|Sam|text|old {i}" for i in range(3)]
    (tmp_path / "other.fake").write_text("\n".join(more) + "\n")
    assert run("ingest", "other.fake", **A).exit_code == 0
    result = run("approve", rid, **second)
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: this purge would now delete 8 messages, more than the 5 allowed (approved, or "
        "the four-eyes threshold); nothing was deleted. Run `archiver purge` to see why, and "
        "file a new request.\n"
    )
    assert json.loads(run("status", "--json", **A).stdout)["counts"]["messages"] == 8


def test_a_new_admin_slot_opens_the_archive_only_once_approved(
    run: Run, second: dict[str, str], tmp_path: Path
) -> None:
    new = {"ARCHIVER_PASSPHRASE": "the third officer's passphrase"}
    filed = run(
        "key",
        "add-passphrase",
        "--role",
        "admin",
        **A,
        ARCHIVER_NEW_PASSPHRASE=new["ARCHIVER_PASSPHRASE"],
    )
    assert filed.exit_code == 7
    assert PENDING.fullmatch(filed.stderr)["what"].startswith("adding admin key slot ")  # type: ignore[index]
    assert run("status", **new).exit_code == 3
    keyfile = run("key", "add-keyfile", "admin2.key", "--role", "admin", **A)
    assert keyfile.exit_code == 7
    assert (tmp_path / "admin2.key").exists()  # kept: it opens the archive once approved
    review = run("key", "add-keyfile", "r.key", "--role", "review", **A)
    assert review.exit_code == 0  # only admin slots need approval

    assert run("approve", pending_id(filed), **second).exit_code == 0
    assert run("status", **new).exit_code == 0
    assert json.loads(run("key", "list", "--json", **new).stdout)[-1]["role"] == "admin"
    assert run("status", ARCHIVER_KEY_FILE="admin2.key").exit_code == 3


def test_a_slot_approved_after_a_rotate_gets_the_current_database_key(
    run: Run, second: dict[str, str]
) -> None:
    new = {"ARCHIVER_PASSPHRASE": "the third officer's passphrase"}
    filed = run(
        "key",
        "add-passphrase",
        "--role",
        "admin",
        **A,
        ARCHIVER_NEW_PASSPHRASE=new["ARCHIVER_PASSPHRASE"],
    )
    assert run("key", "rotate", **A).exit_code == 0
    assert run("approve", pending_id(filed), **second).exit_code == 0
    assert run("status", **new).exit_code == 0


def test_four_eyes_needs_two_admin_slots(run: Run, tmp_path: Path) -> None:
    assert run("init", "--tz", "UTC", "--key-file", "k.key").exit_code == 0
    slots = json.loads(run("key", "list", "--json", **A).stdout)
    recovery = next(s["id"] for s in slots if s["kind"] == "recovery")
    assert run("key", "remove", recovery, "--yes-i-understand", **A).exit_code == 0
    result = run("settings", "four-eyes", "on", **A)
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: four-eyes needs at least two admin key slots (a request is approved by an "
        "admin slot other than the one that filed it); this archive has 1. Add one with "
        "`archiver key add-passphrase --role admin` (one per officer).\n"
    )


def test_turning_four_eyes_off_is_itself_a_request(run: Run, second: dict[str, str]) -> None:
    filed = run("settings", "four-eyes", "off", **A)
    assert filed.exit_code == 7
    assert PENDING.fullmatch(filed.stderr)["what"] == "changing four-eyes"  # type: ignore[index]
    assert json.loads(run("settings", "show", "--json", **A).stdout)["four_eyes"] is True
    assert run("approve", pending_id(filed), **second).exit_code == 0
    assert json.loads(run("settings", "show", "--json", **A).stdout)["four_eyes"] is False
    assert run("hold", "release", "h1", "--reason", "closed", **A).exit_code == 0


def test_an_admin_slot_four_eyes_needs_cannot_be_removed(run: Run, second: dict[str, str]) -> None:
    recovery = slot_of(run, second)
    result = run("key", "remove", recovery, "--yes-i-understand", **A)
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: slot {recovery} is one of the two admin slots four-eyes needs (a request must "
        "be approved by a different admin slot than the one that made it); add another admin "
        "slot first, or turn four-eyes off (`archiver settings four-eyes off`)\n"
    )


# --- expiry and cancelling, with the clock in hand ------------------------------------------


def at(hours: float, command: str = "test") -> Invocation:
    moment = FIXED_NOW + timedelta(hours=hours)
    return Invocation(command=command, user="tester", host="testhost", clock=lambda: moment)


@pytest.fixture
def pair(tmp_path: Path, key_file: Path) -> Iterator[tuple[Archive, Archive]]:
    """The same four-eyes archive opened twice: by admin slot A and by the recovery slot B."""
    from archiver.archive.session import open_archive

    made = create_archive(
        tmp_path / "archive",
        Secret("keyfile", key_file.read_bytes(), "t"),
        inv("init"),
        tz="UTC",
        four_eyes=True,
    )
    made.archive.close()
    a = open_archive(tmp_path / "archive", Secret("keyfile", key_file.read_bytes(), "t"))
    b = open_archive(tmp_path / "archive", Secret.recovery(made.recovery_key, "t"))
    from archiver.retention import holds

    holds.create(
        a,
        "h1",
        matter="M",
        reason="R",
        custodian=[],
        chat=["x"],
        participant=[],
        sent_after=None,
        sent_before=None,
        query=None,
        inv=at(0),
    )
    yield a, b
    a.close()
    b.close()


def file_release(a: Archive, hours: float = 0) -> int:
    with pytest.raises(ApprovalPending) as filed:
        approvals.release_hold(a, "h1", "closed", at(hours, "hold.release"))
    return filed.value.request_id


def test_a_request_expires_after_the_set_hours(pair: tuple[Archive, Archive]) -> None:
    a, b = pair
    rid = file_release(a)
    with pytest.raises(Refused, match=f"request {rid} expired at 2026-11-30T12:00:00.000000Z"):
        approvals.approve(b, rid, at(72, "approve"))
    [row] = approvals.list_requests(b, at(72), every=True)
    assert row["status"] == "expired"
    assert approvals.list_requests(b, at(72)) == []
    rid2 = file_release(a, 73)  # an expired request does not block a new one
    assert rid2 == rid + 1
    approvals.approve(b, rid2, at(74, "approve"))


def test_a_request_is_cancelled_by_its_slot_or_an_admin_and_then_cannot_be_approved(
    pair: tuple[Archive, Archive],
) -> None:
    a, b = pair
    rid = file_release(a)
    cancelled = approvals.cancel(a, rid, "filed by mistake", at(1, "requests.cancel"))
    assert (cancelled["status"], cancelled["decision_note"]) == ("cancelled", "filed by mistake")
    with pytest.raises(Refused, match=f"request {rid} was already cancelled"):
        approvals.approve(b, rid, at(2, "approve"))


def test_only_the_filing_slot_or_an_admin_may_cancel(pair: tuple[Archive, Archive]) -> None:
    a, b = pair
    rid = file_release(a)
    b.role = "review"  # as if B were a review slot
    with pytest.raises(NotPermitted, match=f"request {rid} was filed by key slot {a.slot_id}"):
        approvals.cancel(b, rid, "no", at(1))
    with pytest.raises(NotPermitted, match="needs a key slot with the admin role"):
        approvals.approve(b, rid, at(1))
