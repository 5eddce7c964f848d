"""structlog setup: bind context once, JSON in production, pretty on a terminal.

Every event passes through `redact_processor`, which masks known secret values (registered by
`reconciler.secrets.register_secret` when a credential reference is resolved) and any key that
looks like a secret, so credentials cannot leak into logs whatever a caller binds.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog

from reconciler.secrets import redact

_SECRET_KEYS = ("password", "token", "secret", "authorization", "api_key")


def redact_processor(_logger: Any, _name: str, event: dict[str, Any]) -> dict[str, Any]:
    for key, value in list(event.items()):
        if any(s in key.lower() for s in _SECRET_KEYS):
            event[key] = "***"
        elif isinstance(value, str):
            event[key] = redact(value)
    return event


class _CurrentStderr:
    """Writes to whatever `sys.stderr` is at the time of the write.

    Binding the stream object at configure time breaks when stderr is swapped afterwards (pytest's
    capture, daemons redirecting output): log calls would then write to a closed file.
    """

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return sys.stderr.isatty()


def configure_logging(fmt: str = "auto", verbosity: int = 0, stream: Any = None) -> None:
    stream = stream or _CurrentStderr()
    level = logging.WARNING - 10 * verbosity
    use_json = fmt == "json" or (fmt == "auto" and not stream.isatty())
    renderer: Any = (structlog.processors.JSONRenderer() if use_json
                     else structlog.dev.ConsoleRenderer(colors=stream.isatty()))
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            redact_processor,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(max(level, logging.DEBUG)),
        logger_factory=structlog.PrintLoggerFactory(file=stream),
        cache_logger_on_first_use=False,
    )


def get_logger(**bound: Any) -> Any:
    return structlog.get_logger().bind(**bound)
