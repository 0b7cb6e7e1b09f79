"""OPD timeliness, DHIS2-style: per OPD × dataset × month, expected, received, on time, late, missing or pending.

A dataset is due `due_days_after_period_end` days after its month closes (Asia/Jakarta; `config/timeliness.yaml`).
It was received at the earliest, over the completed fetches in the raw zone (`fetches.jsonl`), of the fetch and of
the upload time it recorded for each file dropped (the landing file's modification time when those bytes were
first fetched). Re-running a partition never makes an OPD later: earlier fetches and their upload times stay, and
the same bytes fetched again keep the upload time first recorded. A file that does not parse is not received (its
fetch is not logged). Expected means `config/cities.yaml` lists the dataset for the OPD; a dataset not received by
its due date is missing, before it pending.

A REST or SQL pull is received when it is fetched, which says nothing of when the OPD entered the month when the
pull came after the due date (a backfill pulls a year-old month today). A source that names its `entered_field`
records, per fetch, the latest time the month's rows were entered (`ingest/entered.py`), and that fetch counts as
received then (never later than the fetch). A pull after the due date without that evidence is `received_undated`:
received, on time or not unknown; it is neither on time nor late, and the on-time rate leaves it out.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from kotacerdas.config import ProjectConfig, RestSource, SqlSource, TimelinessConfig
from kotacerdas.ingest.landing import read_fetches
from kotacerdas.ingest.table import ALL_OPDS
from kotacerdas.periods import now_local
from kotacerdas.schemas import MONTHLY_TABLES, OPD_TIMELINESS_COLUMNS, typed_frame
from kotacerdas.stage.staging import code_text

if TYPE_CHECKING:
    from kotacerdas.ingest.table import IngestResult
    from kotacerdas.quality.gate import GateResult

STATUSES = ("on_time", "late", "received_undated", "missing", "pending", "not_expected")


def opd_of_raw_file(relpath: str) -> str | None:
    """The OPD a raw payload came from: `{source}/{city}/{month}/{opd}/{fetch_id}/{name}` (sources.landing)."""
    parts = str(relpath).split("/")
    return parts[3] if len(parts) >= 6 else None


def _utc_now(now: datetime | None) -> pd.Timestamp:
    """`now` (default: the project's clock) as the warehouse keeps times: UTC, naive; a naive `now` is UTC already."""
    moment = pd.Timestamp(now or now_local())
    return (moment.tz_convert("UTC").tz_localize(None) if moment.tzinfo else moment).as_unit("us")


def _utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text).tz_convert("UTC").tz_localize(None).as_unit("us")


def _upload_time(origin: str, sha256: str) -> pd.Timestamp | None:
    """mtime of a landing file that still holds exactly the bytes ingested (else None: replaced or gone). Only for
    fetches logged before upload times were recorded: it is lost once the file is replaced or copied back."""
    path = Path(origin)
    try:
        if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != sha256:
            return None
        return pd.Timestamp(datetime.fromtimestamp(path.stat().st_mtime, UTC)).tz_localize(None).as_unit("us")
    except OSError:
        return None


@dataclass(frozen=True)
class Receipt:
    """When an OPD's data for a month was first received (UTC, naive); `undated`: only the time a REST or SQL pull
    fetched it is known, not when the OPD entered it (its source names no `entered_field`, or a row had no usable
    entry time)."""

    at: pd.Timestamp
    undated: bool = False


