"""SQL connector: run a configured query against any SQLAlchemy URL and read the result in chunks.

The URL (with its credentials) comes from the environment variable named in `url_env`; only its redacted form
(password replaced by ***) ever appears in errors, logs or the raw zone. Each chunk is stored in the raw zone
as JSON (`{"query", "params", "columns", "data"}`), the same shape REST pages have, so replay reads both alike.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal

import sqlalchemy as sa

from kotacerdas.config import SqlSource, environment
from kotacerdas.errors import ConfigError, SourceError
from kotacerdas.periods import cadence_of, period_bounds
from kotacerdas.privacy import scrub_text

SQL_HINT = "check the query and the database in sources.yaml / the environment, then re-run the partition"


@dataclass(frozen=True)
class Chunk:
    number: int
    content: bytes  # the JSON stored in the raw zone
    rows: list[dict]


def database_url(source: SqlSource, env: Mapping[str, str]) -> sa.URL:
    text = env.get(source.url_env)
    if not text:
        raise ConfigError(
            f"source {source.name!r}: environment variable {source.url_env} is not set",
            hint=f"export {source.url_env}=<SQLAlchemy URL of the OPD database>",
        )
    try:
        return sa.make_url(text)
    except sa.exc.ArgumentError:
        raise ConfigError(
            f"source {source.name!r}: {source.url_env} does not hold a SQLAlchemy URL",
            hint="use the form dialect+driver://user:password@host:port/database",
        ) from None


def url_password(text: str | None) -> str | None:
    """The password in a URL's text (what must never be shown); all of it if it does not parse."""
    if not text:
        return None
    try:
        return sa.make_url(text).password
    except sa.exc.ArgumentError:
        return text


def display_url(source: SqlSource, env: Mapping[str, str]) -> str:
    """The database URL with its password replaced by ***, or a placeholder naming the variable."""
    try:
        return database_url(source, env).render_as_string(hide_password=True)
    except ConfigError:
        return f"${{{source.url_env}}}"


def query_params(source: SqlSource, *, city: str, opd: str | None, period: str) -> dict[str, object]:
    """The parameters the query uses, of: city, opd and month (YYYY-MM), month_start, month_end (dates) for a
    month, or year (YYYY), year_start, year_end (dates) for a year."""
    start, end = period_bounds(period)
    unit = "month" if cadence_of(period) == "monthly" else "year"
    offered = {"city": city, "opd": opd, unit: period, f"{unit}_start": start, f"{unit}_end": end}
    used = set(sa.text(source.query).compile().params)
    unknown = sorted(used - set(offered))
    if unknown:
        raise ConfigError(
            f"source {source.name!r}: the query uses unknown parameter(s) {unknown}",
            hint=f"use only :{', :'.join(offered)}",
        )
    if "opd" in used and opd is None:
        raise ConfigError(
            f"source {source.name!r}: the query uses :opd but per_opd is false",
            hint="set `per_opd: true` for the source",
        )
    return {k: v for k, v in offered.items() if k in used}


def _jsonable(value: object) -> object:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    return value


def fetch_chunks(
    source: SqlSource, *, city: str, opd: str | None, period: str, env: Mapping[str, str] | None = None
) -> Iterator[Chunk]:
    """Yield the query's result in chunks of `chunk_size` rows (at least one chunk, maybe empty)."""
    env = environment() if env is None else env
    url = database_url(source, env)
    params = query_params(source, city=city, opd=opd, period=period)
    shown = url.render_as_string(hide_password=True)
    secret = url.password

    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=source.chunk_size).execute(
                sa.text(source.query), params
            )
            columns = list(result.keys())
            missing = _missing_columns(source, columns)
            if missing:
                raise SourceError(
                    f"{source.name}: the query on {shown} returns no column for {missing} (columns: {columns}); "
                    "nothing of this partition was loaded",
                    hint="map the column's new name in sources.yaml `columns`, or fix the query",
                )
            number = rows_read = bytes_read = 0
            for part in result.partitions(source.chunk_size):
                number += 1
                rows = [{c: _jsonable(v) for c, v in zip(columns, row, strict=True)} for row in part]
                content = _payload(source, params, columns, rows)
                rows_read, bytes_read = rows_read + len(rows), bytes_read + len(content)
                _check_caps(source, rows_read, bytes_read, f"{city} {opd or 'all OPDs'} {period}")
                yield Chunk(number, content, rows)
            if number == 0:
                yield Chunk(1, _payload(source, params, columns, []), [])
    except sa.exc.SQLAlchemyError as exc:
        # the password (and any personal data a value in the error quotes) out before the message is cut to a line
        detail = (scrub_text(str(getattr(exc, "orig", None) or exc), [secret]).strip().splitlines() or [""])[0]
        raise SourceError(
            f"{source.name}: query on {shown} failed: {type(exc).__name__}: {detail}", hint=SQL_HINT
        ) from None
    finally:
        engine.dispose()


def _check_caps(source: SqlSource, rows: int, size: int, partition: str) -> None:
    over = [f"{rows} rows > max_rows {source.max_rows}"] if rows > source.max_rows else []
    over += [f"{size} bytes > max_bytes {source.max_bytes}"] if size > source.max_bytes else []
    if over:
        raise SourceError(
            f"{source.name}: {partition}: the query passed its cap ({'; '.join(over)}); stopped, nothing of this "
            "partition was loaded",
            hint=f"check the query's filters, or raise max_rows / max_bytes of source {source.name!r} in sources.yaml",
        )


def _missing_columns(source: SqlSource, columns: list[str]) -> list[str]:
    present = {source.columns[c] for c in columns if c in source.columns}
    return sorted({c for c in source.columns.values() if c not in present and c not in source.optional_columns})


def _payload(source: SqlSource, params: dict, columns: list[str], rows: list[dict]) -> bytes:
    body = {
        "source": source.name,
        "query": source.query,
        "params": {k: _jsonable(v) for k, v in params.items()},
        "columns": columns,
        "data": rows,
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
