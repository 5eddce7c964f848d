"""The running simulated fleet: devices, clock, blob store, accepted credentials, control API.

`SimFleet` is what the ASGI app serves and what tests drive directly ("flip state behind the
reconciler's back"): add or clear faults, mark a configuration session pending, change the
configuration register, take a unit down or bring it back, add or delete files. The same
operations are exposed over HTTP under `/_sim/` (see `reconciler.sim.app`).
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconciler.core.model import Mode
from reconciler.sim.clock import Clock, ScaledClock
from reconciler.sim.content import BlobStore, synthetic
from reconciler.sim.faults import Fault, FaultKind
from reconciler.errors import ConfigError
from reconciler.sim.fleetfile import SimAuth, SimFleetSpec
from reconciler.sim.model import (
    Partial,
    SimAgent,
    SimAsa,
    SimDevice,
    SimError,
    SimFile,
    UnitState,
    split_path,
)


@dataclass(frozen=True)
class SimCredentials:
    """The values the simulated devices accept (resolved from the fleet's `auth` references)."""

    username: str
    password: str
    token: str

    def basic_ok(self, username: str, password: str) -> bool:
        return (secrets.compare_digest(username, self.username)
                and secrets.compare_digest(password, self.password))

    def token_ok(self, token: str) -> bool:
        return secrets.compare_digest(token, self.token)


class UnknownDevice(KeyError):
    pass


class SimFleet:
    def __init__(self, spec: SimFleetSpec, credentials: SimCredentials, clock: Clock | None = None) -> None:
        self.spec = spec
        self.devices: dict[str, SimDevice] = spec.devices
        self.credentials = credentials
        self.clock: Clock = clock or ScaledClock(1.0)
        self.blobs = BlobStore()
        # ranged uploads being assembled: (device, targets, filename) -> parts
        self.uploads: dict[tuple[str, tuple[str, ...], str], Partial] = {}

    @property
    def time_scale(self) -> float:
        return self.clock.time_scale

    def now(self) -> float:
        return self.clock.now()

    def device(self, name: str) -> SimDevice:
        dev = self.devices.get(name)
        if dev is None:
            raise UnknownDevice(name)
        dev.settle(self.clock.now())
        return dev

    def asa(self, name: str) -> SimAsa:
        dev = self.device(name)
        if not isinstance(dev, SimAsa):
            raise SimError(f"{name} is not an ASA")
        return dev

    # ------------------------------------------------------------ control API

    def add_fault(self, name: str, fault: Fault | dict[str, Any]) -> Fault:
        f = fault if isinstance(fault, Fault) else Fault.from_dict(dict(fault))
        dev = self.device(name)
        dev.faults.add(f)
        if isinstance(dev, SimAsa) and f.kind is FaultKind.STANDBY_NOT_READY:
            for u in dev.units:
                if f.matches(u.name) and not dev.is_active(u) and not u.control:
                    u.ready = False
                    u.not_ready_reason = "configuration synchronisation did not complete"
        return f

    def clear_faults(self, name: str, kind: FaultKind | str | None = None) -> None:
        dev = self.device(name)
        dev.faults.clear(FaultKind(kind) if kind else None)

    def apply(self, name: str, op: str, **args: Any) -> dict[str, Any]:
        """One state change, as the `/_sim/devices/NAME/actions` endpoint takes it."""
        dev = self.device(name)
        now = self.clock.now()
        handler = getattr(self, f"_op_{op.replace('-', '_')}", None)
        if handler is None:
            raise SimError(f"unknown action {op!r}; one of: " + ", ".join(sorted(
                n[4:].replace("_", "-") for n in dir(self) if n.startswith("_op_"))))
        handler(dev, now, **args)
        return self.state(name)

    def _op_set_pending(self, dev: SimDevice, now: float, sessions: list[str]) -> None:
        self._need_asa(dev).pending_sessions = list(sessions)

    def _op_set_register(self, dev: SimDevice, now: float, value: str, immediate: bool = True) -> None:
        asa = self._need_asa(dev)
        if immediate:
            asa.register, asa.next_register = value.lower(), None
        else:
            asa.next_register = value.lower()

    def _op_unit_down(self, dev: SimDevice, now: float, unit: str | None = None) -> None:
        if isinstance(dev, SimAgent):
            dev.state = UnitState.DOWN
            return
        u = self._unit(dev, unit)
        u.state = UnitState.DOWN
        u.ready = False
        dev._leave_roles(u, now)

    def _op_unit_up(self, dev: SimDevice, now: float, unit: str | None = None) -> None:
        if isinstance(dev, SimAgent):
            dev.state = UnitState.UP
            return
        u = self._unit(dev, unit)
        if u.state != UnitState.UP:
            u.state = UnitState.BOOTING
            dev._boot(u, now)

    def _op_reload(self, dev: SimDevice, now: float, unit: str | None = None) -> None:
        asa = self._need_asa(dev)
        asa.reload(self._unit(asa, unit), now)

    def _op_switchover(self, dev: SimDevice, now: float, to: str) -> None:
        asa = self._need_asa(dev)
        asa.switchover(self._unit(asa, to))

    def _op_handoff(self, dev: SimDevice, now: float, to: str) -> None:
        asa = self._need_asa(dev)
        asa.handoff_control(self._unit(asa, to))

    def _op_put_file(self, dev: SimDevice, now: float, path: str, size: int, unit: str | None = None,
                     seed: str | None = None, valid: bool = True) -> None:
        disk_name, name = split_path(path)
        disk = dev.disk if isinstance(dev, SimAgent) else self._unit(dev, unit).disk(disk_name)
        if disk is None:
            raise SimError(f"no disk {disk_name}")
        disk.files[name] = SimFile(name, synthetic(seed or name, int(size)), valid=valid)

    def _op_delete_file(self, dev: SimDevice, now: float, path: str, unit: str | None = None) -> None:
        disk_name, name = split_path(path)
        disk = dev.disk if isinstance(dev, SimAgent) else self._unit(dev, unit).disk(disk_name)
        if disk is None or disk.files.pop(name, None) is None:
            raise SimError(f"no file {path}")

    def _op_set_agent_version(self, dev: SimDevice, now: float, version: str) -> None:
        if not isinstance(dev, SimAgent):
            raise SimError(f"{dev.name} is not an agent")
        dev.version = version

    @staticmethod
    def _need_asa(dev: SimDevice) -> SimAsa:
        if not isinstance(dev, SimAsa):
            raise SimError(f"{dev.name} is not an ASA")
        return dev

    @staticmethod
    def _unit(dev: SimDevice, name: str | None):  # type: ignore[no-untyped-def]
        asa = SimFleet._need_asa(dev)
        if name is None:
            if len(asa.units) == 1:
                return asa.units[0]
            raise SimError(f"{asa.name} has several units; name one of: "
                           + ", ".join(u.name for u in asa.units))
        u = asa.unit(name)
        if u is None:
            raise SimError(f"{asa.name} has no unit {name}; units: " + ", ".join(x.name for x in asa.units))
        return u

    # ------------------------------------------------------------ inspection

    def state(self, name: str) -> dict[str, Any]:
        dev = self.device(name)
        now = self.clock.now()
        if isinstance(dev, SimAgent):
            return {"name": dev.name, "driver": "agent", "platform": dev.platform, "version": dev.version,
                    "state": dev.state, "checkins": dev.checkins, "faults": dev.faults.to_list(),
                    "packages": {f.name: f.size for f in dev.disk.files.values()},
                    "jobs": {j.id: j.state for j in dev.jobs.values()}}
        units = []
        for u in dev.units:
            units.append({
                "name": u.name, "state": u.state, "ready": u.ready, "reason": u.not_ready_reason,
                "running_image": u.running_image, "running_version": u.running_version,
                "active": dev.is_active(u) if dev.mode is not Mode.CLUSTER else None,
                "groups": sorted(u.groups), "control": u.control, "reloads": u.reloads,
                "uptime": round(now - u.booted_at, 3),
                "disks": {d.name: {"size": d.size, "free": d.free, "files": {f.name: f.size for f in d.files.values()}}
                          for d in u.disks.values()},
            })
        mgmt = dev.management_unit()
        return {"name": dev.name, "driver": "asa", "model": dev.model, "mode": str(dev.mode),
                "management_unit": mgmt.name if mgmt else None, "register": dev.register,
                "next_register": dev.next_register, "pending_sessions": list(dev.pending_sessions),
                "boot": list(dev.running.boot), "saved_boot": list(dev.startup.boot),
                "asdm": dev.running.asdm, "faults": dev.faults.to_list(), "units": units}


def credentials_for(auth: SimAuth, repo: Path | str, state: Path) -> tuple[SimCredentials, list[str]]:
    """Resolve the fleet's credential references; invent values for unset env variables."""
    from reconciler.core.model import CredentialRef
    from reconciler.loader.credentials import parse_credential_ref, resolve_credential

    generated: list[str] = []

    def value(ref_text: str | None, what: str) -> str:
        if not ref_text:
            return secrets.token_urlsafe(18)
        ref = parse_credential_ref(ref_text)
        if not isinstance(ref, CredentialRef):
            raise ConfigError(f"auth.{what} must be a reference (env:NAME or file:PATH), not a value")
        if ref.scheme == "env" and not os.environ.get(ref.ref):
            os.environ[ref.ref] = secrets.token_urlsafe(18)
            generated.append(ref.ref)
        return resolve_credential(ref, base_dir=repo)

    creds = SimCredentials(auth.username, value(auth.password, "password"), value(auth.token, "token"))
    if generated:
        state.mkdir(parents=True, exist_ok=True)
        env = state / "env"
        fd = os.open(env, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("".join(f"export {n}={os.environ[n]}\n" for n in generated))
    return creds, generated