def received_times(
    project: ProjectConfig, raw_dir: str | Path, table: str, city: str, month: str, ingest: IngestResult | None
) -> dict[str, Receipt]:
    """OPD -> when its `table` data for the month was first received: the earliest, over every completed fetch in the
    raw zone, of its completion, the upload times it recorded for its files and, for a pull, the latest entry of the
    month's rows it recorded. A fetch that failed (a file that does not parse) is not in the log, so what it read is
    never received."""
    out: dict[str, Receipt] = {}

    def seen(opd: str, when: pd.Timestamp, undated: bool = False) -> None:
        if opd not in out or when < out[opd].at:
            out[opd] = Receipt(when, undated)

    unrecorded: set[str] = set()  # payloads of completed fetches logged without upload times
    for source in project.sources.for_table(table):
        pulled = isinstance(source, RestSource | SqlSource)
        entered_so_far: dict[str, pd.Timestamp] = {}  # OPD -> the latest entry any fetch so far saw (log order)
        for fetch in read_fetches(raw_dir, source=source.name, city=city, period=month):
            entries: dict[str, str] = fetch.get("entered") or {}
            opds = [fetch["opd"]]
            if isinstance(source, SqlSource) and not source.per_opd:  # one fetch for all OPDs: those in its rows
                if "opds" in fetch:  # recorded by the fetch (since 2026-12-08): only what that fetch delivered
                    opds = list(fetch["opds"])
                else:  # an older line: the OPDs of the rows ingested now
                    in_rows = (
                        {c for o in ingest.frame["opd_code"] if (c := code_text(o))} if ingest is not None else set()
                    )
                    opds = sorted(in_rows | set(entries))
            completed = _utc(fetch["completed_at"])
            for opd in opds:
                if opd in entries:
                    # The month was complete in the OPD's system at its latest entry, never after the fetch. What
                    # an earlier fetch saw stays: rows deleted or re-stamped since never make the month earlier.
                    latest = _utc(entries[opd])
                    latest = entered_so_far[opd] = max(latest, entered_so_far.get(opd, latest))
                    seen(opd, min(completed, latest))
                else:
                    seen(opd, completed, undated=pulled)
            if "uploads" in fetch:  # a file drop's fetch: each file's upload time, recorded when it was fetched
                for upload in fetch["uploads"]:
                    seen(fetch["opd"], _utc(upload["uploaded_at"]))
            else:
                unrecorded.update(fetch.get("files", []))
    # Fetches logged before upload times were recorded (raw zones written before 2026-12-07), and REST or SQL pulls,
    # which have none: as before, the mtime of a landing file this ingest read, while it still holds those bytes.
    for f in ingest.raw_files if ingest is not None else []:
        opd = opd_of_raw_file(f.relpath)
        if opd is None or f.relpath not in unrecorded or not Path(f.origin).is_absolute():
            continue
        uploaded = _upload_time(f.origin, f.sha256)
        if uploaded is not None:
            seen(opd, uploaded)
    return out


def opd_timeliness(
    project: ProjectConfig,
    raw_dir: str | Path,
    gates: Sequence[GateResult],
    ingests: Sequence[IngestResult],
    *,
    city: str,
    month: str,
    now: datetime | None = None,
    config: TimelinessConfig | None = None,
) -> pd.DataFrame:
    """One row per OPD × monthly canonical table of the partition (`OPD_TIMELINESS_COLUMNS`): every OPD expected to
    deliver the table, and any other OPD that delivered it."""
    config = config or project.timeliness
    now_utc = _utc_now(now)
    closed = config.period_end(month)
    ingest_by_table = {r.table: r for r in ingests}
    known_opds = {o.code for o in project.cities.opds}
    gate_by_table = {g.table: g for g in gates}
    rows = []
    for table in MONTHLY_TABLES:
        ingest, gate = ingest_by_table.get(table), gate_by_table.get(table)
        delivered_rows = _rows_by_opd(ingest.frame if ingest is not None else None)
        valid_rows = _rows_by_opd(gate.valid if gate is not None else None)
        files: dict[str | None, list] = {}
        for f in ingest.raw_files if ingest is not None else []:
            files.setdefault(opd_of_raw_file(f.relpath), []).append(f)
        expected = {o.code for o in project.cities.opds_for(table)}
        failures: dict[str, list[str]] = {}
        for failure in ingest.failures if ingest is not None else []:
            named = failure.message.startswith(f"{failure.source}:")  # most ingest errors name their source
            message = failure.message if named else f"{failure.source}: {failure.message}"
            # a query of all OPDs that failed failed for each of them
            for opd in sorted(expected) if failure.opd == ALL_OPDS else [failure.opd]:
                failures.setdefault(opd, []).append(message)
        received = received_times(project, raw_dir, table, city, month, ingest)
        # Only OPDs of cities.yaml: a payload of all OPDs names its rows' OPD as the OPD system wrote it, and a value
        # that is no OPD (a NIK typed in the wrong column) is staging's to reject, never a row of this table.
        mentioned = {o for o in (*files, *failures, *delivered_rows, *received) if o}
        for opd in sorted(expected | (mentioned & known_opds)):
            fetched = [pd.Timestamp(f.fetched_at).tz_convert(None) for f in files.get(opd, [])]
            receipt = received.get(opd)
            got = receipt.at if receipt is not None else None
            due = config.due_at(opd, table, month)
            if opd not in expected:
                status = "not_expected"
            elif receipt is not None and receipt.at < due:
                status = "on_time"
            elif receipt is not None:
                status = "received_undated" if receipt.undated else "late"
            else:
                status = "missing" if now_utc >= due else "pending"
            n_delivered, n_valid = int(delivered_rows.get(opd, 0)), int(valid_rows.get(opd, 0))
            rows.append(
                {
                    "city_code": city,
                    "period": month,
                    "opd_code": opd,
                    "table_name": table,
                    "expected": opd in expected,
                    # a file or page of its own, or rows of a payload of all OPDs (a SQL query with per_opd false)
                    "delivered": (bool(files.get(opd)) or n_delivered > 0) and opd not in failures,
                    "raw_files": len(files.get(opd, [])),
                    "rows_delivered": n_delivered,
                    "rows_valid": n_valid,
                    "rows_rejected": n_delivered - n_valid,
                    "first_fetched_at": min(fetched) if fetched else None,
                    # an undated pull's time says nothing of the OPD (a backfill is hundreds of days "after")
                    "days_after_period_end": (
                        (got - closed) / pd.Timedelta(days=1)
                        if got is not None and status != "received_undated"
                        else None
                    ),
                    "failure_message": "; ".join(failures[opd]) if opd in failures else None,
                    "due_at": due,
                    "received_at": got,
                    "status": status,
                    "on_time": status == "on_time",
                    "late": status == "late",
                    "missing": status == "missing",
                    "days_late": (
                        max((got - due) / pd.Timedelta(days=1), 0.0)
                        if got is not None and status not in ("not_expected", "received_undated")
                        else None
                    ),
                }
            )
    return typed_frame(rows, OPD_TIMELINESS_COLUMNS)


