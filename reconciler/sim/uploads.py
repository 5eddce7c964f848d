"""Receiving streamed uploads: size limits, free space, transfer faults, ranges, slow links.

Both the ASA file endpoint and the agent package endpoint take a `PUT` with `Content-Length`
and, for a part of a larger file, `Content-Range: bytes START-END/TOTAL`. Parts must arrive in
order (a part starting at 0 restarts the file); the file appears on the disk(s) when the last
byte has arrived, and space for the whole file is reserved from the first part on. Failures
carry the code in an `X-Transfer-Error` header (`ftp-426`, `wsa-10054`, `disk-full`, `http-413`)
and in the body in the device's own words.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import Response

from reconciler.sim.faults import FaultKind, Faults
from reconciler.sim.fleet import SimFleet
from reconciler.sim.model import Partial, SimDisk, SimFile
from reconciler.transfer_errors import lookup

_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$")

# render(status, code or None, message, extra headers) -> Response
Render = Callable[[int, str | None, str, dict[str, str]], Response]


@dataclass
class Target:
    unit: str  # unit (or agent) name, for per-member faults
    disk: SimDisk


async def _drain(request: Request) -> None:
    async for _ in request.stream():
        pass


async def receive_upload(
    request: Request,
    fleet: SimFleet,
    device: str,
    faults: Faults,
    targets: list[Target],
    filename: str,
    path_text: str,
    render: Render,
) -> Response:
    length_h = request.headers.get("content-length")
    if length_h is None or not length_h.isdigit():
        await _drain(request)
        return render(411, None, "%Error: Content-Length is required for file transfers", {})
    length = int(length_h)
    start, total = 0, length
    rng = request.headers.get("content-range")
    if rng:
        m = _RANGE.match(rng.strip())
        if not m or int(m.group(2)) - int(m.group(1)) + 1 != length or int(m.group(2)) >= int(m.group(3)):
            await _drain(request)
            return render(400, None, f"%Error: bad Content-Range {rng!r} for {length} bytes", {})
        start, total = int(m.group(1)), int(m.group(3))
    key = (device, tuple(sorted(t.unit for t in targets)), filename)
    partial = fleet.uploads.get(key)
    if start > 0 and (partial is None or partial.received != start or partial.total != total):
        await _drain(request)
        have = partial.received if partial and partial.total == total else 0
        return render(416, None, f"%Error: part starts at {start} but {have} bytes of {filename} "
                      "have been received; resend from there", {"X-Received-Bytes": str(have)})
    units = [t.unit for t in targets]

    for u in units:
        f = faults.peek(FaultKind.TOO_LARGE, u)
        if f is not None and f.max_bytes and length > f.max_bytes:
            f.fired += 1
            await _drain(request)
            return render(413, "http-413", f"%Error copying {path_text} (Request entity too large: "
                          f"{length} bytes, the limit is {f.max_bytes})",
                          {"X-Max-Request-Bytes": str(f.max_bytes)})

    if start == 0:
        for t in targets:
            forced = faults.peek(FaultKind.DISK_FULL, t.unit)
            if forced is not None and forced.disk not in (None, t.disk.name):
                forced = None
            if forced is not None or not t.disk.room_for(filename, total):
                if forced is not None:
                    forced.fired += 1
                await _drain(request)
                return render(507, "disk-full", f"%Error copying {path_text} on unit {t.unit} "
                              f"(Not enough space on device: {total} bytes needed, "
                              f"{t.disk.free} bytes free)", {})

    for u in units:
        f = faults.fire(FaultKind.TRANSFER_ERROR, u)
        if f is not None:
            await _drain(request)
            info = lookup(f.code or "")
            what = f"{info.number} {info.meaning}" if info and info.number else (info.meaning if info else f.code)
            return render(500, f.code, f"%Error copying {path_text} ({what})", {})

    slow = next((f for u in units if (f := faults.peek(FaultKind.SLOW_LINK, u))), None)
    parts: list[bytes] = []
    received = 0
    async for chunk in request.stream():
        if not chunk:
            continue
        parts.append(chunk)
        received += len(chunk)
        if slow and slow.bytes_per_second:
            await fleet.clock.sleep(len(chunk) / slow.bytes_per_second)
    if received != length:
        return render(400, None, f"%Error: received {received} bytes, Content-Length said {length}", {})

    if start == 0:
        partial = Partial(total=total)
        fleet.uploads[key] = partial
        for t in targets:
            t.disk.partials[filename] = Partial(total=total)
    assert partial is not None
    partial.parts.append(b"".join(parts))
    partial.received += received
    headers = {"X-Received-Bytes": str(partial.received)}
    if partial.received < total:
        return render(200, None, f"{received} bytes received ({start}-{start + received - 1} of {total}) "
                      f"for {path_text}", headers)

    data = b"".join(partial.parts)
    del fleet.uploads[key]
    corrupt = any(faults.fire(FaultKind.CORRUPT_UPLOAD, u) for u in units)
    if corrupt and data:
        data = data[:-1] + bytes([data[-1] ^ 0xFF])
    content = fleet.blobs.put(data)
    now = datetime.now(UTC)
    for t in targets:
        t.disk.partials.pop(filename, None)
        t.disk.files.pop(filename, None)  # an overwritten file moves to the end, like a new write
        t.disk.files[filename] = SimFile(filename, content, now, valid=not corrupt)
    spread = f" (copied to {len(targets)} units: {', '.join(units)})" if len(targets) > 1 else ""
    return render(200, None, f"Writing file {path_text}...\n{'!' * max(1, min(60, total // 131072))}\n"
                  f"{total} bytes copied in 1.000 secs{spread}", headers)
