"""`archiver key ...`: the key slots that unlock the archive, and the public key."""

from __future__ import annotations

from pathlib import Path

import click

from archiver import keys, render
from archiver.cli.common import archive_options, json_option, new_passphrase, with_archive
from archiver.errors import Refused
from archiver.keyring import write_secret_file


@click.group()
def key() -> None:
    """Manage the key slots that unlock the archive.

    Adding or removing a slot never re-encrypts the database; `rotate` gives the
    database a new key (the way to revoke a leaked one).

    \b
    Example:
      archiver key list
      ARCHIVER_NEW_PASSPHRASE='correct horse battery staple' archiver key add-passphrase
    """


@key.command("list")
@archive_options
@json_option
@click.pass_context
def list_(ctx: click.Context, archive_dir: Path, key_file: Path | None, as_json: bool) -> None:
    """List key slots (the one used to unlock is marked *).

    \b
    Example:
      archiver key list --json
    """

    rows = with_archive(ctx, archive_dir, key_file, keys.list_slots)
    if as_json:
        render.print_json(rows)
    else:
        render.slots(rows)


@key.command("add-passphrase")
@archive_options
@click.option("--label", help="A note to recognise the slot by (e.g. the officer's name).")
@click.pass_context
def add_passphrase(
    ctx: click.Context, archive_dir: Path, key_file: Path | None, label: str | None
) -> None:
    """Add a passphrase slot (read from ARCHIVER_NEW_PASSPHRASE, or asked twice).

    \b
    Example:
      ARCHIVER_NEW_PASSPHRASE='four unrelated words here' archiver key add-passphrase --label dpo
    """
    secret = new_passphrase("ARCHIVER_NEW_PASSPHRASE")
    slot_id = with_archive(
        ctx, archive_dir, key_file, lambda a, inv: keys.add_slot(a, secret, inv, label=label)
    )
    render.line(f"Added passphrase slot {slot_id}")


@key.command("add-keyfile")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@archive_options
@click.option("--label", help="A note to recognise the slot by (e.g. 'nightly purge job').")
@click.pass_context
def add_keyfile(
    ctx: click.Context, path: Path, archive_dir: Path, key_file: Path | None, label: str | None
) -> None:
    """Create key file PATH (32 random bytes, mode 0600) and a slot it opens.

    For unattended jobs: `ARCHIVER_KEY_FILE=PATH archiver purge --execute`.
    PATH must not exist.

    \b
    Example:
      archiver key add-keyfile /etc/archiver/purge.key --label cron
    """
    slot_id = with_archive(
        ctx,
        archive_dir,
        key_file,
        lambda a, inv: keys.add_keyfile_slot(a, path, inv, label=label),
    )
    render.line(f"Added key-file slot {slot_id}; key file written to {path} (mode 0600)")


@key.command("remove")
@click.argument("slot_id")
@archive_options
@click.pass_context
def remove(ctx: click.Context, slot_id: str, archive_dir: Path, key_file: Path | None) -> None:
    """Remove key slot SLOT_ID (the last slot cannot be removed).

    Removing a slot stops its secret from opening the archive from now on. If the
    secret may have leaked together with a copy of the archive, also run `key rotate`.

    \b
    Example:
      archiver key remove 3f9a1c2e
    """
    info = with_archive(
        ctx, archive_dir, key_file, lambda a, inv: keys.remove_slot(a, slot_id, inv)
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
    type=click.Path(dir_okay=False, path_type=Path),
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
            render.line(info["pem"].rstrip())
        render.line(f"Fingerprint: {info['fingerprint']}")


COMMANDS = [key]
