"""Four-eyes: actions held back until a different admin key slot approves them.

The CLI runs five actions through this module. With four-eyes off (``settings``) each
goes straight to its use case; with it on, these are filed as a pending request instead
(``ApprovalPending``, exit 7) and nothing else changes:

- ``hold.release``: always;
- ``policy.load``: when the new set shortens or removes retention (``shortening``);
- ``purge.execute``: when the purge would delete more than ``purge_threshold`` messages
  (a purge at or under it runs, and is refused if it grows past it meanwhile);
- ``key.add``: a new admin slot (else one admin could make a second slot and approve
  their own requests); the slot is made, but holds the database key only once approved;
- ``settings.four-eyes``: any change while four-eyes is on (else one admin could turn
  it off, act alone, and turn it back on).

``approve`` checks that the request is pending and unexpired and that the approving
slot is an admin slot other than the one that filed it; then it performs the action with
what the request recorded, and records both identities (key slot id, kind, role, label,
OS user, host, time) in its audit entry and, for a purge, on the signed certificate.
A policy request is refused if another policy was loaded since it was filed; a purge
request deletes at most the number of messages the approver was shown.

Four-eyes is as strong as the separation of admin secrets: one person holding two admin
secrets (their passphrase and the recovery key, say) can approve their own requests.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn

from archiver.archive import keys, settings
from archiver.archive.session import Archive
from archiver.archive.settings import FourEyes
from archiver.core.errors import ApprovalPending, InputError, NotFound, NotPermitted, Refused
from archiver.retention import decisions as retention
from archiver.retention import holds, purge, shortening
from archiver.retention.policy import from_document, load_files, lock_violations
from archiver.security import roles
from archiver.security.keyring import Secret, create_key_file
from archiver.security.roles import Role
from archiver.store import auditlog
from archiver.store.auditlog import Invocation
from archiver.store.database import Store

# progress(phase, done since the last call, total or None), as purge reports it
Progress = Callable[[str, int, int | None], None]


def identity(archive: Archive, inv: Invocation) -> dict[str, Any]:
    """Who acts: the unlocking key slot, the OS user and host, the command, and when."""
    return archive.unlocked_by() | {
        "user": inv.user,
        "host": inv.host,
        "command": inv.command,
        "at": auditlog.format_time(inv.now()),
    }


def _ts(value: int | None) -> str | None:
    return None if value is None else auditlog.format_time(datetime.fromtimestamp(value, UTC))


# --- filing ---------------------------------------------------------------------------------


def _file(
    archive: Archive,
    inv: Invocation,
    action: str,
    params: dict[str, Any],
    summary: dict[str, Any],
    what: str,
) -> NoReturn:
    """Record a pending request with its audit entry, then stop the command."""
    store = archive.store
    now = inv.now().replace(microsecond=0)
    expires = now + timedelta(hours=settings.four_eyes(store).expire_hours)
    who = identity(archive, inv)
    encoded = json.dumps(params, sort_keys=True)
    for row in store.rows(
        "SELECT id, expires_at FROM approval_requests WHERE status = 'pending' AND action = ? "
        "AND params = ? ORDER BY id",
        (action, encoded),
    ):
        if row["expires_at"] > int(now.timestamp()):
            details = {"request": row["id"], "action": action, "already_filed": True}
            auditlog.append(store, inv, outcome="pending-approval", details=details)
            raise ApprovalPending(
                f"four-eyes is on: {what} was already filed as request {row['id']} (expires "
                f"{_ts(row['expires_at'])}), not yet approved; an admin key slot other than "
                f"the requester's approves it with `archiver approve {row['id']}`.",
                int(row["id"]),
            )
    with store.transaction():
        request_id = int(
            store.execute(
                "INSERT INTO approval_requests(action, params, summary, requested_at, "
                "requested_by, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    action,
                    encoded,
                    json.dumps(summary, sort_keys=True),
                    int(now.timestamp()),
                    json.dumps(who, sort_keys=True),
                    int(expires.timestamp()),
                ),
            ).lastrowid
        )
        auditlog.append(
            store,
            inv,
            outcome="pending-approval",
            details={
                "request": request_id,
                "action": action,
                "summary": summary,
                "requested_by": who,
                "expires_at": auditlog.format_time(expires),
            },
        )
    raise ApprovalPending(
        f"four-eyes is on: {what} needs a second admin. Filed as request {request_id} "
        f"(expires {auditlog.format_time(expires)}); an admin key slot other than "
        f"{archive.slot_id} approves it with `archiver approve {request_id}` "
        f"(`archiver requests list` shows it; `archiver requests cancel {request_id}` "
        "withdraws it).",
        request_id,
    )


def release_hold(archive: Archive, name: str, reason: str, inv: Invocation) -> dict[str, Any]:
    """``hold release``, or a request for it while four-eyes is on."""
    store = archive.store
    if not settings.four_eyes(store).on:
        return holds.release(archive, name, reason, inv)
    if not reason.strip():
        raise InputError("releasing a hold needs --reason")
    row = holds.find_hold(store, name)  # any spelling of the hold's name
    name = row["name"]
    if row["released_at"] is not None:
        raise Refused(f"hold {name!r} was already released")
    held = holds.held_count(store, row, archive.default_tz)
    _file(
        archive,
        inv,
        "hold.release",
        {"name": name, "reason": reason},
        {"hold": name, "matter": row["matter"], "reason": reason, "held_now": held},
        f"releasing hold {name!r} ({held} message(s) held now)",
    )


def load_policy(
    archive: Archive,
    paths: list[Path],
    inv: Invocation,
    *,
    lock: bool = False,
    dry_run: bool = False,
) -> dict[str, Any]:
    """``policy load``, or a request for it while four-eyes is on and the new set shortens
    or removes retention (a dry run is never a request: it changes nothing)."""
    store = archive.store
    if dry_run or not settings.four_eyes(store).on:
        return retention.load_policy(archive, paths, inv, lock=lock, dry_run=dry_run)
    new = load_files(paths)
    old = retention.active_policy(store)
    if old.locked and (problems := lock_violations(old, new)):
        raise Refused(
            f"policy version {old.version} is locked (preservation lock); refused: "
            + "; ".join(problems)
        )
    changes = shortening.rule_changes(old, new)
    counts = shortening.sooner(store, old, new, archive.default_tz, inv.now())
    if changes or any(counts.values()):
        _file(
            archive,
            inv,
            "policy.load",
            {"document": new.document(), "lock": lock, "base_version": old.version},
            {
                "previous_version": old.version,
                "sha256": new.sha256(),
                "files": [{"file": p.file, "policy": p.name} for p in new.policies],
                "shortening": changes,
                **counts,
            },
            f"a policy change that shortens or removes retention ({len(changes)} rule "
            f"change(s); {counts['messages_deletable_sooner']} message(s) deletable sooner)",
        )
    with store.transaction():  # the files loaded are the files checked
        report = retention.load_policy(archive, paths, inv, lock=lock)
        if report["sha256"] != new.sha256():
            raise Refused(
                "the policy files changed while they were being loaded; nothing was loaded. "
                "Run the command again."
            )
    return report


def execute_purge(
    archive: Archive,
    as_of: datetime,
    inv: Invocation,
    *,
    allow_future: bool = False,
    certificate: Path | None = None,
    certificate_dir: Path | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """``purge --execute``, or a request for it while four-eyes is on and the purge would
    delete more than the threshold."""
    fe = settings.four_eyes(archive.store)
    limit: int | None = None
    if fe.on and (allow_future or as_of <= inv.now()):  # else purge refuses it anyway
        with archive.store.transaction():
            plan = purge.make_plan(archive, as_of)
        count = len(plan.deletable)
        if count > fe.purge_threshold:
            _file(
                archive,
                inv,
                "purge.execute",
                {
                    "as_of": auditlog.format_time(as_of),
                    "allow_future": allow_future,
                    "approved_count": count,
                },
                plan.summary(),
                f"a purge deleting {count} messages (more than the threshold of "
                f"{fe.purge_threshold})",
            )
        limit = fe.purge_threshold
    return purge.execute(
        archive,
        as_of,
        inv,
        allow_future=allow_future,
        certificate=certificate,
        certificate_dir=certificate_dir,
        progress=progress,
        max_deletions=limit,
    )


def add_slot(
    archive: Archive, secret: Secret, inv: Invocation, *, role: Role, label: str | None = None
) -> str:
    """``key add-*``, or a request for a new admin slot while four-eyes is on."""
    if role != "admin" or not settings.four_eyes(archive.store).on:
        return keys.add_slot(archive, secret, inv, role=role, label=label)
    slot = archive.keyring.prepare_slot(secret, inv.now(), label=label, role=role)
    described = {"slot": slot["id"], "kind": slot["kind"], "role": role, "label": label}
    _file(
        archive,
        inv,
        "key.add",
        {"slot": slot},
        described,
        f"adding admin key slot {slot['id']} (it opens the archive only once approved)",
    )


def add_keyfile_slot(
    archive: Archive, path: Path, inv: Invocation, *, role: Role, label: str | None = None
) -> str:
    """Create key file ``path`` and its slot (or a request for it); a refusal removes the
    file, a pending request keeps it (it opens the archive once approved)."""
    data = create_key_file(path)
    try:
        return add_slot(archive, Secret("keyfile", data, str(path)), inv, role=role, label=label)
    except ApprovalPending:
        raise
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def set_four_eyes(
    archive: Archive,
    inv: Invocation,
    *,
    on: bool,
    purge_threshold: int | None = None,
    expire_hours: int | None = None,
) -> dict[str, Any]:
    """Turn four-eyes on or off or change its settings; while it is on, a change is
    filed as a request."""
    store = archive.store
    current = settings.four_eyes(store)
    new = FourEyes(
        on,
        current.purge_threshold if purge_threshold is None else purge_threshold,
        current.expire_hours if expire_hours is None else expire_hours,
    )
    if new.purge_threshold < 0:
        raise InputError("--purge-threshold must be 0 or more messages")
    if not 1 <= new.expire_hours <= settings.MAX_EXPIRE_HOURS:
        raise InputError(f"--expire-after must be 1 to {settings.MAX_EXPIRE_HOURS} hours")
    admins = settings.admin_slots(archive)
    if new.on and len(admins) < 2:
        raise Refused(
            f"four-eyes needs at least two admin key slots (a request is approved by an admin "
            f"slot other than the one that filed it); this archive has {len(admins)}. Add one "
            "with `archiver key add-passphrase --role admin` (one per officer)."
        )
    change = {"from": current.as_dict(), "to": new.as_dict()}
    if new == current:
        return change | {"changed": False}
    if current.on:
        _file(archive, inv, "settings.four-eyes", new.as_dict(), change, "changing four-eyes")
    with store.transaction():
        settings.write_four_eyes(store, new)
        auditlog.append(store, inv, details=change)
    return change | {"changed": True}


# --- deciding -------------------------------------------------------------------------------


def _load(store: Store, request_id: int) -> dict[str, Any]:
    rows = store.rows("SELECT * FROM approval_requests WHERE id = ?", (request_id,))
    if not rows:
        raise NotFound(f"no request {request_id}; see `archiver requests list --all`")
    row = rows[0]
    for column in ("params", "summary", "requested_by", "decided_by", "outcome"):
        row[column] = None if row[column] is None else json.loads(row[column])
    return row


def _status(row: dict[str, Any], now: datetime) -> str:
    if row["status"] == "pending" and row["expires_at"] <= int(now.timestamp()):
        return "expired"
    return str(row["status"])


def _headline(action: str, summary: dict[str, Any]) -> str:
    """A request in a few words, for listings."""
    if action == "hold.release":
        return f"release hold {summary['hold']} ({summary['held_now']} held)"
    if action == "policy.load":
        return (
            f"load a policy shortening retention ({len(summary['shortening'])} rule change(s), "
            f"{summary['messages_deletable_sooner']} message(s) sooner)"
        )
    if action == "purge.execute":
        return f"purge {summary['would_delete']} message(s) as of {summary['as_of'][:10]}"
    if action == "key.add":
        return f"add {summary['role']} {summary['kind']} slot {summary['slot']}"
    before, after = summary["from"], summary["to"]
    changed = [f"{k} {before[k]} -> {after[k]}" for k in after if before.get(k) != after[k]]
    return "four-eyes settings: " + ", ".join(changed)


def _describe(row: dict[str, Any], now: datetime) -> dict[str, Any]:
    return {
        "id": row["id"],
        "action": row["action"],
        "what": _headline(row["action"], row["summary"]),
        "status": _status(row, now),
        "requested_at": _ts(row["requested_at"]),
        "requested_by": row["requested_by"],
        "expires_at": _ts(row["expires_at"]),
        "summary": row["summary"],
        "decided_at": _ts(row["decided_at"]),
        "decided_by": row["decided_by"],
        "decision_note": row["decision_note"],
        "outcome": row["outcome"],
    }


def _pending(row: dict[str, Any], now: datetime) -> None:
    status = _status(row, now)
    if status == "expired":
        raise Refused(
            f"request {row['id']} expired at {_ts(row['expires_at'])} without a decision; "
            "file the action again"
        )
    if status != "pending":
        raise Refused(f"request {row['id']} was already {status} ({_ts(row['decided_at'])})")


def _decide(
    store: Store,
    request_id: int,
    status: str,
    who: dict[str, Any],
    now: datetime,
    *,
    note: str | None = None,
    outcome: dict[str, Any] | None = None,
) -> None:
    store.execute(
        "UPDATE approval_requests SET status = ?, decided_at = ?, decided_by = ?, "
        "decision_note = ?, outcome = ? WHERE id = ? AND status = 'pending'",
        (
            status,
            int(now.timestamp()),
            json.dumps(who, sort_keys=True),
            note,
            None if outcome is None else json.dumps(outcome, sort_keys=True, default=str),
            request_id,
        ),
    )


def list_requests(
    archive: Archive, inv: Invocation, *, every: bool = False
) -> list[dict[str, Any]]:
    """Pending requests (``every``: all of them, newest first), with their status."""
    store = archive.store
    now = inv.now()
    with store.transaction():
        rows = [
            _describe(_load(store, int(r["id"])), now)
            for r in store.rows("SELECT id FROM approval_requests ORDER BY id DESC")
        ]
        if not every:
            rows = [r for r in rows if r["status"] == "pending"]
        auditlog.append(store, inv, details={"requests": [r["id"] for r in rows]})
    return rows


def cancel(archive: Archive, request_id: int, reason: str, inv: Invocation) -> dict[str, Any]:
    """Withdraw a pending request: by an admin slot, or by the slot that filed it."""
    store = archive.store
    if not reason.strip():
        raise InputError("cancelling a request needs --reason")
    now = inv.now()
    with store.transaction():
        row = _load(store, request_id)
        if archive.role != "admin" and row["requested_by"]["slot"] != archive.slot_id:
            raise NotPermitted(
                f"request {request_id} was filed by key slot {row['requested_by']['slot']}; "
                f"only that slot or an admin slot may cancel it, and this archive was "
                f"unlocked with {archive.describe_slot()} (role {archive.role})"
            )
        _pending(row, now)
        who = identity(archive, inv)
        _decide(store, request_id, "cancelled", who, now, note=reason)
        auditlog.append(
            store,
            inv,
            details={"request": request_id, "action": row["action"], "cancelled_by": who},
        )
        return _describe(_load(store, request_id), now)


def approve(
    archive: Archive,
    request_id: int,
    inv: Invocation,
    *,
    certificate: Path | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Approve a pending request with a different admin slot, and perform its action."""
    store = archive.store
    now = inv.now()
    row = _load(store, request_id)
    _pending(row, now)
    roles.require(archive.role, "admin", f"approving request {request_id}", archive.describe_slot())
    requester = row["requested_by"]
    if requester["slot"] == archive.slot_id:
        raise Refused(
            f"request {request_id} was filed with key slot {archive.slot_id}, the slot this "
            "archive was unlocked with; four-eyes needs a different admin slot to approve it"
        )
    approver = identity(archive, inv)
    record = {"request": request_id, "requested_by": requester, "approved_by": approver}
    # the approved action is recorded as the command that filed it, run by the approver
    act = dataclasses.replace(
        inv, command=requester["command"], args={"approval_request": request_id}
    )
    params = row["params"]
    if row["action"] == "purge.execute":
        outcome = _approve_purge(archive, params, act, record, certificate, progress)
        with store.transaction():
            _finish(store, inv, row, record, outcome, now)
        return _describe(_load(store, request_id), now)
    with store.transaction():
        _pending(_load(store, request_id), now)  # not decided by someone else meanwhile
        outcome = _PERFORM[row["action"]](archive, params, act, record)
        _finish(store, inv, row, record, outcome, now)
    return _describe(_load(store, request_id), now)


