"""`reconciler discover`: discover every inventory device into a snapshot (SPEC section 2).

Devices are discovered concurrently with per-device timeouts and retries; a device that cannot
be reached is listed with its error and the run goes on. A progress bar is shown on a terminal
(never under CI or when stderr is not a TTY). The snapshot is written atomically (default
`snapshot.json`); the summary goes to stdout as a table, or as the snapshot itself with
`--format json -o -`. Exit 0 when the snapshot was written (unreachable devices included),
1 on bad input or, with `--fail-on-error`, when any device failed.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from types import TracebackType

import click

from reconciler.contract import ExitCode
from reconciler.core.observed import Snapshot, snapshot_to_dict
from reconciler.discovery import DiscoveryOptions, by_name, discover, summary_rows
from reconciler.drivers.base import DriverOptions, Transcript
from reconciler.errors import ConfigError


class SingleFileSource:
    """A `FileSource` exposing one inventory file as `inventory/<name>` (for `--inventory`)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.label = str(path)
        self._rel = f"inventory/{path.name}"

    def list(self, pattern: str) -> list[str]:
        from reconciler.loader.source import match_pattern

        return [self._rel] if match_pattern(self._rel, pattern) else []

    def read(self, path: str) -> bytes:
        if path != self._rel:
            raise ConfigError(f"{path} is not part of this inventory", code="UNSAFE_PATH")
        return self.path.read_bytes()

    def size(self, path: str) -> int:
        return self.path.stat().st_size


def load_inventory_file(path: Path):  # type: ignore[no-untyped-def]
    """InventoryDevices of one file; any error finding stops with every problem listed."""
    from reconciler.contract import Severity
    from reconciler.loader import load_inventory

    if not path.is_file():
        raise ConfigError(f"inventory file {path} does not exist",
                          hint="pass --inventory PATH, or run from the repository root")
    devices, findings = load_inventory(SingleFileSource(path))
    errors = [f for f in findings if f.severity is Severity.ERROR]
    for f in findings:
        click.echo(f.line() if hasattr(f, "line") else str(f), err=True)
    if errors:
        raise ConfigError(f"{path}: {len(errors)} problem(s) in the inventory; nothing was discovered",
                          hint="fix them (see above) or run `reconciler validate`")
    return devices


class _RichProgress:
    def __init__(self, total: int) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._p = Progress(TextColumn("discovering"), BarColumn(), MofNCompleteColumn(),
                           TextColumn("{task.fields[failed]} failed"), TimeElapsedColumn(),
                           console=Console(stderr=True), transient=True)
        self._task = self._p.add_task("discover", total=total, failed=0)
        self._failed = 0

    def __enter__(self) -> _RichProgress:
        self._p.__enter__()
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self._p.__exit__(et, e, tb)

    def started(self, device: str) -> None:
        pass

    def finished(self, device: str, ok: bool) -> None:
        self._failed += 0 if ok else 1
        self._p.update(self._task, advance=1, failed=self._failed)


def _show_progress() -> bool:
    return sys.stderr.isatty() and os.environ.get("CI", "").lower() not in ("1", "true", "yes")


def _write(snapshot: Snapshot, output: str) -> None:
    if output == "-":
        click.echo(json.dumps(snapshot_to_dict(snapshot), indent=2))
        return
    from reconciler.loader import save_snapshot

    save_snapshot(snapshot, output)


def _print_table(snapshot: Snapshot) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(box=None, pad_edge=False)
    for col in ("device", "mode", "model", "running", "members", "status"):
        table.add_column(col)
    for row in summary_rows(snapshot):
        table.add_row(*row)
    Console(soft_wrap=True, width=max(100, Console().width)).print(table)


@click.command("discover")
@click.option("--inventory", "inventory", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("inventory/devices.yaml"), show_default=True, help="The inventory file.")
@click.option("--repo", type=click.Path(file_okay=False, path_type=Path), default=Path("."), show_default=True,
              help="Repository root: relative tls.ca_bundle and file: credentials are read from here.")
@click.option("-o", "--output", default="snapshot.json", show_default=True,
              help="Where to write the snapshot ('-' for stdout).")
@click.option("--device", "names", multiple=True, metavar="NAME", help="Discover only these devices (repeatable).")
@click.option("--concurrency", default=16, show_default=True, type=click.IntRange(1, 512))
@click.option("--timeout", default=120.0, show_default=True, type=click.FloatRange(0.1),
              help="Seconds per device, retries included.")
@click.option("--attempts", default=3, show_default=True, type=click.IntRange(1, 20),
              help="Tries per device for temporary errors (permanent errors are tried once).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="What to print on stdout: a summary table, or the snapshot JSON.")
@click.option("--transcripts", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write each device's transcript (commands and answers, secrets redacted) here.")
@click.option("--fail-on-error", is_flag=True, help="Exit 1 when any device could not be discovered.")
def command(inventory: Path, repo: Path, output: str, names: tuple[str, ...], concurrency: int, timeout: float,
            attempts: int, fmt: str, transcripts: Path | None, fail_on_error: bool) -> None:
    """Discover what every device really runs: members, roles, disks, images."""
    from reconciler.loader.credentials import resolve_credential

    inv_path = inventory if inventory.is_absolute() or inventory.exists() else repo / inventory
    devices = by_name(list(load_inventory_file(inv_path).values()), names)
    options = DiscoveryOptions(concurrency=concurrency, timeout=timeout, attempts=attempts, root=repo)
    records: dict[str, Transcript] = {}

    def resolver(ref):  # type: ignore[no-untyped-def]
        return resolve_credential(ref, base_dir=repo)

    async def run() -> Snapshot:
        if _show_progress() and output != "-":
            with _RichProgress(len(devices)) as progress:
                return await discover(devices, options=options, resolver=resolver, progress=progress,
                                      driver_options=DriverOptions(), transcripts=records)
        return await discover(devices, options=options, resolver=resolver, transcripts=records)

    snapshot = asyncio.run(run())
    _write(snapshot, output)
    if transcripts is not None:
        transcripts.mkdir(parents=True, exist_ok=True)
        for name, t in records.items():
            (transcripts / f"{name}.log").write_text(t.text() + "\n", encoding="utf-8")
    if fmt == "json" and output != "-":
        click.echo(json.dumps(snapshot_to_dict(snapshot), indent=2))
    elif fmt == "text":
        _print_table(snapshot)
        for err in snapshot.errors.values():
            click.echo(f"error: {err.message}", err=True)
        where = "stdout" if output == "-" else output
        click.echo(f"{len(snapshot.devices)} discovered, {len(snapshot.errors)} failed; snapshot: {where}", err=True)
    if fail_on_error and snapshot.errors:
        raise SystemExit(ExitCode.ERROR)
