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


_str = json.encoder.encode_basestring  # what json.dumps(ensure_ascii=False) writes for a str


def _scalar(v: Any) -> str:
    if type(v) is str:
        return _str(v)
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if type(v) is int:
        return int.__repr__(v)
    return json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class ObservedHasher:
    """`observed_digest` for a whole fleet at once: the same canonical JSON, written directly
    from the values instead of through `device_to_dict` and `json.dumps`, with the parts units
    share (version maps, disk listings, boot lines: the snapshot reader shares equal ones) encoded
    once. The tests hold it to byte equality with `canonical_json(device_to_dict(...))`."""

    def __init__(self) -> None:
        self._parts: dict[int, tuple[object, str]] = {}  # id -> (the object, kept alive; JSON)
        self._members: dict[tuple[Any, ...], tuple[Any, ...]] = {}

    def digest(self, device: ObservedDevice) -> str:
        return hashlib.sha256(self.encode(device).encode()).hexdigest()

    def _cached(self, obj: Any, encode: Any) -> str:
        hit = self._parts.get(id(obj))
        if hit is not None and hit[0] is obj:
            return hit[1]
        text: str = encode(obj)
        self._parts[id(obj)] = (obj, text)
        return text

    @staticmethod
    def _images(d: Any) -> str:
        return "{" + ",".join(f"{_str(str(k))}:{_scalar(v)}" for k, v in
                              sorted((str(k), v) for k, v in d.items())) + "}"

    @staticmethod
    def _list(items: Any) -> str:
        return "[" + ",".join(_scalar(x) for x in items) + "]"

    @staticmethod
    def _disks(disks: Any) -> str:
        return "[" + ",".join(
            '{"files":[' + ",".join(f'{{"name":{_scalar(f.name)},"size":{_scalar(f.size)}}}'
                                    for f in d.files)
            + f'],"free":{_scalar(d.free)},"name":{_scalar(d.name)},"size":{_scalar(d.size)}}}'
            for d in disks) + "]"

    def _member(self, m: Any) -> str:
        # Units of one model and release share everything but their name, serial and cluster
        # details: the shared runs of keys (in sorted order) are written once per plan.
        key = (id(m.boot), id(m.disks), id(m.running), id(m.running_files), m.asdm_image,
               m.failover_groups_active, m.ram_mb, m.reachable, str(m.role), m.standby_ready,
               type(m.ram_mb), type(m.reachable), type(m.standby_ready))  # 1 == True
        parts = self._members.get(key)
        if parts is None or parts[0] is not m.boot or parts[1] is not m.disks or \
                parts[2] is not m.running or parts[3] is not m.running_files:
            c = self._cached
            fga = (f',"failover_groups_active":{self._list(m.failover_groups_active)}'
                   if m.failover_groups_active else "")
            parts = self._members[key] = (
                m.boot, m.disks, m.running, m.running_files,
                f'{{"asdm_image":{_scalar(m.asdm_image)},"boot":{c(m.boot, self._list)}',
                f',"disks":{c(m.disks, self._disks)}{fga}',
                f',"ram_mb":{_scalar(m.ram_mb)},"reachable":{_scalar(m.reachable)},'
                f'"role":{_str(str(m.role))},"running":{c(m.running, self._images)},'
                f'"running_files":{c(m.running_files, self._images)}',
                f',"standby_ready":{_scalar(m.standby_ready)}')
        head, disks, middle, ready = parts[4:]
        out = [head]
        if m.ccl_ip is not None:
            out.append(f',"ccl_ip":{_scalar(m.ccl_ip)}')
        if m.ccl_mac is not None:
            out.append(f',"ccl_mac":{_scalar(m.ccl_mac)}')
        out += [disks, f',"name":{_scalar(m.name)}', middle, f',"serial":{_scalar(m.serial)}']
        if m.site_id is not None:
            out.append(f',"site_id":{_scalar(m.site_id)}')
        out.append(ready)
        if m.unit_id is not None:
            out.append(f',"unit_id":{_scalar(m.unit_id)}')
        out.append("}")
        return "".join(out)

    def encode(self, dev: ObservedDevice) -> str:
        out = []
        if dev.appliance_mode is not None:
            out.append(f'"appliance_mode":{_scalar(dev.appliance_mode)}')
        out.append(f'"config_register":{_scalar(dev.config_register)}')
        if dev.context is not None:
            out.append(f'"context":{_scalar(dev.context)}')
        out += [f'"context_mode":{_str(str(dev.context_mode))}',
                f'"contexts":{self._list(dev.contexts)}', f'"driver":{_scalar(dev.driver)}',
                '"members":[' + ",".join(self._member(m) for m in dev.members) + "]",
                f'"mode":{_str(str(dev.mode))}', f'"model":{_scalar(dev.model)}',
                f'"name":{_scalar(dev.name)}',
                f'"pending_config_changes":{_scalar(dev.pending_config_changes)}',
                f'"platform":{_scalar(dev.platform)}',
                f'"running":{self._cached(dev.running, self._images)}',
                f'"state":{_str(str(dev.state))}']
        return "{" + ",".join(out) + "}"


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
