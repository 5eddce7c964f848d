"""Where a cycle's time went, and how much work it did: the cycle report carries both, so that
"work proportional to what changed" can be checked on a running daemon, not only believed."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

# in the order a cycle runs them
STAGES = ("git", "load", "recover", "checkin", "discover", "store_read", "compare", "plan",
          "report", "apply", "store_write")


@dataclass
class Stages:
    """Wall-clock seconds per stage (summed when a stage runs more than once)."""

    seconds: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - t0

    def rounded(self) -> dict[str, float]:
        order = {s: i for i, s in enumerate(STAGES)}
        return {k: round(v, 4) for k, v in sorted(self.seconds.items(),
                                                  key=lambda kv: order.get(kv[0], len(order)))}


@dataclass
class Work:
    """What a cycle had to do, in units that show whether it was proportional to change."""

    desired_loaded: bool = False  # the policy files were parsed and validated (else reused)
    discovered: int = 0  # devices discovered (every cycle: drift behind our back is only seen so)
    changed: int | None = None  # devices whose observation differs from the last cycle's
    planned: int = 0  # devices planned this cycle
    reused: int = 0  # devices whose plan was kept from the last cycle

    def to_dict(self) -> dict[str, Any]:
        return {"desired_loaded": self.desired_loaded, "discovered": self.discovered,
                "changed": self.changed, "planned": self.planned, "reused": self.reused}
