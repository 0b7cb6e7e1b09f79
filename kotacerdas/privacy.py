"""Personal data (NIK, phone, e-mail): keyed HMAC-SHA256 pseudonyms, and a scrubber for every text column.

Declared personal-data columns (`CanonicalTable.pii_columns`) are pseudonymised whole. Any other text — free text,
categories, evidence references, ids, rejected values — is scanned for NIKs (16 digits), Indonesian phone numbers
and e-mail addresses, and each one found is replaced by `[nik:<hmac>]` (or `[nik]` when the policy drops them or
no key is set). The same person gets the same pseudonym across tables and months as long as the key stays the
same, which keeps counts of distinct applicants possible without holding the NIK.

`scrub_text` is the one choke point for text leaving ingestion: error messages (every KotacerdasError), log
records (`kotacerdas.logs`), Dagster metadata and check descriptions, and the warehouse's free-text columns.
It removes the secrets it is given and those of the settings first, then personal data, before any truncation.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache

import numpy as np
import pandas as pd
import pydantic

from kotacerdas.config import PersonalDataPolicy, ProjectConfig, Settings, settings
from kotacerdas.errors import KotacerdasError
from kotacerdas.schemas import PII_KINDS, CanonicalTable, typed_frame

REDACTED = "<redacted>"
SECRET_MARK = "***"
# Hex digits of a pseudonym in a file name: enough to tell files apart and to match the full one's start.
NAME_PSEUDONYM_LENGTH = 12


def pii_key_from_env() -> bytes | None:
    """The pseudonymisation key (KOTACERDAS_PII_KEY), or None when unset (personal data is then dropped)."""
    return settings().pii_key_bytes()


_NOT_DIGIT = re.compile(r"\D")


def normalise(value: object, kind: str) -> str:
    """One spelling per person: NIK digits only; phone as 08…; e-mail lower-case."""
    text = str(value).strip()
    if kind == "nik":
        return _NOT_DIGIT.sub("", text)
    if kind == "phone":
        digits = _NOT_DIGIT.sub("", text)
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
    # the one-shot form: the same HMAC as hmac.new(...).hexdigest(), without building its two hash objects
    return hmac.digest(key, f"{kind}:{text}".encode(), "sha256").hex()


def pseudonymise_series(series: pd.Series, kind: str, key: bytes | None) -> pd.Series:
    """Each value's pseudonym; a value repeated in the column (the same applicant, the same officer) is hashed once."""
    values = series.astype(object).to_numpy()
    missing = pd.isna(values)
    pseudonyms: dict[tuple[type, object], str | None] = {}  # by type too: 1 and True are equal keys, not spellings

    def pseudonym(value: object) -> str | None:
        seen = (type(value), value)
        if seen not in pseudonyms:
            pseudonyms[seen] = pseudonymise(value, kind, key)
        return pseudonyms[seen]

    out = [None if absent else pseudonym(v) for v, absent in zip(values, missing, strict=True)]
    return pd.Series(pd.array(out, dtype="string"), index=series.index, name=series.name)


def safe_text(value: object, kind: str | None, key: bytes | None) -> str:
    """A value as it may appear in quarantine: clear unless it is personal data."""
    if kind is None:
        return str(value)
    return pseudonymise(value, kind, key) or REDACTED


# --- policy (config/quality.yaml, section `personal_data`) ---------------------------------------------------


@lru_cache(maxsize=8)
def _policy_of(config_dir: str) -> PersonalDataPolicy:
    return ProjectConfig(config_dir).quality.personal_data


def default_policy() -> PersonalDataPolicy:
    """The policy of the project's config folder (KOTACERDAS_CONFIG_DIR or ./config), read once a process."""
    return _policy_of(str(ProjectConfig().dir))


# --- finding personal data in text -----------------------------------------------------------------------------

