"""State store throughput: lease acquire/renew/release, heartbeats, transcript appends.

    python bench/bench_store.py [--pg postgresql://postgres@127.0.0.1:5432/test] [-n 500]

SQLite runs in a temporary directory; PostgreSQL (when --pg is given and reachable) in a
throw-away schema. Prints operations per second for each backend.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from reconciler.store import JobDeviceSpec, TranscriptKind, TranscriptLine, new_owner_id, open_store


def timed(label: str, n: int, fn: Callable[[int], object]) -> None:
    start = time.perf_counter()
    for i in range(n):
        fn(i)
    elapsed = time.perf_counter() - start
    print(f"  {label:<44} {n / elapsed:>10,.0f}/s  ({elapsed * 1000 / n:.2f} ms each)")


def bench(url: str, n: int) -> None:
    with open_store(url, migrate=True) as store:
        print(f"{store.backend}: {store.url}")
        me = new_owner_id()
        devices = [f"fw-{i:05d}" for i in range(n)]
        timed("acquire (one device per call)", n, lambda i: store.acquire(devices[i], me, 60))
        timed("renew", n, lambda i: store.renew(devices[i], me, 60))
        timed("acquire contended (held by another)", n,
              lambda i: store.acquire(devices[i], "other:1:x", 60))
        timed("release", n, lambda i: store.release(devices[i], me))
        batch = 100
        timed(f"acquire_many ({batch} devices per call)", max(1, n // batch),
              lambda i: store.acquire_many(devices[i * batch:(i + 1) * batch], me, 60))
        timed(f"heartbeat (owner holding {n} leases)", 20, lambda i: store.heartbeat(me, 60))
        job = store.create_job([JobDeviceSpec("fw-00000")], created_by="bench")
        line = TranscriptLine("fw-00000", TranscriptKind.RESPONSE, "x" * 200)
        timed("transcript: 1 line per append", n, lambda i: store.append_transcript(job.id, [line]))
        timed("transcript: 100 lines per append (batches)", max(1, n // 100),
              lambda i: store.append_transcript(job.id, [line] * 100))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pg", default=None)
    ap.add_argument("-n", type=int, default=500)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bench(str(Path(tmp) / "state.db"), args.n)
    if args.pg:
        import psycopg
        from sqlalchemy.engine import make_url

        schema = f"bench_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(args.pg, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        try:
            url = make_url(args.pg).update_query_dict({"options": f"-csearch_path={schema}"})
            bench(url.render_as_string(hide_password=False), args.n)
        finally:
            with psycopg.connect(args.pg, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


if __name__ == "__main__":
    main()
