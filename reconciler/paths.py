"""Where the reconciler keeps its own files, relative to the desired-state repository.

Everything lives under `.reconciler/` (git-ignored): the image repository, the SQLite state store,
the simulated fleet's TLS material. Each can be moved with an option or environment variable.
"""

from __future__ import annotations

import os
from pathlib import Path


def state_dir(root: Path | str = ".") -> Path:
    return Path(os.environ.get("RECONCILER_HOME", Path(root) / ".reconciler"))


def image_repo_dir(root: Path | str = ".") -> Path:
    return Path(os.environ.get("RECONCILER_IMAGES", state_dir(root) / "images"))


def sqlite_path(root: Path | str = ".") -> Path:
    return state_dir(root) / "state.db"


def sim_dir(root: Path | str = ".") -> Path:
    return state_dir(root) / "sim"
