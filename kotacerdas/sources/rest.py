"""REST connector: page through an OPD API with retries, backoff and a bearer token from the environment.

The token only ever lives in the session's headers: it is never put in a URL, a log line, an error message
or the raw landing zone.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from urllib.parse import quote, urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from kotacerdas.config import RestSource
from kotacerdas.errors import ConfigError, SourceError

log = logging.getLogger(__name__)

RETRY_STATUSES = (429, 500, 502, 503, 504)
MAX_PAGES = 10_000
LOOP_HINT = "the OPD API repeats pages; report it to the OPD (nothing of this partition was kept)"
MAX_RETRY_AFTER = 60.0  # seconds; a server asking for longer fails the partition instead of stalling the run
_ENV_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class _CappedRetry(Retry):
    """Honour Retry-After, but never sleep longer than MAX_RETRY_AFTER for one attempt."""

    def get_retry_after(self, response):  # type: ignore[no-untyped-def]
        seconds = super().get_retry_after(response)
        return None if seconds is None else min(seconds, MAX_RETRY_AFTER)


@dataclass(frozen=True)
class Page:
    """One page as fetched: the exact bytes, the parsed rows and the pagination fields."""

    number: int
    url: str  # without secrets
    content: bytes
    rows: list[dict]
    total: int | None
    next_page: int | None


def expand_env(value: str, env: Mapping[str, str], *, what: str) -> str:
    """Replace `${VAR}` with the environment value; an unset variable is a ConfigError naming it."""

    def repl(match: re.Match[str]) -> str:
        name = match.group(1)
        if not env.get(name):
            raise ConfigError(f"{what}: environment variable {name} is not set",
                              hint=f"export {name}=<url of the OPD API>, e.g. the simulator's URL")
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


def build_session(source: RestSource, env: Mapping[str, str] | None = None) -> requests.Session:
    """A session that retries connect/read errors and 429/5xx with exponential backoff and jitter."""
    env = os.environ if env is None else env
    retry = _CappedRetry(
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
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["Accept"] = "application/json"
    token = env.get(source.token_env) if source.token_env else None
    if token:
        session.headers["Authorization"] = f"Bearer {token}"
    return session


def partition_url(source: RestSource, *, city: str, opd: str, month: str, env: Mapping[str, str]) -> str:
    base = expand_env(source.base_url, env, what=f"source {source.name!r} base_url").rstrip("/")
    path = source.path.format(city=quote(city, safe=""), opd=quote(opd, safe=""), month=quote(month, safe=""))
    return base + path


def _page_url(url: str, page: int, page_size: int) -> str:
    return f"{url}{'&' if '?' in url else '?'}page={page}&page_size={page_size}"


def _scrub(text: str, secret: str | None) -> str:
    return text.replace(secret, "***") if secret else text


def fetch_pages(source: RestSource, *, city: str, opd: str, month: str, env: Mapping[str, str] | None = None,
                session: requests.Session | None = None) -> Iterator[Page]:
    """Yield every page of one partition, following `next_page`; raise SourceError on any failure.

    Stops with an error if the server sends a page twice or points back to a page already read (a loop
    would otherwise duplicate rows forever).
    """
    env = os.environ if env is None else env
    token = env.get(source.token_env) if source.token_env else None
    url = partition_url(source, city=city, opd=opd, month=month, env=env)
    own_session = session is None
    session = session or build_session(source, env)
    seen_pages: set[int] = set()
    seen_digests: set[str] = set()
    page = 1
    try:
        while True:
            page_url = _page_url(url, page, source.page_size)
            safe_url = redact_url(page_url)
            if len(seen_pages) >= MAX_PAGES:
                raise SourceError(f"{source.name}: more than {MAX_PAGES} pages for {city} {opd} {month}",
                                  hint="raise page_size or check the API's pagination")
            try:
                resp = session.get(page_url, timeout=tuple(source.timeout_seconds))
            except requests.RequestException as exc:
                raise SourceError(
                    _scrub(f"{source.name}: GET {safe_url} failed after {source.retries} retries: "
                           f"{type(exc).__name__}: {exc}", token),
                    hint="check that the OPD API is up and base_url is right, then re-run the partition",
                ) from None
            if resp.status_code != 200:
                body = _scrub(resp.text[:300], token)
                hint = ("check the token in the environment variable " + str(source.token_env)
                        if resp.status_code in (401, 403)
                        else "check the city/OPD codes against the OPD's API" if resp.status_code == 404
                        else "the OPD API kept failing; re-run later or contact the OPD")
                retried = f" after {source.retries} retries" if resp.status_code in RETRY_STATUSES else ""
                raise SourceError(f"{source.name}: GET {safe_url} answered HTTP {resp.status_code}{retried}: "
                                  f"{body}", hint=hint)
            content = resp.content
            try:
                payload = json.loads(content)
                rows = payload["data"]
                if not isinstance(rows, list):
                    raise TypeError("`data` is not a list")
            except (ValueError, KeyError, TypeError) as exc:
                raise SourceError(f"{source.name}: GET {safe_url} returned an unexpected body ({exc}): "
                                  f"{_scrub(resp.text[:200], token)}",
                                  hint="the API's response format changed; update the connector") from None
            digest = hashlib.sha256(content).hexdigest()
            if page in seen_pages or (rows and digest in seen_digests):
                raise SourceError(f"{source.name}: pagination loop at {safe_url}: page {page} repeats a "
                                  "page already read", hint=LOOP_HINT)
            seen_pages.add(page)
            seen_digests.add(digest)
            next_page = payload.get("next_page")
            total = payload.get("total")
            yield Page(page, safe_url, content, rows, total if isinstance(total, int) else None,
                       next_page if isinstance(next_page, int) else None)
            if next_page is None:
                return
            if not isinstance(next_page, int) or next_page <= page or next_page in seen_pages:
                raise SourceError(f"{source.name}: pagination loop at {safe_url}: next_page {next_page!r} "
                                  f"after page {page}", hint=LOOP_HINT)
            page = next_page
    finally:
        if own_session:
            session.close()
