"""Saved plans on disk (`reconciler plan --out`, read by `reconciler apply --plan`).

JSON in the form of `schemas/plan.schema.json` plus the observed state of each planned device.
Writes are atomic; reads are schema-checked and integrity-checked, and every problem is one
ConfigError naming the file.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from reconciler.core.bulk import gc_paused
from reconciler.core.plan.fingerprint import observed_digest, planned
from reconciler.core.observed import device_from_dict
from reconciler.core.plan.model import SavedPlan
from reconciler.errors import ConfigError, Location
from reconciler.loader.bounded import read_bounded
from reconciler.loader.documents import render_path
from reconciler.loader.schema import compiled

MAX_PLAN_BYTES = 1024 * 1024 * 1024
_MAX_SHOWN = 5


def save_plan(saved: SavedPlan, path: str | os.PathLike[str]) -> None:
    """Write atomically (temp file, fsync, rename): a reader never sees half a plan."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    with gc_paused():
        text = json.dumps(saved.to_dict(), indent=2, ensure_ascii=False) + "\n"
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_plan(path: str | os.PathLike[str], *, max_bytes: int = MAX_PLAN_BYTES) -> SavedPlan:
    p = Path(path)
    where = Location(str(p))
    again = "run `reconciler plan --out` again"
    try:
        raw = read_bounded(p, max_bytes, "plan")
    except FileNotFoundError:
        raise ConfigError("plan file does not exist", code="FILE_ERROR", location=where,
                          hint="save one with `reconciler plan --out PLAN.json`") from None
    except OSError as e:
        raise ConfigError(f"cannot read the plan: {e.strerror or e}", code="FILE_ERROR",
                          location=where) from None
    with gc_paused():
        try:
            data = json.loads(raw)
        except (UnicodeDecodeError, RecursionError):
            raise ConfigError("plan is not UTF-8 JSON of sane depth", code="SCHEMA",
                              location=where, hint=again) from None
        except json.JSONDecodeError as e:
            raise ConfigError(f"plan is not valid JSON: {e.msg} (column {e.colno})",
                              code="SCHEMA", location=Location(str(p), e.lineno),
                              hint=again) from None
        errors = compiled("plan").errors(data)
        if errors:
            shown = "; ".join(f"{render_path(data, e.path) or '(top)'}: {e.message}"
                              for e in errors[:_MAX_SHOWN])
            more = f" (and {len(errors) - _MAX_SHOWN} more)" if len(errors) > _MAX_SHOWN else ""
            raise ConfigError(f"plan does not match its schema: {shown}{more}", code="SCHEMA",
                              location=where, hint=f"plans are not hand-edited: {again}")
        for name, obs in data.get("observed", {}).items():
            # each observed device is in snapshot form: checked like a one-device snapshot
            bad = compiled("snapshot").errors({"format_version": 1, "devices": [obs]})
            if bad:
                shown = "; ".join(f"observed.{name}" + (f".{render_path(obs, e.path[2:])}"
                                                       if e.path[2:] else "") + f": {e.message}"
                                  for e in bad[:_MAX_SHOWN])
                raise ConfigError(f"plan does not match its schema: {shown}", code="SCHEMA",
                                  location=where, hint=f"plans are not hand-edited: {again}")
        try:
            saved = SavedPlan.from_dict(data)
        except (ValueError, KeyError, TypeError) as e:
            raise ConfigError(f"plan cannot be read: {e}", code="SCHEMA", location=where,
                              hint=again) from None
    for name, digest in planned(saved.plan).items():
        obs = saved.observed.get(name)
        if obs is None or observed_digest(device_from_dict(obs)) != digest:
            raise ConfigError(f"plan's observed state of {name} does not match its digest",
                              code="SCHEMA", location=where, hint=f"plans are not hand-edited: {again}")
    return saved

