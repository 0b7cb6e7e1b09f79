"""File-drop sensors: a new or replaced OPD file in the landing folder starts a run of its city × month (monthly
tables: `opd_file_drop`) or city × year (yearly tables, e.g. the SPBE self-assessment: `opd_file_drop_yearly`)."""

import json
from dataclasses import replace

import dagster as dg

from assets.partitions import city_period_key
from assets.resources import ProjectResource
from kotacerdas.ingest.drops import scan_landing


def build_file_drop_sensor(
    job: "dg.JobDefinition | object", partitions_def: dg.MultiPartitionsDefinition, cadence: str = "monthly"
) -> dg.SensorDefinition:
    unit = "month" if cadence == "monthly" else "year"

    def outside(f) -> str | None:
        """Why a placed file's partition does not exist (before first_month, or a period still ahead)."""
        if partitions_def.has_partition_key(city_period_key(partitions_def, f.city, f.period)):
            return None
        return (
            f"{unit} {f.period} is outside the pipeline's partitions (from first_month in "
            "config/pipeline.yaml up to the current one)"
        )

    @dg.sensor(
        name="opd_file_drop" if cadence == "monthly" else "opd_file_drop_yearly",
        job=job,
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.STOPPED,
        description=f"Watches the landing folder for the files of {cadence} tables; one run per city × {unit} "
        "with new or replaced files. The cursor remembers each file's size and mtime, and the run key "
        "makes a file trigger once.",
    )
    def opd_file_drop(context: dg.SensorEvaluationContext, project: ProjectResource):
        seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
        landing = project.landing_dir()
        files = scan_landing(project.project, landing, cadence) if landing.is_dir() else []
        files = [f if f.problem else replace(f, problem=outside(f)) for f in files]
        fresh = [f for f in files if seen.get(f.relpath) != f.fingerprint]
        unplaceable = [f for f in fresh if f.problem]
        for f in unplaceable:
            context.log.warning(f"cannot place {f.relpath}: {f.problem}")
        by_partition: dict[tuple[str, str], list[str]] = {}
        for f in fresh:
            if not f.problem:
                by_partition.setdefault((f.city, f.period), []).append(f.fingerprint)
        requests = [
            dg.RunRequest(
                run_key="|".join(sorted(prints)),
                partition_key=str(city_period_key(partitions_def, city, period)),
                tags={"kotacerdas/trigger": "file_drop", "kotacerdas/files": str(len(prints))},
            )
            for (city, period), prints in sorted(by_partition.items())
        ]
        cursor = json.dumps({f.relpath: f.fingerprint for f in files}, sort_keys=True)
        if requests:
            return dg.SensorResult(run_requests=requests, cursor=cursor)
        if unplaceable:
            reasons = "; ".join(f"{f.relpath}: {f.problem}" for f in unplaceable)
            return dg.SensorResult(skip_reason=dg.SkipReason(f"files that cannot be placed: {reasons}"), cursor=cursor)
        return dg.SensorResult(skip_reason=dg.SkipReason(f"no new files in {landing}"), cursor=cursor)

    return opd_file_drop
