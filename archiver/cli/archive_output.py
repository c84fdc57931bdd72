"""What `init`, `status`, `key list`, `settings` and four-eyes requests print.

Built on ``render``'s primitives (lines, tables, escaping); no rich here."""

from __future__ import annotations

from typing import Any

from archiver.cli.render import (
    human_size,
    key_value,
    line,
    table,
)


def init_result(info: dict[str, Any]) -> None:
    line(f"Created archive {info['path']}")
    line(f"  archive id:  {info['archive_id']}")
    line(f"  time zone:   {info['default_tz']}")
    for slot in info["slots"]:
        origin = f" ({slot['origin']})" if slot.get("origin") else ""
        line(f"  key slot:    {slot['id']}  {slot.get('role', 'admin')}  {slot['kind']}{origin}")
    if info.get("four_eyes"):
        line("  four-eyes:   on (hold release, shortening policies, large purges and new admin")
        line("               slots need a second admin slot's approval)")
    line("")
    line("Signing key fingerprint (record it outside the archive):")
    line(f"  {info['signing_key_fingerprint']}")
    line("")
    if info.get("recovery_key"):
        line("Recovery key (shown once; keep it offline, it unlocks this archive):")
        line(f"  {info['recovery_key']}")
    else:
        line(f"Recovery key written to {info['recovery_key_file']} (mode 0600); keep it offline.")


def status(report: dict[str, Any]) -> None:
    line(f"Archive      {report['path']}")
    line(f"Archive id   {report['archive_id']}")
    line(f"Schema       v{report['schema_version']}")
    line(f"Time zone    {report['default_tz']}")
    line(f"Created      {report['created_at']}")
    line(f"Signing key  {report['signing_key_fingerprint']}")
    line(f"Audit head   {report['audit_head']}")
    c = report["counts"]
    table(
        "Contents",
        ["messages", "chats", "participants", "custodians", "sources", "attachments", "files"],
        [
            [
                c["messages"],
                c["chats"],
                c["participants"],
                c["custodians"],
                c["sources"],
                c["attachments"],
                c["stored_files"],
            ]
        ],
    )
    slots(report["slots"])
    table(
        "Files",
        ["file", "size"],
        [[name, human_size(size)] for name, size in report["sizes"].items()],
    )


def slots(rows: list[dict[str, Any]]) -> None:
    table(
        "Key slots",
        ["id", "role", "kind", "kdf", "created", "label"],
        [
            [
                r["id"] + (" *" if r.get("in_use") else ""),
                r["role"],
                r["kind"],
                r["kdf"],
                r["created_at"][:19],
                r.get("label") or "",
            ]
            for r in rows
        ],
        keep=("id", "created"),
    )


def four_eyes_settings(info: dict[str, Any]) -> None:
    key_value(
        {
            "Four-eyes": "on" if info["four_eyes"] else "off",
            "Purge threshold": f"{info['purge_threshold']} messages",
            "Requests expire after": f"{info['expire_hours']} hours",
            "Admin slots": ", ".join(info["admin_slots"]) or "none",
        }
    )


def four_eyes_change(info: dict[str, Any]) -> None:
    to = info["to"]
    state = "on" if to["four_eyes"] else "off"
    if not info["changed"]:
        line(f"Four-eyes is already {state}; nothing changed")
        return
    line(f"Four-eyes is {state}")
    if to["four_eyes"]:
        line(
            "  hold release, policies that shorten or remove retention, purges deleting more "
            f"than {to['purge_threshold']} messages and new admin slots now need a second "
            f"admin slot's approval; requests expire after {to['expire_hours']} hours"
        )


def _who(who: dict[str, Any] | None) -> str:
    if not who:
        return ""
    label = f" ({who['label']})" if who.get("label") else ""
    return f"slot {who['slot']}{label} {who['user']}@{who['host']}"


def approval_requests(rows: list[dict[str, Any]]) -> None:
    if not rows:
        line("No requests")
        return
    table(
        "Requests",
        ["id", "what", "status", "requested by", "requested", "expires"],
        [
            [
                r["id"],
                r["what"],
                r["status"],
                _who(r["requested_by"]),
                r["requested_at"][:16],
                r["expires_at"][:16],
            ]
            for r in rows
        ],
    )


def approval(info: dict[str, Any]) -> None:
    line(f"Approved request {info['id']}: {info['what']}")
    line(f"  requested by  {_who(info['requested_by'])} at {info['requested_at']}")
    line(f"  approved by   {_who(info['decided_by'])} at {info['decided_at']}")
    for key, value in info["outcome"].items():
        line(f"  {key.replace('_', ' '):<13} {value}")
