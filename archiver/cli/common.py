"""What every command shares: archive location, secrets, the invocation record, errors.

Secrets arrive in this order (docs/security.md): ``--key-file PATH`` /
``ARCHIVER_KEY_FILE``, then ``ARCHIVER_PASSPHRASE``, then ``ARCHIVER_RECOVERY_KEY``,
then a hidden prompt (only on a TTY). They never appear in arguments recorded in the
audit log, in output or in error messages.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import shlex
import socket
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from archiver.archive.session import Archive, damaged, open_archive
from archiver.cli import permissions, render
from archiver.core import zones
from archiver.core.errors import ApprovalPending, ArchiveBusy, ArchiverError, SecretRequired
from archiver.security import roles
from archiver.security.keyring import Secret, read_key_file
from archiver.store.auditlog import Invocation, record_failure
from archiver.store.database import BUSY_SECONDS, Waiting, busy, is_busy, is_damage

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")

MIN_PASSPHRASE = 10
REDACTED_PARAMS = ("passphrase", "secret", "password", "recovery_key")
MAX_WAIT = 24 * 3600.0
WAIT = "archiver.wait"


def _keep_wait(ctx: click.Context, param: click.Parameter, value: float) -> float:
    ctx.meta[WAIT] = value
    return value


def archive_options(func: F) -> F:
    """``--archive``, ``--key-file`` and ``--wait``, on every command that opens an
    existing archive."""
    func = click.option(
        "--wait",
        type=click.FloatRange(min=0, max=MAX_WAIT),
        default=BUSY_SECONDS,
        show_default=True,
        envvar="ARCHIVER_WAIT",
        metavar="SECONDS",
        expose_value=False,
        callback=_keep_wait,
        help="Wait up to SECONDS for another archiver command to release the archive, then "
        "exit 75 (env ARCHIVER_WAIT; e.g. --wait 600 in a cron job).",
    )(func)
    return location_options(func)


def location_options(func: F) -> F:
    """``--archive`` and ``--key-file`` (``init``, which creates the archive)."""
    func = click.option(
        "--key-file",
        type=click.Path(dir_okay=False, path_type=Path),
        envvar="ARCHIVER_KEY_FILE",
        help="Key file that unlocks the archive (env ARCHIVER_KEY_FILE).",
    )(func)
    func = click.option(
        "--archive",
        "archive_dir",
        type=click.Path(file_okay=False, path_type=Path),
        envvar="ARCHIVER_ARCHIVE",
        default=Path("archive"),
        show_default=True,
        help="Archive directory (env ARCHIVER_ARCHIVE).",
    )(func)
    return func


class NewPath(click.Path):
    """A file (or, with ``folder=True``, a directory) this command creates.

    Checked while the command line is read, before anything is unlocked or changed: the
    folder it goes in must exist (for a directory, the nearest existing one above it) and
    be writable; otherwise a usage error (exit 2) names the path and what to do. A file
    that already exists is refused later by the command itself (it never overwrites)."""

    def __init__(self, folder: bool = False) -> None:
        super().__init__(file_okay=not folder, dir_okay=folder, path_type=Path)
        self.folder = folder

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        path = Path(os.fsdecode(super().convert(value, param, ctx)))
        parent = path.parent
        if self.folder:
            while not parent.exists() and parent != parent.parent:
                parent = parent.parent
        elif not parent.exists():
            self.fail(
                f"{path}: the folder {parent} does not exist; create it first "
                f"(mkdir -p {shlex.quote(str(parent))}) or choose another path",
                param,
                ctx,
            )
        if not parent.is_dir():
            self.fail(f"{path}: {parent} is not a folder", param, ctx)
        if not os.access(parent, os.W_OK | os.X_OK):
            self.fail(f"{path}: cannot create files in {parent} (permission denied)", param, ctx)
        return path


class ZoneName(click.ParamType[str, Any]):
    """A ``--tz`` value: an IANA place, UTC or UTC±HH:MM, as recorded (``zones.canonical``).
    Legacy names such as EST raise the library's InputError naming the zone to use (exit 1,
    like every refused input), before the archive is opened."""

    name = "zone"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        return zones.canonical(str(value))


ZONE = ZoneName()


def json_option(func: F) -> F:
    return click.option(
        "--json",
        "as_json",
        is_flag=True,
        help='Print JSON for scripts; a failure too: {"error": ..., "exit_code": N}.',
    )(func)


def stdin_is_tty() -> bool:
    return sys.stdin.isatty()


def show_progress(as_json: bool = False) -> bool:
    """Progress bars only for a person watching: both outputs a terminal, and no --json
    (never in pipes, files or cron mail)."""
    return not as_json and sys.stdout.isatty() and sys.stderr.isatty()


def unlock_secret(key_file: Path | None) -> Secret:
    """The secret that unlocks an archive, in the documented order."""
    if key_file is not None:
        return Secret("keyfile", read_key_file(key_file, render.warning), f"--key-file {key_file}")
    if os.environ.get("ARCHIVER_PASSPHRASE"):
        return Secret.passphrase(os.environ["ARCHIVER_PASSPHRASE"], "ARCHIVER_PASSPHRASE")
    if os.environ.get("ARCHIVER_RECOVERY_KEY"):
        return Secret.recovery(os.environ["ARCHIVER_RECOVERY_KEY"], "ARCHIVER_RECOVERY_KEY")
    if stdin_is_tty():
        text = click.prompt("Passphrase", hide_input=True, err=True)
        return Secret.passphrase(text, "prompt")
    raise SecretRequired(
        "the archive is locked and no secret was given; supply one with --key-file PATH "
        "(or ARCHIVER_KEY_FILE), ARCHIVER_PASSPHRASE, or ARCHIVER_RECOVERY_KEY"
    )


def new_passphrase(env_var: str) -> Secret:
    """A new passphrase from ``env_var`` or asked twice on a TTY."""
    text = os.environ.get(env_var)
    origin = env_var
    if not text:
        if not stdin_is_tty():
            raise SecretRequired(
                f"no new passphrase given; set {env_var} or run this command on a terminal"
            )
        text = click.prompt("New passphrase", hide_input=True, confirmation_prompt=True, err=True)
        origin = "prompt"
    if len(text) < MIN_PASSPHRASE:
        raise ArchiverError(
            f"the passphrase from {origin} is too short: use at least {MIN_PASSPHRASE} "
            "characters (a few unrelated words work well)"
        )
    return Secret.passphrase(text, origin)


def _clean_args(params: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in params.items():
        if value is None or value is False or value == ():
            continue
        if any(word in name for word in REDACTED_PARAMS):
            out[name] = "[redacted]"
        elif isinstance(value, Path):
            out[name] = str(value)
        elif isinstance(value, tuple | list):
            out[name] = [str(v) if isinstance(v, Path) else v for v in value]
        else:
            out[name] = value
    return out


def invocation(ctx: click.Context, **extra: Any) -> Invocation:
    """The audit record of this command line (who, where, what, with which arguments)."""
    command = ctx.command_path.split(" ", 1)[1] if " " in ctx.command_path else ctx.command_path
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return Invocation(
        command=command.replace(" ", "."),
        args={**_clean_args(dict(ctx.params)), **extra},
        user=user,
        host=socket.gethostname(),
        clock=lambda: datetime.now(UTC),
    )


@contextlib.contextmanager
def report_waiting(seconds: float) -> Iterator[None]:
    """Tell the operator (on stderr) that this command waits for another one, and for how
    long it waited once the archive is free."""
    render.notice(
        f"The archive is in use by another archiver command; waiting up to {seconds:g} s "
        "for it (--wait)."
    )
    started = time.monotonic()
    yield
    render.notice(f"Waited {time.monotonic() - started:.1f} s; the archive is free, continuing.")


def waiting(ctx: click.Context) -> Waiting:
    """How long this command waits for another one's lock (``--wait``)."""
    return Waiting(float(ctx.meta.get(WAIT, BUSY_SECONDS)), report_waiting)


