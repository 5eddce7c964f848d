from __future__ import annotations

import threading

import pytest

from reconciler.store import JobDeviceSpec, TranscriptKind
from reconciler.store.buffer import TranscriptBuffer
from reconciler.store.errors import StoreUnavailableError


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def _job(store):
    return store.create_job([JobDeviceSpec("fw1"), JobDeviceSpec("fw2")], created_by="ops").id


def test_flushes_by_size_time_and_close(store):
    job = _job(store)
    clock = FakeClock()
    with TranscriptBuffer(store, job, max_lines=3, max_delay=5, clock=clock) as buf:
        buf.command("fw1", "show version")
        buf.response("fw1", "9.1(5)")
        assert store.transcript(job) == [] and buf.pending == 2
        buf.command("fw1", "dir disk0:")  # third line: size limit
        assert len(store.transcript(job)) == 3 and buf.pending == 0
        buf.command("fw2", "show failover")
        clock.t = 6
        buf.error("fw2", "timeout", member="secondary")  # oldest line is 6 s old
        assert len(store.transcript(job)) == 5
        buf.command("fw2", "reload")
    entries = store.transcript(job)
    assert [e.text for e in entries][-1] == "reload" and buf.written == 6
    assert entries[4].kind is TranscriptKind.ERROR and entries[4].member == "secondary"
    assert [e.at for e in entries] == sorted(e.at for e in entries)


def test_a_failed_write_keeps_the_lines(store, monkeypatch):
    job = _job(store)
    buf = TranscriptBuffer(store, job, max_lines=100)
    buf.command("fw1", "copy ...")
    real = store.append_transcript

    def down(*a, **k):
        raise StoreUnavailableError("database down")

    monkeypatch.setattr(store, "append_transcript", down)
    with pytest.raises(StoreUnavailableError):
        buf.flush()
    assert buf.pending == 1
    monkeypatch.setattr(store, "append_transcript", real)
    assert buf.flush() == 1 and [e.text for e in store.transcript(job)] == ["copy ..."]


def test_threads_share_one_buffer(store):
    job = _job(store)
    buf = TranscriptBuffer(store, job, max_lines=7)

    def talk(device):
        for i in range(50):
            buf.command(device, f"{device} {i}")

    threads = [threading.Thread(target=talk, args=(d,)) for d in ("fw1", "fw2")]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    buf.close()
    for device in ("fw1", "fw2"):
        texts = [e.text for e in store.transcript(job, device)]
        assert texts == [f"{device} {i}" for i in range(50)]
