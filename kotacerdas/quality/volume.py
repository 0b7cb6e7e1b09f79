"""Volume: the rows a partition delivered, compared with what the same city delivered in the earlier months.

The earlier months' counts come from the raw zone (`fetches.jsonl`: every completed fetch with its row count), so
the rule needs no warehouse and works the same on a fresh machine that replays the raw zone. A month with no
completed fetch at all was never ingested and is not history (unknown, not zero). Fewer than `min_history` earlier
months: the rule passes and says there is no history yet.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from kotacerdas.config import ProjectConfig, SqlSource
from kotacerdas.ingest.landing import current_chain, read_fetches
from kotacerdas.periods import previous_periods
from kotacerdas.quality.suite import VolumeRule


@dataclass(frozen=True)
class VolumeOutcome:
    rule: VolumeRule
    observed: int  # rows delivered this partition
    history: Mapping[str, int]  # earlier month -> rows delivered (months with a completed fetch only)
    lower: float | None  # band; None without enough history
    upper: float | None

    @property
    def has_history(self) -> bool:
        return self.lower is not None

    @property
    def success(self) -> bool:
        if self.lower is None or self.upper is None:
            return True  # no history: nothing to compare with
        return self.lower <= self.observed <= self.upper

    @property
    def note(self) -> str:
        months = ", ".join(f"{m}: {n}" for m, n in sorted(self.history.items()))
        if not self.has_history:
            return (
                f"no history: {len(self.history)} earlier month(s) in the raw zone, {self.rule.min_history} "
                f"needed; passes ({months or 'none'})"
            )
        median = statistics.median(self.history.values())
        verdict = "within" if self.success else ("below" if self.observed < (self.lower or 0) else "above")
        return (
            f"{self.observed} rows, {verdict} the band {self.lower:g}–{self.upper:g} "
            f"({self.rule.lower:g}–{self.rule.upper:g} × median {median:g} of {months})"
        )


def delivered_rows_history(
    project: ProjectConfig, raw_dir: str | Path, table: str, city: str, month: str, months: int
) -> dict[str, int]:
    """Rows delivered per earlier month (year, for a yearly table; up to `months` back) by every source and OPD of
    `table`, from the raw zone. Per source × OPD the current chain counts: the latest full fetch (incremental
    pulls after it replace rows more than they add them, so they are not counted)."""
    units: list[tuple[str, str | None]] = []
    for src in project.sources.for_table(table):
        if isinstance(src, SqlSource) and not src.per_opd:
            units.append((src.name, None))  # one fetch for all OPDs
        else:
            units += [(src.name, o.code) for o in project.cities.opds_for(table)]
    history: dict[str, int] = {}
    for earlier in previous_periods(month, months):
        rows, seen = 0, False
        by_source: dict[str, list[dict]] = {}
        for source, opd in units:
            if source not in by_source:
                by_source[source] = read_fetches(raw_dir, source=source, city=city, period=earlier)
            fetches = [f for f in by_source[source] if opd is None or f["opd"] == opd]
            chain = current_chain(fetches)
            if chain:
                seen = True
                rows += int(chain[0].get("rows") or 0)
        if seen:
            history[earlier] = rows
    return history


def check_volume(rule: VolumeRule, observed: int, history: Mapping[str, int]) -> VolumeOutcome:
    if len(history) < rule.min_history:
        return VolumeOutcome(rule, observed, dict(history), None, None)
    median = statistics.median(history.values())
    return VolumeOutcome(rule, observed, dict(history), rule.lower * median, rule.upper * median)
