"""Per-device overrides laid over a desired state (rollback targets, one-off settings)."""

from __future__ import annotations

from reconciler.core.model import ImageType, Operation
from reconciler.core.overrides import with_overrides
from reconciler.core.resolve import resolve_fleet
from reconciler.planning import load_desired_state
from tests.conftest import PROJECT_ROOT


def test_targets_and_settings_win_and_change_the_digest() -> None:
    desired, _ = load_desired_state(PROJECT_ROOT)
    back = with_overrides(desired, reason="rollback of job 3",
                          targets={"fw-branch-01": {ImageType.ASA: "asa933-lfbff-k8.SPA"}},
                          settings={"fw-branch-02": {"operation": Operation.COPY_ONLY}})
    resolved, _ = resolve_fleet(back)
    assert resolved["fw-branch-01"].targets[ImageType.ASA].image.name == "asa933-lfbff-k8.SPA"
    assert resolved["fw-branch-01"].targets[ImageType.ASDM].image.version == "7.16(1)"  # kept
    assert resolved["fw-branch-02"].settings.operation is Operation.COPY_ONLY
    assert back.content_digest != desired.content_digest
    assert with_overrides(desired, reason="x").content_digest != desired.content_digest
    # existing per-device overrides are kept, not replaced
    cluster = with_overrides(desired, reason="x", targets={"fw-dc-cluster": {ImageType.ASA: "9.3(3)"}})
    assert resolve_fleet(cluster)[0]["fw-dc-cluster"].settings.install_location == "disk1"
    assert "fw-branch-01" not in desired.devices  # the original is untouched
