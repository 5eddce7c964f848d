"""When a settled daemon must judge again although nothing but time changed."""

from datetime import UTC, datetime, timedelta

from reconciler.daemon.convergence import forgetting_due
from reconciler.store.models import AttemptCounter

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)


def _counter(device: str, hours_ago: float) -> AttemptCounter:
    at = NOW - timedelta(hours=hours_ago)
    return AttemptCounter(device, "asa=9.4(1)", 1, at, at, 7)


def test_only_an_old_counter_of_a_device_in_sync_is_due() -> None:
    six = timedelta(hours=6)
    old, fresh = _counter("fw-a", 7), _counter("fw-b", 1)
    assert forgetting_due([old, fresh], NOW, six, in_sync={"fw-a", "fw-b"})
    assert not forgetting_due([fresh], NOW, six, in_sync={"fw-b"})
    # a device still drifting (NOT_CONVERGING, say) or another shard's keeps its counter: it
    # must not make every cycle of a settled daemon plan again
    assert not forgetting_due([old], NOW, six, in_sync={"fw-b"})
    assert not forgetting_due([], NOW, six, in_sync={"fw-a"})
