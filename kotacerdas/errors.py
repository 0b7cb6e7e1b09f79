"""Errors the user can act on: each says what was wrong, where, and what to do."""

from __future__ import annotations

from collections.abc import Callable


class KotacerdasError(Exception):
    """Base class; `hint` tells the user what to do about it.

    Message and hint pass `scrub` when the error is made: `kotacerdas.privacy` installs its scrubber there, so no
    error carries a NIK, phone, e-mail or configured secret into a log, a Dagster event or the warehouse."""

    scrub: Callable[[str], str] = staticmethod(lambda text: text)

    def __init__(self, message: str, *, hint: str | None = None):
        self.message = type(self).scrub(message)
        self.hint = type(self).scrub(hint) if hint else hint
        super().__init__(f"{self.message} — what to do: {self.hint}" if self.hint else self.message)


class ConfigError(KotacerdasError):
    """A config file is missing, malformed or inconsistent."""


class SourceError(KotacerdasError):
    """A source could not deliver a partition (after retries, where retrying makes sense)."""


class StorageError(KotacerdasError):
    """The disk or the database refused a write (no space left, no permission): not the source's fault."""


class QualityGateError(KotacerdasError):
    """A partition failed its quality gate and must not flow downstream."""


class PartitionBusyError(KotacerdasError):
    """Another writer held the partition's publish lock for longer than the configured wait."""
