"""Running plans: jobs, device runs, retries, leases and crash recovery (SPEC 5 and 6).

    async with Connector(root) as conn:                        # HTTPS clients per TLS setting
        report = await recover(store, conn, desired.inventory, actor=actor)
        job = create_job(store, saved_plan, JobRequest(...), created_by=actor, settings=...)
        runner = JobRunner(store, conn, ImageSupply(images_dir), options=RunnerOptions(),
                           events=my_listener, actor=actor)
        result = await runner.run(job, saved_plan.plan, desired.inventory,
                                  windows=job_windows(job), sequential=job_sequential(job))

`reconciler.executor.session` wraps these for the CLI and the daemon (plan, create, run).
"""

from reconciler.executor.actions import HANDLERS, RETRYABLE, describe
from reconciler.executor.connect import ClientFactory, Connector
from reconciler.executor.device_run import DeviceOutcome, DeviceRun
from reconciler.executor.events import Events, Fanout
from reconciler.executor.images import ImageSupply
from reconciler.executor.jobs import (JobRequest, create_job, job_plan, job_sequential,
                                      job_windows, request_from, rollback_targets, runnable)
from reconciler.executor.recovery import RecoveryReport, mark_interrupted_jobs, recover
from reconciler.executor.retry import RetryPolicy, call_with_retries
from reconciler.executor.runner import JobResult, JobRunner, RunnerOptions

__all__ = [
    "HANDLERS", "RETRYABLE", "ClientFactory", "Connector", "DeviceOutcome", "DeviceRun", "Events",
    "Fanout", "ImageSupply", "JobRequest", "JobResult", "JobRunner", "RecoveryReport",
    "RetryPolicy", "RunnerOptions", "call_with_retries", "create_job", "describe", "job_plan",
    "job_sequential", "job_windows", "mark_interrupted_jobs", "recover", "request_from",
    "rollback_targets", "runnable",
]