def _finish(
    store: Store,
    inv: Invocation,
    row: dict[str, Any],
    record: dict[str, Any],
    outcome: dict[str, Any],
    now: datetime,
) -> None:
    _decide(store, row["id"], "approved", record["approved_by"], now, outcome=outcome)
    auditlog.append(store, inv, details={"action": row["action"], **record, "outcome": outcome})


def _approve_purge(
    archive: Archive,
    params: dict[str, Any],
    act: Invocation,
    record: dict[str, Any],
    certificate: Path | None,
    progress: Progress | None,
) -> dict[str, Any]:
    report = purge.execute(
        archive,
        datetime.fromisoformat(params["as_of"].replace("Z", "+00:00")),
        act,
        allow_future=bool(params["allow_future"]),
        certificate=certificate,
        progress=progress,
        approval=record,
        max_deletions=int(params["approved_count"]),
    )
    return {
        "purge_id": report["purge_id"],
        "deleted": report["deleted"],
        "certificate_sha256": report["certificate_sha256"],
    }


# Each performer does the approved action (with its own audit entry, under ``act``) and
# returns what the approval records as its outcome: ids, versions and counts.


def _perform_hold_release(
    archive: Archive, params: dict[str, Any], act: Invocation, record: dict[str, Any]
) -> dict[str, Any]:
    info = holds.release(archive, params["name"], params["reason"], act)
    return {"hold": info["name"], "released_at": info["released_at"]}


