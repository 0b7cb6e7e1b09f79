"""REST connector: page through an OPD API with retries, backoff and a secret from the environment.

Transport faults (refused or dropped connections, timeouts, 429 with Retry-After, 5xx) are retried by
urllib3's `Retry` with exponential backoff and jitter. Faults in a 200 answer (a body cut off mid-JSON, a
page that repeats the previous one) are retried here, page by page, with the same backoff. Whatever still
fails becomes a SourceError naming the source, the URL (never a secret) and what to do.

The secret (bearer token or API key) only ever lives in the session's headers: it is never put in a URL, a
log line, an error message or the raw landing zone, and it goes only to the source's own origin (scheme, host,
port of the page URL): on a redirect to another origin the session drops every header the source config adds,
or refuses the redirect (`cross_origin_redirects`). Error bodies pass the scrubber before they are cut.

Repetition is told by record keys, not page bytes: a page whose rows were all read already (an API that ignores
`offset` and stamps each answer with the time) is a loop; `max_rows` and `max_bytes` cap what one fetch reads.
"""

from __future__ import annotations

import json
import logging
import random
import re
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from kotacerdas.config import RestSource, environment
from kotacerdas.errors import ConfigError, SourceError
from kotacerdas.periods import check_period, template_fields
from kotacerdas.privacy import scrub_text
from kotacerdas.schemas import get_table

log = logging.getLogger(__name__)

RETRY_STATUSES = (429, 500, 502, 503, 504)
MAX_PAGES = 10_000
LOOP_HINT = "the OPD API repeats pages; report it to the OPD (nothing of this partition was loaded)"
MAX_RETRY_AFTER = 60.0  # default cap, seconds; a server asking for longer fails instead of stalling the run
_ENV_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class _CappedRetry(Retry):
    """Honour Retry-After, but never sleep longer than `cap` seconds for one attempt."""

    cap = MAX_RETRY_AFTER

    def get_retry_after(self, response):
        seconds = super().get_retry_after(response)
        return None if seconds is None else min(seconds, self.cap)


@dataclass(frozen=True)
class Page:
    """One page as fetched: the exact bytes, the parsed rows and the pagination fields."""

    number: int
    url: str  # without secrets
    content: bytes
    rows: list[dict]
    total: int | None
    next_page: int | None
    next_cursor: str | None = None


def expand_env(value: str, env: Mapping[str, str], *, what: str) -> str:
    """Replace `${VAR}` with the environment value; an unset variable is a ConfigError naming it."""

    def repl(match: re.Match[str]) -> str:
        name = match.group(1)
        if not env.get(name):
            raise ConfigError(
                f"{what}: environment variable {name} is not set",
                hint=f"export {name}=<url of the OPD API>, e.g. the simulator's URL",
            )
        return env[name]

    return _ENV_RE.sub(repl, value)


def redact_url(url: str) -> str:
    """Drop any user:password@ from a URL before it is logged or stored."""
    parts = urlsplit(url)
    if parts.username or parts.password:
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        parts = parts._replace(netloc=netloc)
    return urlunsplit(parts)


def secret_of(source: RestSource, env: Mapping[str, str]) -> str | None:
    return env.get(source.token_env) if source.token_env else None


def origin_of(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) of a URL, the port filled in for http and https: what credentials are bound to."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or {"http": 80, "https": 443}.get(scheme)


class _OriginBoundSession(requests.Session):
    """Sends the source's credential headers only to the origin of the request that started the redirect chain.

    requests itself strips `Authorization` when the host changes, but not a custom header such as X-API-Key.
    """

    def __init__(self, source: RestSource, credential_headers: tuple[str, ...]):
        super().__init__()
        self.source = source
        self.credential_headers = credential_headers

    def rebuild_auth(self, prepared_request, response):
        super().rebuild_auth(prepared_request, response)
        start = response.history[0].url if response.history else response.url
        if origin_of(prepared_request.url) == origin_of(start):
            return
        target = redact_url(prepared_request.url)
        if self.source.cross_origin_redirects == "refuse":
            raise SourceError(
                f"{self.source.name}: {redact_url(response.url)} redirects to another origin ({target}); the "
                "redirect was refused and no credential was sent there",
                hint="point base_url at the API's real address, or set `cross_origin_redirects: drop_credentials` "
                "if the other host needs no credentials",
            )
        dropped = [h for h in self.credential_headers if prepared_request.headers.pop(h, None) is not None]
        if dropped:
            log.info("%s: redirect to another origin %s; dropped %s", self.source.name, target, ", ".join(dropped))


