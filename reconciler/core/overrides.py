"""A desired state with per-device overrides laid on top, for jobs that must not simply follow
the policy: a rollback (each device back to the images a job replaced) or a one-off change of
settings given on the command line (`apply --operation copy-only`). The result is planned like
any desired state, so every step is validated the same way.

The overrides are the highest-precedence layer (like `desired/devices.yaml`), and the content
digest changes with them, so a plan made with overrides never passes for a plan of the policy.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from reconciler.core.model import DesiredState, ImageType, PolicyEntry
from reconciler.core.plan.fingerprint import canonical_json


def with_overrides(desired: DesiredState, *, reason: str,
                   targets: Mapping[str, Mapping[ImageType, str]] | None = None,
                   settings: Mapping[str, Mapping[str, Any]] | None = None) -> DesiredState:
    """`targets`: device -> {type: image name or version}; `settings`: device -> {field: typed
    value} (field names of `Settings`). Devices must be in the inventory."""
    targets = targets or {}
    settings = settings or {}
    devices = dict(desired.devices)
    for name in sorted(set(targets) | set(settings)):
        entry = devices.get(name) or PolicyEntry(name=name)
        devices[name] = replace(entry, images={**entry.images, **targets.get(name, {})},
                                settings={**entry.settings, **settings.get(name, {})})
    doc = {"base": desired.content_digest, "reason": reason,
           "targets": {n: {str(t): r for t, r in sorted(v.items())} for n, v in targets.items()},
           "settings": {n: {k: str(x) for k, x in sorted(v.items())} for n, v in settings.items()}}
    digest = hashlib.sha256(canonical_json(doc)).hexdigest()
    return replace(desired, devices=devices, content_digest=digest)
