"""Post alerts (e.g. a failed run) as JSON to a webhook, retrying like every other HTTP call here."""

from __future__ import annotations

from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from kotacerdas.errors import KotacerdasError

WEBHOOK_URL_ENV = "KOTACERDAS_ALERT_WEBHOOK_URL"


def _session(retries: int, backoff: float) -> requests.Session:
    retry = Retry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        backoff_factor=backoff,
        backoff_jitter=backoff,
        status_forcelist=(429, 500, 502, 503, 504),
        allowed_methods=frozenset({"POST"}),
        respect_retry_after_header=True,
        raise_on_status=False,
    )
    session = requests.Session()
    session.mount("http://", HTTPAdapter(max_retries=retry))
    session.mount("https://", HTTPAdapter(max_retries=retry))
    return session


def where(url: str) -> str:
    """Scheme and host only: webhook paths often carry the secret (Slack, Teams, Discord)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}/…"


def post_webhook(
    url: str, payload: dict, *, retries: int = 3, backoff: float = 0.5, timeout: tuple[float, float] = (3.05, 10.0)
) -> int:
    """POST `payload`; returns the HTTP status, raises KotacerdasError when the hook cannot take it."""
    try:
        with _session(retries, backoff) as session:
            response = session.post(url, json=payload, timeout=timeout)
    except requests.RequestException as exc:
        raise KotacerdasError(
            f"alert webhook {where(url)} unreachable: {type(exc).__name__}",
            hint=f"check {WEBHOOK_URL_ENV} and that the receiver is up",
        ) from exc
    if response.status_code >= 400:
        raise KotacerdasError(
            f"alert webhook {where(url)} answered {response.status_code}: {response.text[:200]}",
            hint="check the webhook's URL and what payload it accepts",
        )
    return response.status_code
