"""The one door for errors from our code to Dagster's storage: `scrubbed_failures` wraps every asset and check body,
the IO manager's reads and writes, and every sensor and schedule (their errors are kept in their ticks).

Dagster stores a step failure's message, stack and whole cause chain. The wrapper re-raises any exception through
`kotacerdas.scrubbed_errors`: a KotacerdasError, a `dg.Failure` and Dagster's own errors keep their type (texts and
causes scrubbed), anything else becomes a `ScrubbedError` naming the original type, with its message scrubbed and
its traceback (code lines and places, no values). The replacement is raised outside the `except` block, so its
`__context__` is not the clear original.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

import dagster as dg

from assets.partitioned import scrub_metadata
from kotacerdas.errors import KotacerdasError
from kotacerdas.privacy import scrub_text
from kotacerdas.scrubbed_errors import scrubbed_exception

F = TypeVar("F", bound=Callable[..., Any])
# Set on every wrapped function: tests/test_privacy_guards.py checks that every asset and check body has it.
SCRUBS_FAILURES = "_kotacerdas_scrubs_failures"


def _keep(exc: BaseException) -> bool:
    return isinstance(exc, (KotacerdasError, dg.Failure, dg.RetryRequested, dg.DagsterError))


def _scrub_in_place(exc: BaseException) -> None:
    if isinstance(exc, dg.Failure):
        exc.description = scrub_text(exc.description) if exc.description else exc.description
        exc.metadata = scrub_metadata(exc.metadata)
    if not isinstance(exc, KotacerdasError):  # those are scrubbed when made
        exc.args = tuple(scrub_text(a) if isinstance(a, str) else a for a in exc.args)


def safe_to_store(exc: BaseException) -> BaseException:
    """What Dagster may store instead of `exc` (see the module's docstring)."""
    return scrubbed_exception(exc, keep=_keep, scrub_in_place=_scrub_in_place)


def scrubbed_failures(fn: F) -> F:
    """`fn` (a function or a generator function) whose exceptions are re-raised as `safe_to_store` makes them."""
    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def generator(*args, **kwargs):
            try:
                yield from fn(*args, **kwargs)
                return
            except Exception as exc:  # noqa: BLE001 - re-raised, scrubbed, below
                replacement = safe_to_store(exc)
            raise replacement

        wrapped: Callable[..., Any] = generator
    else:

        @functools.wraps(fn)
        def function(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - re-raised, scrubbed, below
                replacement = safe_to_store(exc)
            raise replacement

        wrapped = function
    setattr(wrapped, SCRUBS_FAILURES, True)
    return wrapped  # type: ignore[return-value]
