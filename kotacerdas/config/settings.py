"""Every KOTACERDAS_* environment variable (and DAGSTER_HOME), read in this one place as pydantic settings.

Secrets named by config (a source's `token_env`, `url_env`, `password_env`, `${VAR}` in a URL) are read through
`environment()` too. A command that must hand values to the pipeline it runs in this process (the demo gives it
the simulator's address and token) uses `overridden_environment`, never `os.environ[...] = ...`.
"""

from __future__ import annotations

import os
import threading
from collections import ChainMap
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "KOTACERDAS_"
MIN_SECRET_LENGTH = 6  # shorter values ("guest") would blank out ordinary words of a message
_lock = threading.Lock()
_overrides: list[dict[str, str]] = []  # a stack: the innermost `overridden_environment` wins


class Settings(BaseSettings):
    """The deployment's settings from the environment; `config/` holds everything that is not per deployment."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True, populate_by_name=True)

    config_dir: Path | None = Field(default=None, description="the config/ folder (default: ./config)")
    warehouse_url: SecretStr | None = Field(
        default=None, description="SQLAlchemy URL of the warehouse; overrides pipeline.yaml, not a resource's own url"
    )
    landing_dir: str | None = Field(default=None, description="OPD file drops (default: pipeline.yaml)")
    raw_dir: str | None = Field(default=None, description="raw zone (default: pipeline.yaml)")
    reports_dir: str | None = Field(default=None, description="scorecards and exports (default: pipeline.yaml)")
    data_docs_dir: str | None = Field(default=None, description="Data Docs folder (default: quality.yaml)")
    pii_key: SecretStr | None = Field(
        default=None, description="HMAC key for pseudonyms of NIK, phone and e-mail; unset: they are dropped"
    )
    storage_key: SecretStr | None = Field(
        default=None,
        description="AES-256 key (32 bytes, url-safe base64) that encrypts the raw zone and Dagster's value store; "
        "required to ingest or replay (no clear-text fallback)",
    )
    storage_old_keys: SecretStr | None = Field(
        default=None, description="earlier storage keys, comma-separated: still read, never written (key rotation)"
    )
    alert_webhook_url: SecretStr | None = Field(default=None, description="where failed runs are posted")
    dagster_ui_url: str = Field(default="http://127.0.0.1:3000", description="UI address used in alert links")
    executor: Literal["multiprocess", "in_process", "celery", "k8s"] = Field(
        default="multiprocess", description="run executor"
    )
    celery_broker_url: SecretStr = Field(
        default=SecretStr("pyamqp://guest:guest@127.0.0.1:5672//"), description="Celery broker"
    )
    celery_queue: str = Field(default="dagster", description="Celery queue the workers listen on")
    dagster_home: Path | None = Field(
        default=None, validation_alias=AliasChoices("DAGSTER_HOME"), description="Dagster's instance folder"
    )

    def pii_key_bytes(self) -> bytes | None:
        return self.pii_key.get_secret_value().encode("utf-8") if self.pii_key else None

    def secret_values(self) -> list[str]:
        """Every secret this process was given through a setting (and the password of a URL setting): what
        no log line or error message may show."""
        values = []
        for name in type(self).model_fields:
            value = getattr(self, name)
            if not isinstance(value, SecretStr):
                continue
            text = value.get_secret_value()
            parts = urlsplit(text) if "://" in text else None
            if parts is not None:
                if parts.password:
                    values.append(unquote(parts.password))
                continue  # a URL without a password is not a secret as a whole (the default broker URL)
            values += [v.strip() for v in text.split(",") if v.strip()]
        return [v for v in values if len(v) >= MIN_SECRET_LENGTH]


# field -> the environment variable it is read from
ENV_NAMES: dict[str, str] = {
    name: "DAGSTER_HOME" if name == "dagster_home" else ENV_PREFIX + name.upper() for name in Settings.model_fields
}


def environment() -> Mapping[str, str]:
    """The process environment with the active overrides on top: what `${VAR}` and `token_env` resolve in."""
    with _lock:
        layers = list(reversed(_overrides))
    return ChainMap(*layers, os.environ)


def _environment_fingerprint() -> tuple:
    """What of the process environment Settings read: its variables by their usual (upper-case) names, and the
    number of variables, which changes when one is set under another case (pydantic-settings matches names
    case-insensitively; a new value of a variable already set under another case goes unseen until the count or an
    upper-case name changes). Looking up a score of names is cheap; walking the whole environment on every call was
    not (the scrubber calls `settings()` for every text it scrubs). CPython keeps the environment as a dict of
    encoded names and values under `os.environ`: read there, the lookups skip encoding each name and decoding each
    value (21 µs a call through `os.environ.get`, 2 µs there, some 190,000 calls in a national month, #15)."""
    data = getattr(os.environ, "_data", None)
    if isinstance(data, dict):
        return (len(data), *map(data.get, _ENCODED_NAMES))
    return (len(os.environ), *(os.environ.get(name) for name in ENV_NAMES.values()))


_ENCODED_NAMES = tuple(os.environ.encodekey(name) for name in ENV_NAMES.values())


def settings() -> Settings:
    """The settings as the environment says now, with the active overrides on top; cheap enough to call per use.

    Building Settings costs milliseconds (pydantic-settings parses every field's environment variable) and the
    personal-data scrubber asks for them for every text it scrubs, so the last one built is reused while the
    variables it reads and the overrides are unchanged (Settings is frozen).
    """
    global _cached
    with _lock:
        merged = {k: v for layer in _overrides for k, v in layer.items()}  # later (inner) layers win
    given: dict[str, Any] = {name: merged[key] for name, key in ENV_NAMES.items() if key in merged}
    key = (tuple(sorted(given.items())), _environment_fingerprint())
    cached = _cached
    if cached is not None and cached[0] == key:
        return cached[1]
    built = Settings(**given)  # pydantic-settings reads the process environment; `given` wins over it
    _cached = (key, built)
    return built


_cached: tuple[tuple, Settings] | None = None


@contextmanager
def overridden_environment(values: Mapping[str, str]) -> Iterator[None]:
    """Within the block, `environment()` and `settings()` see `values` over the process environment."""
    layer = dict(values)
    with _lock:
        _overrides.append(layer)
    try:
        yield
    finally:
        with _lock:
            _overrides.remove(layer)
