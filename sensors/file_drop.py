"""File-drop sensors: a new or replaced OPD file in the landing folder starts a run of its city × month (monthly
tables: `opd_file_drop`) or city × year (yearly tables, e.g. the SPBE self-assessment: `opd_file_drop_yearly`).

A file is read only when complete, as its source says (`ready_when` in sources.yaml): `stable` — the same size and
content hash at two ticks in a row (an upload still being written changes between ticks); `marker` — the OPD's
marker file (`capaian.csv.done`) is present. A partition waits while any of its new files is not ready, so a run
never reads half a file. Backup and temporary copies (`.bak`, `~`, `.tmp`, `.part`) are not files of a source.
Files are named by their `label` (personal data in a name pseudonymised) in the cursor, run keys and messages.
"""

import json
from dataclasses import replace

import dagster as dg

from assets.failures import scrubbed_failures
from assets.partitions import city_period_key
from assets.resources import ProjectResource
from kotacerdas.ingest.drops import DroppedFile, scan_landing
from kotacerdas.privacy import scrub_text


def _load_cursor(cursor: str | None) -> tuple[dict[str, str], dict[str, str]]:
    """(fingerprints already requested, fingerprints seen at the last tick); a cursor of the earlier flat form is
    taken as the requested ones."""
    data = json.loads(cursor) if cursor else {}
    if "requested" in data and "pending" in data:
        return data["requested"], data["pending"]
    return data, {}


def _not_ready(f: DroppedFile, pending: dict[str, str]) -> str | None:
    """Why a new file is not to be read yet, or None when it is complete."""
    if f.ready_when == "marker":
        return None if f.marker else "waiting for its ready marker"
    if pending.get(f.label) == f.fingerprint:
        return None
    return "new or still changing; read once its size and content are the same at the next tick"


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
        "with new or replaced files, once they are complete (same size and content hash at two ticks, or their "
        "ready marker present). The cursor remembers each file's content fingerprint, and the run key makes a "
        "file trigger once.",
    )
    @scrubbed_failures
    def opd_file_drop(context: dg.SensorEvaluationContext, project: ProjectResource):
        requested, pending = _load_cursor(context.cursor)
        landing = project.landing_dir()
        files = scan_landing(project.project, landing, cadence) if landing.is_dir() else []
        files = [f if f.problem else replace(f, problem=outside(f)) for f in files]
        fresh = [f for f in files if requested.get(f.label) != f.fingerprint]
        unplaceable = [f for f in fresh if f.problem]
        for f in unplaceable:
            context.log.warning(f"cannot place {f.label}: {f.problem}")
        by_partition: dict[tuple[str, str], list[DroppedFile]] = {}
        for f in fresh:
            if not f.problem:
                by_partition.setdefault((f.city, f.period), []).append(f)
        waiting: dict[str, str] = {}
        ready: dict[tuple[str, str], list[DroppedFile]] = {}
        for partition, new in sorted(by_partition.items()):
            reasons = {f.label: why for f in new if (why := _not_ready(f, pending)) is not None}
            if reasons:  # one unfinished file holds its whole partition back
                waiting |= reasons
            else:
                ready[partition] = new
        requests = [
            dg.RunRequest(
                run_key="|".join(sorted(f.fingerprint for f in new)),
                partition_key=str(city_period_key(partitions_def, city, period)),
                tags={"kotacerdas/trigger": "file_drop", "kotacerdas/files": str(len(new))},
            )
            for (city, period), new in ready.items()
        ]
        held = {f.label for new in by_partition.values() for f in new} - {f.label for n in ready.values() for f in n}
        cursor = json.dumps(
            {
                # a held file stays "new" (its previous fingerprint, if any) until its partition is requested
                "requested": {
                    f.label: requested[f.label] if f.label in held else f.fingerprint
                    for f in files
                    if f.label not in held or f.label in requested
                },
                "pending": {f.label: f.fingerprint for f in files if f.label in held},
            },
            sort_keys=True,
        )
        if requests:
            return dg.SensorResult(run_requests=requests, cursor=cursor)
        notes = [f"{f.label}: {f.problem}" for f in unplaceable] + [f"{r}: {why}" for r, why in waiting.items()]
        if notes:
            return dg.SensorResult(skip_reason=dg.SkipReason(scrub_text("; ".join(notes))), cursor=cursor)
        return dg.SensorResult(skip_reason=dg.SkipReason(f"no new files in {landing}"), cursor=cursor)

    return opd_file_drop
