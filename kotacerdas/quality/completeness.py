"""Completeness of one table × partition: did every expected source × OPD deliver at least its rows?

What is expected comes from `config/completeness.yaml` (`ProjectConfig.completeness`): which sources, which OPDs,
a minimum row count per source × OPD, or nothing expected. A partition is incomplete when an expected source
failed (outage, unset URL, missing file, ...) or delivered fewer rows than expected; an incomplete partition never
replaces a published one unless the run says so explicitly (`kotacerdas run --allow-incomplete`).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from kotacerdas.config import ProjectConfig, SqlSource
from kotacerdas.ingest.table import ALL_OPDS, IngestResult

# The run tag (and `kotacerdas run --allow-incomplete`) that publishes an incomplete partition on purpose.
ALLOW_INCOMPLETE_TAG = "kotacerdas/allow_incomplete"
COMPLETE, INCOMPLETE = "complete", "incomplete"


@dataclass(frozen=True)
class Completeness:
    table: str
    city_code: str
    period: str
    expected_units: tuple[tuple[str, str], ...]  # (source, OPD) pairs expected to deliver; OPD "*": all at once
    min_rows: int
    rows_by_unit: dict[tuple[str, str], int]  # rows each expected unit delivered (absent: it failed)
    reasons: tuple[str, ...]  # why the partition is incomplete, one line per unit, in words

    @property
    def complete(self) -> bool:
        return not self.reasons

    @property
    def coverage(self) -> float:
        """Share of the expected source × OPD units that delivered their rows (1.0 when none is expected)."""
        if not self.expected_units:
            return 1.0
        ok = sum(self.rows_by_unit.get(u, 0) >= max(self.min_rows, 1) for u in self.expected_units)
        return ok / len(self.expected_units)

    def describe(self) -> str:
        if self.complete:
            return f"{self.table}: complete ({len(self.expected_units)} source × OPD expected)"
        return f"{self.table}: INCOMPLETE ({self.coverage:.0%} of the expected sources delivered) — " + "; ".join(
            self.reasons
        )


def _opd_of(relpath: str) -> str:
    """The OPD of a raw payload: `{source}/{city}/{period}/{opd}/{fetch_id}/{name}` (ingest.landing)."""
    parts = relpath.split("/")
    return parts[3] if len(parts) >= 6 else ""


def _expected_units(project: ProjectConfig, table: str, sources: list[str] | None, opds: list[str] | None):
    units = []
    for source in project.sources.for_table(table):
        if sources is not None and source.name not in sources:
            continue
        if isinstance(source, SqlSource) and not source.per_opd:
            units.append((source.name, ALL_OPDS))
            continue
        units += [(source.name, o.code) for o in project.cities.opds_for(table) if opds is None or o.code in opds]
    return tuple(units)


def assess_completeness(project: ProjectConfig, ingest: IngestResult, city: str, period: str) -> Completeness:
    """Compare what ingestion delivered for `city` × `period` with what `completeness.yaml` expects."""
    table = ingest.table
    expectation = project.completeness.expectation(table, city, period)
    if expectation.expected is False:
        return Completeness(table, city, period, (), 0, {}, ())
    units = _expected_units(project, table, expectation.sources, expectation.opds)
    min_rows = expectation.min_rows if expectation.min_rows is not None else 1
    failed = {(f.source, f.opd): f for f in ingest.failures}
    rows: Counter[tuple[str, str]] = Counter()
    for f in ingest.raw_files:
        unit = (f.source, _opd_of(f.relpath))
        if unit not in failed:
            rows[unit] += f.rows
    delivered = {u: rows.get(u, 0) for u in units if u not in failed}
    # units of a source that failed with the same message are named once (an unset URL fails every OPD alike; an
    # API that is down fails each OPD's URL, the same but for the OPD's code, which reads {opd})
    same: dict[tuple[str, str], list[str]] = {}
    for unit in units:
        source, opd = unit
        if unit in failed:
            message = failed[unit].message
            if opd != ALL_OPDS:
                message = re.sub(rf"(?<![A-Za-z0-9_]){re.escape(opd)}(?![A-Za-z0-9_])", "{opd}", message)
            same.setdefault((source, f"failed: {message}"), []).append(opd)
        elif delivered[unit] < min_rows:
            same.setdefault((source, f"delivered {delivered[unit]} row(s), at least {min_rows} expected"), []).append(
                opd
            )
    # a message grouped for one OPD only reads with its code again, not with a bare {opd}
    reasons = [
        f"{_who(source, opds)} {what.replace('{opd}', opds[0]) if len(opds) == 1 else what}"
        for (source, what), opds in same.items()
    ]
    return Completeness(table, city, period, units, min_rows, delivered, tuple(reasons))


def _who(source: str, opds: list[str]) -> str:
    named = [o for o in opds if o != ALL_OPDS]
    if not named:
        return source
    return f"{source} × {', '.join(named)}" + (f" ({len(named)} OPDs)" if len(named) > 1 else "")


def allow_incomplete(tags: dict[str, str]) -> bool:
    """Whether a run's tags publish incomplete partitions on purpose."""
    return tags.get(ALLOW_INCOMPLETE_TAG, "").lower() in ("true", "1", "yes")
