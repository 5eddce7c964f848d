"""Runner identities (host:pid:token) and whether a runner is still alive.

A runner that crashes leaves its leases and its deploying job behind. Leases expire on their own;
on the runner's own host we can tell sooner that it is gone, because its pid no longer exists
(or is our own pid with a token we never issued: a restarted container's pid 1).

A pid means something only inside one pid namespace of one boot, and containers may share a
hostname. So the token starts with a key of (boot id, pid namespace): the pid check is used only
when that key is ours; otherwise liveness is unknown and lease expiry decides.
"""

from __future__ import annotations

import functools
import hashlib
import os
import socket
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

_issued: set[str] = set()
_issued_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class OwnerId:
    host: str
    pid: int
    token: str

    def __str__(self) -> str:
        return f"{self.host}:{self.pid}:{self.token}"

    @classmethod
    def parse(cls, text: str) -> OwnerId | None:
        """None when `text` is not of the form host:pid:token (an owner named by hand)."""
        parts = text.rsplit(":", 2)
        if len(parts) != 3 or not parts[0] or not parts[1].isdigit() or not parts[2]:
            return None
        return cls(host=parts[0], pid=int(parts[1]), token=parts[2])


@functools.cache
def local_key() -> str:
    """Identifies this boot and pid namespace (falls back to the hostname without /proc)."""
    parts = [socket.gethostname()]
    for path in ("/proc/sys/kernel/random/boot_id", "/proc/self/ns/pid"):
        try:
            p = Path(path)
            parts.append(os.readlink(p) if p.is_symlink() else p.read_text().strip())
        except OSError:
            pass
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:8]


def new_owner_id() -> str:
    """A fresh runner identity for this process: host and pid (so a dead local runner is
    recognised) plus a token (so a recycled pid is never mistaken for the old runner)."""
    token = f"{local_key()}-{uuid.uuid4().hex[:12]}"
    with _issued_lock:
        _issued.add(token)
    return str(OwnerId(socket.gethostname(), os.getpid(), token))


def retire_owner_id(owner: str) -> None:
    """The runner named `owner` has ended: from now on it counts as dead (anything it left
    behind is recoverable at once), and its token is not kept for the life of the process (a
    daemon issues one per cycle)."""
    oid = OwnerId.parse(owner)
    if oid is not None:
        with _issued_lock:
            _issued.discard(oid.token)


def owner_alive(owner: str | None) -> bool | None:
    """True/False when this host can tell, None when it cannot (another host, a hand-made name).

    A live pid is not proof: the pid may have been recycled. Callers treat True as "maybe
    alive" and still rely on lease expiry; False is certain.
    """
    if not owner:
        return False
    oid = OwnerId.parse(owner)
    if oid is None or oid.host != socket.gethostname() \
            or not oid.token.startswith(local_key() + "-"):
        return None
    if oid.pid == os.getpid():
        with _issued_lock:
            return oid.token in _issued
    try:
        os.kill(oid.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by another user
    return True
