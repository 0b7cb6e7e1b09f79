"""Errors the user can act on: each says what was wrong, where, and what to do."""

from __future__ import annotations


class KotacerdasError(Exception):
    """Base class; `hint` tells the user what to do about it."""

    def __init__(self, message: str, *, hint: str | None = None):
        self.message = message
        self.hint = hint
        super().__init__(f"{message} — what to do: {hint}" if hint else message)


class ConfigError(KotacerdasError):
    """A config file is missing, malformed or inconsistent."""


class SourceError(KotacerdasError):
    """A source could not deliver a partition (after retries, where retrying makes sense)."""


class QualityGateError(KotacerdasError):
    """A partition failed its quality gate and must not flow downstream."""
