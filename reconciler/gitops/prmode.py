"""Pull-request mode: validate the PR's tree, plan only what the PR changes.

Both revisions are read from git (never the working tree). The base compared is the merge base
of `--base` and `--head`, the same diff GitHub shows for the PR, so commits that reached the
base branch after the PR was opened are not mistaken for the PR's changes. The whole head tree
is validated; the devices the PR affects (`changes.compare`) are planned against the observed
state; devices that drift already without the PR are planned too but listed apart, so a reviewer
sees at a glance what *this* change does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import git

from reconciler.contract import ExitCode, Severity
from reconciler.core.findings import Finding
from reconciler.core.model import DesiredState, DeviceState, ImageStatus
from reconciler.core.observed import Snapshot
from reconciler.core.plan import DevicePlan, Plan, plan_fleet
from reconciler.core.plan.planner import observed_models
from reconciler.errors import ConfigError, Location
from reconciler.gitops.annotations import annotate
from reconciler.gitops.changes import ChangeSet, Resolution, compare
from reconciler.gitops.source import GitTreeSource, MirrorCache, resolve_ref
from reconciler.loader import load_desired
from reconciler.loader.yamlio import DEFAULT_LIMITS, YamlLimits

# What the CLI hands in: the observed state, image repository and device states, each computed
# from the head's desired state (and only when planning goes ahead).
SnapshotLoader = Callable[[DesiredState], Snapshot | None]
StatusLoader = Callable[[DesiredState], Mapping[str, ImageStatus]]
StatesLoader = Callable[[DesiredState], Mapping[str, DeviceState] | None]


@dataclass(frozen=True, slots=True)
class PrPlan:
    base_ref: str
    head_ref: str
    base: str  # the commit compared against: merge base of base_ref and head_ref
    head: str
    changes: ChangeSet
    problems: tuple[Finding, ...]  # validation of the head tree (loading and resolution)
    fatal: tuple[Finding, ...]  # problems that stop planning altogether
    plan: Plan  # the PR's devices (empty, with the problems, when not planned)
    planned: bool  # False: fatal problems, or no observed state to plan against
    drifting: tuple[DevicePlan, ...] = ()  # changes the PR does not cause
    prefix: str = ""  # desired/ inside the repository, for annotation paths
    device_locations: Mapping[str, Location] = field(default_factory=dict)
    snapshot: Snapshot | None = None  # the observed state planned against

    @property
    def has_errors(self) -> bool:
        return any(f.severity is Severity.ERROR for f in self.problems) or (
            self.planned and self.plan.has_errors)

    @property
    def has_changes(self) -> bool:
        if self.planned:
            return self.plan.has_changes
        return bool(self.changes.planned) and not self.fatal

    def exit_code(self, detailed: bool) -> ExitCode:
        """1 when the head tree has validation errors or a device the PR changes is blocked;
        else with --detailed-exitcode 2 when the PR changes something, 0 when not. Devices that
        drift without the PR never fail it."""
        if self.has_errors:
            return ExitCode.ERROR
        if detailed and self.has_changes:
            return ExitCode.CHANGES
        return ExitCode.OK

    def annotations(self) -> list[str]:
        found = list(self.problems)
        found += [f for d in self.plan.devices for f in d.findings
                  if f.severity is not Severity.INFO]
        return annotate(found, prefix=self.prefix, device_locations=self.device_locations)

    def to_dict(self) -> dict[str, Any]:
        """The `pr` section of the JSON plan."""
        return {
            "base_ref": self.base_ref, "head_ref": self.head_ref,
            "base": self.base, "head": self.head,
            "changes": self.changes.to_dict(),
            "drifting": [d.device for d in self.drifting],
            "problems": [f.to_dict() for f in self.problems],
            "planned": self.planned,
        }


def merge_base(repo: git.Repo, base: str, head: str) -> str:
    """The PR's fork point; `base` itself when the histories are unrelated."""
    try:
        out = repo.git.merge_base(base, head).strip()
    except git.GitCommandError:
        return base
    return out or base


def plan_pull_request(repo: str | Any, base_ref: str, head_ref: str, *,
                      snapshot: SnapshotLoader, image_status: StatusLoader,
                      device_states: StatesLoader | None = None,
                      fatal: Callable[[list[Finding]], list[Finding]],
                      only: set[str] | None = None, subdir: str | None = None,
                      limits: YamlLimits = DEFAULT_LIMITS, cache: MirrorCache | None = None,
                      fetch: bool = True) -> PrPlan:
    """`fatal(findings)` picks the errors that make a desired state unplannable (the plan
    command's rule, passed in so both modes refuse exactly the same things)."""
    with GitTreeSource(repo, head_ref, subdir=subdir, cache=cache, fetch=fetch) as head_src:
        base_sha = resolve_ref(head_src.repo, base_ref, head_src.repo_label,
                               mirror=head_src.mirror)
        fork = merge_base(head_src.repo, base_sha, head_src.commit)
        with GitTreeSource(head_src.repo, fork, subdir=head_src.subdir or None) as base_src:
            base_desired, base_findings = load_desired(base_src, limits)
        head_desired, head_findings = load_desired(head_src, limits)
        prefix = head_src.subdir
        head_sha = head_src.commit
    if only:
        unknown = sorted(only - set(head_desired.inventory))
        if unknown:
            raise ConfigError(f"unknown device(s): {', '.join(unknown)}",
                              hint="use names from inventory/devices.yaml at the head revision")

    refuse = fatal(head_findings)
    observed = snapshot(head_desired) if not refuse else None
    models = observed_models(observed) if observed is not None else None
    base_res = Resolution.of(base_desired, base_findings, models)
    head_res = Resolution.of(head_desired, head_findings, models)
    changes = compare(base_res, head_res)
    refuse = refuse or fatal(list(head_res.findings))
    locations = {n: d.loc for n, d in head_desired.inventory.items() if d.loc is not None}
    if refuse or observed is None:
        # nothing planned: the plan part carries the problems that are not about one device
        empty = plan_fleet(head_desired, {}, Snapshot({}), {}, only=set(),
                           findings=[f for f in head_res.findings if not f.device])
        return PrPlan(base_ref, head_ref, fork, head_sha, changes, tuple(head_res.findings),
                      tuple(refuse), empty, False, (), prefix, locations, observed)

    status = image_status(head_desired)
    states = device_states(head_desired) if device_states is not None else None
    selected = set(changes.devices) if not only else set(changes.devices) & only
    others = set(head_desired.inventory) - set(changes.devices)
    if only:
        others &= only
    pr_plan = plan_fleet(head_desired, head_res.devices, observed, status, states,
                         only=selected, findings=head_res.findings)
    drift = plan_fleet(head_desired, head_res.devices, observed, status, states, only=others,
                       findings=[f for f in head_res.findings if f.device])
    return PrPlan(base_ref, head_ref, fork, head_sha, changes, tuple(head_res.findings), (),
                  pr_plan, True, tuple(d for d in drift.devices if d.changes), prefix,
                  locations, observed)
