"""Observed-state snapshots on disk: JSON, schema-checked, written atomically."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from reconciler.core.observed import Snapshot, snapshot_from_dict, snapshot_to_dict
from reconciler.errors import ConfigError, Location
from reconciler.loader.bounded import read_bounded
from reconciler.loader.documents import render_path
from reconciler.loader.schema import compiled
from reconciler.loader.yamlio import gc_paused

MAX_SNAPSHOT_BYTES = 512 * 1024 * 1024
_MAX_SHOWN = 5


def load_snapshot(path: str | os.PathLike[str], *, max_bytes: int = MAX_SNAPSHOT_BYTES
                  ) -> Snapshot:
    """Read a snapshot written by `save_snapshot` (or `reconciler discover --out`).

    Raises ConfigError naming the file (and line for JSON syntax errors) when it is missing,
    too big, not JSON, or does not match `schemas/snapshot.schema.json`."""
    p = Path(path)
    try:
        raw = read_bounded(p, max_bytes, "snapshot")
    except FileNotFoundError:
        raise ConfigError("snapshot file does not exist", code="FILE_ERROR",
                          location=Location(str(p)),
                          hint="run `reconciler discover` to create it") from None
    except OSError as e:
        raise ConfigError(f"cannot read the snapshot: {e.strerror or e}", code="FILE_ERROR",
                          location=Location(str(p))) from None
    with gc_paused():
        try:
            data = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise ConfigError("snapshot is not UTF-8 JSON", code="SCHEMA",
                              location=Location(str(p))) from None
        except json.JSONDecodeError as e:
            raise ConfigError(f"snapshot is not valid JSON: {e.msg} (column {e.colno})",
                              code="SCHEMA", location=Location(str(p), e.lineno)) from None
        except RecursionError:
            raise ConfigError("snapshot nests too deeply", code="YAML_LIMIT",
                              location=Location(str(p))) from None
        errors = compiled("snapshot").errors(data)
        if errors:
            shown = "; ".join(f"{render_path(data, e.path) or '(top)'}: {e.message}"
                              for e in errors[:_MAX_SHOWN])
            more = f" (and {len(errors) - _MAX_SHOWN} more)" if len(errors) > _MAX_SHOWN else ""
            raise ConfigError(f"snapshot does not match its schema: {shown}{more}",
                              code="SCHEMA", location=Location(str(p)),
                              hint="re-run `reconciler discover`; snapshots are not hand-edited")
        return snapshot_from_dict(data)


def save_snapshot(snapshot: Snapshot, path: str | os.PathLike[str]) -> None:
    """Write atomically (temp file + rename), so a reader never sees half a snapshot."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    data = snapshot_to_dict(snapshot)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1, sort_keys=True)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, p)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
