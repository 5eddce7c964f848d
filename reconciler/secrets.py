"""Secret values known to this process, and redaction of them from any text.

Credential references are resolved at the edge (drivers); every resolved value is registered
here so that logs, transcripts, plans and job records can be scrubbed before they are written.
"""

from __future__ import annotations

import threading

_lock = threading.Lock()
_secrets: set[str] = set()
MASK = "***"


def register_secret(value: str) -> None:
    # Very short values would mask ordinary words; a credential shorter than 4 characters is
    # refused at resolution time instead.
    if value and len(value) >= 4:
        with _lock:
            _secrets.add(value)


def redact(text: str) -> str:
    if not _secrets or not text:
        return text
    for s in _secrets:
        if s in text:
            text = text.replace(s, MASK)
    return text


def known_secret_count() -> int:
    return len(_secrets)
