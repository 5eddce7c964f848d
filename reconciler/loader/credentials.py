"""Credential references: `env:NAME` or `file:PATH`, parsed at load time, resolved at the edge.

Resolution is the only place a secret value exists in the process; every value is registered
with `reconciler.secrets.register_secret` so `redact()` scrubs it from logs, transcripts and job
records. Messages name the reference and the device, never the value.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from reconciler.core.model import CredentialRef
from reconciler.errors import PermanentError
from reconciler.secrets import register_secret

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MIN_SECRET_LENGTH = 4
_MAX_FILE_SECRET = 64 * 1024


def parse_credential_ref(text: object) -> CredentialRef | None:
    """`env:NAME` / `file:PATH` -> CredentialRef; anything else (a literal secret?) -> None."""
    if not isinstance(text, str):
        return None
    scheme, sep, ref = text.partition(":")
    if not sep:
        return None
    if scheme == "env" and _ENV_NAME.match(ref):
        return CredentialRef("env", ref)
    if scheme == "file" and ref.strip() and ref == ref.strip():
        return CredentialRef("file", ref)
    return None


class CredentialError(PermanentError):
    code = "CREDENTIALS"


def resolve_credential(ref: CredentialRef, *, device: str | None = None,
                       base_dir: str | os.PathLike[str] | None = None) -> str:
    """The secret behind `ref`. `file:` paths are relative to `base_dir` (default: the current
    directory); one trailing newline is stripped. Raises CredentialError naming the device."""
    who = f" for device {device}" if device else ""
    if ref.scheme == "env":
        value = os.environ.get(ref.ref)
        if value is None:
            raise CredentialError(f"environment variable {ref.ref} is not set (credential {ref}"
                                  f"{who})", hint=f"export {ref.ref}=... before running",
                                  device=device)
    elif ref.scheme == "file":
        path = Path(ref.ref).expanduser()
        if not path.is_absolute() and base_dir is not None:
            path = Path(base_dir) / path
        try:
            st = path.stat()
            if not stat.S_ISREG(st.st_mode):
                # /dev/zero would be read forever, a FIFO would block the run
                raise CredentialError(f"credential file {ref.ref}{who} is not a regular file",
                                      device=device, hint="point file: at a file holding the secret")
            with open(path, "rb") as fh:
                data = fh.read(_MAX_FILE_SECRET + 1)  # the file may have grown since the stat
            if len(data) > _MAX_FILE_SECRET:
                raise CredentialError(f"credential file {ref.ref}{who} is larger than "
                                      f"{_MAX_FILE_SECRET} bytes; it should hold one secret",
                                      device=device)
            value = data.decode("utf-8")
        except CredentialError:
            raise
        except FileNotFoundError:
            raise CredentialError(f"credential file {ref.ref}{who} does not exist",
                                  hint="create it (mode 0600) or correct the path",
                                  device=device) from None
        except (OSError, UnicodeDecodeError) as e:
            raise CredentialError(f"credential file {ref.ref}{who} cannot be read: "
                                  f"{type(e).__name__}", device=device) from None
        if value.endswith("\n"):
            value = value[:-1]
            if value.endswith("\r"):
                value = value[:-1]
    else:
        raise CredentialError(f"unknown credential scheme {ref.scheme!r}{who}",
                              hint="use env:NAME or file:PATH", device=device)
    if len(value) < MIN_SECRET_LENGTH:
        # Too short to be a real secret, and too short to redact without masking ordinary words.
        raise CredentialError(f"credential {ref}{who} is shorter than {MIN_SECRET_LENGTH} "
                              "characters", hint="set the real secret", device=device)
    register_secret(value)
    return value
