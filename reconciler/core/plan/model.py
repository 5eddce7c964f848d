"""The plan: what will change on which device, what was found, and the ordered steps.

Frozen values with lossless `to_dict`/`from_dict`. The dict form is the JSON contract of
`reconciler plan --format json` and of saved plans (`schemas/plan.schema.json`); the executor
reads steps from it without re-planning, so every step carries its own parameters.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from reconciler.contract import FindingCode, Severity, StepAction
from reconciler.core.findings import Finding
from reconciler.core.model import ImageType, Mode, OnError, Operation, Order
from reconciler.errors import Location

PLAN_FORMAT_VERSION = 1


class ReadyCondition(enum.StrEnum):
    """What `wait-ready` waits for after a reload."""

    REACHABLE = "reachable"  # standalone: the unit answers again
    STANDBY_READY = "standby-ready"  # failover: the reloaded unit is Standby Ready
    REJOINED = "rejoined"  # cluster: the reloaded unit is back in the cluster


@dataclass(frozen=True, slots=True)
class Change:
    """One image type that drifts. `from_version` is None when nothing of that type is installed."""

    type: ImageType
    from_version: str | None
    to_version: str
    image: str
    from_image: str | None = None  # the running file, when discovery reported it
    hops: tuple[str, ...] = ()  # HA path: intermediate images, in order (target excluded)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": str(self.type), "from": self.from_version,
                               "to": self.to_version, "image": self.image}
        if self.from_image:
            out["from_image"] = self.from_image
        if self.hops:
            out["hops"] = list(self.hops)
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Change:
        return cls(ImageType(d["type"]), d.get("from"), d["to"], d["image"],
                   d.get("from_image"), tuple(d.get("hops", ())))


class Step(NamedTuple):
    """One executor action on one unit.

    `member` is the unit acted on; `via` the unit the command is sent through (the active unit for
    the standby, the control unit for data units) when that is not `member` itself.
    An immutable NamedTuple rather than a frozen dataclass: a 10,000-device plan holds ~100,000
    steps and a frozen dataclass costs five times as much to build.
    """

    seq: int
    action: StepAction
    member: str
    via: str | None = None
    image: str | None = None
    image_type: ImageType | None = None
    disk: str | None = None
    path: str | None = None  # "disk0:/asa941-smp-k8.bin"
    size: int | None = None
    sha256: str | None = None
    version: str | None = None  # check-version / agent-install: the expected version
    boot: tuple[str, ...] = ()  # set-boot: the complete boot list, new image first
    timeout: int | None = None  # wait-ready: seconds
    wait_for: ReadyCondition | None = None
    groups: Mapping[str, tuple[int, ...]] | None = None  # set-failover-groups: unit -> groups
    spreads_to: tuple[str, ...] = ()  # copy on a cluster control unit reaches these members too
    synced_to: tuple[str, ...] = ()  # set-boot/save-config replicate to these units
    dest: str | None = None  # backup: where the running image goes
    hop: int | None = None  # HA upgrade path: which pass (1-based) this step belongs to
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"seq": self.seq, "action": str(self.action), "member": self.member}
        for key, value in zip(_STEP_KEYS, self[3:], strict=True):
            if value is None or value == () or value == "":
                continue
            if key == "image_type":
                out["type"] = str(value)
            elif key == "wait_for":
                out[key] = str(value)
            elif key == "groups" and isinstance(value, Mapping):
                out[key] = {unit: list(g) for unit, g in sorted(value.items())}
            elif isinstance(value, tuple):
                out[key] = list(value)
            else:
                out[key] = value
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Step:
        groups = d.get("groups")
        return cls(
            seq=d["seq"], action=StepAction(d["action"]), member=d["member"], via=d.get("via"),
            image=d.get("image"),
            image_type=ImageType(d["type"]) if d.get("type") else None,
            disk=d.get("disk"), path=d.get("path"), size=d.get("size"), sha256=d.get("sha256"),
            version=d.get("version"), boot=tuple(d.get("boot", ())), timeout=d.get("timeout"),
            wait_for=ReadyCondition(d["wait_for"]) if d.get("wait_for") else None,
            groups={u: tuple(g) for u, g in groups.items()} if groups is not None else None,
            spreads_to=tuple(d.get("spreads_to", ())), synced_to=tuple(d.get("synced_to", ())),
            dest=d.get("dest"), hop=d.get("hop"), note=d.get("note", ""),
        )


_STEP_KEYS = Step._fields[3:]


@dataclass(frozen=True, slots=True)
class JobSettings:
    """The device's merged settings that the executor needs (it never re-reads the policy)."""

    operation: Operation
    on_error: OnError
    order: Order
    max_parallel: int
    reload_timeout: int
    install_location: str

    def to_dict(self) -> dict[str, Any]:
        return {"operation": str(self.operation), "on_error": str(self.on_error),
                "order": str(self.order), "max_parallel": self.max_parallel,
                "reload_timeout": self.reload_timeout, "install_location": self.install_location}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> JobSettings:
        return cls(Operation(d["operation"]), OnError(d["on_error"]), Order(d["order"]),
                   d["max_parallel"], d["reload_timeout"], d["install_location"])


def finding_from_dict(d: Mapping[str, Any], device: str | None = None) -> Finding:
    code = FindingCode(d["code"])
    loc = Location(d["file"], d.get("line")) if d.get("file") else None
    f = Finding(code, d["message"], device=device, member=d.get("member"), location=loc)
    severity = Severity(d["severity"])
    return f if f.severity is severity else Finding(code, d["message"], device, d.get("member"),
                                                    loc, severity_override=severity)


