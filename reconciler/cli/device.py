"""`reconciler device ...`: operations on one device (storage, files, test copies, states).

Each sub-command lives in its own module under `reconciler.cli.device_cmds` and exposes
`command`; the module `delete_file` becomes `device delete-file`. They are found and imported
lazily, so adding a sub-command is adding a module — nothing here changes. Modules whose name
starts with `_` hold shared helpers.
"""

from __future__ import annotations

import importlib
import pkgutil

import click

from reconciler.cli import device_cmds


def _modules() -> dict[str, str]:
    return {m.name.replace("_", "-"): m.name for m in pkgutil.iter_modules(device_cmds.__path__)
            if not m.name.startswith("_")}


class _DeviceGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_modules())

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        mod = _modules().get(name)
        if mod is None:
            return None
        cmd = importlib.import_module(f"{device_cmds.__name__}.{mod}").command
        assert isinstance(cmd, click.Command)
        return cmd


@click.group("device", cls=_DeviceGroup)
def command() -> None:
    """One device: its storage (per member), files on it, and a test copy before a job."""
