"""Plan fingerprints: canonical-JSON sha256 over the desired source and the observed devices.

A saved plan records the fingerprint; `apply` recomputes it from the current desired state and a
fresh discovery of the planned devices and refuses the plan when they differ. Per-device digests
let it say *which* device changed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from reconciler.core.observed import ObservedDevice, device_to_dict


def canonical_json(value: Any) -> bytes:
    """One byte string per value: sorted keys, no whitespace, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def observed_digest(device: ObservedDevice) -> str:
    return hashlib.sha256(canonical_json(device_to_dict(device))).hexdigest()


def plan_fingerprint(commit: str | None, content_digest: str,
                     device_digests: Mapping[str, str | None]) -> str:
    """Fingerprint of (desired commit and content, observed state of each planned device)."""
    doc = {"desired": {"commit": commit, "digest": content_digest},
           "observed": dict(sorted(device_digests.items()))}
    return "sha256:" + hashlib.sha256(canonical_json(doc)).hexdigest()
