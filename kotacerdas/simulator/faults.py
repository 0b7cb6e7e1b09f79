"""Fault modes of the OPD simulator: how a real OPD API misbehaves, switchable per source or path.

A Fault matches requests by endpoint (source name or API path; None = every endpoint) and optionally by
city, OPD, month (the partition: YYYY-MM, or YYYY for a yearly API) and page; `times` makes it transient (the
next n matching requests) or, when None, permanent. Specs for the command line: `TARGET:KIND[:key=value,...]`, e.g.
`opd_api_complaints:error:status=503,times=2`, `*:latency:seconds=0.3`,
`opd_api_service_requests:rename_field:field=tgl_pengajuan,to=tanggal_pengajuan`.
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass, fields
from datetime import UTC, datetime

# kind -> what it does
FAULT_KINDS = {
    "latency": "sleep `seconds` before answering",
    "error": "answer HTTP `status` (default 500) with a JSON error",
    "rate_limit": "answer 429 with `Retry-After: retry_after` seconds",
    "drop": "close the connection without answering",
    "truncate": "send only the first half of the JSON body (a complete HTTP answer with a cut-off body)",
    "duplicate_page": "answer page n (n >= 2) with the body of page n-1",
    "ignore_offset": "ignore the paging parameters: every answer holds the first page's rows, a changing "
    "`server_time`, no `total` and a next page or cursor that always moves on (a runaway pagination)",
    "rename_field": "rename `field` to `to` in every row",
    "drop_field": "leave `field` out of every row",
    "wrong_type": 'send `field` as `to`: string (3 -> "3"), epoch (timestamp -> seconds), text (3 -> "3 hari"), '
    'object ({"value": 3}) or bool (true)',
}
REPLACING = ("error", "rate_limit", "drop")  # kinds that answer instead of the API (the first match wins)
WRONG_TYPES = ("string", "epoch", "text", "object", "bool")
_INTS = ("times", "status", "page")
_FLOATS = ("seconds", "retry_after")


@dataclass
class Fault:
    kind: str
    target: str | None = None  # source name or API path; None or "*" = every endpoint
    times: int | None = None  # None = permanent; n = only the next n matching requests (transient)
    city: str | None = None
    opd: str | None = None
    month: str | None = None  # the partition asked for: YYYY-MM, or YYYY for a yearly API
    page: int | None = None  # page number (page pagination) or ordinal of the request (offset/cursor)
    status: int = 500
    retry_after: float = 1.0
    seconds: float = 0.2
    field: str | None = None
    to: str | None = None
    applied: int = 0  # how many answers this fault changed so far
    _lock: threading.Lock = dataclasses.field(default_factory=threading.Lock, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {sorted(FAULT_KINDS)}")
        if self.target == "*":
            self.target = None
        if self.kind in ("rename_field", "drop_field", "wrong_type") and not self.field:
            raise ValueError(f"fault {self.kind} needs field=<source field name>")
        if self.kind == "rename_field" and not self.to:
            raise ValueError("fault rename_field needs to=<new field name>")
        if self.kind == "wrong_type" and self.to not in WRONG_TYPES:
            raise ValueError(f"fault wrong_type needs to= one of {WRONG_TYPES}")
        if self.times is not None and self.times < 1:
            raise ValueError("times must be >= 1 (leave it out for a permanent fault)")

    @property
    def transient(self) -> bool:
        return self.times is not None

    @classmethod
    def parse(cls, spec: str) -> Fault:
        """`TARGET:KIND[:key=value,...]` -> Fault; ValueError with the expected form otherwise."""
        parts = spec.split(":", 2)
        if len(parts) < 2:
            raise ValueError(
                f"fault spec {spec!r}: expected TARGET:KIND[:key=value,...], e.g. "
                "opd_api_complaints:error:status=503,times=2"
            )
        target, kind = parts[0].strip() or None, parts[1].strip()
        options: dict[str, object] = {}
        names = {f.name for f in fields(cls)} - {"kind", "target", "applied", "_lock"}
        for item in filter(None, (p.strip() for p in (parts[2] if len(parts) > 2 else "").split(","))):
            key, sep, value = item.partition("=")
            key = key.strip()
            if not sep or key not in names:
                raise ValueError(f"fault spec {spec!r}: bad option {item!r}; options: {sorted(names)}")
            try:
                options[key] = int(value) if key in _INTS else float(value) if key in _FLOATS else value.strip()
            except ValueError:
                raise ValueError(f"fault spec {spec!r}: {key} must be a number, got {value!r}") from None
        return cls(kind=kind, target=target, **options)  # type: ignore[arg-type]

    def matches(self, *, source: str, path: str, city: str, opd: str | None, month: str, page: int) -> bool:
        if self.target is not None and self.target not in (source, path):
            return False
        if self.kind == "duplicate_page" and page < 2:
            return False
        wanted = ((self.city, city), (self.opd, opd), (self.month, month), (self.page, page))
        return all(w is None or w == got for w, got in wanted)

    def take(self) -> bool:
        """Use the fault for one answer; False once a transient fault is used up."""
        with self._lock:
            if self.times is not None and self.applied >= self.times:
                return False
            self.applied += 1
            return True


def _epoch(value: object) -> object:
    if not isinstance(value, str):
        return value
    try:
        return int(datetime.fromisoformat(value).replace(tzinfo=UTC).timestamp())
    except ValueError:
        return value


def wrong_type(value: object, to: str) -> object:
    if value is None:
        return None
    if to == "string":
        return str(value)
    if to == "epoch":
        return _epoch(value)
    if to == "text":
        return f"{value} hari"
    if to == "object":
        return {"value": value}
    return True


def transform_rows(rows: list[dict], faults: list[Fault]) -> list[dict]:
    """Apply the field faults (rename, drop, wrong type) to a page of rows."""
    out = [dict(r) for r in rows]
    for fault in faults:
        for row in out:
            if fault.field not in row:
                continue
            if fault.kind == "rename_field":
                row[fault.to] = row.pop(fault.field)
            elif fault.kind == "drop_field":
                del row[fault.field]
            elif fault.kind == "wrong_type":
                row[fault.field] = wrong_type(row[fault.field], fault.to or "string")
    return out
