"""Splitting a fleet between several daemons by a stable hash of the device name.

Python's `hash()` changes from process to process, so two daemons would disagree about who owns
a device; SHA-256 of the name does not. Shards only spread the work: correctness comes from the
device leases, so a device seen by two daemons (while shard counts change during a rollout, or
when selectors overlap) is still worked on by one at a time.
"""

from __future__ import annotations

import hashlib


def shard_of(device: str, count: int) -> int:
    """The shard (0 .. count-1) that `device` belongs to; the same on every host and run."""
    if count < 1:
        raise ValueError(f"shard count must be at least 1, not {count}")
    digest = hashlib.sha256(device.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count


def in_shard(device: str, index: int, count: int) -> bool:
    if not 0 <= index < count:
        raise ValueError(f"shard index {index} is outside 0..{count - 1}")
    return shard_of(device, count) == index
