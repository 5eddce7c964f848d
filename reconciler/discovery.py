"""Discover every inventory device concurrently into a SPEC-2 snapshot (Nornir-style runner).

Devices are discovered in parallel, at most `concurrency` at a time, each within `timeout`
seconds. Temporary errors (unreachable, timeouts, HTTP 5xx, FTP 4yz...) are retried with
exponential backoff and jitter, honouring a device's Retry-After; permanent ones (credentials,
TLS, a refused command) are not. A device that cannot be discovered becomes a `DiscoveryError`
in the snapshot — it never stops the run. One HTTP client is shared by all devices with the
same TLS settings.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt

from reconciler.backoff import jittered_backoff
from reconciler.core.model import ImageType, InventoryDevice, TlsSettings
from reconciler.core.observed import DiscoveryError, ObservedDevice, Snapshot
from reconciler.drivers.base import DriverOptions, Resolver, Transcript
from reconciler.drivers.registry import driver_for
from reconciler.drivers.tls import client_for
from reconciler.errors import ConfigError, ReconcilerError, TemporaryError
from reconciler.logging import get_logger

ClientFactory = Callable[[TlsSettings, Sequence[str]], httpx.AsyncClient]


@dataclass(frozen=True)
class DiscoveryOptions:
    concurrency: int = 16
    timeout: float = 120.0  # seconds per device, all attempts included
    attempts: int = 3  # for temporary errors; permanent ones are tried once
    backoff_initial: float = 0.5
    backoff_max: float = 10.0
    root: Path = Path(".")  # relative tls.ca_bundle paths are resolved here


class Progress(Protocol):
    def started(self, device: str) -> None: ...

    def finished(self, device: str, ok: bool) -> None: ...


class _NoProgress:
    def started(self, device: str) -> None:
        pass

    def finished(self, device: str, ok: bool) -> None:
        pass


def _wait(options: DiscoveryOptions) -> Callable[[RetryCallState], float]:
    return jittered_backoff(options.backoff_initial, options.backoff_max)


def _error(device: str, err: BaseException, options: DiscoveryOptions) -> DiscoveryError:
    if isinstance(err, ReconcilerError):
        return DiscoveryError(device, err.code, str(err), isinstance(err, TemporaryError))
    if isinstance(err, TimeoutError):
        return DiscoveryError(device, "TIMEOUT", f"{device}: TIMEOUT discovery did not finish within "
                              f"{options.timeout:g}s — the device is slow or reloading; run discover again",
                              True)
    return DiscoveryError(device, "INTERNAL", f"{device}: INTERNAL {type(err).__name__}: {err} — "
                          "please report this with the transcript", False)


async def discover(
    devices: Sequence[InventoryDevice],
    *,
    options: DiscoveryOptions | None = None,
    client_factory: ClientFactory | None = None,
    resolver: Resolver | None = None,
    driver_options: DriverOptions | None = None,
    progress: Progress | None = None,
    transcripts: dict[str, Transcript] | None = None,
) -> Snapshot:
    """Discover `devices`; never raises for a device's failure (see `Snapshot.errors`)."""
    opts = options or DiscoveryOptions()
    prog = progress or _NoProgress()
    log = get_logger(component="discovery")
    found: dict[str, ObservedDevice] = {}
    errors: dict[str, DiscoveryError] = {}
    sem = asyncio.Semaphore(max(1, opts.concurrency))

    def factory(tls: TlsSettings, names: Sequence[str]) -> httpx.AsyncClient:
        if client_factory is not None:
            return client_factory(tls, names)
        return client_for(tls, root=opts.root, devices=names, max_connections=max(4, opts.concurrency))

    groups: dict[TlsSettings, list[InventoryDevice]] = {}
    for d in devices:
        groups.setdefault(d.tls, []).append(d)

    async def one(dev: InventoryDevice, client: httpx.AsyncClient) -> None:
        transcript = Transcript()
        if transcripts is not None:
            transcripts[dev.name] = transcript
        async with sem:
            prog.started(dev.name)
            try:
                async with asyncio.timeout(opts.timeout):
                    async for attempt in AsyncRetrying(
                        retry=retry_if_exception_type(TemporaryError), stop=stop_after_attempt(max(1, opts.attempts)),
                        wait=_wait(opts), reraise=True,
                    ):
                        with attempt:
                            n = attempt.retry_state.attempt_number
                            if n > 1:
                                transcript.record(dev.name, None, "note", f"attempt {n} of {opts.attempts}")
                            async with driver_for(dev, client, resolver=resolver, transcript=transcript,
                                                  options=driver_options) as drv:
                                found[dev.name] = await drv.get_facts()
            except Exception as e:  # noqa: BLE001 - one device's failure is reported, never fatal
                err = _error(dev.name, e, opts)
                errors[dev.name] = err
                log.warning("discovery_failed", device=dev.name, code=err.code, temporary=err.temporary,
                            error=err.message)
                prog.finished(dev.name, False)
                return
            log.info("discovered", device=dev.name, mode=str(found[dev.name].mode),
                     members=len(found[dev.name].members))
            prog.finished(dev.name, True)

    async with AsyncExitStack() as stack:
        tasks = []
        for tls, devs in groups.items():
            try:
                client = factory(tls, [d.name for d in devs])
            except ReconcilerError as e:
                for d in devs:
                    errors[d.name] = DiscoveryError(d.name, e.code, f"{d.name}: {e}", False)
                    prog.finished(d.name, False)
                continue
            await stack.enter_async_context(client)
            tasks += [one(d, client) for d in devs]
        await asyncio.gather(*tasks)

    return Snapshot(devices=dict(sorted(found.items())), errors=dict(sorted(errors.items())),
                    taken_at=datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"))


def summary_rows(snapshot: Snapshot) -> list[tuple[str, ...]]:
    """(device, mode, model, running system/agent version, members, status) per device."""
    rows = []
    for name, dev in snapshot.devices.items():
        version = dev.running.get(ImageType.ASA) or dev.running.get(ImageType.AGENT) or ""
        members = ", ".join(f"{m.name}:{m.role}" + ("" if m.reachable else "(unreachable)") for m in dev.members)
        rows.append((name, str(dev.mode), dev.model, version, members, "ok"))
    for name, err in snapshot.errors.items():
        rows.append((name, "", "", "", "", f"{err.code}{' (temporary)' if err.temporary else ''}"))
    return sorted(rows)


def by_name(devices: Sequence[InventoryDevice], names: Sequence[str]) -> list[InventoryDevice]:
    """Select devices by name (all when `names` is empty); unknown names are an error."""
    if not names:
        return list(devices)
    index: Mapping[str, InventoryDevice] = {d.name: d for d in devices}
    unknown = [n for n in names if n not in index]
    if unknown:
        raise ConfigError(f"not in the inventory: {', '.join(unknown)}",
                          hint="names: " + ", ".join(sorted(index)))
    return [index[n] for n in names]
