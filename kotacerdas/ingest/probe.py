"""Ask a REST source, cheaply, how many rows a partition has (or has changed since a watermark)."""

from __future__ import annotations

from collections.abc import Mapping

from kotacerdas.config import RestSource
from kotacerdas.ingest.rest import fetch_pages


def probe_rows(
    source: RestSource,
    *,
    city: str,
    opd: str,
    month: str,
    env: Mapping[str, str] | None = None,
    since: str | None = None,
) -> int:
    """The API's `total` for the partition, from a one-row first page; with `since` (and a watermark field in
    the source) only the rows changed after it. Raises SourceError when the source cannot answer."""
    small = source.model_copy(update={"page_size": 1})
    first = next(
        fetch_pages(
            small, city=city, opd=opd, period=month, env=env, updated_since=since if source.watermark_field else None
        )
    )
    return first.total if first.total is not None else len(first.rows)
