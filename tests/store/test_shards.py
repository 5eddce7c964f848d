from __future__ import annotations

import subprocess
import sys
from collections import Counter

import pytest

from reconciler.store.shards import in_shard, shard_of


def test_every_device_in_exactly_one_shard_and_spread_evenly():
    devices = [f"asa-{i:04d}" for i in range(4000)]
    for d in devices[:200]:
        assert sum(in_shard(d, i, 4) for i in range(4)) == 1
    sizes = Counter(shard_of(d, 4) for d in devices)
    assert set(sizes) == {0, 1, 2, 3}
    assert all(800 < n < 1200 for n in sizes.values()), sizes


def test_stable_across_processes():
    code = "from reconciler.store.shards import shard_of; print(shard_of('fw-tokyo-01', 7))"
    out = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() for _ in range(2)}
    assert out == {str(shard_of("fw-tokyo-01", 7))}


def test_bad_shard_arguments():
    with pytest.raises(ValueError, match="at least 1"):
        shard_of("x", 0)
    with pytest.raises(ValueError, match="outside 0..2"):
        in_shard("x", 3, 3)
