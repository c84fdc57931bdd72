"""What `policy`, `hold`, `purge` and `retention forecast` print.

Built on ``render``'s primitives (lines, tables, escaping); no rich here."""

from __future__ import annotations

from typing import Any

from archiver.cli.render import (
    key_value,
    line,
    table,
    warning,
)


def policy_loaded(report: dict[str, Any]) -> None:
    lock = " (locked: later versions may only lengthen retention)" if report["locked"] else ""
    version, previous = report["version"], report["previous_version"]
    if report["dry_run"]:
        line(
            f"Dry run: policy version {version}{lock} would be loaded; nothing was stored "
            f"(sha256 {report['sha256']})"
        )
    else:
        line(f"Loaded policy version {version}{lock}; sha256 {report['sha256']}")
    for f in report["files"]:
        line(f"  {f['policy']}  from {f['file']}")
    was = f"version {previous}" if previous else "no policy"
    line(f"Rules, with the messages each applies to (of {report['messages']}): {was} → new")
    for r in report["rules"]:
        before, after = _count(r["messages_before"]), _count(r["messages_after"])
        line(f"  {r['change']:<9}  {r['rule']}: {before} → {after}")
        _rule_lines(r["before"], r["after"], " " * 13)
    now = report["would_delete_now"]
    replaced = f"{now['before']} under {was}" if previous else "no policy was loaded before"
    line(f"A purge run now would delete {now['after']} message(s) under it ({replaced}).")
    warnings_list(report["warnings"])
    if report["warnings"]:
        line(
            f"Check the {len(report['warnings'])} warning(s) above: a scope value that matches "
            "nothing is usually a typo, and its rule then applies to fewer messages than meant."
        )


def warnings_list(found: list[dict[str, Any]]) -> None:
    for w in found:
        warning(w["message"])


def _count(n: int | None) -> str:
    return "—" if n is None else str(n)


def _rule_lines(before: dict[str, Any] | None, after: dict[str, Any] | None, pad: str) -> None:
    """A rule's action, scope and exclusions, one line each ("old → new" where changed)."""
    for label, text in (("", _action_text), ("scope:  ", _scope_text), ("except: ", _except_text)):
        old, new = (None if r is None else text(r) for r in (before, after))
        shown = old if new is None else new if old in (None, new) else f"{old} → {new}"
        if shown:
            line(f"{pad}{label}{shown}")


def _action_text(rule: dict[str, Any]) -> str:
    parts = []
    if rule["retain"]:
        parts.append(f"retain {rule['retain']} then {rule['then']}")
    if rule["delete_after"]:
        parts.append(f"delete after {rule['delete_after']}")
    return ", ".join(parts) + f" (from {rule['basis']})"


def _globs(scope: dict[str, list[str]]) -> str:
    return "; ".join(f"{k} {', '.join(v)}" for k, v in scope.items() if v != ["*"])


def _scope_text(rule: dict[str, Any]) -> str:
    return _globs(rule["scope"]) or "org-wide"


def _except_text(rule: dict[str, Any]) -> str:
    return _globs(rule.get("exclude") or {})


def policy_versions(rows: list[dict[str, Any]]) -> None:
    table(
        "Policy versions",
        ["version", "active", "loaded", "by", "locked", "policies", "rules", "sha256"],
        [
            [
                r["version"],
                "yes" if r["active"] else "",
                r["loaded_at"][:19],
                r["loaded_by"],
                "yes" if r["locked"] else "",
                ", ".join(r["policies"]),
                r["rules"],
                r["sha256"][:16],
            ]
            for r in rows
        ],
        keep=("version", "loaded", "sha256"),
    )


def policy_rules(info: dict[str, Any]) -> None:
    lock = ", locked" if info["locked"] else ""
    line(f"Policy version {info['version']}{lock} (sha256 {info['sha256']})")
    for p in info["policies"]:
        for r in p["rules"]:
            line(f"{p['name']}/{r['name']}")
            _rule_lines(None, r, "  ")
            citation = r.get("citation") or p.get("citation")
            if citation:
                line(f"  cited:  {citation}")


def explanation(info: dict[str, Any]) -> None:
    line(f"Message {info['message_id']} as of {info['as_of']}")
    line(f"  Policy version: {info['policy_version']}")
    line(f"  Decision: {info['reason']}")
    levels = "1 hold, 2 longest retention, 3 delete time, 4 no delete rule"
    line(f"  Decided at level {info['level']} ({levels})")
    line(f"  Holds: {', '.join(info['held_by']) or 'none'}")
    line(f"  Matching rules: {', '.join(info['matched_rules']) or 'none'}")
    if info["retain_until"]:
        line(f"  Retain until: {info['retain_until']} ({info['retain_rule']})")
    for c in info["delete_candidates"]:
        used = "" if c["considered"] else " — set aside: a scoped rule applies"
        line(f"  Delete candidate: {c['rule']} at {c['at']} ({c['scope']}){used}")
    line(f"  Deletable at: {info['deletable_at'] or 'never'}")
    if info["rules"]:
        line("  Why each rule applies or not:")
    for m in info["rules"]:
        line(f"    {m['rule']}: {m['why']}")