def build_session(source: RestSource, env: Mapping[str, str] | None = None) -> requests.Session:
    """A session that retries connect/read errors and 429/5xx with exponential backoff and jitter, and sends
    its credentials to the source's own origin only."""
    env = environment() if env is None else env
    retry_class = type("CappedRetry", (_CappedRetry,), {"cap": source.max_retry_after})
    retry = retry_class(
        total=source.retries,
        connect=source.retries,
        read=source.retries,
        status=source.retries,
        other=0,
        allowed_methods=frozenset({"GET"}),
        status_forcelist=RETRY_STATUSES,
        backoff_factor=source.backoff_factor,
        backoff_jitter=source.backoff_factor,
        respect_retry_after_header=True,
        raise_on_status=False,  # we turn the last bad answer into a SourceError with its body
    )
    credential_header = source.api_key_header if source.auth == "api_key" else "Authorization"
    session = _OriginBoundSession(source, (credential_header,))
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["Accept"] = "application/json"
    secret = secret_of(source, env)
    if secret:
        if source.auth == "api_key":
            session.headers[source.api_key_header] = secret
        else:
            session.headers["Authorization"] = f"Bearer {secret}"
    return session


class SessionPool:
    """One session per source (and secret) and thread, kept across partitions: a national month's thousands of
    pages then reuse their connections (keep-alive; over HTTPS, no handshake per city × OPD) instead of opening, and
    closing, one per city × OPD. Sessions are not shared between threads (requests does not promise it is safe);
    each is built by `build_session` from the environment of the fetch that asks for it, so it carries that
    source's secret and sends it to that source's origin only. A source with `retries: 0` gets none: a kept
    connection the server has just closed would fail its fetch, where a retry or a fresh connection would not.
    Close the pool when its partitions are done."""

    def __init__(self) -> None:
        self._local = threading.local()
        self._lock = threading.Lock()
        self._all: list[requests.Session] = []

    def session(self, source: RestSource, env: Mapping[str, str]) -> requests.Session | None:
        if source.retries == 0:
            return None
        sessions: dict[tuple[str, str | None], requests.Session] = self._local.__dict__.setdefault("sessions", {})
        key = (source.name, secret_of(source, env))
        session = sessions.get(key)
        if session is None:
            session = sessions[key] = build_session(source, env)
            with self._lock:
                self._all.append(session)
        session.cookies.clear()  # what one city's API set is not sent to the next
        return session

    def close(self) -> None:
        with self._lock:
            sessions, self._all = self._all, []
        for session in sessions:
            session.close()

    def __enter__(self) -> SessionPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def partition_url(source: RestSource, *, city: str, opd: str, period: str, env: Mapping[str, str]) -> str:
    """The URL of one partition: `{city}` `{opd}` and `{month}` or `{year}` of the path filled in."""
    check_period(get_table(source.table), period)
    base = expand_env(source.base_url, env, what=f"source {source.name!r} base_url").rstrip("/")
    fields = {"city": city, "opd": opd, **template_fields(period)}
    path = source.path.format(**{k: quote(v, safe="") for k, v in fields.items()})
    return base + path


def _with_params(url: str, params: dict[str, object]) -> str:
    return f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"


def _scrub(text: str, secret: str | None, limit: int | None = None) -> str:
    """Secrets and personal data out first, then (only then) the cut to `limit` characters."""
    clean = scrub_text(text, [secret])
    return clean if limit is None else clean[:limit]


def record_keys(source: RestSource, rows: list) -> set[str | tuple]:
    """One identity per row: the canonical table's key as the source sends it, or the whole row when a key value
    is missing (never the page's bytes, which a changing `server_time` alters on every answer).

    A key of strings is its own identity (a tuple); any other key or row is its JSON text, which tells 1 from "1"
    and true from 1. Either way two rows have the same identity exactly when they have the same key."""
    key_fields: list[list[str]] = []
    for column in get_table(source.table).key:
        names = [f for f, c in source.columns.items() if c == column]
        if not names:
            key_fields = []
            break
        key_fields.append(names)
    keys: set[str | tuple] = set()
    for row in rows:
        if not isinstance(row, dict):
            continue
        values = tuple(next((row[n] for n in names if row.get(n) not in (None, "")), None) for names in key_fields)
        if key_fields and all(type(v) is str for v in values):
            keys.add(values)
        elif key_fields and all(v is not None for v in values):
            keys.add(json.dumps(values, default=str))
        else:
            keys.add(json.dumps(row, sort_keys=True, default=str))
    return keys


def page_rows(content: bytes) -> tuple[dict, list]:
    """The JSON body of a page and its `data` list; ValueError/KeyError/TypeError if it is not one."""
    payload = json.loads(content)
    if not isinstance(payload, dict):
        raise TypeError("the body is not a JSON object")
    rows = payload["data"]
    if not isinstance(rows, list):
        raise TypeError("`data` is not a list")
    return payload, rows


