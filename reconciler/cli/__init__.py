"""The `reconciler` command: a thin shell over the core.

Each sub-command lives in its own module (`reconciler.cli.<name>`) exposing `command`; they are
imported lazily so `reconciler --help` stays fast and one broken optional piece cannot break the
rest. Every `ReconcilerError` becomes one clear line on stderr and an exit code from the contract;
a traceback reaches the user only with `--debug`.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys

import click

from reconciler.contract import ExitCode
from reconciler.errors import ReconcilerError

# command name -> module under reconciler.cli
COMMANDS: dict[str, str] = {
    "validate": "validate",
    "discover": "discover",
    "plan": "plan",
    "apply": "apply",
    "jobs": "jobs",
    "device": "device",
    "images": "images",
    "simulate": "simulate",
    "daemon": "daemon",
    "state": "state",
    "demo": "demo",
    "contract": "contract",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(n for n, mod in COMMANDS.items() if _available(mod))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        mod = COMMANDS.get(name)
        if mod is None or not _available(mod):
            return None
        return importlib.import_module(f"reconciler.cli.{mod}").command


def _available(mod: str) -> bool:
    return importlib.util.find_spec(f"reconciler.cli.{mod}") is not None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks for unexpected errors.")
@click.option("--log-format", type=click.Choice(["auto", "json", "console"]), default="auto",
              show_default=True, help="Log format: JSON when not on a terminal (auto).")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.pass_context
def cli(ctx: click.Context, debug: bool, log_format: str, verbose: int) -> None:
    """Keep firewall fleet images at the versions declared in git."""
    from reconciler.logging import configure_logging

    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    configure_logging(fmt=log_format, verbosity=verbose)


def main(argv: list[str] | None = None) -> None:
    try:
        rc = cli.main(args=argv, prog_name="reconciler", standalone_mode=False)
        # without standalone mode click *returns* the code of `ctx.exit(n)` / `Exit(n)`
        if isinstance(rc, int) and rc:
            sys.exit(rc)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except click.ClickException as e:
        e.show()
        sys.exit(ExitCode.ERROR if e.exit_code == 1 else e.exit_code)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(ExitCode.INTERRUPTED)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(ExitCode.INTERRUPTED)
    except ReconcilerError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(ExitCode.ERROR)
    except SystemExit:
        raise
    except Exception as e:  # noqa: BLE001 - the last line of defence against tracebacks
        if "--debug" in (argv if argv is not None else sys.argv):
            raise
        click.echo(f"internal error: {type(e).__name__}: {e} (re-run with --debug for details, "
                   "and please report it)", err=True)
        sys.exit(ExitCode.ERROR)
