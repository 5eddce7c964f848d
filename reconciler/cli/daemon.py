"""`reconciler daemon`: reconcile continuously from a git branch.

    reconciler daemon --repo https://git.example.com/netops/fleet.git --branch main \\
        --interval 5m --state postgresql://reconciler@db/fleet --listen 0.0.0.0:9108

Each cycle fetches the branch, discovers, plans and reports drift; devices whose policy says
`auto_apply: true` are upgraded inside their maintenance windows (agents also at check-in).
`--once --format json` runs one cycle and prints its report (for CI). See docs/daemon.md.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import click

from reconciler.cli import runs
from reconciler.contract import ExitCode
from reconciler.errors import ConfigError


@click.command("daemon")
@click.option("--repo", required=True, metavar="PATH_OR_URL",
              help="The desired-state git repository (a local path or a URL, fetched each cycle).")
@click.option("--branch", default="main", show_default=True, help="The branch to reconcile to.")
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Working directory for credentials (file:), images and the default state "
                   "store (default: --repo when it is a local path, else the current directory).")
@click.option("--images", "images_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Local image repository (default ROOT/.reconciler/images).")
@click.option("--state", "state_url", envvar="RECONCILER_STATE", metavar="URL",
              help="State store: SQLite path or postgresql:// URL (shared by several daemons).")
@click.option("--interval", default="5m", show_default=True, help="Time between cycles (30s, 5m, 1h).")
@click.option("--jitter", type=click.FloatRange(0, 0.5), default=0.1, show_default=True,
              help="Randomise each wait by +- this fraction of the interval.")
@click.option("--shard", metavar="K/N", help="Work only on the devices of shard K of N (0-based).")
@click.option("--listen", metavar="HOST:PORT", help="Serve /healthz, /readyz and /metrics here.")
@click.option("--once", is_flag=True, help="Run one cycle, print its report and exit.")
@click.option("--max-cycles", type=click.IntRange(1), help="Stop after this many cycles.")
@click.option("--auto-apply/--no-auto-apply", default=None,
              help="Override every device's auto_apply setting (default: policy; off unless set).")
@click.option("--ignore-maintenance-windows", "ignore_windows", is_flag=True,
              help="Apply outside maintenance windows too (recorded in each job).")
@click.option("--agent-upgrade", type=click.Choice(["checkin", "window"]), default="checkin",
              show_default=True, help="Agents: upgrade when they check in, or only in their "
                                      "maintenance window.")
@click.option("--stable-after", default="6h", show_default=True,
              help="A device in sync this long after its last upgrade has converged (its "
                   "NOT_CONVERGING count starts again).")
@click.option("--verify-signatures", is_flag=True,
              help="Refuse to apply a commit without a good signature by an allowed signer.")
@click.option("--allowed-signers", type=click.Path(dir_okay=False, path_type=Path),
              help="SSH allowed-signers file for --verify-signatures.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="With --once: the cycle report format.")
@click.option("--log-format", type=click.Choice(["auto", "json", "console"]), default="json",
              show_default=True, help="Log lines on stderr (JSON for log collectors).")
@click.option("--actor", default="reconciler-daemon", show_default=True,
              help="Who the jobs are recorded as.")
def command(repo: str, branch: str, root: Path | None, images_dir: Path | None,
            state_url: str | None, interval: str, jitter: float, shard: str | None,
            listen: str | None, once: bool, max_cycles: int | None, auto_apply: bool | None,
            ignore_windows: bool, agent_upgrade: str, stable_after: str, verify_signatures: bool,
            allowed_signers: Path | None, fmt: str, log_format: str, actor: str) -> None:
    """Reconcile the fleet continuously from a git branch."""
    from reconciler.daemon.loop import DaemonConfig, parse_duration, parse_shard
    from reconciler.gitops.source import is_url
    from reconciler.logging import configure_logging

    configure_logging(fmt=log_format, verbosity=1)
    if allowed_signers is not None and not verify_signatures:
        raise ConfigError("--allowed-signers needs --verify-signatures", code="USAGE")
    if root is None:
        root = Path.cwd() if is_url(repo) else Path(repo)
    config = DaemonConfig(
        repo=repo, branch=branch, interval=parse_duration(interval), jitter=jitter,
        shard=parse_shard(shard) if shard else None, auto_apply=auto_apply,
        ignore_windows=ignore_windows, agent_upgrade=agent_upgrade,
        verify_signatures=verify_signatures, allowed_signers=allowed_signers,
        stable_after=timedelta(seconds=parse_duration(stable_after)), actor=actor)
    address = _listen(listen) if listen else None
    runs.run_async(_main(config, runs.workspace(root, images_dir, state_url), address,
                         1 if once else max_cycles, once, fmt))


def _listen(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not port.isdigit():
        raise ConfigError(f"--listen {text!r} is not HOST:PORT", code="USAGE")
    return host.strip("[]") or "0.0.0.0", int(port)


async def _main(config: Any, workspace: Any, address: tuple[str, int] | None,
                max_cycles: int | None, once: bool, fmt: str) -> ExitCode:
    import contextlib

    from reconciler.daemon.health import serve_health
    from reconciler.daemon.loop import CycleResult, DaemonContext, run_loop
    from reconciler.daemon.signals import graceful_shutdown

    ctx = DaemonContext.open(config, workspace)
    try:
        async with contextlib.AsyncExitStack() as stack:
            if address is not None:
                await stack.enter_async_context(serve_health(ctx, *address))
            with graceful_shutdown(ctx):
                last: CycleResult | None = await run_loop(ctx, max_cycles=max_cycles)
    finally:
        ctx.close()
    if once and last is not None:
        _report(last, fmt)
    if ctx.stopping:
        return ExitCode.OK
    if once and last is not None and not last.ok:
        return ExitCode.ERROR
    return ExitCode.OK


def _report(result: Any, fmt: str) -> None:
    if fmt == "json":
        click.echo(json.dumps(result.to_dict(), indent=2))
        return
    counts = ", ".join(f"{k} {v}" for k, v in sorted(result.counts().items()))
    click.echo(f"cycle {result.cycle} at {(result.commit or '?')[:12]}: "
               f"{'ok' if result.ok else 'FAILED'} ({counts or 'no devices'})")
    for d in sorted(result.devices.values(), key=lambda d: d.name):
        if d.state != "in_sync":
            detail = "; ".join(d.changes) if d.state == "drifting" else d.reason
            click.echo(f"  {d.name}: {d.state} {detail}".rstrip())
    if result.job_id:
        click.echo(f"  job {result.job_id}: {result.job_status}")
    if result.error:
        click.echo(f"error: {result.error}", err=True)