# Already replaced: never scanned again (a 64-hex pseudonym can hold 16 decimal digits in a row); the second form
# is a file name's (`nik-<12 hex>`, see `scrub_file_name`), with a letter among the 12 so that `phone-081234567890`
# is still scanned as the phone number it is.
_TOKEN = (
    r"\[(?:nik|phone|email)(?::[0-9a-f]{64})?\]"
    r"|(?<![\w-])(?:nik|phone|email)-(?=[0-9]{0,11}[a-f])[0-9a-f]{12}(?![\w@])"
)
_EMAIL = r"(?<![\w.%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
# NIK: 16 digits, possibly grouped 6-6-4 or 4-4-4-4; no other digit directly around it.
_NIK = r"(?<!\d)(?:\d{16}|\d{6}[ .-]\d{6}[ .-]\d{4}|\d{4}[ .-]\d{4}[ .-]\d{4}[ .-]\d{4})(?!\d)"
# Mobile: 08…, 628…, +62 8…, with spaces, dots, dashes or brackets; landline: (0717) 422145, 021-5550123, +62 21 …
_MOBILE = r"(?<![\w+])(?:\+62|62|0)[ .-]?\(?8\d{1,3}\)?(?:[ .-]?\d{2,5}){1,3}(?![\w@])"
_AREA = r"(?:\+62[ .-]?|0)[1-79]\d{1,3}"
_LANDLINE = rf"(?<![\w+])(?:\({_AREA}\)|{_AREA})[ .-]?\d{{3,4}}[ .-]?\d{{2,4}}(?![\w@])"
_KIND_GROUPS = {"email": _EMAIL, "nik": _NIK, "mobile": _MOBILE, "landline": _LANDLINE}
_SCAN = re.compile("|".join([f"(?P<token>{_TOKEN})"] + [f"(?P<{k}>{p})" for k, p in _KIND_GROUPS.items()]))
# Cheap test a value must pass before the full scan: an @, or 9+ digits with separators between them.
_MAYBE = re.compile(r"@|\d(?:[ .()+-]{0,2}\d){8}")


def _phone_ok(text: str, mobile: bool) -> bool:
    digits = normalise(text, "phone")
    if mobile:
        return digits.startswith("08") and 10 <= len(digits) <= 13
    return digits.startswith("0") and digits[1:2] != "8" and 9 <= len(digits) <= 12


class Scrubber:
    """Replaces every NIK, phone number and e-mail address in a text; callable on str, Series or frames.

    In text a replacement reads `[nik:<64 hex>]`; with `for_names` it reads `nik-<first 12 hex>` (or `nik` without a
    key), which a file system and the raw zone's path rules keep as it is.
    """

    def __init__(self, key: bytes | None, policy: PersonalDataPolicy | None = None, *, for_names: bool = False):
        self.policy = policy or PersonalDataPolicy()
        self.key = key if self.policy.free_text == "pseudonymise" else None
        self.kinds = set(self.policy.scan)
        self.found: dict[str, int] = dict.fromkeys(PII_KINDS, 0)
        self.for_names = for_names

    def _replace(self, match: re.Match[str]) -> str:
        group = match.lastgroup
        text = match.group(0)
        if group == "token":
            return text
        kind = "phone" if group in ("mobile", "landline") else group
        if kind not in self.kinds or (kind == "phone" and not _phone_ok(text, group == "mobile")):
            return text
        self.found[kind] += 1
        pseudonym = pseudonymise(text, kind, self.key)
        if self.for_names:
            return f"{kind}-{pseudonym[:NAME_PSEUDONYM_LENGTH]}" if pseudonym else kind
        return f"[{kind}:{pseudonym}]" if pseudonym else f"[{kind}]"

    def text(self, value: str) -> str:
        if not _MAYBE.search(value):
            return value
        return _SCAN.sub(self._replace, value)

    def series(self, values: pd.Series) -> pd.Series:
        """Text values scrubbed; each distinct value is scanned once (codes and categories repeat a lot)."""
        uniques = [u for u in pd.unique(values.to_numpy(dtype=object)) if isinstance(u, str)]  # what map() replaces
        if not _MAYBE.search("\n".join(uniques)):  # one scan of the column (a line feed joins no digits)
            return values
        changed = {u: s for u in uniques if (s := self.text(u)) != u}
        if not changed:
            return values
        return values.map(lambda v: changed.get(v, v) if isinstance(v, str) else v).astype(values.dtype)

    def frame(self, frame: pd.DataFrame, columns: Iterable[str]) -> pd.DataFrame:
        out = frame.copy()
        for column in columns:
            if column in out.columns:
                values = out[column]
                if (scrubbed := self.series(values)) is not values:  # series() hands back what needs no change
                    out[column] = scrubbed
        return out


# Columns never scanned: lineage (paths we make) and the partition's own codes.
_NOT_SCANNED = frozenset({"_raw_file", "_raw_row", "_raw_sha256"})
# Quarantine columns that can hold a delivered value.
QUARANTINE_TEXT = ("value", "reason", "record_key", "opd_code")
# A 16-digit whole number in a numeric column is treated as a NIK (1e15 <= |x| < 1e16).
_NIK_NUMBER = (1e15, 1e16)