def hold_scope_text(scope: dict[str, Any]) -> str:
    """A hold's scope as an officer reads it: "chat Marcus Lee; sent from 2024-01-01"."""
    parts = []
    for key in ("custodian", "chat", "participant"):
        if scope.get(key):
            parts.append(f"{key} {', '.join(scope[key])}")
    if scope.get("sent_after") or scope.get("sent_before"):
        since = f" from {scope['sent_after']}" if scope.get("sent_after") else ""
        until = f" before {scope['sent_before']}" if scope.get("sent_before") else ""
        parts.append(f"sent{since}{until}")
    if scope.get("query"):
        parts.append(f"query {scope['query']}")
    return "; ".join(parts) or "everything"


def holds(rows: list[dict[str, Any]]) -> None:
    table(
        "Legal holds",
        ["name", "status", "matter", "scope", "created"],
        [
            [
                r["name"],
                "active" if r["active"] else "released",
                r["matter"],
                hold_scope_text(r["scope"]),
                (r["created_at"] or "")[:10],
            ]
            for r in rows
        ],
        keep=("name", "status", "created"),
    )


def _when(at: str | None) -> str:
    return "-" if not at else at[:16].replace("T", " ") + " UTC"


def hold(info: dict[str, Any]) -> None:
    """One hold, every value as an officer reads it."""
    scope = info["scope"]
    dated = scope.get("sent_after") or scope.get("sent_before")
    zone = f" (days in {scope['tz']})" if dated else ""
    released = "-"
    if info["released_at"]:
        released = (
            f"{_when(info['released_at'])} by {info['released_by']}: {info['release_reason']}"
        )
    pairs = {
        "Hold": f"{info['name']} ({'active' if info['active'] else 'released'})",
        "Matter": info["matter"],
        "Reason": info["reason"],
        "Scope": hold_scope_text(scope) + zone,
        "Created": f"{_when(info['created_at'])} by {info['created_by']}",
        "Released": released,
    }
    if info["active"]:
        pairs["Held now"] = f"{info['held_now']} message(s)"
    key_value(pairs)


def purge_report(report: dict[str, Any]) -> None:
    for done in report.get("recovered", []):
        line(
            f"Purge {done['purge_id']} had been interrupted: its {done['deleted']} committed "
            f"deletion(s) are now certified (sha256 {done['certificate_sha256']})"
        )
        if done.get("certificate_file"):
            line(f"  certificate written to {done['certificate_file']}")
    if report.get("executed"):
        ahead = " AHEAD OF TIME" if report.get("ahead_of_time") else ""
        line(f"Purge {report['purge_id']}{ahead} as of {report['as_of']}")
        line(f"  deleted {report['deleted']} message(s)")
        changed = report["would_delete"] - report["deleted"]
        if changed:
            line(
                f"  kept {changed} planned message(s): a hold or policy change made while the "
                "purge ran covers them"
            )
        line(f"  originals deleted {report['originals_deleted']}")
        line(f"  originals redacted {report['originals_redacted']}")
        line(f"  media removed {report['attachments_removed']}")
        line(f"  certificate sha256 {report['certificate_sha256']}")
        if report.get("certificate_file"):
            line(f"  certificate written to {report['certificate_file']}")
    else:
        for purge_id in report.get("interrupted_purges", []):
            warning(
                f"purge {purge_id} was interrupted before its certificate was written; the "
                "next `archiver purge --execute` certifies its deletions"
            )
        line(
            f"Dry run as of {report['as_of']} (policy version {report['policy_version']}): "
            f"{report['would_delete']} of {report['examined']} message(s) would be deleted"
        )
    if report["by_rule"]:
        table(None, ["rule", "messages"], list(report["by_rule"].items()))
    if report["by_chat"]:
        table(None, ["chat", "messages"], list(report["by_chat"].items()))
    checked = ", ".join(report["holds_checked"]) or "none"
    line(f"Holds checked: {checked}")
    for name, n in report["held"].items():
        line(f"  {name}: {n} message(s) held")
    if report["held_but_otherwise_deletable"]:
        line(
            f"  {report['held_but_otherwise_deletable']} message(s) would be deletable but are held"
        )
    if not report.get("executed"):
        line("Nothing was deleted. Run with --execute to purge.")


def forecast(info: dict[str, Any]) -> None:
    line(f"Retention forecast from {info['from'][:10]} (policy version {info['policy_version']})")
    line(f"  deletable now: {info['deletable_now']}")
    line(f"  held: {info['held']}")
    line(f"  kept forever: {info['kept_forever']}")
    peak = max([m["becoming_deletable"] for m in info["months"]] + [1])
    for m in info["months"]:
        n = m["becoming_deletable"]
        bar = "█" * round(40 * n / peak)
        line(f"  {m['month']}  {bar} {n}")