def _perform_policy_load(
    archive: Archive, params: dict[str, Any], act: Invocation, record: dict[str, Any]
) -> dict[str, Any]:
    active = retention.active_policy(archive.store).version
    if active != params["base_version"]:
        raise Refused(
            f"the active policy is version {active}, not version {params['base_version']} "
            "this request was filed against (another policy was loaded since); nothing was "
            "changed. Cancel this request and load the policy again."
        )
    new = from_document(params["document"], 0, False)
    report = retention.store_policy_set(archive, new, act, lock=bool(params["lock"]))
    return {"policy_version": report["version"], "sha256": report["sha256"]}


def _perform_key_add(
    archive: Archive, params: dict[str, Any], act: Invocation, record: dict[str, Any]
) -> dict[str, Any]:
    slot = params["slot"]
    keys.commit_slot(archive, slot, act, approval=record)
    return {"slot": slot["id"], "kind": slot["kind"], "role": slot["role"]}


def _perform_settings(
    archive: Archive, params: dict[str, Any], act: Invocation, record: dict[str, Any]
) -> dict[str, Any]:
    store = archive.store
    new = FourEyes(params["four_eyes"], params["purge_threshold"], params["expire_hours"])
    change = {"from": settings.four_eyes(store).as_dict(), "to": new.as_dict()}
    settings.write_four_eyes(store, new)
    auditlog.append(store, act, details=change | {"approval": record})
    return new.as_dict()


_PERFORM: dict[
    str, Callable[[Archive, dict[str, Any], Invocation, dict[str, Any]], dict[str, Any]]
] = {
    "hold.release": _perform_hold_release,
    "policy.load": _perform_policy_load,
    "key.add": _perform_key_add,
    "settings.four-eyes": _perform_settings,
}
