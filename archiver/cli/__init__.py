"""The `archiver` command line: a thin shell over the library.

Each command parses its options, calls one library function and hands the result to
``archiver.render``. Library errors become one clean line on stderr and the exit code of
DESIGN.md's Contracts (1 error, 2 usage, 3 cannot unlock, 4 damage found), plus 6 (not
permitted for the unlocking key slot's role) and 7 (filed for a second admin's approval).
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from archiver import __version__, render
from archiver.errors import ApprovalPending, ArchiverError, DamageFound
from archiver.store import is_damage


class ArchiverGroup(click.Group):
    """Turns library errors into a message and an exit code, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ApprovalPending as exc:
            render.pending(str(exc))
            ctx.exit(exc.exit_code)
        except ArchiverError as exc:
            render.error(str(exc))
            ctx.exit(exc.exit_code)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except BrokenPipeError:
            # `archiver audit | head`: the reader went away; stop quietly like Unix tools.
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115
            ctx.exit(0)
        except KeyboardInterrupt:
            render.error("interrupted; nothing half-written was kept")
            ctx.exit(130)
        except Exception as exc:
            if is_damage(exc):  # a command that reads the database outside with_archive
                render.error(
                    f"the archive database is damaged: SQLite reports '{exc}'. Run `archiver "
                    "verify` to see what is damaged, and restore the archive from a backup "
                    "made with `archiver backup`."
                )
                ctx.exit(DamageFound.exit_code)
            if os.environ.get("ARCHIVER_DEBUG"):
                raise
            render.error(
                f"unexpected {type(exc).__name__}: {exc}. This is a bug in archiver; "
                "re-run with ARCHIVER_DEBUG=1 for details and report it."
            )
            ctx.exit(1)


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
        ingest_cmds,
        key_cmds,
        retention_cmds,
        search_cmds,
    )

    for module in (
        archive_cmds,
        key_cmds,
        ingest_cmds,
        search_cmds,
        retention_cmds,
        audit_cmds,
        approval_cmds,
    ):
        for command in module.COMMANDS:
            cli.add_command(command)


_register()

if __name__ == "__main__":  # pragma: no cover
    main()
