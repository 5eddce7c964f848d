"""Batched transcript writing: a device conversation produces many short lines, and one
transaction per line would make the store the bottleneck of a large parallel job.

Lines are stamped when they are added (so the transcript shows when a command was really
sent) and written in batches: when `max_lines` are waiting, when the oldest waiting line is
`max_delay` seconds old at the next `add`, on `flush()` and on `close()`. A failed write keeps
the lines for the next attempt, so a short database outage loses nothing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from types import TracebackType

from reconciler.store.api import Store
from reconciler.store.models import TranscriptKind, TranscriptLine


class TranscriptBuffer:
    def __init__(self, store: Store, job_id: int, *, max_lines: int = 200,
                 max_delay: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._store = store
        self._job_id = job_id
        self._max_lines = max_lines
        self._max_delay = max_delay
        self._clock = clock
        self._lines: list[TranscriptLine] = []
        self._oldest: float | None = None
        self._lock = threading.Lock()  # also orders concurrent flushes
        self.written = 0

    def add(self, device: str, kind: TranscriptKind, text: str, *,
            member: str | None = None) -> None:
        line = TranscriptLine(device=device, kind=kind, text=text, member=member,
                              at=datetime.now(UTC))
        with self._lock:
            self._lines.append(line)
            if self._oldest is None:
                self._oldest = self._clock()
            due = (len(self._lines) >= self._max_lines
                   or self._clock() - self._oldest >= self._max_delay)
            if due:
                self._flush_locked()

    def command(self, device: str, text: str, *, member: str | None = None) -> None:
        self.add(device, TranscriptKind.COMMAND, text, member=member)

    def response(self, device: str, text: str, *, member: str | None = None) -> None:
        self.add(device, TranscriptKind.RESPONSE, text, member=member)

    def error(self, device: str, text: str, *, member: str | None = None) -> None:
        self.add(device, TranscriptKind.ERROR, text, member=member)

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._lines)

    def flush(self) -> int:
        """Write what is waiting; returns the number of lines written."""
        with self._lock:
            return self._flush_locked()

    def _flush_locked(self) -> int:
        if not self._lines:
            return 0
        n = self._store.append_transcript(self._job_id, self._lines)
        self._lines = []
        self._oldest = None
        self.written += n
        return n

    def close(self) -> None:
        self.flush()

    def __enter__(self) -> TranscriptBuffer:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