def open_for(ctx: click.Context, archive_dir: Path, key_file: Path | None) -> Archive:
    """Unlock and open the archive for this command (waiting as ``--wait`` says)."""
    return open_archive(archive_dir, unlock_secret(key_file), invocation(ctx), waiting=waiting(ctx))


def with_archive(
    ctx: click.Context,
    archive_dir: Path,
    key_file: Path | None,
    action: Callable[[Archive, Invocation], T],
) -> T:
    """Unlock the archive, check the unlocking slot's role, run ``action``; a failure
    (a refusal by role included) still leaves an audit entry, and a database error that
    means damage becomes ``DamageFound`` (exit 4). A busy archive (another command holds
    it) leaves none: nothing can be written."""
    inv = invocation(ctx)
    archive = open_archive(archive_dir, unlock_secret(key_file), inv, waiting=waiting(ctx))
    try:
        permission, what = permissions.required(inv.command, inv.args)
        roles.require(archive.role, permission, what, archive.describe_slot())
        return action(archive, inv)
    except ApprovalPending:
        raise  # filed with its own audit entry: not a failure
    except ArchiveBusy:
        raise
    except Exception as exc:
        if is_busy(exc):
            raise busy(archive.store.db_path, archive.store.waiting.seconds) from None
        with contextlib.suppress(Exception):
            record_failure(archive.store, inv, exc)
        if is_damage(exc):
            raise damaged(archive.store.db_path, exc, f"running `archiver {inv.command}`") from None
        raise
    finally:
        archive.close()
