"""`reconciler demo` (the README's first command) from a clean directory: the full story —
simulated fleet, discovery, plan, apply with progress, compliance, summary, blocked devices —
exit 0, and a leftover working area from an earlier run is replaced, not reused."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_the_demo_runs_the_whole_story_from_a_fresh_start(tmp_path: Path) -> None:
    work = tmp_path / ".reconciler" / "demo"
    (work / "repo" / ".reconciler").mkdir(parents=True)
    (work / "repo" / ".reconciler" / "state.db").write_text("left over by an earlier run")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECONCILER_")}
    env["CI"] = "true"
    r = subprocess.run([sys.executable, "-m", "reconciler", "demo", "--time-scale", "1000"],
                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    out = r.stdout
    assert r.returncode == 0, out[-3000:] + r.stderr[-3000:]
    assert "Traceback" not in r.stderr
    order = ["simulated fleet: 12 devices", "synthetic catalog images fetched", "discovery",
             "Plan: 10 devices to change", "job 1 image-install-", "fw-dc-pair [55/55]",
             "compliance after the job", "job summary", "blocked devices: left untouched",
             "the job did what the plan said"]
    positions = [out.find(s) for s in order]
    assert all(p >= 0 for p in positions), dict(zip(order, positions, strict=True))
    assert positions == sorted(positions)
    # the blocked devices are explained with what to do
    assert "fw-aa-pair: ACTIVE_ACTIVE" in out and "failover active group 2" in out
    assert "fw-branch-03: DISK_SPACE" in out and "3,145,728 bytes" in out
    # everything lives in the (git-ignored) working area, rebuilt: job 1 again, a real store
    assert sorted(p.name for p in tmp_path.iterdir()) == [".reconciler"]
    assert (work / "repo" / ".reconciler" / "state.db").stat().st_size > 1000
