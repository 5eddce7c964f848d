"""Prometheus metrics of the daemon, in their own registry (several daemons in one test process,
and nothing of the library's default process collectors mixed in by accident)."""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info, generate_latest

COMPLIANCE = ("in_sync", "drifting", "blocked", "not_converging", "unreachable")


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.devices = Gauge("reconciler_devices", "Devices by compliance state in the last "
                             "cycle", ["state"], registry=r)
        self.drift = Gauge("reconciler_drift_devices", "Devices whose observed images differ "
                           "from the desired ones (last cycle)", registry=r)
        self.cycle_duration = Histogram(
            "reconciler_cycle_duration_seconds", "Duration of one reconciliation cycle",
            buckets=(0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600), registry=r)
        self.cycles = Counter("reconciler_cycles", "Cycles by result", ["result"], registry=r)
        self.job_outcomes = Counter("reconciler_job_device_outcomes",
                                    "Device runs of daemon jobs by outcome", ["outcome"],
                                    registry=r)
        self.jobs = Counter("reconciler_jobs", "Daemon jobs by final status", ["status"],
                            registry=r)
        self.last_cycle = Gauge("reconciler_last_cycle_timestamp_seconds",
                                "When the last cycle ended (Unix time)", registry=r)
        self.last_success = Gauge("reconciler_last_successful_cycle_timestamp_seconds",
                                  "When the last successful cycle ended (Unix time)", registry=r)
        self.sync = Info("reconciler_last_sync", "The last desired-state commit fully "
                         "reconciled", registry=r)
        self.not_converging = Gauge("reconciler_not_converging", "1 for each device left alone "
                                    "as NOT_CONVERGING", ["device"], registry=r)
        for s in COMPLIANCE:
            self.devices.labels(state=s).set(0)

    def observe_states(self, counts: Mapping[str, int], drift: int,
                       not_converging: set[str]) -> None:
        for s in COMPLIANCE:
            self.devices.labels(state=s).set(counts.get(s, 0))
        self.drift.set(drift)
        self.not_converging.clear()
        for name in sorted(not_converging):
            self.not_converging.labels(device=name).set(1)

    def render(self) -> bytes:
        return generate_latest(self.registry)