@dataclass(frozen=True, slots=True)
class DevicePlan:
    device: str
    mode: Mode | None  # None when the device was not observed
    driver: str
    changes: tuple[Change, ...] = ()
    findings: tuple[Finding, ...] = ()
    steps: tuple[Step, ...] = ()
    settings: JobSettings | None = None
    contexts: tuple[str, ...] = ()  # multiple-context: contexts the system upgrade updates
    configuration_required_after: bool = False  # success leaves the device configuration-required
    observed_digest: str | None = None  # sha256 of the observed device the plan was made from
    notes: tuple[str, ...] = ()

    @property
    def blocked(self) -> bool:
        return any(f.severity is Severity.ERROR for f in self.findings)

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity is severity)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "device": self.device,
            "mode": str(self.mode) if self.mode else None,
            "driver": self.driver,
            "blocked": self.blocked,
            "changes": [c.to_dict() for c in self.changes],
            "findings": [f.to_dict() for f in self.findings],
            "steps": [s.to_dict() for s in self.steps],
            "configuration_required_after": self.configuration_required_after,
            "observed_digest": self.observed_digest,
        }
        if self.settings is not None:
            out["settings"] = self.settings.to_dict()
        if self.contexts:
            out["contexts"] = list(self.contexts)
        if self.notes:
            out["notes"] = list(self.notes)
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> DevicePlan:
        name = d["device"]
        plan = cls(
            device=name,
            mode=Mode(d["mode"]) if d.get("mode") else None,
            driver=d.get("driver", "asa"),
            changes=tuple(Change.from_dict(c) for c in d.get("changes", ())),
            findings=tuple(finding_from_dict(f, name) for f in d.get("findings", ())),
            steps=tuple(Step.from_dict(s) for s in d.get("steps", ())),
            settings=JobSettings.from_dict(d["settings"]) if d.get("settings") else None,
            contexts=tuple(d.get("contexts", ())),
            configuration_required_after=d.get("configuration_required_after", False),
            observed_digest=d.get("observed_digest"),
            notes=tuple(d.get("notes", ())),
        )
        if "blocked" in d and bool(d["blocked"]) != plan.blocked:
            raise ValueError(f"device {name}: 'blocked' disagrees with its findings")
        return plan


@dataclass(frozen=True, slots=True)
class Source:
    """Where the desired state came from: the git commit (if any), whether the files read from
    disk differed from that commit (`dirty`), and the content digest."""

    commit: str | None
    digest: str
    dirty: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"commit": self.commit, "dirty": self.dirty, "digest": self.digest}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Source:
        return cls(d.get("commit"), d.get("digest", ""), bool(d.get("dirty", False)))

    def describe(self) -> str:
        """`4c1f0a2b9e11`, `4c1f0a2b9e11 + uncommitted changes`, or `working tree`."""
        if self.commit is None:
            return "working tree"
        return self.commit[:12] + (" + uncommitted changes" if self.dirty else "")


@dataclass(frozen=True, slots=True)
class Summary:
    devices: int = 0  # managed devices considered (with at least one target)
    in_sync: int = 0
    changed: int = 0  # devices with changes that are not blocked
    blocked: int = 0
    unmanaged: int = 0  # inventory devices no policy gives a target
    changes: int = 0  # image changes on devices that are not blocked
    steps: int = 0
    errors: int = 0
    warnings: int = 0
    infos: int = 0

    def to_dict(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in self.__slots__}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Summary:
        return cls(**{k: int(d.get(k, 0)) for k in cls.__slots__})


@dataclass(frozen=True, slots=True)
class Plan:
    fingerprint: str
    source: Source
    devices: tuple[DevicePlan, ...]  # sorted by name; in-sync devices are only counted
    summary: Summary
    taken_at: str = ""  # when the observed snapshot was taken
    format_version: int = PLAN_FORMAT_VERSION
    fleet_findings: tuple[Finding, ...] = field(default=())  # not tied to one device

    @property
    def has_changes(self) -> bool:
        return any(d.changes and not d.blocked for d in self.devices)

    @property
    def has_errors(self) -> bool:
        return self.summary.errors > 0

    def device(self, name: str) -> DevicePlan | None:
        return next((d for d in self.devices if d.device == name), None)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "format_version": self.format_version,
            "fingerprint": self.fingerprint,
            "source": self.source.to_dict(),
            "taken_at": self.taken_at,
            "devices": [d.to_dict() for d in self.devices],
            "summary": self.summary.to_dict(),
        }
        if self.fleet_findings:
            out["findings"] = [f.to_dict() for f in self.fleet_findings]
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Plan:
        version = d.get("format_version")
        if version != PLAN_FORMAT_VERSION:
            raise ValueError(f"plan format_version {version!r} is not {PLAN_FORMAT_VERSION}; "
                             "re-run `reconciler plan` with this version")
        return cls(
            fingerprint=d["fingerprint"],
            source=Source.from_dict(d["source"]),
            devices=tuple(DevicePlan.from_dict(x) for x in d.get("devices", ())),
            summary=Summary.from_dict(d.get("summary", {})),
            taken_at=d.get("taken_at", ""),
            format_version=version,
            fleet_findings=tuple(finding_from_dict(f) for f in d.get("findings", ())),
        )


@dataclass(frozen=True, slots=True)
class SavedPlan:
    """What `plan --out` writes and `apply --plan` reads: the plan, plus the observed state of
    each planned device it was made from, so that a refusal can say what changed."""

    plan: Plan
    observed: Mapping[str, Mapping[str, Any]]  # device -> its observed dict at plan time

    def to_dict(self) -> dict[str, Any]:
        return {**self.plan.to_dict(), "observed": {n: self.observed[n] for n in sorted(self.observed)}}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SavedPlan:
        return cls(Plan.from_dict({k: v for k, v in d.items() if k != "observed"}),
                   dict(d.get("observed", {})))