def text_columns(frame: pd.DataFrame, exclude: Iterable[str] = ()) -> list[str]:
    skip = _NOT_SCANNED | set(exclude)
    return [c for c, d in frame.dtypes.items() if c not in skip and pd.api.types.is_string_dtype(d)]


def nik_like_numbers(values: pd.Series) -> np.ndarray:
    """Positions of numeric cells that are 16-digit whole numbers (a NIK typed into a number column)."""
    numbers = pd.to_numeric(values, errors="coerce").astype("float64").to_numpy(na_value=np.nan)
    magnitude = np.abs(numbers)
    with np.errstate(invalid="ignore"):
        hit = (magnitude >= _NIK_NUMBER[0]) & (magnitude < _NIK_NUMBER[1]) & (np.floor(magnitude) == magnitude)
    return np.flatnonzero(hit)


def scrub_staged(
    frame: pd.DataFrame,
    rejected: pd.DataFrame,
    table: CanonicalTable,
    *,
    city: str,
    month: str,
    key: bytes | None,
    policy: PersonalDataPolicy | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Scrub staging's output: personal data in any text column of the staged rows and of the rejected rows.

    Declared personal-data columns are left alone (already pseudonymised whole). A 16-digit whole number in a
    numeric column sets its row aside (rule `personal_data:<column>`, value pseudonymised): the number cannot be
    kept, and the row without it would be wrong.
    """
    scrub = Scrubber(key, policy or default_policy())
    frame = scrub.frame(frame, text_columns(frame, exclude=table.pii_columns))
    rejected = scrub.frame(rejected, QUARANTINE_TEXT)
    if "nik" not in scrub.kinds:
        return frame, rejected
    extra: list[dict] = []
    drop: set[int] = set()
    for column, dtype in frame.dtypes.items():
        if column in _NOT_SCANNED or not pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
            continue
        for pos in nik_like_numbers(frame[column]):
            row = frame.iloc[pos]
            key_text = "|".join("" if pd.isna(row.get(k)) else str(row.get(k)) for k in table.key)
            extra.append(
                {
                    "table_name": table.name,
                    "city_code": city,
                    "period": month,
                    "opd_code": row.get("opd_code"),
                    "rule": f"personal_data:{column}",
                    "severity": "error",
                    "column_name": column,
                    "value": scrub.text(f"{float(row[column]):.0f}"),
                    "reason": f"{column}: a 16-digit number (a NIK?) where a number belongs; the row is set aside and "
                    "the value is not kept",
                    "record_key": key_text,
                    "_raw_file": row.get("_raw_file"),
                    "_raw_row": row.get("_raw_row"),
                }
            )
            drop.add(pos)
    if extra:
        keep = np.ones(len(frame), dtype=bool)
        keep[sorted(drop)] = False
        extra_frame = typed_frame(extra, rejected.dtypes.to_dict())
        rejected = pd.concat([rejected, extra_frame], ignore_index=True)
        rejected = rejected.sort_values(["_raw_file", "_raw_row", "rule"], kind="stable").reset_index(drop=True)
        frame = frame[keep].reset_index(drop=True)
    return frame, rejected


# Free-text columns of the ingest log (error messages can quote what a source sent).
_PUBLISHED_TEXT = {
    "ingest_failures": ("origin", "message", "hint"),
    "raw_files": ("origin",),
    "opd_timeliness": ("failure_message",),
}


def scrub_published_text(
    frames: Mapping[str, pd.DataFrame], key: bytes | None, policy: PersonalDataPolicy | None = None
) -> dict[str, pd.DataFrame]:
    """The ingest log frames (`ingest_failures`, `raw_files`, `opd_timeliness`) with personal data replaced in their
    free text."""
    scrub = Scrubber(key, policy or default_policy())
    return {name: scrub.frame(frame, _PUBLISHED_TEXT.get(name, ())) for name, frame in frames.items()}


# --- one choke point for text leaving ingestion: messages, logs, metadata ----------------------------------------


def scrub_secrets(text: str, secrets: Iterable[str | None] = ()) -> str:
    """`text` with every given secret (and every secret of the settings) replaced by ***."""
    return _replace_secrets(text, _secrets_longest_first(secrets))


def _replace_secrets(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, SECRET_MARK)
    return text


_settings_secrets: tuple[object, list[str]] | None = None  # the last Settings seen and its secrets


def _secrets_longest_first(given: Iterable[str | None] = ()) -> list[str]:
    """The given secrets and the settings' own, longest first (a secret that contains another is replaced whole).
    Metadata and Data Docs scrub thousands of texts per run: the settings' part is worked out once per Settings
    object (`settings()` hands out the same frozen object while the environment is unchanged)."""
    global _settings_secrets
    try:
        current: object = settings()
    except pydantic.ValidationError:  # a malformed setting must not hide the message being scrubbed
        current = None
    cached = _settings_secrets
    if cached is None or cached[0] is not current:
        known = current.secret_values() if isinstance(current, Settings) else []
        cached = _settings_secrets = (current, sorted(set(known), key=len, reverse=True))
    secrets: list[str] = [s for s in given if s]
    return sorted({*secrets, *cached[1]}, key=len, reverse=True) if secrets else cached[1]


def _text_scrubber(for_names: bool = False) -> Scrubber:
    """Every kind of personal data, pseudonymised with the environment's key (dropped without one)."""
    try:
        key = pii_key_from_env()
    except pydantic.ValidationError:
        key = None
    return Scrubber(key, PersonalDataPolicy(), for_names=for_names)


# The extensions of the files OPDs deliver (and of what they are packed in).
_EXTENSIONS = ("csv", "tsv", "txt", "xlsx", "xlsm", "xls", "json", "jsonl", "xml", "zip", "gz", "parquet", "pdf", "ods")
# A file name in a text: a run without spaces, quotes, brackets or path separators ending in such an extension.
_FILE_NAME = re.compile(rf"[^\s/\\'\"`<>|:;,()\[\]{{}}]+\.(?:{'|'.join(_EXTENSIONS)})(?![\w.])", re.IGNORECASE)
# Inside a name, `_` and spaces separate the parts (an e-mail's local part may hold `_`, a name's parts may not).
_NAME_PARTS = re.compile(r"([_\s]+)")


def scrub_file_name(name: str) -> str:
    """A file name (or a relative path) as it may be stored: each NIK, phone number and e-mail address in it
    replaced by a short pseudonym (`laporan_nik-1f0e9a8c7b6d_email-0a1b2c3d4e5f.csv`), its folders, other parts and
    extension kept, so that it stays recognisable. Scanned part by part (between `_` and spaces), after the
    extension is set aside, so that an e-mail address cannot swallow the rest of the name; then the whole segment
    once more, for what the cut hid (`budi@mail.id` without extension, a phone number grouped with spaces)."""
    scrubber = _text_scrubber(for_names=True)
    out = []
    for segment in str(name).split("/"):
        stem, dot, extension = segment.rpartition(".")
        if not stem or extension.lower() not in _EXTENSIONS:  # `budi@mail.id`: `.id` is no extension
            stem, dot, extension = segment, "", ""
        parts = _NAME_PARTS.split(stem)
        stem = "".join(p if i % 2 or not _MAYBE.search(p) else scrubber.text(p) for i, p in enumerate(parts))
        out.append(scrubber.text(stem + dot + extension))
    return "/".join(out)


def scrub_text(text: str, secrets: Iterable[str | None] = ()) -> str:
    """A message as it may leave ingestion: secrets first (so that no cut keeps a part of one), then every NIK,
    phone number and e-mail address replaced by its pseudonym, file names the way `scrub_file_name` does them.
    Truncate only what this returns."""
    return _scrub_text(str(text), _secrets_longest_first(secrets))


def _scrub_text(text: str, secrets: Sequence[str]) -> str:
    text = _replace_secrets(text, secrets)
    if not _MAYBE.search(text):
        return text
    text = _FILE_NAME.sub(lambda m: scrub_file_name(m.group(0)) if _MAYBE.search(m.group(0)) else m.group(0), text)
    return _text_scrubber().text(text)


def scrub_value(value: object, secrets: Iterable[str | None] = ()) -> object:
    """Strings scrubbed inside nested dicts, lists and tuples (metadata); other values unchanged."""
    return _scrub_value(value, _secrets_longest_first(secrets))


def _scrub_value(value: object, secrets: Sequence[str]) -> object:
    if isinstance(value, str):
        return _scrub_text(value, secrets)
    if type(value) is dict:
        return {k: _scrub_value(v, secrets) for k, v in value.items()}
    if type(value) is list:  # exactly: records and named tuples are left as they are
        return [_scrub_value(v, secrets) for v in value]
    if type(value) is tuple:
        return tuple(_scrub_value(v, secrets) for v in value)
    return value


# Every error the user sees is scrubbed when it is made (errors.py cannot import this module: config does).
KotacerdasError.scrub = staticmethod(scrub_text)
