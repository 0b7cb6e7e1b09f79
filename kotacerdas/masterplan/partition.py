"""One city × month of the masterplan: the version in force, the rules, and the month's validated progress rows;
or several, published together (`group_status`, what the `masterplan_status` asset calls)."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from kotacerdas.config import ProjectConfig
from kotacerdas.errors import ConfigError
from kotacerdas.masterplan.reader import load_history
from kotacerdas.masterplan.readiness import PreviousEvaluation, evaluation_readiness
from kotacerdas.masterplan.status import MasterplanStatus, load_rules, masterplan_status, rejected_programmes
from kotacerdas.quality.gate import GateResult
from kotacerdas.regulators import KominfoMethodology, load_regulator_methodology
from kotacerdas.warehouse.schema import TABLES


def delivered_quick_wins(engine: sa.Engine, city: str, month: str) -> set[str]:
    """Quick wins the warehouse shows delivered in a month before `month` (published earlier)."""
    table = TABLES["masterplan_programme_status"]
    query = sa.select(table.c.programme_code).where(
        table.c.city_code == city, table.c.period < month, table.c.quick_win_delivered.is_(True)
    )
    with engine.connect() as conn:
        return set(conn.execute(query.distinct()).scalars())


def previous_evaluation(engine: sa.Engine, city: str, month: str) -> PreviousEvaluation | None:
    """The latest official Kominfo evaluation of the city published for a year before the month's (and the one
    before it, for the index's change), from regulator_kominfo_evaluation; None when there is none. Figures
    published incomplete are left out (they are no baseline)."""
    table = TABLES["regulator_kominfo_evaluation"]
    query = sa.select(table.c.period, table.c.component, table.c.score).where(
        table.c.city_code == city,
        table.c.period < month[:4],
        table.c.component_type.in_(("part", "index")),
        sa.or_(table.c.status.is_(None), table.c.status == "complete"),
        table.c.score.is_not(None),
    )
    by_year: dict[str, dict[str, float]] = {}
    with engine.connect() as conn:
        for year, component, score in conn.execute(query):
            by_year.setdefault(str(year), {})[str(component)] = float(score)
    years = sorted(by_year)
    if not years:
        return None
    earlier = years[-2] if len(years) > 1 else None
    return PreviousEvaluation(
        year=years[-1],
        scores=by_year[years[-1]],
        earlier_year=earlier,
        earlier_scores=by_year[earlier] if earlier else {},
    )


def partition_status(
    project: ProjectConfig,
    city: str,
    month: str,
    gate: GateResult,
    delivered_before: set[str] | frozenset[str] = frozenset(),
    previous: PreviousEvaluation | None = None,
) -> MasterplanStatus | None:
    """The masterplan's status in `month` with its evaluation readiness (pipeline.yaml's kominfo_methodology; its
    Baseline against `previous`, see `previous_evaluation`), or None when no version is in force then. A progress
    table that failed its quality gate gives no usable report: every started programme is then `unknown`
    (rejected)."""
    history = load_history(
        project.masterplan_dir,
        city,
        opd_codes=[o.code for o in project.cities.opds],
        indicator_codes=[i.code for i in project.catalog.indicators],
    )
    plan = history.in_force(month)
    if plan is None:
        return None
    rejected = rejected_programmes(gate.quarantine)
    rows = gate.valid
    if not gate.passed:
        rejected, rows = {p.code for p in plan.programmes}, gate.valid.iloc[0:0]
    result = masterplan_status(
        plan,
        month,
        rows,
        load_rules(project.masterplan_rules_file),
        rejected_programmes=rejected,
        delivered_before=delivered_before,
    )
    kominfo = load_regulator_methodology(project.pipeline.kominfo_methodology, project.dir)
    if not isinstance(kominfo, KominfoMethodology):
        raise ConfigError(
            f"pipeline.yaml: kominfo_methodology is a {kominfo.kind} file", hint="point it at a Kominfo methodology"
        )
    result.readiness = evaluation_readiness(plan, result, month, kominfo, previous)
    return result


def group_status(
    project: ProjectConfig, engine: sa.Engine, parts: Sequence[tuple[str, str, GateResult]]
) -> dict[tuple[str, str], MasterplanStatus | None]:
    """`partition_status` of each (city, month, progress gate) of a group published in one transaction. A quick
    win delivered in an earlier month of the group counts as delivered before, as it would had that month been
    published first; the warehouse is asked only for the months before the city's first of the group (its rows
    of the group's months are about to be replaced)."""
    first: dict[str, str] = {}
    for city, month, _ in parts:
        first[city] = min(first.get(city, month), month)
    # per city: the quick wins delivered before the month at hand, from the warehouse once, then from the group
    delivered = {city: delivered_quick_wins(engine, city, month) for city, month in first.items()}
    statuses: dict[tuple[str, str], MasterplanStatus | None] = {}
    for city, month, gate in sorted(parts, key=lambda p: (p[0], p[1])):
        status = partition_status(
            project, city, month, gate, set(delivered[city]), previous=previous_evaluation(engine, city, month)
        )
        if status is not None:
            done = status.programmes["quick_win_delivered"].fillna(False).astype(bool)
            delivered[city] |= set(status.programmes.loc[done, "programme_code"])
        statuses[(city, month)] = status
    return statuses
