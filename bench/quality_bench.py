"""Benchmark (not a test): validation throughput on 1 million service requests, and how much of it is GX.

    .venv/bin/python bench/quality_bench.py                   # 1,000,000 rows, 3 rounds
    .venv/bin/python bench/quality_bench.py --rows 200000 --rounds 1

For each round, `validate_table` (the quality gate on one staged partition: bind the suite, GX validation, then
our own code turning GX's failing-row indexes into quarantine rows and the rules table) is timed as a whole and in
its parts:
- GX: the `batch.validate(...)` call alone (measured by wrapping the batch GX hands out);
- ours: everything else in `validate_table` (binding placeholders, building quarantine rows, rules, volume);
- the same rules evaluated with plain pandas/NumPy (no GX), as the floor of what the checks cost on this machine:
  GX time minus this is GX's own overhead (metric graph, result objects, COMPLETE result lists).
Also timed once: scrubbing personal data from the text columns (staging's last step). Rows are synthetic but
shaped like the simulator's (12 OPDs, 2 % defects of four kinds).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kotacerdas.config import ProjectConfig  # noqa: E402
from kotacerdas.privacy import Scrubber, text_columns  # noqa: E402
from kotacerdas.quality import gx_runtime, load_suite, validate_table  # noqa: E402
from kotacerdas.schemas import SERVICE_REQUESTS, TIMESTAMP  # noqa: E402

CITY, MONTH = "19.71", "2025-03"


def requests(n: int, seed: int = 7) -> pd.DataFrame:
    """`n` staged service requests of one partition, ~2 % of them defective (channel, order, month, duplicate)."""
    rng = np.random.default_rng(seed)
    project = ProjectConfig()
    opds = [o.code for o in project.cities.opds_for("service_requests")]
    submitted = pd.Timestamp(f"{MONTH}-01") + pd.to_timedelta(rng.integers(0, 31 * 24 * 60, n), unit="min")
    completed = submitted + pd.to_timedelta(rng.integers(60, 5 * 24 * 60, n), unit="min")
    opd = np.array(opds)[rng.integers(0, len(opds), n)]
    frame = pd.DataFrame(
        {
            "request_id": pd.array([f"R{i:07d}" for i in range(n)], dtype="string"),
            "city_code": pd.array([CITY] * n, dtype="string"),
            "opd_code": pd.array(opd, dtype="string"),
            "service_code": pd.array(
                np.array(["KTP-EL", "KK", "NIB", "PBG", "SKS"])[rng.integers(0, 5, n)], dtype="string"
            ),
            "channel": pd.array(np.where(rng.random(n) < 0.6, "online", "offline"), dtype="string"),
            "status": pd.array(
                np.array(["completed", "in_process", "rejected", "submitted"])[rng.integers(0, 4, n)], dtype="string"
            ),
            "submitted_at": submitted.astype(TIMESTAMP),
            "completed_at": completed.astype(TIMESTAMP),
            "sla_days": pd.array(rng.integers(1, 30, n), dtype="Int64"),
            "applicant_nik": pd.array(["a" * 64] * n, dtype="string"),  # pseudonyms, as staging leaves them
            "applicant_phone": pd.array(["b" * 64] * n, dtype="string"),
            "_raw_file": pd.array(
                [f"opd_api_service_requests/{CITY}/{MONTH}/X/f/page-{i // 500:04d}.json" for i in range(n)],
                dtype="string",
            ),
            "_raw_row": pd.array(np.arange(n) % 500 + 1, dtype="Int64"),
        }
    )
    defect = rng.random(n) < 0.02
    kind = rng.integers(0, 4, n)
    frame.loc[defect & (kind == 0), "channel"] = "loket"
    frame.loc[defect & (kind == 1), "completed_at"] = frame["submitted_at"] - pd.Timedelta(hours=5)
    frame.loc[defect & (kind == 2), "submitted_at"] = pd.Timestamp(f"{MONTH}-01") - pd.Timedelta(days=2)
    dup = np.flatnonzero(defect & (kind == 3))
    frame.loc[dup, "request_id"] = frame.loc[np.maximum(dup - 1, 0), "request_id"].to_numpy()
    return frame


class _TimedBatches:
    """Wraps GX's batch definitions so that `batch.validate` — GX's share of the work — is timed."""

    def __init__(self):
        self.seconds = 0.0
        self._original = gx_runtime.batch_definition

    def __enter__(self):
        timer = self

        class Batch:
            def __init__(self, batch):
                self._batch = batch

            def validate(self, *args, **kwargs):
                start = time.perf_counter()
                try:
                    return self._batch.validate(*args, **kwargs)
                finally:
                    timer.seconds += time.perf_counter() - start

        class Definition:
            def __init__(self, definition):
                self._definition = definition

            def get_batch(self, *args, **kwargs):
                start = time.perf_counter()
                batch = self._definition.get_batch(*args, **kwargs)
                timer.seconds += time.perf_counter() - start
                return Batch(batch)

        gx_runtime.batch_definition = lambda name: Definition(self._original(name))
        return self

    def __exit__(self, *exc):
        gx_runtime.batch_definition = self._original


def plain_pandas(df: pd.DataFrame, suite) -> dict[str, int]:
    """The suite's rules on the same frame with pandas/NumPy only: failing rows per rule (table-level: 0/1)."""
    out = {}
    for rule, expectation in suite.expectations(CITY, MONTH, pd.Timestamp("2025-06-01")):
        kw = expectation.configuration.kwargs
        t = rule.type
        if t == "expect_column_values_to_not_be_null":
            out[rule.id] = int(df[kw["column"]].isna().sum())
        elif t == "expect_column_values_to_be_in_set":
            col = df[kw["column"]]
            out[rule.id] = int((col.notna() & ~col.isin(kw["value_set"])).sum())
        elif t == "expect_column_values_to_be_between":
            col = df[kw["column"]]
            bad = pd.Series(False, index=df.index)
            if kw.get("min_value") is not None:
                bad |= col < kw["min_value"]
            if kw.get("max_value") is not None:
                bad |= (col >= kw["max_value"]) if kw.get("strict_max") else (col > kw["max_value"])
            out[rule.id] = int(bad.fillna(False).sum())
        elif t == "expect_compound_columns_to_be_unique":
            out[rule.id] = int(df.duplicated(kw["column_list"], keep=False).sum())
        elif t == "expect_column_pair_values_a_to_be_greater_than_b":
            a, b = df[kw["column_A"]], df[kw["column_B"]]
            both = a.notna() & b.notna()
            out[rule.id] = int((both & ~(a >= b if kw.get("or_equal") else a > b)).sum())
        elif t == "expect_table_columns_to_match_set":
            out[rule.id] = int(set(df.columns) != set(kw["column_set"]))
        elif t == "expect_column_max_to_be_between":
            out[rule.id] = int(not df[kw["column"]].max() >= kw["min_value"])
        else:
            raise ValueError(f"no plain-pandas version of {t}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    start = time.perf_counter()
    gx_runtime.import_gx()
    suite = load_suite("service_requests")
    print(f"GX import + suite check: {time.perf_counter() - start:.2f} s (once per process)")
    df = requests(args.rows)
    validate_table(df.head(100), SERVICE_REQUESTS, suite, city=CITY, month=MONTH)  # warm-up: context, metrics
    totals, gx_parts, plains = [], [], []
    result = None
    for _ in range(args.rounds):
        with _TimedBatches() as timed:
            start = time.perf_counter()
            result = validate_table(
                df,
                SERVICE_REQUESTS,
                suite,
                city=CITY,
                month=MONTH,
                now=pd.Timestamp("2025-06-01"),
                volume_history={"2025-01": args.rows, "2025-02": args.rows},
            )
            totals.append(time.perf_counter() - start)
        gx_parts.append(timed.seconds)
        start = time.perf_counter()
        plain = plain_pandas(df, suite)
        plains.append(time.perf_counter() - start)
    gx_counts = result.rules.set_index("rule")["unexpected_count"].dropna().astype(int).to_dict()
    mismatch = {r: (n, plain[r]) for r, n in gx_counts.items() if plain.get(r) != n}
    if mismatch:
        raise SystemExit(f"plain pandas and GX disagree (gx, pandas): {mismatch}")

    total, gx, floor = statistics.median(totals), statistics.median(gx_parts), statistics.median(plains)
    ours = total - gx
    n = args.rows
    print(f"{n:,} service requests, {len(suite.rules)} expectations + volume, {args.rounds} round(s), median:")
    print(
        f"  validate_table    {total:7.2f} s   {n / total:12,.0f} rows/s   "
        f"({len(result.rejected):,} quarantine rows, rejected share {result.rejected_share:.3f})"
    )
    print(f"    GX validate     {gx:7.2f} s   {gx / total:6.1%} of the total")
    print(f"    our code        {ours:7.2f} s   {ours / total:6.1%}  (binding, quarantine rows, rules, volume)")
    print(
        f"  same rules, plain pandas {floor:6.2f} s   {n / floor:12,.0f} rows/s -> GX overhead "
        f"{gx - floor:.2f} s ({(gx - floor) / total:.1%} of the total, {gx / floor:.1f}x the pandas time)"
    )
    texts = text_columns(df, exclude=SERVICE_REQUESTS.pii_columns)
    start = time.perf_counter()
    Scrubber(b"bench-key").frame(df, texts)
    scrub = time.perf_counter() - start
    print(f"  personal-data scrub of {len(texts)} text columns (staging): {scrub:.2f} s ({n / scrub:,.0f} rows/s)")


if __name__ == "__main__":
    main()
