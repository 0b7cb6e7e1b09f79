"""The one Great Expectations (GX Core 1.x) runtime of this process: imported lazily, ephemeral, created once.

Importing GX takes seconds, so nothing imports it at module level; the context and its pandas data source are
kept for the life of the process and reused by every validation.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from kotacerdas.errors import ConfigError

DATASOURCE_NAME = "kotacerdas"

_lock = threading.RLock()
_context: Any = None
_source: Any = None
_batch_definitions: dict[str, Any] = {}


def import_gx() -> Any:
    # Must be set before the first import: GX reads it when it initialises its usage statistics.
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx

    return gx


def lock() -> threading.RLock:
    """GX's validator is not documented as thread-safe; validations in one process take this lock."""
    return _lock


def get_context() -> Any:
    """The process-wide ephemeral GX context (no files written), with progress bars off."""
    global _context, _source
    with _lock:
        if _context is None:
            gx = import_gx()
            from great_expectations.data_context.types.base import ProgressBarsConfig

            context = gx.get_context(mode="ephemeral")
            context.variables.progress_bars = ProgressBarsConfig(globally=False)
            _source = context.data_sources.add_pandas(DATASOURCE_NAME)
            _context = context
        return _context


def batch_definition(table_name: str) -> Any:
    """A whole-dataframe batch definition for `table_name` in our pandas data source (made on first use)."""
    with _lock:
        bd = _batch_definitions.get(table_name)
        if bd is None:
            get_context()
            asset = _source.add_dataframe_asset(name=table_name)
            bd = asset.add_batch_definition_whole_dataframe(f"{table_name}_whole")
            _batch_definitions[table_name] = bd
        return bd


def expectation_class(type_name: str, *, where: str) -> type:
    """The GX Expectation class for a snake_case name, e.g. `expect_column_values_to_be_in_set`."""
    import_gx()
    from great_expectations.exceptions import ExpectationNotFoundError
    from great_expectations.expectations.registry import get_expectation_impl

    try:
        return get_expectation_impl(type_name)
    except ExpectationNotFoundError:
        raise ConfigError(
            f"{where}: unknown expectation type {type_name!r}",
            hint="use the snake_case name of a GX Core 1.x expectation, e.g. expect_column_values_to_be_null",
        ) from None


@contextmanager
def memoized_configurations() -> Iterator[None]:
    """Within the block, each GX Expectation builds its `.configuration` once instead of on every access.

    GX 1.x rebuilds it (a pydantic v1 `.dict()` of the expectation) each time it is read, about 140 times per
    expectation per validation: over half of a validation's time on a month's partition. The expectations GX makes
    while validating are not changed after they are made (it edits deep copies of configurations), so one build
    per expectation object gives the same result. The cache keeps each object alive, so that no id is reused, and
    is dropped when the block ends. Take `lock()` around the block: the property is swapped on the class.
    """
    from great_expectations.expectations.expectation import Expectation

    original = Expectation.__dict__["configuration"]
    cache: dict[int, tuple[Any, Any]] = {}

    def configuration(self: Any) -> Any:
        hit = cache.get(id(self))
        if hit is None or hit[0] is not self:
            hit = cache[id(self)] = (self, original.fget(self))
        return hit[1]

    setattr(Expectation, "configuration", property(configuration, doc=original.__doc__))  # noqa: B010 - mypy refuses assigning to a method
    try:
        yield
    finally:
        setattr(Expectation, "configuration", original)  # noqa: B010
        cache.clear()
