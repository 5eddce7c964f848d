from __future__ import annotations

import time

from tests.executor.conftest import Lab


async def test_smoke(lab: Lab) -> None:
    t = time.time()
    names = sorted(lab.desired().inventory)
    result, saved = await lab.apply(names)
    for name, o in result.outcomes.items():
        print(name, o.status, o.state, o.message[:200])
    print(result.job.status, result.job.summary, time.time() - t)
    assert result.ok
