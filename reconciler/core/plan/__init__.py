"""Planning: drift, validation findings, ordered steps, fingerprints. Pure (no I/O)."""

from reconciler.core.plan.model import (PLAN_FORMAT_VERSION, Change, DevicePlan, JobSettings, Plan,
                                        ReadyCondition, Source, Step, Summary)
from reconciler.core.plan.planner import plan_device, plan_fleet

__all__ = ["PLAN_FORMAT_VERSION", "Change", "DevicePlan", "JobSettings", "Plan", "ReadyCondition",
           "Source", "Step", "Summary", "plan_device", "plan_fleet"]
