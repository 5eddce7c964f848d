"""Errors of the state store, placed in the product's temporary/permanent hierarchy."""

from __future__ import annotations

from reconciler.errors import PermanentError, TemporaryError


class StoreUnavailableError(TemporaryError):
    """The database cannot be reached or is busy beyond the timeout; retrying may help."""

    code = "STORE_UNAVAILABLE"


class StoreConfigError(PermanentError):
    """The --state URL or path is unusable."""

    code = "STORE_CONFIG"


class SchemaVersionError(PermanentError):
    """The database schema is older or newer than this reconciler."""

    code = "STORE_SCHEMA"


class NotFoundError(PermanentError):
    code = "NOT_FOUND"


class IllegalTransitionError(PermanentError):
    """A job, job device or device state change that the life cycle does not allow."""

    code = "ILLEGAL_TRANSITION"


class ConflictError(PermanentError):
    """The record changed under us (name taken, state not what the caller expected, lease or
    job no longer owned by the caller)."""

    code = "CONFLICT"
