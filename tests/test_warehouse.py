"""Publishing a partition on real DuckDB and PostgreSQL: idempotent, isolated, atomic, SQL-safe, exact."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from conftest import REPO_ROOT

from kotacerdas.schemas import INDEX_SCORE_COLUMNS, INDICATOR_VALUE_COLUMNS
from kotacerdas.warehouse.engine import create_warehouse_engine, resolve_warehouse_url
from kotacerdas.warehouse.publish import COPY_CHUNK_ROWS, publish_partition, publish_partitions
from kotacerdas.warehouse.schema import FACT_TABLES, OPTIONAL_COLUMNS, RUN_COLUMNS, TABLES


def _values(city: str, period: str, n: int, name: str = "IND") -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "city_code": city,
                "period": period,
                "indicator_code": f"{name}_{i}",
                "dimension": "governance",
                "element": "public_service",
                "unit": "%",
                "value": i / 3,
                "numerator": math.nan,
                "denominator": 3.0,
                "rows_used": i,
                "source_table": "service_requests",
                "status": "ok",
                "catalog_version": "t",
            }
            for i in range(n)
        ]
    ).astype(INDICATOR_VALUE_COLUMNS)


@pytest.fixture(params=["duckdb", "postgres"])
def engine(request):
    url = request.getfixturevalue("duckdb_url" if request.param == "duckdb" else "postgres_url")
    eng = create_warehouse_engine(url)
    yield eng
    eng.dispose()


def _rows(engine, where: str = "") -> list[tuple]:
    with engine.connect() as conn:
        return conn.exec_driver_sql(
            f"SELECT city_code, period, indicator_code, value, numerator FROM indicator_values {where} "
            "ORDER BY city_code, period, indicator_code"
        ).all()


def test_republish_is_idempotent_and_keeps_other_partitions(engine):
    publish_partition(engine, "19.03", "2025-01", {"indicator_values": _values("19.03", "2025-01", 2)}, run_id="a")
    first = publish_partition(
        engine, "19.71", "2025-01", {"indicator_values": _values("19.71", "2025-01", 5)}, run_id="b"
    )
    before = _rows(engine)
    again = publish_partition(
        engine, "19.71", "2025-01", {"indicator_values": _values("19.71", "2025-01", 5)}, run_id="c"
    )
    assert first == again == {"indicator_values": 5}
    assert _rows(engine) == before and len(before) == 7
    assert _rows(engine, "WHERE city_code = '19.03'")[0][4] is None  # NaN stored as NULL


def test_failed_publish_leaves_previous_version_whole(engine):
    publish_partition(engine, "19.71", "2025-02", {"indicator_values": _values("19.71", "2025-02", 4)}, run_id="a")
    before = _rows(engine)
    row = {"city_code": "19.71", "period": "2025-02", "level": "index", "code": "INDEX", "score": 1.0}
    scores = pd.DataFrame([row], columns=list(INDEX_SCORE_COLUMNS)).astype(INDEX_SCORE_COLUMNS)

    def fail_after_first_table(name, rows):  # the first table is already replaced inside the transaction
        raise RuntimeError(f"simulated failure after {name}")

    with pytest.raises(RuntimeError, match="simulated failure after indicator_values"):
        publish_partition(
            engine,
            "19.71",
            "2025-02",
            {
                "indicator_values": _values("19.71", "2025-02", 9, name="NEW"),
                "index_scores": scores,
            },
            run_id="b",
            on_table_written=fail_after_first_table,
        )
    assert _rows(engine) == before


def _scores(city: str, period: str, score: float) -> pd.DataFrame:
    row = {"city_code": city, "period": period, "level": "index", "code": "INDEX", "score": score}
    return pd.DataFrame([row], columns=list(INDEX_SCORE_COLUMNS)).astype(INDEX_SCORE_COLUMNS)


def test_several_partitions_in_one_transaction_replace_only_theirs(engine):
    publish_partition(engine, "19.03", "2025-01", {"indicator_values": _values("19.03", "2025-01", 2)}, run_id="a")
    publish_partition(engine, "19.71", "2025-01", {"indicator_values": _values("19.71", "2025-01", 2)}, run_id="a")
    publish_partition(engine, "19.71", "2025-02", {"indicator_values": _values("19.71", "2025-02", 2)}, run_id="a")
    written = publish_partitions(
        engine,
        {
            ("19.71", "2025-01"): {"indicator_values": _values("19.71", "2025-01", 3, name="NEW")},
            ("19.71", "2025-02"): {
                "indicator_values": _values("19.71", "2025-02", 1).iloc[0:0],  # published empty: its rows go
                "index_scores": _scores("19.71", "2025-02", 2.5),
            },
            ("19.04", "2025-02"): {"index_scores": _scores("19.04", "2025-02", 1.5)},
        },
        run_id="b",
    )
    assert written == {
        ("19.71", "2025-01"): {"indicator_values": 3},
        ("19.71", "2025-02"): {"indicator_values": 0, "index_scores": 1},
        ("19.04", "2025-02"): {"index_scores": 1},
    }
    assert [r[:3] for r in _rows(engine)] == [
        ("19.03", "2025-01", "IND_0"),  # not in the call: untouched
        ("19.03", "2025-01", "IND_1"),
        ("19.71", "2025-01", "NEW_0"),
        ("19.71", "2025-01", "NEW_1"),
        ("19.71", "2025-01", "NEW_2"),
    ]
    with engine.connect() as conn:
        scores = conn.exec_driver_sql("SELECT city_code, period, score FROM index_scores ORDER BY city_code").all()
    assert [tuple(r) for r in scores] == [("19.04", "2025-02", 1.5), ("19.71", "2025-02", 2.5)]


def test_several_partitions_are_published_all_or_none(engine):
    publish_partition(engine, "19.03", "2025-01", {"indicator_values": _values("19.03", "2025-01", 2)}, run_id="a")
    before = _rows(engine)

    def fail_after_first_table(name, rows):
        raise RuntimeError(f"simulated failure after {name} ({rows} rows)")

    with pytest.raises(RuntimeError, match="after indicator_values [(]7 rows[)]"):
        publish_partitions(
            engine,
            {
                ("19.03", "2025-01"): {"indicator_values": _values("19.03", "2025-01", 4, name="NEW")},
                ("19.71", "2025-01"): {
                    "indicator_values": _values("19.71", "2025-01", 3, name="NEW"),
                    "index_scores": _scores("19.71", "2025-01", 1.0),
                },
            },
            run_id="b",
            on_table_written=fail_after_first_table,
        )
    assert _rows(engine) == before
    with pytest.raises(ValueError, match="19.71 2025-02: 1 row"):  # one bad partition refuses the whole call
        publish_partitions(
            engine,
            {
                ("19.03", "2025-01"): {"indicator_values": _values("19.03", "2025-01", 4, name="NEW")},
                ("19.71", "2025-02"): {"indicator_values": _values("19.71", "2025-03", 1)},
            },
            run_id="c",
        )
    assert _rows(engine) == before


def test_rows_of_another_partition_are_refused(engine):
    with pytest.raises(ValueError, match="belong to other partitions"):
        publish_partition(engine, "19.71", "2025-03", {"indicator_values": _values("19.03", "2025-03", 1)}, run_id="a")


def test_values_that_would_break_sql_round_trip(engine):
    frame = _values("19.71", "2025-04", 1)
    frame["indicator_code"] = "x'); DROP TABLE indicator_values; --"
    frame["unit"] = 'kunjungan/1.000 penduduk — ✓ "é"; \\ tab\t'
    publish_partition(engine, "19.71", "2025-04", {"indicator_values": frame}, run_id="a")
    with engine.connect() as conn:
        code, unit = conn.exec_driver_sql("SELECT indicator_code, unit FROM indicator_values").one()
    assert (code, unit) == (frame["indicator_code"][0], frame["unit"][0])


def test_relative_duckdb_paths_use_project_root(tmp_path):
    url = resolve_warehouse_url("duckdb:///data/w.duckdb", tmp_path)
    assert url.database == str(tmp_path / "data" / "w.duckdb")


def test_env_var_overrides_config_but_not_a_resource_given_its_own_url(tmp_path):
    from assets.resources import WarehouseResource
    from kotacerdas.config import overridden_environment

    config_dir = str(REPO_ROOT / "config")
    assert WarehouseResource(config_dir=config_dir).sqlalchemy_url().get_backend_name() == "duckdb"
    with overridden_environment({"KOTACERDAS_WAREHOUSE_URL": "postgresql+psycopg://u:secret@h/db"}):
        assert WarehouseResource(config_dir=config_dir).sqlalchemy_url().get_backend_name() == "postgresql"
        own = WarehouseResource(config_dir=config_dir, url=f"duckdb:///{tmp_path / 'w.duckdb'}")
        assert own.sqlalchemy_url().database == str(tmp_path / "w.duckdb")


def test_unreachable_warehouse_is_a_clear_error():
    from kotacerdas.errors import ConfigError

    with pytest.raises(ConfigError, match="cannot open the warehouse.*\\*\\*\\*"):
        create_warehouse_engine(sa.make_url("postgresql+psycopg://u:topsecret@127.0.0.1:1/none"))


# Text that has broken loaders: SQL quoting, CSV quoting, COPY's end-of-data marker and NULL spellings,
# control characters, non-ASCII — in codes as well as in names.
NASTY = [
    "x'); DROP TABLE indicator_values; --",
    'a "quoted", value;',
    "\\.",
    "\\N",
    "",
    "NULL",
    "tab\there",
    "line\nbreak\r\nwindows",
    "back\\slash",
    "Kota Pangkal Pinang — ✓ é ñ 漢字 🏙️",
    " leading space ",
]


def _synthetic(name: str, city: str, period: str, n: int, seed: int) -> pd.DataFrame:
    """A frame for any fact table: every type, NULLs in every nullable column, nasty text."""
    rng = np.random.default_rng(seed)
    data = {}
    for col, dtype in FACT_TABLES[name].items():
        if col == "city_code":
            data[col] = pd.array([city] * n, dtype="string")
        elif col == "period":
            data[col] = pd.array([period] * n, dtype="string")
        elif dtype == "string":
            data[col] = pd.array(
                [None if i % 7 == 3 else NASTY[(i + seed) % len(NASTY)] + ("" if i % 2 else str(i)) for i in range(n)],
                dtype="string",
            )
        elif dtype == "float64":
            v = rng.standard_normal(n) * 10.0 ** rng.integers(-300, 300, n)
            v[::5] = np.nan
            v[1::11] = -0.0
            v[2::13] = np.inf
            data[col] = v
        elif dtype == "Int64":
            data[col] = pd.array(
                [None if i % 6 == 2 else int(x) for i, x in enumerate(rng.integers(-(2**62), 2**62, n))], dtype="Int64"
            )
        elif dtype in ("bool", "boolean"):
            data[col] = pd.array([None if i % 5 == 1 else bool(i % 2) for i in range(n)], dtype="boolean")
        else:  # timestamps, microseconds
            t = pd.Timestamp("1970-01-01") + pd.to_timedelta(rng.integers(0, 2**52, n), unit="us")
            data[col] = pd.Series(t).astype("datetime64[us]").where(np.arange(n) % 4 != 1)
    return pd.DataFrame(data).astype(FACT_TABLES[name])


def _read_back(engine, name: str, city: str, period: str) -> pd.DataFrame:
    cols = list(FACT_TABLES[name])
    table = TABLES[name]
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(*(table.c[c] for c in cols)).where(table.c.city_code == city, table.c.period == period)
        ).all()
    return pd.DataFrame(rows, columns=cols, dtype=object)  # exactly what the driver returned


def _canonical(row: tuple) -> tuple:
    """A sort key that orders driver values and pandas values alike."""

    def one(v):
        if v is None:
            return "\0"
        if isinstance(v, dt.datetime):
            return pd.Timestamp(v).isoformat()
        if isinstance(v, float | np.floating):
            return repr(float(v))
        return str(v)

    return tuple(one(v) for v in row)


def _same(expected: pd.DataFrame, got: pd.DataFrame) -> None:
    """Value by value: text identical, floats bit-identical (incl. -0.0 and inf), NULL where missing."""
    key = list(expected.columns)
    exp = expected.astype(object).where(expected.notna(), None)
    exp_rows = sorted((tuple(r) for r in exp.itertuples(index=False)), key=_canonical)
    got_rows = sorted((tuple(r) for r in got.itertuples(index=False)), key=_canonical)
    assert len(exp_rows) == len(got_rows)
    for e_row, g_row in zip(exp_rows, got_rows, strict=True):
        for col, e, g in zip(key, e_row, g_row, strict=True):
            if isinstance(e, float):
                assert isinstance(g, float) and (e == g and math.copysign(1, e) == math.copysign(1, g)), (col, e, g)
            elif isinstance(e, pd.Timestamp):
                assert pd.Timestamp(g) == e, (col, e, g)
            else:
                assert e == g, (col, e, g)


@pytest.mark.parametrize("city", ["19.71", "kota 'ñ'; DROP TABLE raw_files; -- ✓"])
def test_values_that_would_break_sql_round_trip_in_every_table_and_type(engine, city):
    period = "2025-05"
    frames = {name: _synthetic(name, city, period, 60, seed=i) for i, name in enumerate(FACT_TABLES)}
    written = publish_partition(engine, city, period, frames, run_id="run 'π'; --")
    assert written == dict.fromkeys(FACT_TABLES, 60)
    for name, frame in frames.items():
        _same(frame, _read_back(engine, name, city, period))


def test_two_runs_of_a_partition_give_identical_facts_and_leave_others_alone(engine):
    frames = {name: _synthetic(name, "19.71", "2025-06", 40, seed=7) for name in FACT_TABLES}
    others = {name: _synthetic(name, "19.03", "2025-06", 30, seed=8) for name in FACT_TABLES}
    publish_partition(engine, "19.03", "2025-06", others, run_id="other")
    publish_partition(engine, "19.71", "2025-06", frames, run_id="first")
    first = {n: _read_back(engine, n, "19.71", "2025-06") for n in FACT_TABLES}
    other_before = {n: _read_back(engine, n, "19.03", "2025-06") for n in FACT_TABLES}
    publish_partition(engine, "19.71", "2025-06", frames, run_id="second")
    for name in FACT_TABLES:
        _same(first[name], _read_back(engine, name, "19.71", "2025-06"))
        _same(other_before[name], _read_back(engine, name, "19.03", "2025-06"))
    with engine.connect() as conn:
        runs = {
            r[0] for r in conn.exec_driver_sql("SELECT DISTINCT run_id FROM index_scores WHERE city_code = '19.71'")
        }
        other_runs = {
            r[0] for r in conn.exec_driver_sql("SELECT DISTINCT run_id FROM index_scores WHERE city_code = '19.03'")
        }
    assert runs == {"second"} and other_runs == {"other"}
    # Publishing only some tables leaves the partition's other tables as they were.
    publish_partition(engine, "19.71", "2025-06", {"quarantine": frames["quarantine"].iloc[:5]}, run_id="q")
    assert len(_read_back(engine, "quarantine", "19.71", "2025-06")) == 5
    _same(first["index_scores"], _read_back(engine, "index_scores", "19.71", "2025-06"))


def test_large_frames_are_copied_in_chunks_exactly(engine, monkeypatch):
    monkeypatch.setattr("kotacerdas.warehouse.publish.COPY_CHUNK_ROWS", 1_000)
    assert COPY_CHUNK_ROWS >= 10_000  # the real chunk size; small chunks here keep the test fast
    n = 1_000 * 2 + 17
    frame = _synthetic("index_scores", "19.71", "2025-07", n, seed=3)
    assert publish_partition(engine, "19.71", "2025-07", {"index_scores": frame}, run_id="big") == {"index_scores": n}
    back = _read_back(engine, "index_scores", "19.71", "2025-07")
    assert len(back) == n
    with engine.connect() as conn:
        total = conn.exec_driver_sql(
            "SELECT sum(score) FROM index_scores WHERE period = '2025-07' AND score < 1e300 AND score > -1e300"
        ).scalar_one()
    finite = frame["score"][np.isfinite(frame["score"]) & (frame["score"].abs() < 1e300)]
    assert math.isclose(total, finite.sum(), rel_tol=1e-9)


def test_optional_columns_may_be_left_out_required_ones_not(engine):
    values = _values("19.71", "2025-08", 2)
    assert OPTIONAL_COLUMNS["indicator_values"] <= set(FACT_TABLES["indicator_values"])
    publish_partition(engine, "19.71", "2025-08", {"indicator_values": values}, run_id="a")
    with engine.connect() as conn:
        assert (
            conn.exec_driver_sql(
                "SELECT count(*) FROM indicator_values WHERE normalised_score IS NULL AND quality_flag IS NULL"
            ).scalar_one()
            == 2
        )
    with pytest.raises(ValueError, match="missing column"):
        publish_partition(engine, "19.71", "2025-08", {"indicator_values": values.drop(columns="value")}, run_id="b")
    assert set(RUN_COLUMNS) <= {c.name for c in TABLES["indicator_values"].c}


def test_partitions_published_together_keep_each_ones_optional_columns_and_types(engine):
    # a group is typed once for all its partitions: one partition's missing optional column gets its default only on
    # its own rows, and a column typed differently in two partitions (ints here, floats with NaN there) is stored as
    # each partition alone would be
    with_status = _scores("19.71", "2025-05", 2.5).assign(status="incomplete")
    without = _scores("19.03", "2025-05", 1.5)
    assert "status" not in without.columns
    counted = _values("19.71", "2025-05", 2).assign(rows_used=[1, 2])
    missing = _values("19.03", "2025-05", 2).astype({"rows_used": "float64"}).assign(rows_used=[math.nan, 4.0])
    written = publish_partitions(
        engine,
        {
            ("19.71", "2025-05"): {"index_scores": with_status, "indicator_values": counted},
            ("19.03", "2025-05"): {"index_scores": without, "indicator_values": missing},
        },
        run_id="g",
    )
    assert written == {
        ("19.71", "2025-05"): {"index_scores": 1, "indicator_values": 2},
        ("19.03", "2025-05"): {"index_scores": 1, "indicator_values": 2},
    }
    with engine.connect() as conn:
        status = dict(conn.exec_driver_sql("SELECT city_code, status FROM index_scores WHERE period = '2025-05'").all())
        used = conn.exec_driver_sql(
            "SELECT city_code, rows_used FROM indicator_values WHERE period = '2025-05' ORDER BY city_code, rows_used"
        ).all()
    assert status == {"19.71": "incomplete", "19.03": "complete"}
    got = sorted((c, -1 if n is None else int(n)) for c, n in used)
    assert got == [("19.03", -1), ("19.03", 4), ("19.71", 1), ("19.71", 2)]  # -1: NULL


def test_a_publish_that_grows_a_table_gives_postgresql_its_statistics(postgres_url):
    # PostgreSQL plans by statistics that autovacuum refreshes only a while after a load: a table this publish grew
    # by a tenth or more (or one never analysed) is analysed at once, a small change to a large table is not
    from kotacerdas.warehouse.publish import analyze_grown_tables

    engine = create_warehouse_engine(postgres_url)

    def estimated_rows() -> float:  # -1 (PostgreSQL 14+) until the table is analysed or vacuumed
        with engine.connect() as conn:
            return conn.exec_driver_sql("SELECT reltuples FROM pg_class WHERE relname = 'indicator_values'").scalar()

    try:
        partitions = [(f"{11 + i // 10}.{i % 10 + 1:02d}", "2025-01") for i in range(40)]
        frames = {key: {"indicator_values": _values(*key, 50)} for key in partitions}
        publish_partitions(engine, frames, run_id="load")
        assert estimated_rows() == 2000  # ANALYZE read every row of so small a table: its estimate is exact
        # one partition again: 50 rows inserted into 2,000 (2.5 %) is below the share, nothing analysed
        assert analyze_grown_tables(engine, {"indicator_values": 50}) == []
        assert analyze_grown_tables(engine, {"indicator_values": 200}) == ["indicator_values"]
        assert analyze_grown_tables(engine, {"indicator_values": 0}) == []
    finally:
        engine.dispose()
