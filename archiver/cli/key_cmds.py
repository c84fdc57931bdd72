"""`archiver key ...`: the key slots that unlock the archive, and the public key."""

from __future__ import annotations

from pathlib import Path

import click

from archiver.archive import keys
from archiver.cli import archive_output, render
from archiver.cli.common import (
    F,
    NewPath,
    archive_options,
    json_option,
    new_passphrase,
    with_archive,
)
from archiver.core.errors import Refused
from archiver.governance import approvals
from archiver.security.keyring import write_secret_file
from archiver.security.roles import ROLES, Role


def role_option(func: F) -> F:
    return click.option(
        "--role",
        required=True,
        type=click.Choice(ROLES),
        help="What the slot may do: admin (everything), ingest (ingest and read), purge "
        "(purge and read) or review (read only).",
    )(func)


@click.group()
def key() -> None:
    """Manage the key slots that unlock the archive.

    Each slot has a role, chosen when it is added and sealed into the slot: admin
    (everything), ingest (ingest and read), purge (purge and read) or review (read
    only). Adding or removing a slot never re-encrypts the database; `rotate` gives the
    database a new key (the way to revoke a leaked one).

    \b
    Example:
      archiver key list
      ARCHIVER_NEW_PASSPHRASE='correct horse battery staple' \\
          archiver key add-passphrase --role admin --label "Dana (DPO)"
      archiver key add-keyfile /etc/archiver/ingest.key --role ingest --label cron
    """


@key.command("list")
@archive_options
@json_option
@click.pass_context
def list_(ctx: click.Context, archive_dir: Path, key_file: Path | None, as_json: bool) -> None:
    """List key slots and their roles (the one used to unlock is marked *).

    \b
    Example:
      archiver key list --json
    """

    rows = with_archive(ctx, archive_dir, key_file, keys.list_slots)
    if as_json:
        render.print_json(rows)
    else:
        archive_output.slots(rows)


@key.command("add-passphrase")
@archive_options
@role_option
@click.option("--label", help="A note to recognise the slot by (e.g. the officer's name).")
@click.pass_context
def add_passphrase(
    ctx: click.Context, archive_dir: Path, key_file: Path | None, role: Role, label: str | None
) -> None:
    """Add a passphrase slot (read from ARCHIVER_NEW_PASSPHRASE, or asked twice).

    While four-eyes is on, a new admin slot waits for a second admin's approval.

    \b
    Example:
      ARCHIVER_NEW_PASSPHRASE='four unrelated words here' \\
          archiver key add-passphrase --role review --label "outside counsel"
    """
    secret = new_passphrase("ARCHIVER_NEW_PASSPHRASE")
    slot_id = with_archive(
        ctx,
        archive_dir,
        key_file,
        lambda a, inv: approvals.add_slot(a, secret, inv, role=role, label=label),
    )
    render.line(f"Added {role} passphrase slot {slot_id}")


@key.command("add-keyfile")
@click.argument("path", type=NewPath())
@archive_options
@role_option
@click.option("--label", help="A note to recognise the slot by (e.g. 'nightly purge job').")
@click.pass_context
def add_keyfile(
    ctx: click.Context,
    path: Path,
    archive_dir: Path,
    key_file: Path | None,
    role: Role,
    label: str | None,
) -> None:
    """Create key file PATH (32 random bytes, mode 0600) and a slot it opens.

    For unattended jobs, with the least role the job needs:
    `ARCHIVER_KEY_FILE=PATH archiver purge --execute` needs a purge slot. PATH must
    not exist.

    \b
    Example:
      archiver key add-keyfile /etc/archiver/purge.key --role purge --label "nightly purge"
    """
    slot_id = with_archive(
        ctx,
        archive_dir,
        key_file,
        lambda a, inv: approvals.add_keyfile_slot(a, path, inv, role=role, label=label),
    )
    render.line(f"Added {role} key-file slot {slot_id}; key file written to {path} (mode 0600)")


@key.command("remove")
@click.argument("slot_id")
@archive_options
@click.option(
    "--yes-i-understand",
    "confirmed",
    is_flag=True,
    help="Confirm removing the recovery slot or the last admin slot.",
)
@click.pass_context
def remove(
    ctx: click.Context, slot_id: str, archive_dir: Path, key_file: Path | None, confirmed: bool
) -> None:
    """Remove key slot SLOT_ID (the last slot cannot be removed).

    Removing a slot stops its secret from opening the archive from now on. If the
    secret may have leaked together with a copy of the archive, also run `key rotate`.
    Removing the recovery slot or the last admin slot needs --yes-i-understand.

    \b
    Example:
      archiver key remove 3f9a1c2e
    """
    info = with_archive(
        ctx,
        archive_dir,
        key_file,
        lambda a, inv: keys.remove_slot(a, slot_id, inv, confirmed=confirmed),
    )
    render.line(f"Removed {info['kind']} slot {info['id']}")


@key.command("rotate")
@archive_options
@click.pass_context
def rotate(ctx: click.Context, archive_dir: Path, key_file: Path | None) -> None:
    """Give the database a new random key and re-wrap it for every slot.

    Every existing passphrase, key file and recovery key keeps working; the old
    database key no longer opens the database.

    \b
    Example:
      archiver key rotate
    """
    details = with_archive(ctx, archive_dir, key_file, keys.rotate)
    render.line(
        f"Database re-keyed; re-wrapped {len(details['rewrapped_slots'])} slot(s): "
        + ", ".join(details["rewrapped_slots"])
    )


@key.command("public")
@archive_options
@click.option(
    "--out",
    type=NewPath(),
    help="Write the public key (PEM) to this new file.",
)
@json_option
@click.pass_context
def public(
    ctx: click.Context, archive_dir: Path, key_file: Path | None, out: Path | None, as_json: bool
) -> None:
    """Print the archive's Ed25519 public key, to verify signed files elsewhere.

    Keep a copy outside the archive and compare its fingerprint with the one shown at
    `init`; `archiver verify-signed FILE --public-key PUBFILE` needs no archive key.

    \b
    Example:
      archiver key public --out /media/usb/archive-public.pem
    """
    if out is not None and out.exists():
        raise Refused(f"{out} already exists; refusing to overwrite it")
    info = with_archive(ctx, archive_dir, key_file, keys.public_key)
    if out is not None:
        write_secret_file(out, info["pem"].encode())
    if as_json:
        render.print_json(info)
    else:
        if out is None:
            render.block(info["pem"].rstrip())
        render.line(f"Fingerprint: {info['fingerprint']}")


COMMANDS = [key]
