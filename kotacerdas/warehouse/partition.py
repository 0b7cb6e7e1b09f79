"""Every frame one (city, period) partition publishes, built from what ingestion, the quality gate, the indicators
and the indices returned: what an asset hands to `publish_partition` in one transaction.

Monthly partitions publish twice: `quarantine_frames` (what stewards see: rejected rows, raw files, failed
sources, rule results, timeliness) as soon as the gate has run, and `score_frames` (indicator values, index scores,
the staged rows and the lineage between them) when the partition passed. Yearly partitions publish
`annual_frames` (the regulators' indices with the yearly tables' rows) once.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from kotacerdas.config import ProjectConfig
from kotacerdas.ingest.table import IngestResult
from kotacerdas.privacy import scrub_published_text
from kotacerdas.quality.completeness import COMPLETE, INCOMPLETE
from kotacerdas.quality.gate import GateResult
from kotacerdas.quality.timeliness import opd_timeliness
from kotacerdas.regulators.annual import AnnualIndices
from kotacerdas.schemas import MONTHLY_TABLES
from kotacerdas.warehouse.frames import ingest_log_frames, partition_quality_frames, table_quality
from kotacerdas.warehouse.lineage import enrich_indicator_values, indicator_lineage, staged_frames
from kotacerdas.warehouse.schema import FACT_TABLES, REGULATOR_TABLES


def rejection_frames(
    gates: list[GateResult], ingests: list[IngestResult], city: str, period: str, pii_key: bytes | None
) -> dict[str, pd.DataFrame]:
    """What the stewards see of a partition's tables: rejected rows, raw files and failed sources (personal data in
    messages scrubbed), rule results and verdicts."""
    frames = {"quarantine": pd.concat([g.quarantine for g in gates], ignore_index=True)}
    frames |= scrub_published_text(ingest_log_frames(ingests, city, period), pii_key)
    return frames | partition_quality_frames(gates, city, period)


def staged_rows(
    gates: list[GateResult], ingests: list[IngestResult], city: str, period: str
) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame]]:
    """The validated rows per table, and the `staged_*` frames that publish them with their raw file's sha256."""
    valid = {g.table: g.valid.reset_index(drop=True) for g in gates}
    sha256 = {f.relpath: f.sha256 for r in ingests for f in r.raw_files}
    return valid, staged_frames(valid, sha256, city_code=city, period=period)


def quarantine_frames(
    project: ProjectConfig,
    raw_dir: Path,
    gates: list[GateResult],
    ingests: list[IngestResult],
    city: str,
    month: str,
    pii_key: bytes | None,
) -> dict[str, pd.DataFrame]:
    """A monthly partition's rejection frames plus what each OPD delivered when (`opd_timeliness`)."""
    frames = rejection_frames(gates, ingests, city, month, pii_key)
    frames["opd_timeliness"] = opd_timeliness(project, raw_dir, gates, ingests, city=city, month=month)
    return frames


def score_frames(
    project: ProjectConfig,
    gates: list[GateResult],
    ingests: list[IngestResult],
    indicator_values: pd.DataFrame,
    maturity_scores: pd.DataFrame,
    city: str,
    month: str,
) -> dict[str, pd.DataFrame]:
    """Indicator values (with normalised score, weight and quality flag), index scores, the staged rows they came
    from and which rows each indicator counted."""
    valid, staged = staged_rows(gates, ingests, city, month)
    expected = {t: [o.code for o in project.cities.opds_for(t)] for t in MONTHLY_TABLES}
    quality = table_quality(gates, ingests, expected)
    return {
        "indicator_values": enrich_indicator_values(indicator_values, maturity_scores, quality),
        "index_scores": maturity_scores.assign(status=partition_status(gates)),
        "indicator_lineage": indicator_lineage(project.catalog, valid, indicator_values, city_code=city, period=month),
        **staged,
    }


def partition_status(gates: list[GateResult]) -> str:
    """`incomplete` when any table of the partition is (it then flows on only by an explicit allow_incomplete)."""
    return COMPLETE if all(g.complete for g in gates) else INCOMPLETE


def annual_frames(
    result: AnnualIndices,
    gates: list[GateResult],
    ingests: list[IngestResult],
    city: str,
    year: str,
    pii_key: bytes | None,
) -> dict[str, pd.DataFrame]:
    """A city-year's regulator tables with the yearly tables' staged, rejected and raw rows."""
    # every regulator table is replaced: an index not computed this time leaves no stale figure behind
    frames = {t: result.frames.get(t, pd.DataFrame(columns=list(FACT_TABLES[t]))) for t in REGULATOR_TABLES}
    # published incomplete only on purpose (allow_incomplete): every figure says so
    frames = {t: f.assign(status=partition_status(gates)) for t, f in frames.items()}
    # an IKM from part of the year's months (the year under way, or months not published) is year to date: marked
    # incomplete, so views neither rank nor compare it, however the year's own files fared
    ikm = frames["regulator_ikm"]
    if not ikm.empty:
        frames["regulator_ikm"] = ikm.assign(status=ikm["status"].where(ikm["coverage"] >= 1.0, INCOMPLETE))
    frames |= rejection_frames(gates, ingests, city, year, pii_key)
    return frames | staged_rows(gates, ingests, city, year)[1]


def usable_rows(gate: GateResult) -> pd.DataFrame:
    """The rows an index may use: the validated rows of a partition that passed its gate, else none."""
    return gate.valid if gate.passed else gate.valid.iloc[0:0]


def published_survey_responses(engine: sa.Engine, city: str, year: str) -> pd.DataFrame:
    """The year's satisfaction survey answers of a city as its monthly partitions published them (for the IKM)."""
    query = sa.text("SELECT * FROM staged_satisfaction_responses WHERE city_code = :city AND period LIKE :year")
    with engine.connect() as conn:
        return pd.read_sql(query, conn, params={"city": city, "year": f"{year}-%"})
