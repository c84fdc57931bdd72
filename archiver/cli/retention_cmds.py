"""`archiver policy`, `hold`, `purge` and `retention forecast`."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from archiver.archive.session import Archive
from archiver.cli import render, retention_output
from archiver.cli.common import (
    NewPath,
    archive_options,
    json_option,
    show_progress,
    with_archive,
)
from archiver.governance import approvals
from archiver.retention import decisions as retention_lib
from archiver.retention import holds as holds_lib
from archiver.retention import purge as purge_lib
from archiver.store.auditlog import Invocation
from archiver.store.database import parse_moment


def parse_as_of(value: str | None, archive: Archive, inv: Invocation) -> datetime:
    """--as-of: a day (its start in the archive's zone) or an ISO time; default now."""
    return inv.now() if value is None else parse_moment(value, archive.default_tz, "--as-of")


# --- policy -------------------------------------------------------------------------------


@click.group()
def policy() -> None:
    """Retention policies: load the approved set, list versions, explain decisions.

    \b
    Example:
      archiver policy load retention_policies/
      archiver policy explain 1791633812490240
    """


@policy.command("load")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@archive_options
@click.option(
    "--lock", is_flag=True, help="Preservation lock: later versions may only lengthen retention."
)
@click.option(
    "--dry-run", is_flag=True, help="Show the whole change and its warnings; store nothing."
)
@json_option
@click.pass_context
def policy_load(
    ctx: click.Context,
    paths: tuple[Path, ...],
    archive_dir: Path,
    key_file: Path | None,
    lock: bool,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Validate policy files (TOML) and store them as the new active policy version.

    Scheduled purges use what was loaded, not the files on disk. Shows every rule with
    its scope, whether it is added, removed, changed or unchanged, how many messages it
    applies to under the active version and under the new one, and what a purge run now
    would delete under each. Warns on stderr (with --json too, where they are also under
    "warnings") about every scope value that matches nothing in the archive, naming the
    nearest value that exists; the set is loaded all the same (it may come before the
    data).
    While four-eyes is on, a set that shortens or removes retention waits for a second
    admin's approval (not with --dry-run, which only reports).

    \b
    Example:
      archiver policy load retention_policies/ --dry-run
      archiver policy load retention_policies/sec-17a-4.toml retention_policies/gdpr.toml
      archiver policy load retention_policies/ --lock
    """
    report = with_archive(
        ctx,
        archive_dir,
        key_file,
        lambda a, inv: approvals.load_policy(a, list(paths), inv, lock=lock, dry_run=dry_run),
    )
    if as_json:
        render.print_json(report)
        retention_output.warnings_list(report["warnings"])  # on stderr: seen even by a script's log
    else:
        retention_output.policy_loaded(report)


@policy.command("list")
@archive_options
@json_option
@click.pass_context
def policy_list(
    ctx: click.Context, archive_dir: Path, key_file: Path | None, as_json: bool
) -> None:
    """List policy versions (the newest is active).

    \b
    Example:
      archiver policy list
    """
    rows = with_archive(ctx, archive_dir, key_file, retention_lib.list_policies)
    if as_json:
        render.print_json(rows)
    else:
        retention_output.policy_versions(rows)


@policy.command("show")
@click.argument("version", type=int, required=False)
@archive_options
@json_option
@click.pass_context
def policy_show(
    ctx: click.Context, version: int | None, archive_dir: Path, key_file: Path | None, as_json: bool
) -> None:
    """Show the rules of the active policy version (or of VERSION), with their scopes.

    \b
    Example:
      archiver policy show --json
    """
    info = with_archive(
        ctx, archive_dir, key_file, lambda a, inv: retention_lib.show_policy(a, inv, version)
    )
    if as_json:
        render.print_json(info)
    else:
        retention_output.policy_rules(info)


@policy.command("explain")
@click.argument("message_id", type=int)
@archive_options
@click.option("--as-of", help="Decide as of this date (YYYY-MM-DD) or date-time [default: now].")
@json_option
@click.pass_context
def policy_explain(
    ctx: click.Context,
    message_id: int,
    archive_dir: Path,
    key_file: Path | None,
    as_of: str | None,
    as_json: bool,
) -> None:
    """Explain which rules and holds apply to a message and when it becomes deletable.

    For every rule of the active version, says why it applies or not: the glob each
    scope key matched, the key that matched nothing, or the exclusion that took the
    message out.

    \b
    Example:
      archiver policy explain 1791633812490240 --as-of 2031-01-01
    """
    info = with_archive(
        ctx,
        archive_dir,
        key_file,
        lambda a, inv: retention_lib.explain(a, message_id, parse_as_of(as_of, a, inv), inv),
    )
    if as_json:
        render.print_json(info)
    else:
        retention_output.explanation(info)


# --- holds --------------------------------------------------------------------------------


@click.group()
def hold() -> None:
    """Legal holds: preserve matching messages, now and ingested later, from any purge.

    \b
    Example:
      archiver hold create acme-v-broker --matter "Acme v. Broker" --reason "litigation" \\
          --custodian "dana@broker.example" --sent-after 2024-01-01
      archiver hold list
    """


@hold.command("create")
@click.argument("name")
@archive_options
@click.option("--matter", required=True, help="The matter (case) the hold serves.")
@click.option("--reason", required=True, help="Why (recorded in the audit trail).")
@click.option("--custodian", multiple=True, help="Custodian glob (repeatable).")
@click.option("--chat", multiple=True, help="Chat glob (repeatable).")
@click.option(
    "--participant", multiple=True, help="Participant glob: their conversations (repeatable)."
)
@click.option("--sent-after", help="Only messages sent on or after this day (YYYY-MM-DD).")
@click.option("--sent-before", help="Only messages sent before this day (YYYY-MM-DD).")
@click.option("--query", help="Only messages matching this search query (plus media without text).")
@json_option
@click.pass_context
def hold_create(
    ctx: click.Context,
    name: str,
    archive_dir: Path,
    key_file: Path | None,
    matter: str,
    reason: str,
    custodian: tuple[str, ...],
    chat: tuple[str, ...],
    participant: tuple[str, ...],
    sent_after: str | None,
    sent_before: str | None,
    query: str | None,
    as_json: bool,
) -> None:
    """Place legal hold NAME. Scope parts combine with AND; holds combine with OR.

    With no --sent-before the hold is open-ended: messages ingested later are held too.
    Hold names ignore case, spaces, hyphens and underscores ("Harlow Terms" is
    "harlow-terms"): a name taken in any spelling is refused. Warns when a --chat,
    --custodian or --participant glob matches nothing in the archive (naming the
    nearest value that exists) or when --query matches no message now.

    \b
    Example:
      archiver hold create sec-inquiry-2026 --matter "SEC inquiry HO-1234" \\
          --reason "preservation letter of 2026-11-20" --query 'bond OR "price guarantee"'
    """
    info = with_archive(
        ctx,
        archive_dir,
        key_file,
        lambda a, inv: holds_lib.create(
            a,
            name,
            matter=matter,
            reason=reason,
            custodian=list(custodian),
            chat=list(chat),
            participant=list(participant),
            sent_after=sent_after,
            sent_before=sent_before,
            query=query,
            inv=inv,
        ),
    )
    if as_json:
        render.print_json(info)
    else:
        render.line(
            f"Hold {info['name']} placed for {info['matter']}: "
            f"{info['held_now']} message(s) held now"
        )
    retention_output.warnings_list(info["warnings"])


@hold.command("list")
@archive_options
@json_option
@click.pass_context
def hold_list(ctx: click.Context, archive_dir: Path, key_file: Path | None, as_json: bool) -> None:
    """List holds, active and released.

    \b
    Example:
      archiver hold list --json
    """
    rows = with_archive(ctx, archive_dir, key_file, holds_lib.list_holds)
    if as_json:
        render.print_json(rows)
    else:
        retention_output.holds(rows)


@hold.command("show")
@click.argument("name")
@archive_options
@json_option
@click.pass_context
def hold_show(
    ctx: click.Context, name: str, archive_dir: Path, key_file: Path | None, as_json: bool
) -> None:
    """Show a hold (NAME in any spelling of case, spaces, hyphens, underscores), how many
    messages it holds now, and warnings about scope parts that match nothing.

    \b
    Example:
      archiver hold show sec-inquiry-2026
    """
    info = with_archive(ctx, archive_dir, key_file, lambda a, inv: holds_lib.show(a, name, inv))
    if as_json:
        render.print_json(info)
    else:
        retention_output.hold(info)
    retention_output.warnings_list(info["warnings"])


@hold.command("release")
@click.argument("name")
@archive_options
@click.option("--reason", required=True, help="Why the hold ends (recorded in the audit trail).")
@json_option
@click.pass_context
def hold_release(
    ctx: click.Context,
    name: str,
    archive_dir: Path,
    key_file: Path | None,
    reason: str,
    as_json: bool,
) -> None:
    """Release hold NAME (any spelling of case, spaces, hyphens, underscores); its
    messages fall back under the retention rules.

    While four-eyes is on, the release waits for a second admin's approval.

    \b
    Example:
      archiver hold release sec-inquiry-2026 --reason "matter closed 2027-03-01"
    """
    info = with_archive(
        ctx, archive_dir, key_file, lambda a, inv: approvals.release_hold(a, name, reason, inv)
    )
    if as_json:
        render.print_json(info)
    else:
        render.line(f"Hold {info['name']} released: {reason}")


# --- purge and forecast -------------------------------------------------------------------


@click.command()
@archive_options
@click.option("--as-of", help="Decide as of this date or date-time [default: now].")
@click.option("--execute", is_flag=True, help="Really delete (default: a dry run).")
@click.option("--allow-future", is_flag=True, help="Allow --execute with an --as-of in the future.")
@click.option(
    "--certificate",
    type=NewPath(),
    help="Also write the signed purge certificate to this new file.",
)
@click.option(
    "--certificate-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Also write the certificate into this existing directory, named "
    "purge-<UTC time>-<purge id>.json (safe for several runs a day).",
)
@json_option
@click.pass_context
def purge(
    ctx: click.Context,
    archive_dir: Path,
    key_file: Path | None,
    as_of: str | None,
    execute: bool,
    allow_future: bool,
    certificate: Path | None,
    certificate_dir: Path | None,
    as_json: bool,
) -> None:
    """Apply the loaded retention policy: a dry run unless --execute.

    Never deletes a message under an active hold or before its longest retention ends.
    Executing leaves tombstones, redacts or deletes stored originals, and writes a
    signed certificate (check it with `archiver verify-signed`). Runs unattended.
    Each batch is decided again in its own transaction, so a hold placed while the
    purge runs protects what it holds. A purge that was killed is certified by the
    next `--execute` before it plans anew.
    Needs a key slot of the purge (or admin) role. While four-eyes is on, a purge
    deleting more than the threshold waits for an admin's approval (`archiver approve`).

    \b
    Example:
      archiver purge
      ARCHIVER_KEY_FILE=/etc/archiver/purge.key archiver purge --execute --json --wait 600 \\
          --certificate-dir /var/log/archiver/certificates
    """
    if certificate is not None and certificate_dir is not None:
        raise click.UsageError("give --certificate or --certificate-dir, not both")

    def action(a: Archive, inv: Invocation) -> dict[str, object]:
        when = parse_as_of(as_of, a, inv)
        with render.progress(show_progress(as_json)) as advance:
            if execute:
                return approvals.execute_purge(
                    a,
                    when,
                    inv,
                    allow_future=allow_future,
                    certificate=certificate,
                    certificate_dir=certificate_dir,
                    progress=advance,
                )
            return purge_lib.dry_run(a, when, inv, progress=advance)

    report = with_archive(ctx, archive_dir, key_file, action)
    if as_json:
        render.print_json(report)
    else:
        retention_output.purge_report(report)


@click.group()
def retention() -> None:
    """Retention planning.

    \b
    Example:
      archiver retention forecast --months 24
    """


@retention.command("forecast")
@archive_options
@click.option(
    "--months", default=12, show_default=True, type=click.IntRange(1, 240), help="Months ahead."
)
@json_option
@click.pass_context
def forecast(
    ctx: click.Context, archive_dir: Path, key_file: Path | None, months: int, as_json: bool
) -> None:
    """How many messages become deletable each month (active policy and holds).

    \b
    Example:
      archiver retention forecast --months 36 --json
    """
    info = with_archive(
        ctx, archive_dir, key_file, lambda a, inv: purge_lib.forecast(a, months, inv.now(), inv)
    )
    if as_json:
        render.print_json(info)
    else:
        retention_output.forecast(info)


COMMANDS = [policy, hold, purge, retention]
