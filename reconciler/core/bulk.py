"""Building fleet-sized data at once."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """Loading or planning a fleet creates millions of small objects and no reference cycles:
    with the collector on, its full passes over everything alive cost more than the work.

    On the way out, whatever is alive is moved to the collector's permanent generation
    (`gc.freeze`): otherwise every object built here sits in the youngest generation, and the
    first collections after the block scan them all again -- at 100,000 devices about five
    seconds of collector passes between loading and planning, more than some stages take.
    The objects are still freed by reference counting as usual; only cycles among them wait
    for `gc_release()`, which a long-running process calls after dropping a fleet.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.freeze()
            gc.enable()


def gc_release() -> None:
    """Give objects frozen by `gc_paused` back to the collector (oldest generation), so that
    reference cycles among them can be reclaimed; for long-running processes, between cycles."""
    gc.unfreeze()
