"""What every `reconciler device` sub-command shares: options, finding the device, running an
async operation against it, clean errors (one line, or a JSON error document), transcripts."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

from reconciler.contract import ExitCode
from reconciler.core.model import InventoryDevice
from reconciler.drivers.base import Driver, Transcript
from reconciler.errors import ReconcilerError
from reconciler.secrets import redact

FORMAT_VERSION = 1
T = TypeVar("T")


def common_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """`--repo`, `--inventory`, `--format`, `--transcript` (passed to the command as `opts`)."""

    @click.option("--repo", type=click.Path(file_okay=False, path_type=Path), default=Path("."), show_default=True,
                  help="Desired-state repository (desired/, inventory/); relative tls.ca_bundle and file: "
                       "credentials are read from here.")
    @click.option("--inventory", type=click.Path(dir_okay=False, path_type=Path), default=None,
                  help="The inventory file [default: REPO/inventory/devices.yaml].")
    @click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
                  help="Output format.")
    @click.option("--transcript", type=click.Path(dir_okay=False, path_type=Path), default=None,
                  help="Write the commands sent and the device's answers here (secrets redacted).")
    @functools.wraps(f)
    def wrapper(repo: Path, inventory: Path | None, fmt: str, transcript: Path | None, **kw: Any) -> Any:
        opts = Options(repo, inventory, fmt, transcript)
        try:
            return f(opts, **kw)
        except ReconcilerError as e:
            fail(opts, e, kw.get("name"))

    return wrapper


@dataclass
class Options:
    repo: Path
    inventory: Path | None
    fmt: str
    transcript: Path | None

    @property
    def json(self) -> bool:
        return self.fmt == "json"

    def inventory_path(self) -> Path:
        if self.inventory is None:
            return self.repo / "inventory" / "devices.yaml"
        if self.inventory.is_absolute() or self.inventory.exists():
            return self.inventory
        return self.repo / self.inventory

    def devices(self) -> dict[str, InventoryDevice]:
        from reconciler.cli.discover import load_inventory_file

        return dict(load_inventory_file(self.inventory_path()))

    def device(self, name: str) -> InventoryDevice:
        from reconciler.devices.session import find_device

        return find_device(self.devices(), name)

    def run(self, device: InventoryDevice, op: Callable[[Driver], Awaitable[T]]) -> T:
        """Connect to `device` and run `op(driver)`; the transcript is written even on failure."""
        from reconciler.devices.session import connect

        transcript = Transcript()

        async def main() -> T:
            async with connect(device, root=self.repo, transcript=transcript) as drv:
                return await op(drv)

        try:
            return asyncio.run(main())
        finally:
            if self.transcript is not None:
                self.transcript.write_text(transcript.text() + "\n", encoding="utf-8")


def error_dict(e: ReconcilerError) -> dict[str, Any]:
    return {"code": e.code, "message": redact(e.message), "hint": redact(e.hint) if e.hint else None,
            "device": e.device, "member": e.member}


def fail(opts: Options, e: ReconcilerError, device: str | None = None) -> None:
    """One clean line on stderr (and a JSON error document with --format json); exit 1."""
    if opts.json:
        from reconciler.cli.output import emit_json

        emit_json({"format_version": FORMAT_VERSION, "device": e.device or device, "ok": False,
                   "error": error_dict(e)})
    click.echo(f"error: {redact(str(e))}", err=True)
    raise click.exceptions.Exit(ExitCode.ERROR)


def warn(text: str) -> None:
    click.echo(f"warning: {redact(text)}", err=True)
