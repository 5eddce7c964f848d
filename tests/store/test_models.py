from __future__ import annotations

from datetime import UTC, datetime

from reconciler.core.model import DeviceState, OnError, Operation, Order
from reconciler.store.models import (DEVICE_STATE_TRANSITIONS, JOB_DEVICE_TRANSITIONS,
                                     JOB_TRANSITIONS, JobDeviceStatus, JobProperties, JobStatus,
                                     JobSummary)


def test_every_status_has_a_transition_row_and_terminals_are_final():
    assert set(JOB_TRANSITIONS) == set(JobStatus)
    assert set(JOB_DEVICE_TRANSITIONS) == set(JobDeviceStatus)
    assert set(DEVICE_STATE_TRANSITIONS) == set(DeviceState)
    for status, targets in JOB_TRANSITIONS.items():
        assert (targets == frozenset()) == status.is_terminal, status
    for status, targets in JOB_DEVICE_TRANSITIONS.items():
        assert (targets == frozenset()) == status.is_final, status


def test_approval_workflow_paths_exist():
    S = JobStatus
    for path in ([S.CREATED, S.SUBMITTED, S.APPROVED, S.DEPLOYING, S.DEPLOYED],
                 [S.CREATED, S.SUBMITTED, S.REJECTED, S.DISCARDED],
                 [S.CREATED, S.SUBMITTED, S.APPROVED, S.SCHEDULED, S.DEPLOYING, S.FAILED]):
        for a, b in zip(path, path[1:]):
            assert b in JOB_TRANSITIONS[a], (a, b)
    assert S.DISCARDED not in JOB_TRANSITIONS[S.DEPLOYING]


def test_only_operational_devices_start_an_upgrade():
    starts = [s for s, targets in DEVICE_STATE_TRANSITIONS.items()
              if DeviceState.UPGRADE_IN_PROGRESS in targets]
    assert starts == [DeviceState.OPERATIONAL]


def test_properties_round_trip():
    p = JobProperties(on_error=OnError.CONTINUE, order=Order.SEQUENTIAL, max_parallel=1,
                      operation=Operation.INSTALL_NO_RELOAD, backup_current_image=True,
                      non_intrusive=True, schedule=datetime(2030, 1, 1, 2, tzinfo=UTC),
                      extra={"k": [1, 2]})
    assert JobProperties.from_dict(p.to_dict()) == p
    assert JobProperties.from_dict({}) == JobProperties()


def test_summary_from_counts():
    s = JobSummary.from_counts({JobDeviceStatus.SUCCEEDED: 2, JobDeviceStatus.FAILED: 1})
    assert (s.to_deploy, s.succeeded, s.failed, s.pending) == (3, 2, 1, 0)