def check_fields(source: RestSource, rows: list, where: str) -> None:
    """Every mapped canonical column must be delivered by one of its field names in every row.

    A field the API renamed or dropped would otherwise turn into a column of empty values downstream.
    """
    required = {c for c in source.columns.values() if c not in source.optional_columns}
    for i, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            raise SourceError(
                f"{source.name}: {where} row {i} is not a JSON object",
                hint="the API's response format changed; update the connector",
            )
        present = {source.columns[k] for k in row if k in source.columns}
        missing = required - present
        if missing:
            fields = sorted(f for f, c in source.columns.items() if c in missing)
            unmapped = sorted(
                k for k in row if k not in source.columns and k not in (source.watermark_field, source.entered_field)
            )
            renamed = f"; fields it sent that are not mapped: {unmapped}" if unmapped else ""
            raise SourceError(
                f"{source.name}: {where} row {i} lacks mapped field(s) {fields}{renamed} (schema drift: the "
                "OPD API renamed or dropped a field); nothing of this partition was loaded",
                hint=f"map the new field name in sources.yaml `columns` of {source.name!r} (several names may "
                "map to one column), list the column in `optional_columns` if it may be absent, or ask "
                "the OPD to restore the field",
            )


class _Pager:
    """One partition's pagination state for the three styles (page number, offset, cursor)."""

    def __init__(self, source: RestSource, url: str):
        self.source, self.url = source, url
        self.number, self.offset = 1, 0
        self.cursor: str | None = None
        self.seen_cursors: set[str] = set()

    def page_url(self, extra: Mapping[str, object]) -> str:
        size = self.source.page_size
        params: dict[str, object]
        if self.source.pagination == "page":
            params = {"page": self.number, "page_size": size}
        elif self.source.pagination == "offset":
            params = {"offset": self.offset, "limit": size}
        else:
            params = {"limit": size, **({"cursor": self.cursor} if self.cursor else {})}
        return _with_params(self.url, {**extra, **params})

    def advance(self, payload: dict, rows: list, safe_url: str) -> bool:
        """Move to the next page; False when this was the last one. SourceError on a pagination loop."""
        name = self.source.name
        self.number += 1
        if self.source.pagination == "page":
            next_page = payload.get("next_page")
            if next_page is None:
                return False
            if not isinstance(next_page, int) or next_page != self.number:
                kind = "gap" if isinstance(next_page, int) and next_page > self.number else "loop"
                raise SourceError(
                    f"{name}: pagination {kind} at {safe_url}: next_page {next_page!r} after page {self.number - 1}",
                    hint=LOOP_HINT,
                )
            return True
        if self.source.pagination == "offset":
            self.offset += len(rows)
            total = payload.get("total")
            if not rows or len(rows) < self.source.page_size:
                return False
            return not (isinstance(total, int) and self.offset >= total)
        cursor = payload.get("next_cursor")
        if cursor in (None, ""):
            return False
        if not isinstance(cursor, str) or cursor in self.seen_cursors:
            raise SourceError(
                f"{name}: pagination loop at {safe_url}: next_cursor {cursor!r} was already followed", hint=LOOP_HINT
            )
        self.seen_cursors.add(cursor)
        self.cursor = cursor
        return True


def fetch_pages(
    source: RestSource,
    *,
    city: str,
    opd: str,
    period: str,
    env: Mapping[str, str] | None = None,
    session: requests.Session | None = None,
    updated_since: str | None = None,
) -> Iterator[Page]:
    """Yield every page of one partition; raise SourceError on any failure that retrying did not cure.

    A page whose rows were all read already (by their record keys: a server glitch, paging that went back, or
    an API that ignores `offset`) is fetched once more after a backoff; if it still repeats, or a
    next_page/cursor points back, the partition fails with a pagination-loop error instead of duplicating rows
    forever. More than `max_rows` rows or `max_bytes` bytes in one fetch fail it too.
    """
    env = environment() if env is None else env
    secret = secret_of(source, env)
    url = partition_url(source, city=city, opd=opd, period=period, env=env)
    extra = {source.updated_since_param: updated_since} if updated_since else {}
    own_session = session is None
    session = session or build_session(source, env)
    pager = _Pager(source, url)
    seen_keys: set[str | tuple] = set()
    rows_read = bytes_read = 0
    try:
        while True:
            if pager.number > MAX_PAGES:
                raise SourceError(
                    f"{source.name}: more than {MAX_PAGES} pages for {city} {opd} {period}",
                    hint="raise page_size or check the API's pagination",
                )
            page_url = pager.page_url(extra)
            safe_url = redact_url(page_url)
            content, payload, rows, keys = _get_page(source, session, page_url, safe_url, secret, seen_keys)
            check_fields(source, rows, safe_url)
            seen_keys |= keys
            rows_read, bytes_read = rows_read + len(rows), bytes_read + len(content)
            _check_caps(source, rows_read, bytes_read, f"{city} {opd} {period}")
            total, next_page = payload.get("total"), payload.get("next_page")
            cursor = payload.get("next_cursor")
            yield Page(
                pager.number,
                safe_url,
                content,
                rows,
                total if isinstance(total, int) else None,
                next_page if isinstance(next_page, int) else None,
                cursor if isinstance(cursor, str) else None,
            )
            if not pager.advance(payload, rows, safe_url):
                return
    finally:
        if own_session:
            session.close()


