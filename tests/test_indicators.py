"""Indicator computation from canonical tables: share, median, IKM and submitted values."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from kotacerdas.indicators.catalog import IndicatorCatalog
from kotacerdas.indicators.compute import compute_indicators, ikm_unit_score
from kotacerdas.schemas import IKM_ELEMENTS


def _catalog(*indicators: dict) -> IndicatorCatalog:
    base = {
        "name_id": "x",
        "name_en": "x",
        "dimension": "governance",
        "element": "public_service",
        "unit": "%",
        "direction": 1,
        "producer": "X",
        "goalposts": {"worst": 0, "best": 100},
    }
    return IndicatorCatalog.model_validate({"version": "t", "indicators": [{**base, **i} for i in indicators]})


def _requests() -> pd.DataFrame:
    t = pd.Timestamp("2025-03-03 08:00")
    return pd.DataFrame(
        {
            "opd_code": ["A", "A", "A", "B"],
            "channel": ["online", "offline", "online", "online"],
            "status": ["completed", "completed", "rejected", "completed"],
            "submitted_at": [t] * 4,
            "completed_at": [t + pd.Timedelta(days=d) for d in (1, 5, 2, 1)],
            "sla_days": pd.array([3, 3, 3, 1], dtype="Int64"),
        }
    )


def test_share_and_median_with_derived_durations():
    cat = _catalog(
        {
            "code": "SLA",
            "method": {
                "type": "share",
                "table": "service_requests",
                "where": "status == 'completed'",
                "numerator": "processing_days <= sla_days",
            },
        },
        {
            "code": "ONLINE_A",
            "method": {
                "type": "share",
                "table": "service_requests",
                "where": "opd_code == 'A'",
                "numerator": "channel == 'online'",
            },
        },
        {"code": "MED", "method": {"type": "median", "table": "service_requests", "column": "processing_days"}},
    )
    out = compute_indicators(
        cat, {"service_requests": _requests()}, city_code="19.71", period="2025-03", population=1000
    ).set_index("indicator_code")
    assert out.loc["SLA", "value"] == pytest.approx(100 * 2 / 3)
    assert (out.loc["SLA", "numerator"], out.loc["SLA", "denominator"]) == (2, 3)
    assert out.loc["ONLINE_A", "value"] == pytest.approx(100 * 2 / 3)
    assert out.loc["MED", "value"] == pytest.approx(1.5)
    assert out.loc["SLA", "rows_used"] == 3 and out.loc["SLA", "status"] == "ok"


def test_ikm_uses_exact_weights_per_permenpanrb_14_2017():
    # Two respondents; NRR per element is the mean answer; IKM unit = mean NRR × 25.
    answers = pd.DataFrame([{u: 3 for u in IKM_ELEMENTS}, {u: 4 for u in IKM_ELEMENTS}]).astype("Int64")
    assert ikm_unit_score(answers) == pytest.approx(87.5)
    answers.loc[1, "u9"] = pd.NA  # an element left unanswered counts only its answers
    expected = (8 * 3.5 + 3.0) / 9 * 25
    assert ikm_unit_score(answers) == pytest.approx(expected)


def test_submitted_per_population_and_no_data():
    cat = _catalog(
        {"code": "VISITS", "method": {"type": "submitted", "per_population": 1000}},
        {"code": "ABSENT", "method": {"type": "submitted"}},
    )
    subs = pd.DataFrame({"indicator_code": ["VISITS", "VISITS"], "value": [1200.0, 300.0]})
    out = compute_indicators(
        cat, {"indicator_submissions": subs}, city_code="19.71", period="2025-03", population=250_000
    ).set_index("indicator_code")
    assert out.loc["VISITS", "value"] == pytest.approx(1500 / 250)
    assert math.isnan(out.loc["ABSENT", "value"]) and out.loc["ABSENT", "status"] == "no_data"


def test_bad_expression_names_the_indicator():
    cat = _catalog(
        {"code": "BAD", "method": {"type": "share", "table": "service_requests", "numerator": "no_such_column == 1"}}
    )
    with pytest.raises(ValueError, match="indicator BAD"):
        compute_indicators(cat, {"service_requests": _requests()}, city_code="19.71", period="2025-03", population=1)


def test_goalposts_must_agree_with_direction():
    with pytest.raises(ValueError, match="contradict direction"):
        _catalog({"code": "X", "method": {"type": "submitted"}, "goalposts": {"worst": 100, "best": 0}})


def test_the_columns_an_indicator_selects_rows_by():
    from kotacerdas.indicators.compute import columns_selected

    cat = _catalog(
        {
            "code": "SLA",
            "method": {
                "type": "share",
                "table": "service_requests",
                "where": "opd_code == 'A' and status.isin(['completed'])",
                "numerator": "processing_days <= sla_days",
            },
        },
        {"code": "MED", "method": {"type": "median", "table": "complaints", "column": "resolution_days"}},
    )
    assert columns_selected(cat.indicators[:1]) == {
        "indicator_code",
        "opd_code",
        "status",
        "processing_days",
        "sla_days",
        "completed_at",  # processing_days derives from these two
        "submitted_at",
    }
    assert columns_selected(cat.indicators[1:]) >= {"resolution_days", "resolved_at", "received_at"}
    for unread in ("`opd code` == 'A'", "status == @wanted", "status =="):  # pandas may read any column then
        odd = _catalog({"code": "X", "method": {"type": "share", "table": "service_requests", "numerator": unread}})
        assert columns_selected(odd.indicators) is None


def test_lineage_of_narrowed_tables_is_the_lineage_of_whole_ones(monkeypatch):
    """The lineage selects rows on the columns its indicators read (not every staged column): the same rows."""
    import kotacerdas.warehouse.lineage as lineage

    cat = _catalog(
        {
            "code": "SLA",
            "method": {
                "type": "share",
                "table": "service_requests",
                "where": "status == 'completed'",
                "numerator": "processing_days <= sla_days",
            },
        },
        {"code": "MED", "method": {"type": "median", "table": "service_requests", "column": "processing_days"}},
        {
            "code": "ONLINE",
            "method": {"type": "share", "table": "service_requests", "numerator": "channel == 'online'"},
        },
    )
    requests = _requests().assign(
        _raw_file=["a.json", "a.json", "b.json", "b.json"],
        _raw_row=pd.array([1, 2, 1, 2], dtype="Int64"),
        applicant_nik_hash=["h1", "h2", "h3", "h4"],  # a column no indicator reads
    )
    valid = {"service_requests": requests}
    values = compute_indicators(cat, valid, city_code="19.71", period="2025-03", population=1000)
    narrowed = lineage.indicator_lineage(cat, valid, values, city_code="19.71", period="2025-03")
    assert list(lineage._narrowed(requests, cat, "service_requests").columns) == [
        c for c in requests.columns if c not in ("opd_code", "applicant_nik_hash")
    ]
    monkeypatch.setattr(lineage, "columns_selected", lambda indicators: None)  # every column, as before
    whole = lineage.indicator_lineage(cat, valid, values, city_code="19.71", period="2025-03")
    pd.testing.assert_frame_equal(narrowed, whole)
    assert len(narrowed) == 3 + 4 + 4  # completed; every row with a duration; every row
