"""Exceptions made safe to store: any exception, with its whole cause chain, scrubbed of personal data and secrets.

An orchestrator stores a failure's type, message, stack and every exception of its cause and context chain. A
KotacerdasError's message is scrubbed when it is made, but a pandas, SQLAlchemy, requests or plain ValueError can
quote a row, a URL or a connection string, and so can the causes under any error. `scrubbed_exception` returns
what may be stored instead: the same traceback frames (code lines and places, never values) with every message
passed through `scrub_text`.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable

from kotacerdas.errors import KotacerdasError
from kotacerdas.privacy import scrub_text


class ScrubbedError(Exception):
    """Stands for an exception whose text could hold personal data or a secret: its type, scrubbed message and
    traceback (where it was raised), chained to the scrubbed stand-ins of its causes."""

    def __init__(self, type_name: str, message: str):
        self.type_name = type_name
        self.message = message
        super().__init__(f"{type_name}: {message}" if message else type_name)

    def __reduce__(self):  # pickled across processes (executors) with both arguments
        return type(self), (self.type_name, self.message)


def type_name(exc: BaseException) -> str:
    """`ValueError`, `sqlalchemy.exc.OperationalError`: the name a traceback prints for the exception's type."""
    cls = type(exc)
    module = cls.__module__
    return cls.__qualname__ if module in ("builtins", "__main__") else f"{module}.{cls.__qualname__}"


def _message(exc: BaseException) -> str:
    """The exception's own text as a traceback would print it (notes and sub-exceptions included), scrubbed."""
    lines = traceback.format_exception_only(type(exc), exc)
    text = "".join(lines).strip()
    prefix = f"{type_name(exc)}: "
    text = text[len(prefix) :] if text.startswith(prefix) else ("" if text == type_name(exc) else text)
    if isinstance(exc, BaseExceptionGroup):
        text += "".join(f"\n  {type_name(e)}: {_message(e)}" for e in exc.exceptions)
    return scrub_text(text)


def scrubbed_exception(
    exc: BaseException,
    keep: Callable[[BaseException], bool] = lambda exc: False,
    scrub_in_place: Callable[[BaseException], None] = lambda exc: None,
) -> BaseException:
    """What may be stored instead of `exc`.

    An exception for which `keep` is true is kept (its type matters to the caller, e.g. an error whose message is
    scrubbed already, or an orchestrator's own control flow); `scrub_in_place` then rewrites what it carries. Any
    other exception becomes a `ScrubbedError` with the original's traceback. Either way every exception of the
    cause and context chain is replaced the same way, so no link of the chain holds clear text.
    """
    return _scrubbed(exc, keep, scrub_in_place, {})


def _scrubbed(
    exc: BaseException,
    keep: Callable[[BaseException], bool],
    scrub_in_place: Callable[[BaseException], None],
    done: dict[int, BaseException],
) -> BaseException:
    if id(exc) in done:  # chains can loop
        return done[id(exc)]
    if keep(exc):
        out = exc
        scrub_in_place(exc)
        if getattr(exc, "__notes__", None):
            exc.__notes__ = [scrub_text(note) for note in exc.__notes__]
    else:
        out = ScrubbedError(type_name(exc), _message(exc)).with_traceback(exc.__traceback__)
    done[id(exc)] = out
    cause, context = exc.__cause__, exc.__context__
    out.__cause__ = _scrubbed(cause, keep, scrub_in_place, done) if cause is not None else None
    out.__context__ = _scrubbed(context, keep, scrub_in_place, done) if context is not None else None
    out.__suppress_context__ = exc.__suppress_context__
    return out


def is_kotacerdas_error(exc: BaseException) -> bool:
    """Kept as they are: their message and hint were scrubbed when they were made (`KotacerdasError.scrub`)."""
    return isinstance(exc, KotacerdasError)
