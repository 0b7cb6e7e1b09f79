"""Batched validation (one GX validation per table for all partitions of a run) gives each partition exactly what
validating it alone gives: rules and counts, quarantine rows, valid rows, verdict, samples and Data Docs page.

Real data: the OPD simulator over loopback HTTP, ingested to a raw zone on disk and staged by the library; then
defects are written into the staged rows of some partitions only.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from conftest import OPD_TEST_TOKEN, edited_project, fast_rest, simulator_env

from kotacerdas.ingest import ingest_table
from kotacerdas.quality.batch import validate_partitions
from kotacerdas.quality.gate import GateInput, run_quality_gate, run_quality_gates
from kotacerdas.schemas import COMPLAINTS, INDICATOR_SUBMISSIONS, SERVICE_REQUESTS
from kotacerdas.simulator import OpdSimulator, write_file_drops
from kotacerdas.stage.staging import stage_table

CITIES = ("19.71", "19.03")
MONTHS = ("2025-01", "2025-02")
NOW = pd.Timestamp("2025-03-10 09:00")


@pytest.fixture(scope="module")
def staged(opd_project, tmp_path_factory):
    """(table, city, month) -> (StagingResult, IngestResult), and the raw zone: 2 cities × 2 months, one city's
    service requests with a staging fault in January."""
    root = tmp_path_factory.mktemp("qbatch")
    project = edited_project(root / "project", opd_project, edit_sources=fast_rest)
    raw, landing = root / "raw", root / "landing"
    write_file_drops(project, landing, list(CITIES), list(MONTHS), seed=7)
    out = {}
    for month in MONTHS:  # file drops: its percentage rule has a row condition
        for city in CITIES:
            ingest = ingest_table(project, INDICATOR_SUBMISSIONS.name, city, month, raw_dir=raw, landing_dir=landing)
            staging = stage_table(INDICATOR_SUBMISSIONS, ingest.frame, city=city, month=month, pii_key=None)
            out[(INDICATOR_SUBMISSIONS.name, city, month)] = (staging, ingest)
    with OpdSimulator(project, seed=7, token=OPD_TEST_TOKEN) as sim:
        sim.add_fault("opd_api_service_requests:wrong_type:field=standar_hari,to=text,city=19.03,opd=DISDUKCAPIL")
        env = simulator_env(sim)
        for table in (SERVICE_REQUESTS, COMPLAINTS):
            for month in MONTHS:
                for city in CITIES:
                    ingest = ingest_table(project, table.name, city, month, raw_dir=raw, landing_dir=raw, env=env)
                    staging = stage_table(table, ingest.frame, city=city, month=month, pii_key=None)
                    out[(table.name, city, month)] = (staging, ingest)
    return project, raw, out


def _break_service_requests(frame: pd.DataFrame) -> pd.DataFrame:
    """Row defects (set, range, pair, not-null, the partition's city, a duplicate key) in a few rows."""
    f = frame.copy()
    f.loc[f.index[0], "status"] = "lost"
    f.loc[f.index[1], "city_code"] = "19.03" if f["city_code"].iloc[1] == "19.71" else "19.71"
    f.loc[f.index[2], "completed_at"] = f["submitted_at"].iloc[2] - pd.Timedelta(days=2)
    f.loc[f.index[3], "sla_days"] = -1
    f.loc[f.index[4], "opd_code"] = None
    f.loc[f.index[5], "request_id"] = f["request_id"].iloc[6]
    f.loc[f.index[7], "submitted_at"] = pd.Timestamp("2024-12-31 23:00")
    return f


def _break_complaints(frame: pd.DataFrame) -> pd.DataFrame:
    f = frame.copy()
    f.loc[f.index[0], "first_response_at"] = f["received_at"].iloc[0] - pd.Timedelta(hours=3)
    f.loc[f.index[1:4], "category"] = None
    f.loc[f.index[len(f) // 2 :], "status"] = "lost"  # half the rows: this partition is blocked
    return f


def _break_submissions(frame: pd.DataFrame) -> pd.DataFrame:
    f = frame.copy()
    f["value"] = 250.0  # out of range for the percentages only (the rule's row condition keeps those)
    return f


DEFECTS = {
    "indicator_submissions": {"value_percent_in_range"},
    "service_requests": {"status_in_set", "city_code_is_partition", "key_unique", "opd_code_not_null"},
    "complaints": {"status_in_set", "category_not_null"},
}
BROKEN = {
    ("service_requests", "19.71", "2025-01"): _break_service_requests,
    ("service_requests", "19.03", "2025-02"): _break_service_requests,
    ("complaints", "19.03", "2025-01"): _break_complaints,
    ("indicator_submissions", "19.03", "2025-02"): _break_submissions,
}


def _inputs(out, table: str) -> dict[str, GateInput]:
    inputs = {}
    for (name, city, month), (staging, ingest) in out.items():
        if name != table:
            continue
        edit = BROKEN.get((name, city, month))
        if edit is not None:
            staging = replace(staging, frame=edit(staging.frame))
        inputs[f"{city}|{month}"] = GateInput(staging, city, month, ingest)
    return inputs


@pytest.mark.parametrize("table", [SERVICE_REQUESTS, COMPLAINTS, INDICATOR_SUBMISSIONS], ids=lambda t: t.name)
def test_batched_gates_equal_one_by_one(staged, table, tmp_path):
    project, raw, out = staged
    inputs = _inputs(out, table.name)
    batched = run_quality_gates(project, table, inputs, raw_dir=raw, docs_dir=tmp_path / "a", run_name="r", now=NOW)
    alone = {
        key: run_quality_gate(
            project,
            table,
            part.staged,
            city=part.city,
            month=part.month,
            raw_dir=raw,
            docs_dir=tmp_path / "b",
            run_name="r",
            now=NOW,
            ingest=part.ingest,
        )
        for key, part in inputs.items()
    }
    assert list(batched) == list(alone)
    broken = {f"{c}|{m}" for (t, c, m) in BROKEN if t == table.name}
    for key, gate in batched.items():
        one = alone[key]
        pd.testing.assert_frame_equal(gate.rules, one.rules)
        pd.testing.assert_frame_equal(gate.quarantine, one.quarantine)
        pd.testing.assert_frame_equal(gate.valid, one.valid)
        pd.testing.assert_frame_equal(gate.samples, one.samples)
        assert (gate.rejected_rows, gate.passed, gate.failed_table_rules, gate.verdict()) == (
            one.rejected_rows,
            one.passed,
            one.failed_table_rules,
            one.verdict(),
        )
        for severity in ("error", "warn"):
            assert gate.check_report(severity) == one.check_report(severity)
        page = gate.data_docs.replace(str(tmp_path / "a"), str(tmp_path / "b"))
        assert page == one.data_docs
        assert Path(gate.data_docs).read_text(encoding="utf-8") == Path(one.data_docs).read_text(encoding="utf-8")
        # the defects written show in the broken partitions only (the simulator has a few defects of its own)
        assert bool(DEFECTS[table.name] & set(gate.quarantine["rule"])) == (key in broken), key
    if table is COMPLAINTS:
        assert not batched["19.03|2025-01"].passed and batched["19.71|2025-01"].passed
    elif table is INDICATOR_SUBMISSIONS:  # the row condition keeps the percentages only: other rows stay valid
        broken_gate = batched["19.03|2025-02"]
        rule = broken_gate.rules.set_index("rule").loc["value_percent_in_range"]
        assert 0 < rule["unexpected_count"] == rule["element_count"] < len(inputs["19.03|2025-02"].staged.frame)
        assert len(broken_gate.valid) > 0
    else:
        quarantined = set(batched["19.71|2025-01"].quarantine["rule"])
        assert {"status_in_set", "city_code_is_partition", "completed_after_submitted", "key_unique"} <= quarantined
        assert {"sla_days_non_negative", "opd_code_not_null", "submitted_at_in_month"} <= quarantined


def test_one_gx_validation_holds_the_row_rules_of_every_partition(staged):
    """The batch is real: the partitions share one GX result, whose row rules saw every partition's rows."""
    project, raw, out = staged
    from kotacerdas.quality.batch import PartitionFrame
    from kotacerdas.quality.gate import project_suite

    inputs = _inputs(out, "service_requests")
    parts = [PartitionFrame(p.staged.frame, p.city, p.month) for p in inputs.values()]
    results = validate_partitions(parts, SERVICE_REQUESTS, project_suite(project, SERVICE_REQUESTS), now=NOW)
    shared = results[0].gx_result
    assert all(r.gx_result is shared for r in results)
    counts = {r.expectation_config.meta["kotacerdas_rule"]: r.result.get("element_count") for r in shared.results}
    assert counts["status_in_set"] == sum(len(p.frame) for p in parts)
    assert "city_code_is_partition" not in counts  # its kwargs name the partition: validated per partition


def test_rules_that_look_across_rows_never_compare_two_partitions(staged, tmp_path):
    """A key repeated in two partitions is no duplicate in either, batched or not: the compound key rule (batched
    with the partition number in its key) and a column uniqueness rule (validated per partition) say alone what
    they say in the batch. And the partition's own city is checked per row against that partition's city."""
    import yaml

    from kotacerdas.quality.batch import _same_shape

    project, raw, out = staged
    edited = edited_project(tmp_path, project)
    path = edited.dir / "expectations" / "service_requests.yaml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    doc["expectations"] += [
        {
            "id": "request_id_unique",
            "type": "expect_column_values_to_be_unique",
            "kwargs": {"column": "request_id"},
            "severity": "warn",
            "description": "A request id occurs once",
        },
        {
            "id": "key_unique_never_skipped",
            "type": "expect_compound_columns_to_be_unique",
            "kwargs": {"column_list": ["opd_code", "request_id"], "ignore_row_if": "never"},
            "severity": "warn",
            "description": "A request id occurs once per OPD, missing values included",
        },
    ]
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    edited = type(edited)(edited.dir)

    first, second = (out[("service_requests", city, "2025-01")][0] for city in CITIES)
    copied = first.frame.iloc[[0, 1]].copy()  # rows of the first city delivered again in the second's data
    copied.loc[copied.index[1], ["opd_code", "request_id"]] = None  # all of a key missing: skipped by default
    doubled = pd.concat([second.frame, copied], ignore_index=True)
    ones = first.frame.iloc[[2]].copy()
    ones.loc[ones.index[0], ["opd_code", "request_id"]] = None  # dtypes kept: the partitions are batched
    inputs = {
        "a": GateInput(replace(first, frame=pd.concat([first.frame, ones], ignore_index=True)), CITIES[0], "2025-01"),
        "b": GateInput(replace(second, frame=doubled), CITIES[1], "2025-01"),
    }
    assert _same_shape([p.staged.frame for p in inputs.values()])
    batched = run_quality_gates(edited, SERVICE_REQUESTS, inputs, now=NOW)
    for key, part in inputs.items():
        one = run_quality_gate(edited, SERVICE_REQUESTS, part.staged, city=part.city, month=part.month, now=NOW)
        pd.testing.assert_frame_equal(batched[key].rules, one.rules)
        pd.testing.assert_frame_equal(batched[key].quarantine, one.quarantine)
        pd.testing.assert_frame_equal(batched[key].valid, one.valid)
    rules = batched["b"].rules.set_index("rule")
    assert rules.loc["request_id_unique", "unexpected_count"] == 0  # its copy is in the other partition
    assert rules.loc["city_code_is_partition", "unexpected_count"] == 2  # the copied rows keep their city's code
    assert rules.loc["key_unique", "unexpected_count"] == 0  # a key of the other partition is no duplicate here
    # null keys: skipped by the default rule, compared by the `never` one (one null key per partition: no pair)
    assert rules.loc["key_unique_never_skipped", "unexpected_count"] == 0
    assert batched["a"].rules.set_index("rule").loc["key_unique", "unexpected_count"] == 0


def test_partition_scoped_rules_are_validated_once_for_the_batch(staged, monkeypatch):
    """The partition's own city and the compound key are one expectation each over both partitions' rows (with a
    helper column); the freshness rule (a column maximum) is one validation too, of a frame with each partition's
    column side by side and an expectation per partition: no validation is left per partition."""
    from kotacerdas.quality import gx_runtime
    from kotacerdas.quality.batch import PartitionFrame
    from kotacerdas.quality.gate import project_suite

    project, raw, out = staged
    seen: list[tuple[int, set[str], list[str]]] = []
    original = gx_runtime.batch_definition

    def watched(table_name):  # records what each validation of the run is given; validates as before
        definition = original(table_name)

        class Watched:
            def get_batch(self, batch_parameters):
                batch = definition.get_batch(batch_parameters=batch_parameters)

                class Batch:
                    def validate(self, suite, **kwargs):
                        rules = {e.meta["kotacerdas_rule"] for e in suite.expectations}
                        frame = batch_parameters["dataframe"]
                        seen.append((len(frame), rules, list(frame.columns)))
                        return batch.validate(suite, **kwargs)

                return Batch()

        return Watched()

    monkeypatch.setattr(gx_runtime, "batch_definition", watched)
    parts = [PartitionFrame(out[("service_requests", c, "2025-01")][0].frame, c, "2025-01") for c in CITIES]
    validate_partitions(parts, SERVICE_REQUESTS, project_suite(project, SERVICE_REQUESTS), now=NOW)
    total = sum(len(p.frame) for p in parts)
    scoped = [rules for rows, rules, _ in seen if rows == total and "key_unique" in rules]
    assert scoped == [{"key_unique", "city_code_is_partition"}]
    alone = [(rows, rules, columns) for rows, rules, columns in seen if rows < total]
    longest = max(len(p.frame) for p in parts)
    side_by_side = [f"__kotacerdas_partition_{i}:submitted_at" for i in range(len(parts))]
    assert alone == [(longest, {"data_fresh"}, side_by_side)]
    assert len(seen) == 3  # the row rules, the partition-scoped rules, the column maxima


def _frame(**columns) -> pd.DataFrame:
    return pd.DataFrame(columns)


@pytest.mark.parametrize(
    ("rules", "frames"),
    [
        pytest.param(  # two compound keys, the second all missing: each rule skips its own missing rows only
            [
                ("expect_compound_columns_to_be_unique", {"column_list": ["opd_code", "request_id"]}),
                ("expect_compound_columns_to_be_unique", {"column_list": ["city_code", "status"]}),
            ],
            [
                _frame(opd_code=["x", "y"], request_id=["1", "1"], city_code=[None, None], status=[None, None]),
                _frame(opd_code=["x"], request_id=["1"], city_code=[None], status=[None]),
            ],
            id="two-compound-keys",
        ),
        pytest.param(  # the same key with both ways of treating missing values
            [
                ("expect_compound_columns_to_be_unique", {"column_list": ["opd_code", "request_id"]}),
                (
                    "expect_compound_columns_to_be_unique",
                    {"column_list": ["opd_code", "request_id"], "ignore_row_if": "never"},
                ),
            ],
            [
                _frame(opd_code=[None, None, "x"], request_id=[None, None, "1"]),
                _frame(opd_code=[None, "x"], request_id=[None, "1"]),
            ],
            id="missing-keys-skipped-or-not",
        ),
        pytest.param(  # fences from the whole column: per partition
            [("expect_column_values_to_not_be_outliers", {"column": "sla_days", "method": "iqr"})],
            [_frame(sla_days=[1.0, 1.0, 1.0, 1.0, 50.0]), _frame(sla_days=[0.0, 25.0, 50.0, 75.0, 100.0])],
            id="outliers",
        ),
        pytest.param(  # a month as text against a datetime column: `==` would parse it, the set rule does not
            [("expect_column_values_to_be_in_set", {"column": "submitted_at", "value_set": ["${month}"]})],
            [
                _frame(submitted_at=pd.to_datetime(["2025-01-01", "2025-01-02"])),
                _frame(submitted_at=pd.to_datetime(["2025-02-01"])),
            ],
            id="month-on-a-datetime",
        ),
        pytest.param(  # column maxima side by side: lengths differ, one partition stale, one all missing
            [
                (
                    "expect_column_max_to_be_between",
                    {"column": "submitted_at", "min_value": pd.Timestamp("2025-01-20")},
                ),
                ("expect_column_min_to_be_between", {"column": "sla_days", "max_value": 3.0}),
            ],
            [
                _frame(submitted_at=pd.to_datetime(["2025-01-01", "2025-01-25", None]), sla_days=[1.0, None, 7.0]),
                _frame(submitted_at=pd.to_datetime(["2025-01-02"]), sla_days=[5.0]),
                _frame(submitted_at=pd.to_datetime([None, None]), sla_days=[None, 2.0]),
            ],
            id="column-aggregates",
        ),
        pytest.param(  # plain integers would turn into floats when padded: validated per partition instead
            [("expect_column_max_to_be_between", {"column": "sla_days", "max_value": 4})],
            [_frame(sla_days=[1, 5, 3]), _frame(sla_days=[2])],
            id="integer-aggregate",
        ),
        pytest.param(  # a row condition: counts over the rows it keeps (none in one partition), nulls skipped
            [
                (
                    "expect_column_values_to_be_between",
                    {
                        "column": "sla_days",
                        "min_value": 0,
                        "max_value": 100,
                        "row_condition": {
                            "type": "comparison",
                            "column": {"name": "status"},
                            "operator": "IN",
                            "parameter": ["completed", "rejected"],
                        },
                    },
                ),
                (
                    "expect_column_values_to_not_be_null",
                    {
                        "column": "channel",
                        "mostly": 0.6,
                        "row_condition": {
                            "type": "comparison",
                            "column": {"name": "status"},
                            "operator": "==",
                            "parameter": "completed",
                        },
                    },
                ),
            ],
            [
                _frame(
                    status=["completed", "rejected", "submitted", "completed", "completed"],
                    sla_days=[5.0, 150.0, 500.0, None, -1.0],
                    channel=["online", None, None, None, "offline"],
                ),
                _frame(status=["submitted", "in_process"], sla_days=[200.0, 1.0], channel=[None, None]),
                _frame(status=["completed", "completed"], sla_days=[101.0, None], channel=[None, None]),
            ],
            id="row-condition",
        ),
        pytest.param(  # the partition's own city, with a missing and a wrong one
            [("expect_column_values_to_be_in_set", {"column": "city_code", "value_set": ["${city}"]})],
            [_frame(city_code=["19.71", None, "19.03"]), _frame(city_code=["19.03", "19.71"])],
            id="own-city",
        ),
    ],
)
def test_each_rule_says_in_the_batch_what_it_says_alone(rules, frames):
    """Small frames written for one rule kind each: the batch gives every partition GX's own verdict on it."""
    from kotacerdas.quality.batch import PartitionFrame
    from kotacerdas.quality.suite import Rule, Suite

    def suite_of(frame: pd.DataFrame) -> Suite:
        specs = [
            Rule(id=f"r{i}", type=t, kwargs=k, severity="warn", description=f"rule {i}", index=i)
            for i, (t, k) in enumerate(rules)
        ]
        return Suite(
            SERVICE_REQUESTS, Path("test.yaml"), tuple(specs), config_values={"city_codes": ["19.71", "19.03"]}
        )

    parts = [
        PartitionFrame(frame, city, month)
        for frame, (city, month) in zip(
            frames, [("19.71", "2025-01"), ("19.03", "2025-02"), ("19.71", "2025-02")][: len(frames)], strict=True
        )
    ]
    suite = suite_of(frames[0])
    batched = validate_partitions(parts, SERVICE_REQUESTS, suite, now=NOW)
    for part, result in zip(parts, batched, strict=True):
        alone = validate_partitions([part], SERVICE_REQUESTS, suite, now=NOW)[0]
        pd.testing.assert_frame_equal(result.rules, alone.rules)
        pd.testing.assert_frame_equal(result.rejected, alone.rejected)


def test_a_partitions_own_rules_are_given_each_column_they_name_once():
    """Rules validated per partition get only the columns they name (GX hashes every column it is given); a pair
    rule naming one column twice must not get it twice (GX would then read a frame where a column belongs)."""
    from kotacerdas.quality.batch import _columns_looked_at
    from kotacerdas.quality.suite import Rule

    pair = Rule("same", "expect_column_pair_values_to_be_equal", {"column_A": "x", "column_B": "x"}, "error", "", 0)
    fresh = Rule("fresh", "expect_column_max_to_be_between", {"column": "t", "min_value": 1}, "error", "", 1)
    rows = Rule("rows", "expect_table_row_count_to_be_between", {"min_value": 1}, "error", "", 2)
    bound = [{r.id: dict(r.kwargs) for r in (pair, fresh, rows)}] * 2
    assert _columns_looked_at([pair, fresh], bound) == ["x", "t"]
    assert _columns_looked_at([fresh, rows], bound) is None  # a table rule sees the whole frame
    conditional = [{**b, "fresh": {**b["fresh"], "row_condition": 'status=="done"'}} for b in bound]
    assert _columns_looked_at([fresh], conditional) is None  # a row condition may name any column


def test_a_bound_per_resident_is_one_validation_that_says_what_each_partition_says_alone(monkeypatch):
    """A range per 1,000 residents differs by city, so each partition has its own bound; the batch checks every row
    against its own partition's bound in one GX validation, and a value exactly at its bound, or one float step
    either side of it, passes or fails as alone (missing values are skipped, infinity fails)."""
    import numpy as np

    from kotacerdas.quality import gx_runtime
    from kotacerdas.quality.batch import PartitionFrame
    from kotacerdas.quality.suite import Rule, Suite

    done = {"type": "comparison", "column": {"name": "status"}, "operator": "==", "parameter": "completed"}
    between = "expect_column_values_to_be_between"
    rules = (
        Rule("most", between, {"column": "sla_days", "max_value": 3}, "error", "a", 0, 1_000),
        Rule(
            "least",
            "expect_column_values_to_be_between",
            {"column": "sla_days", "min_value": 0.5, "row_condition": done, "mostly": 0.5},
            "warn",
            "b",
            1,
            1000,
        ),
    )
    suite = Suite(
        SERVICE_REQUESTS,
        Path("test.yaml"),
        rules,
        config_values={"city_codes": ["19.71", "19.03"]},
        populations={"19.71": 242_285, "19.03": 216_079},
    )
    keys = [("19.71", "2025-01"), ("19.03", "2025-02"), ("19.71", "2025-02")]
    frames = []
    for city, month in keys:
        high = suite.bound_kwargs(rules[0], city, month)["max_value"]  # 726.855 and 648.237: not whole numbers
        low = suite.bound_kwargs(rules[1], city, month)["min_value"]
        values = [high, np.nextafter(high, np.inf), np.nextafter(high, -np.inf), low, np.nextafter(low, -np.inf)]
        values += [None, float("inf"), 1.0]
        frames.append(_frame(sla_days=values, status=["completed"] * 4 + ["submitted", "completed"] * 2))
    frames[1] = frames[1].iloc[:3]  # partitions of different lengths
    parts = [PartitionFrame(f, c, m) for f, (c, m) in zip(frames, keys, strict=True)]

    validations = []
    original = gx_runtime.batch_definition

    def counted(table_name):
        definition = original(table_name)

        class Counted:
            def get_batch(self, batch_parameters):
                validations.append(len(batch_parameters["dataframe"]))
                return definition.get_batch(batch_parameters=batch_parameters)

        return Counted()

    monkeypatch.setattr(gx_runtime, "batch_definition", counted)
    batched = validate_partitions(parts, SERVICE_REQUESTS, suite, now=NOW)
    assert validations == [sum(len(f) for f in frames)]  # one validation of every row, none per partition
    for part, result in zip(parts, batched, strict=True):
        alone = validate_partitions([part], SERVICE_REQUESTS, suite, now=NOW)[0]
        pd.testing.assert_frame_equal(result.rules, alone.rules)
        pd.testing.assert_frame_equal(result.rejected, alone.rejected)
    first = batched[0].rejected
    # a float step above the bound and infinity are too many; 1 is too few under the row condition
    assert sorted(first["rule"]) == ["least", "most", "most"]
    assert "(at most 726.855 for 242,285 residents; got 726.8550000000001)" in first["reason"].iloc[0]
