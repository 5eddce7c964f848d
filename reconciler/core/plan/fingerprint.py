"""Plan fingerprints: canonical-JSON sha256 over the desired source and the observed devices.

A saved plan records the fingerprint; `apply` recomputes it from the current desired state and a
fresh discovery of the planned devices and refuses the plan when they differ. Per-device digests
let it say *which* device changed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from reconciler.core.observed import ObservedDevice, device_to_dict
from reconciler.core.plan.model import Plan, SavedPlan
from reconciler.errors import StalePlanError


def canonical_json(value: Any) -> bytes:
    """One byte string per value: sorted keys, no whitespace, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def observed_digest(device: ObservedDevice) -> str:
    return hashlib.sha256(canonical_json(device_to_dict(device))).hexdigest()


def planned(plan: Plan) -> dict[str, str]:
    """device -> observed digest of every device the plan will act on (it has steps). Blocked
    and step-less devices are left out: their changing cannot make the plan's steps wrong."""
    return {d.device: d.observed_digest for d in plan.devices
            if d.steps and d.observed_digest is not None}


def plan_fingerprint(commit: str | None, content_digest: str,
                     device_digests: Mapping[str, str | None]) -> str:
    """Fingerprint of (desired commit and content, observed state of each planned device)."""
    doc = {"desired": {"commit": commit, "digest": content_digest},
           "observed": dict(sorted(device_digests.items()))}
    return "sha256:" + hashlib.sha256(canonical_json(doc)).hexdigest()


def _changed_paths(old: Any, new: Any, path: str = "", out: list[str] | None = None,
                   limit: int = 4) -> list[str]:
    """Where two observed-device dicts differ, as short paths (members[1].standby_ready)."""
    out = [] if out is None else out
    if len(out) >= limit:
        return out
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            _changed_paths(old.get(key), new.get(key), f"{path}.{key}" if path else str(key),
                           out, limit)
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for i, (a, b) in enumerate(zip(old, new, strict=True)):
            _changed_paths(a, b, f"{path}[{i}]", out, limit)
    elif old != new:
        out.append(path or "(device)")
    return out


def saved_plan(plan: Plan, devices: Mapping[str, ObservedDevice]) -> SavedPlan:
    """The plan with the observed dict of every planned device (for `plan --out`)."""
    return SavedPlan(plan, {n: device_to_dict(devices[n]) for n in planned(plan) if n in devices})


def staleness(plan: Plan, commit: str | None, content_digest: str,
              observed: Mapping[str, ObservedDevice], saved_observed: Mapping[str, Any] | None = None
              ) -> list[str]:
    """Why a saved plan no longer describes the world; empty when it still does.

    `observed` is a fresh discovery of (at least) the planned devices. `saved_observed` (device ->
    the observed dict the plan was made from, when the caller kept it) lets the reasons say what
    changed rather than only that something did.
    """
    reasons: list[str] = []
    digests = planned(plan)
    if plan_fingerprint(plan.source.commit, plan.source.digest, digests) != plan.fingerprint:
        reasons.append("the plan's fingerprint does not match its content: it was edited after "
                       "it was saved")
    if plan.source.digest != content_digest:
        since = f" (commit {plan.source.commit[:12]} -> {commit[:12]})" if (
            plan.source.commit and commit and plan.source.commit != commit) else ""
        reasons.append(f"the desired state changed since the plan was made{since}")
    for name, digest in sorted(digests.items()):
        now = observed.get(name)
        if now is None:
            reasons.append(f"{name}: not in the new discovery")
        elif observed_digest(now) != digest:
            what = ""
            if saved_observed and name in saved_observed:
                paths = _changed_paths(saved_observed[name], device_to_dict(now))
                what = f" ({', '.join(paths)})" if paths else ""
            reasons.append(f"{name}: changed since the plan was made{what}")
    return reasons


def check_fresh(saved: SavedPlan, commit: str | None, content_digest: str,
                observed: Mapping[str, ObservedDevice]) -> None:
    """Raise StalePlanError (exit code 3) unless the saved plan still describes the world."""
    reasons = staleness(saved.plan, commit, content_digest, observed, saved.observed)
    if reasons:
        raise StalePlanError("the saved plan is stale: " + "; ".join(reasons),
                             hint="run `reconciler plan --out` again and review the new plan")
