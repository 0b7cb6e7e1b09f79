"""The one error type of the composite-index engine: a bad framework, data set or method setting."""

from __future__ import annotations

from kotacerdas.errors import KotacerdasError


class IndexMethodError(KotacerdasError, ValueError):
    """Raised when metadata, data or method settings cannot produce a valid index; says what to fix."""
