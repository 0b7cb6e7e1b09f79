"""Pseudonymise personal data (NIK, phone, e-mail) with keyed HMAC-SHA256: no clear value leaves staging.

The same person gets the same pseudonym across tables and months as long as the key stays the same, which
keeps counts of distinct applicants possible without holding the NIK. Without a key the values are dropped.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from collections.abc import Mapping

import pandas as pd

PII_KEY_ENV = "KOTACERDAS_PII_KEY"
REDACTED = "<redacted>"


def pii_key_from_env(env: Mapping[str, str] | None = None) -> bytes | None:
    """The pseudonymisation key from KOTACERDAS_PII_KEY, or None when unset (PII is then dropped)."""
    value = (os.environ if env is None else env).get(PII_KEY_ENV)
    return value.encode("utf-8") if value else None


def normalise(value: object, kind: str) -> str:
    """One spelling per person: NIK digits only; phone as 08…; e-mail lower-case."""
    text = str(value).strip()
    if kind == "nik":
        return re.sub(r"\D", "", text)
    if kind == "phone":
        digits = re.sub(r"\D", "", text)
        return "0" + digits[2:] if digits.startswith("62") else digits
    if kind == "email":
        return text.lower()
    return text


def pseudonymise(value: object, kind: str, key: bytes | None) -> str | None:
    """Hex HMAC-SHA256 of the normalised value (the kind is mixed in, so a NIK and a phone never collide);
    None for missing values or when there is no key."""
    if value is None or key is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA:
        return None
    text = normalise(value, kind)
    if not text:
        return None
    return hmac.new(key, f"{kind}:{text}".encode(), hashlib.sha256).hexdigest()


def pseudonymise_series(series: pd.Series, kind: str, key: bytes | None) -> pd.Series:
    values = [pseudonymise(None if pd.isna(v) else v, kind, key) for v in series.astype(object)]
    return pd.Series(pd.array(values, dtype="string"), index=series.index, name=series.name)


def safe_text(value: object, kind: str | None, key: bytes | None) -> str:
    """A value as it may appear in quarantine: clear unless it is personal data."""
    if kind is None:
        return str(value)
    return pseudonymise(value, kind, key) or REDACTED