def _check_caps(source: RestSource, rows: int, size: int, partition: str) -> None:
    """SourceError naming the source once one fetch passes its `max_rows` or `max_bytes`."""
    over = []
    if rows > source.max_rows:
        over.append(f"{rows} rows > max_rows {source.max_rows}")
    if size > source.max_bytes:
        over.append(f"{size} bytes > max_bytes {source.max_bytes}")
    if over:
        raise SourceError(
            f"{source.name}: {partition}: the fetch passed its cap ({'; '.join(over)}); stopped, nothing of this "
            "partition was loaded",
            hint=f"if the API really holds that much, raise max_rows / max_bytes of source {source.name!r} in "
            "sources.yaml; else the API pages wrongly: report it to the OPD",
        )


def _backoff(source: RestSource, attempt: int) -> None:
    delay = source.backoff_factor * (2**attempt) + random.uniform(0, source.backoff_factor)
    time.sleep(min(delay, 30.0))


def _get_page(
    source: RestSource,
    session: requests.Session,
    page_url: str,
    safe_url: str,
    secret: str | None,
    seen_keys: set[str | tuple],
) -> tuple[bytes, dict, list, set[str | tuple]]:
    """GET one page; retry (with backoff) a body that is cut off or repeats an earlier page. Returns the body, its
    JSON, its rows and their identities (`record_keys`)."""
    attempts = source.retries + 1
    for attempt in range(attempts):
        last = attempt == attempts - 1
        try:
            connect, read = source.timeout_seconds
            resp = session.get(page_url, timeout=(connect, read))
        except requests.exceptions.ChunkedEncodingError as exc:  # connection closed mid-body
            if last:
                raise SourceError(
                    _scrub(f"{source.name}: GET {safe_url}: the body was cut off {attempts} times: {exc}", secret),
                    hint="the OPD API or a proxy drops responses; re-run later or contact the OPD",
                ) from None
            _backoff(source, attempt)
            continue
        except requests.RequestException as exc:
            raise SourceError(
                _scrub(
                    f"{source.name}: GET {safe_url} failed after {source.retries} retries: {type(exc).__name__}: {exc}",
                    secret,
                ),
                hint=(
                    "the OPD API answers too slowly; raise timeout_seconds of the source or re-run later"
                    if isinstance(exc, requests.Timeout | requests.exceptions.ReadTimeout)
                    or "timed out" in str(exc).lower()
                    else "check that the OPD API is up and base_url is right, then re-run the partition"
                ),
            ) from None
        if resp.status_code != 200:
            body = _scrub(resp.text, secret, 300)
            hint = (
                "check the secret in the environment variable " + str(source.token_env)
                if resp.status_code in (401, 403)
                else "check the city/OPD codes against the OPD's API"
                if resp.status_code == 404
                else "the OPD API kept failing; re-run later or contact the OPD"
            )
            retried = f" after {source.retries} retries" if resp.status_code in RETRY_STATUSES else ""
            raise SourceError(
                f"{source.name}: GET {safe_url} answered HTTP {resp.status_code}{retried}: {body}", hint=hint
            ) from None
        content = resp.content
        try:
            payload, rows = page_rows(content)
        except (ValueError, KeyError, TypeError) as exc:
            if last:
                raise SourceError(
                    f"{source.name}: GET {safe_url} returned an unreadable body {attempts} times ({exc}): "
                    f"{_scrub(resp.text, secret, 200)}",
                    hint="the OPD API sends cut-off or malformed JSON; re-run later, and report it to the OPD if "
                    "it persists (the response format may have changed)",
                ) from None
            log.info("%s: unreadable body from %s (%s); retrying", source.name, safe_url, exc)
            _backoff(source, attempt)
            continue
        keys = record_keys(source, rows)
        if rows and keys <= seen_keys:
            if last:
                raise SourceError(
                    f"{source.name}: pagination loop at {safe_url}: every row of the page was read already "
                    f"on an earlier page ({attempts} attempts; the API may ignore the paging parameters)",
                    hint=LOOP_HINT,
                )
            log.info("%s: %s repeats an earlier page; fetching it again", source.name, safe_url)
            _backoff(source, attempt)
            continue
        return content, payload, rows, keys
    raise AssertionError("unreachable")
