"""Resource probes of this process and the leak criterion of the load test.

`probe()` samples what a long-running daemon could leak: memory (what malloc has handed out,
pymalloc blocks, gc-tracked objects, RSS, and the tracemalloc total when tracing), file
descriptors (the state store's own files apart), asyncio tasks, threads (pooled workers apart),
child processes, checked-out database connections and HTTP clients left open.

`find_leaks()` judges a series of samples, one per cycle:

- at rest after every cycle, warm-up included: one task (the caller's), no store connection
  checked out, no HTTP client left open;
- after warm-up, exactly the warm-up's value after every cycle: fds other than the store's,
  threads other than pooled workers, child processes;
- what a pool explains is held to the pool: the store's fds to three per pooled connection,
  the pool to its size, pooled threads to asyncio's and AnyIO's limits (pools fill to their cap
  whenever concurrency first asks for it, which may be after warm-up);
- memory is compared at the same phase of the scenario (the end of each period, when the daemon
  has been through the same kinds of cycles), and its growth per cycle, fitted by least squares
  over the measured periods, must stay under a budget.

The budgets sit well above the noise measured over 41 cycles and well below what keeping one
cycle's working set (a report, a snapshot, a plan, a client) would add; test_load.py shows that
synthetic series and a real injected leak are caught.
"""

from __future__ import annotations

import asyncio
import ctypes
import gc
import os
import sys
import threading
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

PAGE = os.sysconf("SC_PAGE_SIZE")
KiB = 1024
MiB = 1024 * KiB


@dataclass(frozen=True)
class Sample:
    cycle: int
    rss: int  # bytes resident now (not the peak)
    traced: int | None  # bytes tracemalloc traces now (None: tracing is off)
    heap: int | None  # bytes malloc has handed out (None: not glibc)
    blocks: int  # pymalloc blocks in use (sys.getallocatedblocks)
    objects: int  # gc-tracked objects
    fds: int  # open file descriptors other than the state store's files
    store_fds: int  # fds on the SQLite database, its WAL and shared memory
    store_connections: int  # connections the store's pool holds (idle + checked out)
    checked_out: int  # store connections in use right now
    tasks: int  # live asyncio tasks (the caller's own included)
    threads: int  # threads other than pooled workers
    pool_threads: int  # pooled workers: asyncio's default executor and AnyIO's
    children: int  # child processes (a git that was never waited for stays a zombie)
    open_clients: int  # HTTP clients handed out and not closed
    phase: str = ""  # which kind of cycle the sample follows (the scenario's label)
    thread_names: tuple[str, ...] = ()  # the `threads`, to say which one stayed


    def row(self) -> dict[str, object]:
        return asdict(self)


def _fd_targets() -> list[str]:
    out = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            out.append(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:
            pass  # the directory's own fd, closed by the time we look
    return out


def _children() -> int:
    n = 0
    for task in Path("/proc/self/task").iterdir():
        try:
            n += len((task / "children").read_text().split())
        except OSError:
            pass
    return n


def _pooled(name: str) -> bool:
    # asyncio's default executor (asyncio.to_thread) and AnyIO's worker threads (the in-process
    # simulator's Starlette runs blocking parts there); both keep idle workers for a while
    return name.startswith("asyncio_") or name == "AnyIO worker thread"


def _threads() -> tuple[int, tuple[str, ...]]:
    """(pooled workers, the names of the other threads). A cancelled timer (GitPython's
    watchdog of a git command that finished) is a thread on its way out: let it go first."""
    for t in threading.enumerate():
        if isinstance(t, threading.Timer) and t.finished.is_set():
            t.join(5.0)
    names = [t.name for t in threading.enumerate()]
    pooled = sum(1 for n in names if _pooled(n))
    return pooled, tuple(sorted(n for n in names if not _pooled(n)))


class _MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]


def _malloc_in_use() -> int | None:
    """Bytes the C allocator has handed out and not had back, over all arenas (glibc's
    mallinfo2): unlike RSS, blind to fragmentation. Large buffers (bytes, bytearrays, SQLite's
    page cache) live here; pymalloc's small objects do not (see `blocks`)."""
    try:
        f = ctypes.CDLL(None).mallinfo2
    except (OSError, AttributeError):
        return None  # not glibc 2.33+
    f.restype = _MallInfo2
    m = f()
    return int(m.uordblks + m.hblkhd)


def _trim() -> None:
    """Give the C allocator's free memory back to the system (glibc), so that RSS follows
    what is alive rather than how fragmented the heap happens to be."""
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):
        pass  # not glibc: RSS stays noisier


def probe(cycle: int, *, store_file: Path | None, pool: object | None,
          open_clients: Callable[[], int] = lambda: 0, phase: str = "") -> Sample:
    """One sample; call it from the event loop's thread between cycles. Collects garbage
    first, so only memory something still refers to is counted."""
    gc.collect()
    _trim()
    targets = _fd_targets()
    store_names = set()
    if store_file is not None:
        base = os.path.realpath(store_file)
        store_names = {base, base + "-wal", base + "-shm", base + "-journal"}
    store_fds = sum(1 for t in targets if t in store_names)
    pooled = checked_out = 0
    if pool is not None:
        checked_out = int(pool.checkedout())  # type: ignore[attr-defined]
        pooled = checked_out + int(pool.checkedin())  # type: ignore[attr-defined]
    executor, others = _threads()
    return Sample(
        cycle=cycle,
        rss=int(Path("/proc/self/statm").read_text().split()[1]) * PAGE,
        traced=tracemalloc.get_traced_memory()[0] if tracemalloc.is_tracing() else None,
        heap=_malloc_in_use(),
        blocks=sys.getallocatedblocks(),
        objects=len(gc.get_objects()),
        fds=len(targets) - store_fds,
        store_fds=store_fds,
        store_connections=pooled,
        checked_out=checked_out,
        tasks=len(asyncio.all_tasks()),
        threads=len(others),
        pool_threads=executor,
        children=_children(),
        open_clients=open_clients(),
        phase=phase,
        thread_names=others,
    )


