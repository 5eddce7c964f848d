"""Scenario fleets for the planner, described in YAML under tests/fixtures/plan/<scenario>/.

A scenario directory holds `desired/*.yaml` (policy; the catalog defaults to
`_shared/images.yaml`), `inventory/devices.yaml`, `snapshot.yaml` (discovery output as YAML),
optional `repository.yaml` (`missing: [...]`, `checksum_mismatch: [...]`; everything else is
present), optional `states.yaml` (device -> state from the store) and `expect.yaml`.
The fleet goes through the real loader and resolver, then the planner.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

from reconciler.contract import StepAction
from reconciler.core.findings import Finding
from reconciler.core.model import DeviceState, ImageStatus
from reconciler.core.observed import Snapshot, snapshot_from_dict
from reconciler.core.plan import Plan, plan_fleet
from reconciler.core.plan.planner import observed_models
from reconciler.core.plan.model import Step
from reconciler.core.resolve import resolve_fleet
from reconciler.loader import DirectorySource, load_desired

FIXTURES = Path(__file__).parents[2] / "fixtures" / "plan"
SHARED_CATALOG = FIXTURES / "_shared" / "images.yaml"


def scenario_names() -> list[str]:
    return sorted(p.name for p in FIXTURES.iterdir() if (p / "expect.yaml").is_file())


def build_repo(name: str, dest: Path) -> Path:
    """A desired-state repository in `dest` from the scenario's pieces plus the shared catalog."""
    src = FIXTURES / name
    shutil.copytree(src / "desired", dest / "desired")
    shutil.copytree(src / "inventory", dest / "inventory")
    if not (dest / "desired" / "images.yaml").exists():
        shutil.copy(SHARED_CATALOG, dest / "desired" / "images.yaml")
    return dest


def read_yaml(path: Path) -> Any:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)


def load_fixture_snapshot(name: str) -> Snapshot:
    return snapshot_from_dict(read_yaml(FIXTURES / name / "snapshot.yaml"))


def image_status(name: str, catalog: Any) -> dict[str, ImageStatus]:
    path = FIXTURES / name / "repository.yaml"
    spec = read_yaml(path) if path.exists() else {}
    status = {n: ImageStatus.PRESENT for n in catalog}
    for n in spec.get("missing", ()):
        status.pop(n, None)
    for n in spec.get("checksum_mismatch", ()):
        status[n] = ImageStatus.CHECKSUM_MISMATCH
    return status


def run(name: str, workdir: Path, only: set[str] | None = None
        ) -> tuple[Plan, list[Finding], dict[str, Any]]:
    """Plan the scenario; returns the plan, the loader's findings and the expectations."""
    repo = build_repo(name, workdir / name)
    desired, load_findings = load_desired(DirectorySource(repo))
    snapshot = load_fixture_snapshot(name)
    resolved, resolve_findings = resolve_fleet(desired, observed_models(snapshot))
    states_path = FIXTURES / name / "states.yaml"
    states = ({k: DeviceState(v) for k, v in read_yaml(states_path).items()}
              if states_path.exists() else None)
    plan = plan_fleet(desired, resolved, snapshot, image_status(name, desired.images),
                      device_states=states, only=only,
                      findings=[*load_findings, *resolve_findings])
    return plan, load_findings, read_yaml(FIXTURES / name / "expect.yaml")


_IMAGE_ARG = {StepAction.COPY, StepAction.VERIFY_COPY, StepAction.SET_BOOT, StepAction.SET_ASDM,
              StepAction.DELETE_FILE, StepAction.BACKUP, StepAction.AGENT_INSTALL}


def signature(s: Step) -> str:
    """`action member [via UNIT] [argument]`: one line per step in expect.yaml."""
    parts = [str(s.action), s.member]
    if s.via:
        parts += ["via", s.via]
    if s.action in _IMAGE_ARG:
        parts.append(s.image or "?")
    elif s.action in (StepAction.RELOAD, StepAction.CHECK_VERSION):
        parts.append(s.version or "?")
    elif s.action is StepAction.WAIT_READY:
        parts += [str(s.wait_for), str(s.timeout)]
    elif s.action is StepAction.SET_FAILOVER_GROUPS:
        parts.append(" ".join(f"{u}={','.join(map(str, g)) or '-'}"
                              for u, g in sorted((s.groups or {}).items())))
    if s.spreads_to:
        parts += ["spreads", ",".join(s.spreads_to)]
    return " ".join(parts)
