"""`archiver init`, `status` and `backup`."""

from __future__ import annotations

import os
from pathlib import Path

import click

from archiver.archive import maintenance
from archiver.archive.session import create_archive
from archiver.cli import archive_output, render
from archiver.cli.common import (
    ZONE,
    NewPath,
    archive_options,
    invocation,
    json_option,
    location_options,
    new_passphrase,
    with_archive,
)
from archiver.core import crypto
from archiver.core.errors import Refused
from archiver.security.keyring import Secret, create_key_file, read_key_file, write_secret_file


def machine_zone() -> str:
    """This machine's IANA zone name (TZ, else /etc/localtime), falling back to UTC."""
    tz = os.environ.get("TZ", "").lstrip(":")
    if (tz and "/" in tz) or tz == "UTC":
        return tz
    try:
        target = os.path.realpath("/etc/localtime")
    except OSError:
        return "UTC"
    marker = "zoneinfo/"
    return target.split(marker, 1)[1] if marker in target else "UTC"


def first_secret(key_file: Path | None) -> tuple[Secret, str]:
    """The secret of the first slot: a key file (created if missing) or a passphrase."""
    if key_file is not None:
        if key_file.exists():
            data = read_key_file(key_file, render.warning)
            return Secret("keyfile", data, str(key_file)), str(key_file)
        return Secret("keyfile", create_key_file(key_file), str(key_file)), f"{key_file}, created"
    return new_passphrase("ARCHIVER_PASSPHRASE"), ""


@click.command()
@location_options
@click.option(
    "--tz",
    type=ZONE,
    help="Default time zone for exports: an IANA place such as Europe/London, or UTC±HH:MM "
    "[default: this machine's].",
)
@click.option(
    "--recovery-key-out",
    type=NewPath(),
    help="Write the recovery key to this new file (mode 0600) instead of showing it.",
)
@click.option(
    "--four-eyes",
    is_flag=True,
    help="Releasing holds, shortening retention, large purges and new admin slots need a "
    "second admin slot's approval (see `archiver settings four-eyes`).",
)
@json_option
@click.pass_context
def init(
    ctx: click.Context,
    archive_dir: Path,
    key_file: Path | None,
    tz: str | None,
    recovery_key_out: Path | None,
    four_eyes: bool,
    as_json: bool,
) -> None:
    """Create a new encrypted archive.

    The first key slot is a key file (--key-file / ARCHIVER_KEY_FILE; created with
    32 random bytes if it does not exist) or a passphrase (ARCHIVER_PASSPHRASE, or asked
    twice). A recovery key is generated and shown once, or written to
    --recovery-key-out. Both slots are admin slots. Record the signing-key fingerprint
    outside the archive. With --four-eyes, give the recovery key to a second person (or
    seal it): an approval must come from a different admin slot.

    \b
    Example:
      archiver init --archive /srv/archive --tz Europe/London \\
          --key-file /etc/archiver.key --recovery-key-out /media/usb/recovery.txt
    """
    if recovery_key_out is not None and recovery_key_out.exists():
        raise Refused(f"{recovery_key_out} already exists; refusing to overwrite it")
    zone = tz or machine_zone()
    secret, origin = first_secret(key_file)
    made = create_archive(archive_dir, secret, invocation(ctx), tz=zone, four_eyes=four_eyes)
    archive = made.archive
    try:
        if recovery_key_out is not None:
            write_secret_file(recovery_key_out, (made.recovery_key + "\n").encode())
        info = {
            "path": str(archive_dir),
            "archive_id": archive.archive_id,
            "default_tz": zone,
            "slots": [
                {"id": made.first_slot, "kind": secret.kind, "role": "admin", "origin": origin},
                {"id": made.recovery_slot, "kind": "recovery", "role": "admin"},
            ],
            "four_eyes": four_eyes,
            "signing_key_fingerprint": crypto.fingerprint(archive.signing_public_key),
            "recovery_key": None if recovery_key_out else made.recovery_key,
            "recovery_key_file": str(recovery_key_out) if recovery_key_out else None,
        }
    finally:
        archive.close()
    if as_json:
        render.print_json(info)
    else:
        archive_output.init_result(info)


@click.command()
@archive_options
@json_option
@click.pass_context
def status(ctx: click.Context, archive_dir: Path, key_file: Path | None, as_json: bool) -> None:
    """Show the archive's identity, contents, key slots and file sizes.

    \b
    Example:
      ARCHIVER_KEY_FILE=/etc/archiver.key archiver status --archive /srv/archive --json
    """
    report = with_archive(ctx, archive_dir, key_file, maintenance.status)
    if as_json:
        render.print_json(report)
    else:
        archive_output.status(report)


@click.command()
@click.argument("dest", type=NewPath(folder=True))
@archive_options
@json_option
@click.pass_context
def backup(
    ctx: click.Context, dest: Path, archive_dir: Path, key_file: Path | None, as_json: bool
) -> None:
    """Copy the archive consistently to DEST (even while it is in use) and verify the copy.

    DEST receives archive.db (still encrypted) and keys.json. To restore, copy both files
    back into an archive directory.

    \b
    Example:
      archiver backup /mnt/backups/archive-2026-11-27
    """
    report = with_archive(
        ctx, archive_dir, key_file, lambda a, inv: maintenance.backup(a, dest, inv)
    )
    if as_json:
        render.print_json(report)
    else:
        render.key_value(
            {
                "Backup": report["destination"],
                "archive.db sha256": report["archive_db_sha256"],
                "keys.json sha256": report["keys_json_sha256"],
                "Messages": report["messages"],
                "Audit head": report["audit_head"],
                "Verified": "yes",
            }
        )


COMMANDS = [init, status, backup]
