"""The `archiver` command line: a thin shell over the library.

Each command parses its options, calls one library function and hands the result to
``archiver.cli.render``. Library errors become one clean line on stderr and an exit code: 1
error, 2 usage, 3 cannot unlock, 4 damage found, 6 not permitted for the unlocking key
slot's role, 7 filed for a second admin's approval, 75 busy (``archiver.core.errors``).

With ``--json`` anywhere on the command line, stdout holds exactly one JSON document
whatever happens: a failure is ``{"error": MESSAGE, "exit_code": N}`` (usage errors
included; a request filed for approval is ``{"pending": MESSAGE, "request_id": ID,
"exit_code": 7}``), and a command that fails after producing a result (``ingest`` with
failed exports, ``verify`` finding damage) adds those two keys to its result.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

import click

from archiver import __version__
from archiver.cli import render
from archiver.core.errors import ApprovalPending, ArchiveBusy, ArchiverError, DamageFound
from archiver.store.database import is_busy, is_damage

JSON_ERRORS = "archiver.json_errors"


def json_requested(args: Sequence[str]) -> bool:
    """Whether ``--json`` is among the options (before a ``--`` that ends them)."""
    tokens = list(args)
    if "--" in tokens:
        tokens = tokens[: tokens.index("--")]
    return "--json" in tokens


def fail(ctx: click.Context, message: str, exit_code: int) -> NoReturn:
    """Report a failure as the command line asked (a line on stderr, or JSON) and exit."""
    if ctx.meta.get(JSON_ERRORS):
        render.json_error(message, exit_code)
    else:
        render.error(message)
    ctx.exit(exit_code)


class ArchiverGroup(click.Group):
    """Turns library errors into a message and an exit code, never a traceback."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        as_json = json_requested(args)
        try:
            ctx = super().make_context(info_name, args, parent, **extra)
        except click.ClickException as exc:
            if not as_json:
                raise
            render.json_error(exc.format_message(), exc.exit_code)
            raise click.exceptions.Exit(exc.exit_code) from None
        ctx.meta[JSON_ERRORS] = as_json
        return ctx

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ApprovalPending as exc:
            if ctx.meta.get(JSON_ERRORS):
                render.print_json(
                    {"pending": str(exc), "request_id": exc.request_id, "exit_code": exc.exit_code}
                )
            else:
                render.pending(str(exc))
            ctx.exit(exc.exit_code)
        except ArchiverError as exc:
            fail(ctx, str(exc), exc.exit_code)
        except (click.exceptions.Exit, click.Abort):
            raise
        except click.ClickException as exc:
            if not ctx.meta.get(JSON_ERRORS):
                raise
            fail(ctx, exc.format_message(), exc.exit_code)
        except BrokenPipeError:
            # `archiver audit | head`: the reader went away; stop quietly like Unix tools.
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115
            ctx.exit(0)
        except KeyboardInterrupt:
            fail(ctx, "interrupted; nothing half-written was kept", 130)
        except Exception as exc:
            if is_damage(exc):  # a command that reads the database outside with_archive
                fail(
                    ctx,
                    f"the archive database is damaged: SQLite reports '{exc}'. Run `archiver "
                    "verify` to see what is damaged, and restore the archive from a backup "
                    "made with `archiver backup`.",
                    DamageFound.exit_code,
                )
            if is_busy(exc):
                fail(
                    ctx,
                    "the archive is in use by another archiver command; run this command "
                    "again when that one has finished, or give --wait SECONDS to wait longer",
                    ArchiveBusy.exit_code,
                )
            if os.environ.get("ARCHIVER_DEBUG"):
                raise
            fail(
                ctx,
                f"unexpected {type(exc).__name__}: {exc}. This is a bug in archiver; "
                "re-run with ARCHIVER_DEBUG=1 for details and report it.",
                1,
            )


@click.group(cls=ArchiverGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="archiver")
def cli() -> None:
    """Encrypted, searchable compliance archive for WhatsApp and Telegram exports.

    Ingest the files employees export from their phones into one encrypted archive,
    search and produce them for eDiscovery, and apply retention policies and legal
    holds. Every action is written to a tamper-evident audit log.

    \b
    Example:
      export ARCHIVER_ARCHIVE=/srv/archive ARCHIVER_KEY_FILE=/etc/archiver.key
      archiver init --tz Europe/London --key-file /etc/archiver.key
      archiver status
    """


def main() -> None:
    cli(prog_name="archiver")


def _register() -> None:
    from archiver.cli import (
        approval_cmds,
        archive_cmds,
        audit_cmds,
        custodian_cmds,
        ingest_cmds,
        key_cmds,
        production_cmds,
        retention_cmds,
        search_cmds,
        source_cmds,
    )

    for module in (
        archive_cmds,
        key_cmds,
        ingest_cmds,
        source_cmds,
        custodian_cmds,
        search_cmds,
        retention_cmds,
        audit_cmds,
        approval_cmds,
        production_cmds,
    ):
        for command in module.COMMANDS:
            cli.add_command(command)


_register()

if __name__ == "__main__":  # pragma: no cover
    main()
