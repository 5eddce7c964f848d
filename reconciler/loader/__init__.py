"""Reading the user's repository and snapshots (all file I/O of the desired state lives here).

`load_desired(source)` reads desired/ and inventory/ from a `FileSource` (a directory, or a git
tree without a working tree) and returns the DesiredState together with every problem found.
"""

from reconciler.loader.credentials import parse_credential_ref, resolve_credential
from reconciler.loader.desired import load_desired
from reconciler.loader.inventory import load_inventory
from reconciler.loader.snapshot import load_snapshot, save_snapshot
from reconciler.loader.source import DirectorySource, FileSource
from reconciler.loader.yamlio import DEFAULT_LIMITS, YamlLimits

__all__ = [
    "DEFAULT_LIMITS",
    "DirectorySource",
    "FileSource",
    "YamlLimits",
    "load_desired",
    "load_inventory",
    "load_snapshot",
    "parse_credential_ref",
    "resolve_credential",
    "save_snapshot",
]