@dataclass(frozen=True)
class Budget:
    """What growth is tolerated after warm-up, per cycle (least-squares slope over the samples
    taken at the same phase)."""

    traced_per_cycle: int = 64 * KiB
    heap_per_cycle: int = 128 * KiB
    blocks_per_cycle: int = 1_000
    objects_per_cycle: int = 200
    # RSS moves in steps of a few MiB as the allocator grows and trims its arenas (seen even
    # with heap, blocks and objects flat): a backstop for memory outside malloc and pymalloc
    rss_per_cycle: int = 2 * MiB
    store_fds_per_connection: int = 3  # the database, its WAL and its shared-memory file
    # asyncio's default executor + AnyIO's default capacity
    max_pool_threads: int = min(32, (os.cpu_count() or 1) + 4) + 40
    max_store_connections: int = 5  # the store's pool size (overflow is closed on return)


@dataclass
class Verdict:
    problems: list[str] = field(default_factory=list)
    growth: dict[str, float] = field(default_factory=dict)  # per cycle, at the same phase

    @property
    def ok(self) -> bool:
        return not self.problems


def slope(points: Sequence[tuple[float, float]]) -> float:
    """Least-squares slope of y over x."""
    n = len(points)
    if n < 2:
        return 0.0
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    if sxx == 0:
        return 0.0
    return sum((x - mx) * (y - my) for x, y in points) / sxx


# these must come back to the warm-up's value after every cycle: nothing pools them
_EXACT = ("fds", "threads", "children")
# and these to their resting value after every cycle, warm-up included
_RESTING = {"tasks": None, "checked_out": 0, "open_clients": 0}
_MEMORY = (("traced", "traced_per_cycle"), ("heap", "heap_per_cycle"),
           ("blocks", "blocks_per_cycle"), ("objects", "objects_per_cycle"),
           ("rss", "rss_per_cycle"))


def find_leaks(samples: Sequence[Sample], *, warmup: int, phase: str | None = None,
               budget: Budget | None = None) -> Verdict:
    """Judge `samples` (one per cycle, in order): the first `warmup` cycles fill caches and
    pools; memory growth is measured on the samples of `phase` after them (every sample when
    `phase` is None). Needs at least three such samples."""
    b = budget or Budget()
    v = Verdict()
    if not samples:
        v.problems.append("no samples")
        return v
    first = samples[0]
    after = [s for s in samples if s.cycle > warmup]
    if not after:
        v.problems.append(f"no samples after the {warmup} warm-up cycles")
        return v
    ref = [s for s in samples if s.cycle <= warmup][-1:] or [after[0]]
    for name, resting in _RESTING.items():
        want = first.tasks if name == "tasks" else resting
        bad = [(s.cycle, getattr(s, name)) for s in samples if getattr(s, name) != want]
        if bad:
            v.problems.append(f"{name}: {want} expected after every cycle, got "
                              + ", ".join(f"{x} after cycle {c}" for c, x in bad[:5]))
    for name in _EXACT:
        want = getattr(ref[0], name)
        bad = [(s.cycle, getattr(s, name)) for s in after if getattr(s, name) != want]
        if bad:
            v.problems.append(f"{name}: {want} after warm-up, then "
                              + ", ".join(f"{x} after cycle {c}" for c, x in bad[:5])
                              + (f" (threads {ref[0].thread_names} -> "
                                 f"{next(s for s in after if s.cycle == bad[0][0]).thread_names})"
                                 if name == "threads" else ""))
    for s in samples:
        if s.store_fds > b.store_fds_per_connection * s.store_connections:
            v.problems.append(f"store fds: {s.store_fds} open for {s.store_connections} pooled "
                              f"connection(s) after cycle {s.cycle}")
            break
    if max(s.store_connections for s in samples) > b.max_store_connections:
        v.problems.append(f"store connections: pool grew to "
                          f"{max(s.store_connections for s in samples)}")
    if max(s.pool_threads for s in samples) > b.max_pool_threads:
        v.problems.append(f"pool threads: {max(s.pool_threads for s in samples)} > "
                          f"{b.max_pool_threads}")
    same_phase = [s for s in after if phase is None or s.phase == phase]
    if len(same_phase) < 3:
        v.problems.append(f"only {len(same_phase)} samples of phase {phase!r} after warm-up "
                          "(need 3 to see a trend)")
        return v
    for name, limit_name in _MEMORY:
        values = [(s.cycle, getattr(s, name)) for s in same_phase]
        if any(y is None for _, y in values):
            continue
        per_cycle = slope([(float(c), float(y)) for c, y in values])
        v.growth[name] = per_cycle
        limit = getattr(b, limit_name)
        if per_cycle > limit:
            v.problems.append(f"{name}: grows {per_cycle:,.0f} per cycle (budget {limit:,}); "
                              + ", ".join(f"{y:,} after cycle {c}" for c, y in values))
    return v