def _rows_by_opd(frame: pd.DataFrame | None) -> Mapping[str, int]:
    """Rows per OPD by the raw payload they came from (a payload of all OPDs, or rows without a payload: by the row's
    own opd_code). Counted per distinct file with numpy (twice per table and partition; a few payloads each)."""
    if frame is None or frame.empty:
        return {}
    codes, files = pd.factorize(frame["_raw_file"], use_na_sentinel=True)
    rows_per_file = np.bincount(codes[codes >= 0], minlength=len(files))
    by_own_code = "opd_code" in frame.columns
    shared = codes < 0 if by_own_code else np.zeros(len(frame), dtype=bool)
    counts: Counter[str] = Counter()
    for i, (name, rows) in enumerate(zip(files, rows_per_file, strict=True)):
        opd = opd_of_raw_file(name)
        if by_own_code and (opd is None or opd in ("_", "*")):
            shared |= codes == i
        elif opd is not None:
            counts[opd] += int(rows)
    if shared.any():  # codes as staging reads them (`DINKES  ` is DINKES), so that valid and delivered rows agree
        codes_of_rows = frame["opd_code"].to_numpy(dtype=object, na_value=None)[shared]
        counts.update(c for c in map(code_text, codes_of_rows) if c is not None)
    return dict(counts)


def statuses_now(timeliness: pd.DataFrame, now: datetime | None = None) -> pd.Series:
    """The stored `status`, with `pending` read as `missing` once its due date has passed: a status is decided when
    the month is run, and a month not run again since its due date has received nothing of what was pending."""
    now_utc = _utc_now(now)
    status = timeliness["status"].astype("string")
    overdue = status.eq("pending").fillna(False) & (pd.to_datetime(timeliness["due_at"]) <= now_utc).fillna(False)
    return status.mask(overdue, "missing")


def reporting_rates(
    timeliness: pd.DataFrame, by: Sequence[str] = ("opd_code",), now: datetime | None = None
) -> pd.DataFrame:
    """DHIS2's reporting rate (percent of expected datasets received) and reporting rate on time (percent on time of
    the expected datasets whose timing is known: all but the undated pulls), grouped by `by`. A dataset not due yet
    (`pending` at `now`) is not expected yet: it is counted apart and in neither rate."""
    expected = timeliness[timeliness["expected"].fillna(False).astype(bool)]
    status = statuses_now(expected, now)
    flags = {
        "on_time": "on_time",
        "late": "late",
        "undated": "received_undated",
        "missing": "missing",
        "pending": "pending",
    }
    counted = expected[list(by)].assign(
        received=expected["received_at"].notna(), **{k: status.eq(v).fillna(False) for k, v in flags.items()}
    )
    grouped = counted.groupby(list(by), dropna=False)
    out = grouped[["received", *flags]].sum().astype("int64")
    out.insert(0, "expected", grouped.size() - out["pending"])
    due = out["expected"].astype("float64").where(lambda n: n > 0)
    out["reporting_rate"] = 100.0 * out["received"] / due
    # of the expected datasets whose timing is known: an undated pull blames no OPD (NaN when none is known)
    dated = (out["expected"] - out["undated"]).astype("float64").where(lambda n: n > 0)
    out["reporting_rate_on_time"] = 100.0 * out["on_time"] / dated
    return out.reset_index()
