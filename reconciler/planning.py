"""The planning pipeline shared by `plan`, `apply`, `jobs retry|rollback`, the demo and the daemon:
desired state -> observed fleet (snapshot or discovery) -> image status and device states ->
resolution -> the pure planner.

Only the I/O lives here; every decision is in `reconciler.core`. A desired state with errors
that are not about one device (YAML syntax, an unknown image...) is refused as a whole with
`UnplannableError` listing them: a plan made from half a policy would be wrong, not partial.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from reconciler.contract import FindingCode, Severity
from reconciler.core.findings import Finding
from reconciler.core.membership import complete
from reconciler.core.model import (CredentialRef, DesiredState, DeviceState, ImageStatus,
                                   InventoryDevice, ResolvedDevice)
from reconciler.core.observed import Snapshot
from reconciler.core.plan import Plan, plan_fleet
from reconciler.errors import ConfigError

if TYPE_CHECKING:
    from reconciler.core.plan.incremental import PlanMemory
    from reconciler.discovery import ClientFactory, Progress
    from reconciler.gitops.revision import Revision
    from reconciler.drivers.base import DriverOptions, Transcript
    from reconciler.store import Store

# errors the planner finds again per device (blocking only the devices concerned)
_DEVICE_SCOPED = {FindingCode.BUNDLE_SYSTEM_IMAGES, FindingCode.UNSUPPORTED_IMAGE}


class UnplannableError(ConfigError):
    """The desired state has errors that are not about one device; nothing is planned."""

    def __init__(self, findings: Sequence[Finding]) -> None:
        first = findings[0].line() if findings else ""
        super().__init__(f"{len(findings)} error(s) in the desired state, first: {first}",
                         code="NOT_PLANNED",
                         hint="fix them (`reconciler validate` lists everything) and run again")
        self.findings = list(findings)


def fatal_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Errors that are not about one device: the desired state cannot be trusted as a whole."""
    return [f for f in findings
            if f.severity is Severity.ERROR and not f.device and f.code not in _DEVICE_SCOPED]


def load_revision_checked(root: Path) -> Revision:
    """desired/ and inventory/ of `root` as on disk, with the commit checked out there and
    whether the files differ from it; raises UnplannableError on fleet-wide errors."""
    from reconciler.gitops.revision import load_revision

    rev = load_revision(root)
    fatal = fatal_findings(rev.findings)
    if fatal:
        raise UnplannableError(fatal)
    return rev


def load_desired_state(root: Path) -> tuple[DesiredState, list[Finding]]:
    rev = load_revision_checked(root)
    return rev.desired, rev.findings


def check_devices(desired: DesiredState, names: Iterable[str]) -> None:
    unknown = sorted(set(names) - set(desired.inventory))
    if unknown:
        raise ConfigError(f"unknown device(s): {', '.join(unknown)}",
                          hint="use names from inventory/devices.yaml")


def credential_resolver(root: Path) -> Callable[[CredentialRef], str]:
    """`env:`/`file:` references, `file:` paths relative to the repository."""
    from reconciler.devices.session import repo_resolver

    return repo_resolver(root)


def inventory_devices(desired: DesiredState, only: Iterable[str] | None = None
                      ) -> list[InventoryDevice]:
    wanted = None if only is None else set(only)
    return [d for n, d in sorted(desired.inventory.items()) if wanted is None or n in wanted]


async def discover_devices(root: Path, devices: Sequence[InventoryDevice], *,
                           client_factory: ClientFactory | None = None,
                           driver_options: DriverOptions | None = None,
                           progress: Progress | None = None,
                           transcripts: dict[str, Transcript] | None = None) -> Snapshot:
    """A fresh discovery; unreachable devices become DiscoveryErrors in the snapshot (reported
    by the plan, never fatal)."""
    try:
        from reconciler.discovery import DiscoveryOptions, discover
    except ImportError as e:  # the driver layer is an optional part of an installation
        raise ConfigError("discovery is not available in this installation",
                          hint="discover elsewhere with `reconciler discover --out snapshot.json` "
                               "and pass --inventory snapshot.json") from e
    return await discover(list(devices), options=DiscoveryOptions(root=root),
                          resolver=credential_resolver(root), client_factory=client_factory,
                          driver_options=driver_options, progress=progress,
                          transcripts=transcripts)


def discover_now(root: Path, desired: DesiredState, only: set[str] | None) -> Snapshot:
    """Synchronous discovery of the inventory (or of `only`)."""
    return asyncio.run(discover_devices(root, inventory_devices(desired, only)))


def image_status(images_dir: Path, desired: DesiredState) -> dict[str, ImageStatus]:
    from reconciler.images.repository import ImageRepository

    return ImageRepository(images_dir).status(desired.images)


def resolve(desired: DesiredState, snapshot: Snapshot, memory: PlanMemory | None = None
            ) -> tuple[dict[str, ResolvedDevice], list[Finding]]:
    """Per-device targets and settings (discovered models beat inventory hints); raises
    UnplannableError on fleet-wide errors. With a `memory`, only what changed is resolved."""
    from reconciler.core.plan.planner import observed_models
    from reconciler.core.resolve import resolve_fleet

    models = observed_models(snapshot)
    resolved, findings = (memory.resolve(desired, models) if memory is not None
                          else resolve_fleet(desired, models))
    fatal = fatal_findings(findings)
    if fatal:
        raise UnplannableError(fatal)
    return resolved, findings


def stored_device_states(root: Path, state_url: str | None, names: Iterable[str]
                         ) -> dict[str, DeviceState]:
    """Device states from the state store. Without --state/$RECONCILER_STATE a store that does
    not exist yet means every device is operational: planning never creates one."""
    from reconciler.paths import sqlite_path
    from reconciler.store import open_store

    if state_url is None and not sqlite_path(root).exists():
        return {}
    with open_store(state_url, root=root) as store:
        return {n: r.state for n, r in store.device_states(names).items()}


def with_known_units(store: Store, snapshot: Snapshot, *, record: bool = True) -> Snapshot:
    """`snapshot` with every cluster unit the store knows but the cluster did not list added
    as unreachable (reconciler.core.membership); with `record`, what was seen is remembered."""
    done, remember = complete(snapshot, store.cluster_units(snapshot.devices))
    if record:
        for device, units in remember.items():
            store.remember_cluster_units(device, units)
    return done


def stored_known_units(root: Path, state_url: str | None, snapshot: Snapshot) -> Snapshot:
    """The same for `plan`, read-only: without a state store nothing is known."""
    from reconciler.paths import sqlite_path
    from reconciler.store import open_store

    if state_url is None and not sqlite_path(root).exists():
        return snapshot
    with open_store(state_url, root=root) as store:
        return with_known_units(store, snapshot, record=False)


def make_plan(desired: DesiredState, snapshot: Snapshot, status: Mapping[str, ImageStatus],
              states: Mapping[str, DeviceState], *, only: set[str] | None = None,
              findings: Iterable[Finding] = (), dirty: bool = False,
              memory: PlanMemory | None = None) -> tuple[Plan, dict[str, ResolvedDevice]]:
    """Resolve and plan; returns the plan and the resolution (settings, windows, targets).
    `dirty`: the files differ from the commit they were read with (the plan says so).
    `memory`: plan again only the devices whose inputs changed since its last plan."""
    resolved, resolve_findings = resolve(desired, snapshot, memory)
    plan = plan_fleet(desired, resolved, snapshot, status, device_states=states, only=only,
                      findings=[*findings, *resolve_findings], memory=memory)
    if dirty:
        plan = replace(plan, source=replace(plan.source, dirty=True))
    return plan, resolved
