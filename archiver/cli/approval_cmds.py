"""`archiver settings`, `requests` and `approve`: the four-eyes option and its requests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from archiver.archive import settings as settings_lib
from archiver.archive.session import Archive
from archiver.cli import archive_output, render
from archiver.cli.common import (
    NewPath,
    archive_options,
    json_option,
    show_progress,
    with_archive,
)
from archiver.governance import approvals
from archiver.store.auditlog import Invocation

# --- settings -----------------------------------------------------------------------------


@click.group()
def settings() -> None:
    """Archive settings: the four-eyes option.

    \b
    Example:
      archiver settings show
      archiver settings four-eyes on --purge-threshold 500
    """


@settings.command("show")
@archive_options
@json_option
@click.pass_context
def settings_show(
    ctx: click.Context, archive_dir: Path, key_file: Path | None, as_json: bool
) -> None:
    """Show the four-eyes settings and the admin slots that could approve a request.

    \b
    Example:
      archiver settings show --json
    """
    info = with_archive(ctx, archive_dir, key_file, settings_lib.show)
    if as_json:
        render.print_json(info)
    else:
        archive_output.four_eyes_settings(info)


@settings.command("four-eyes")
@click.argument("state", type=click.Choice(["on", "off"]))
@archive_options
@click.option(
    "--purge-threshold",
    type=click.IntRange(min=0),
    help="A purge deleting more messages than this needs approval "
    f"[default: {settings_lib.DEFAULT_PURGE_THRESHOLD}; 0: every purge that deletes].",
)
@click.option(
    "--expire-after",
    "expire_hours",
    type=click.IntRange(1, settings_lib.MAX_EXPIRE_HOURS),
    help=f"Hours a request waits for a decision [default: {settings_lib.DEFAULT_EXPIRE_HOURS}].",
)
@json_option
@click.pass_context
def settings_four_eyes(
    ctx: click.Context,
    state: str,
    archive_dir: Path,
    key_file: Path | None,
    purge_threshold: int | None,
    expire_hours: int | None,
    as_json: bool,
) -> None:
    """Turn four-eyes on or off (STATE), or change its threshold and expiry.

    With four-eyes on, `hold release`, a `policy load` that shortens or removes
    retention, `purge --execute` above the threshold and adding an admin key slot are
    filed as requests (exit 7) that an admin slot other than the requester's approves
    with `archiver approve ID`. It needs at least two admin slots. While it is on,
    changing these settings is itself a request.

    \b
    Example:
      archiver settings four-eyes on --purge-threshold 500 --expire-after 48
    """
    info = with_archive(
        ctx,
        archive_dir,
        key_file,
        lambda a, inv: approvals.set_four_eyes(
            a, inv, on=state == "on", purge_threshold=purge_threshold, expire_hours=expire_hours
        ),
    )
    if as_json:
        render.print_json(info)
    else:
        archive_output.four_eyes_change(info)


# --- requests and approval ----------------------------------------------------------------


@click.group()
def requests() -> None:
    """Four-eyes requests: actions waiting for a second admin's approval.

    \b
    Example:
      archiver requests list
      archiver requests cancel 3 --reason "filed by mistake"
    """


@requests.command("list")
@archive_options
@click.option("--all", "every", is_flag=True, help="Also approved, cancelled and expired ones.")
@json_option
@click.pass_context
def requests_list(
    ctx: click.Context, archive_dir: Path, key_file: Path | None, every: bool, as_json: bool
) -> None:
    """List pending requests: what, who filed it with which key slot, when it expires.

    \b
    Example:
      archiver requests list --all --json
    """
    rows = with_archive(
        ctx, archive_dir, key_file, lambda a, inv: approvals.list_requests(a, inv, every=every)
    )
    if as_json:
        render.print_json(rows)
    else:
        archive_output.approval_requests(rows)


@requests.command("cancel")
@click.argument("request_id", type=int)
@archive_options
@click.option("--reason", required=True, help="Why (recorded in the audit trail).")
@json_option
@click.pass_context
def requests_cancel(
    ctx: click.Context,
    request_id: int,
    archive_dir: Path,
    key_file: Path | None,
    reason: str,
    as_json: bool,
) -> None:
    """Withdraw pending request REQUEST_ID (an admin slot, or the slot that filed it).

    \b
    Example:
      archiver requests cancel 3 --reason "wrong hold"
    """
    info = with_archive(
        ctx,
        archive_dir,
        key_file,
        lambda a, inv: approvals.cancel(a, request_id, reason, inv),
    )
    if as_json:
        render.print_json(info)
    else:
        render.line(f"Request {info['id']} cancelled: {info['what']}")


@click.command()
@click.argument("request_id", type=int)
@archive_options
@click.option(
    "--certificate",
    type=NewPath(),
    help="For a purge request: also write the signed purge certificate to this new file.",
)
@json_option
@click.pass_context
def approve(
    ctx: click.Context,
    request_id: int,
    archive_dir: Path,
    key_file: Path | None,
    certificate: Path | None,
    as_json: bool,
) -> None:
    """Approve four-eyes request REQUEST_ID and perform it.

    Needs an admin key slot other than the one that filed the request. Both slots
    (id, label, OS user and host) go into the audit trail and, for a purge, onto the
    signed certificate. Check what you approve first: `archiver requests list`.

    \b
    Example:
      ARCHIVER_PASSPHRASE='second officer passphrase' archiver approve 3
    """
    show = show_progress(as_json)
    info = with_archive(
        ctx,
        archive_dir,
        key_file,
        lambda a, inv: _approve(a, request_id, inv, certificate, show),
    )
    if as_json:
        render.print_json(info)
    else:
        archive_output.approval(info)


def _approve(
    archive: Archive,
    request_id: int,
    inv: Invocation,
    certificate: Path | None,
    show: bool,
) -> dict[str, Any]:
    with render.progress(show) as advance:
        return approvals.approve(
            archive, request_id, inv, certificate=certificate, progress=advance
        )


COMMANDS = [settings, requests, approve]
