"""Framework reading and validation: COINr iData/iMeta, COINr 0.x inputs, and clear errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kotacerdas.index import IndexMethodError, from_coinr_v0, read_framework


def tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    idata = pd.DataFrame(
        {
            "uCode": ["A", "B", "C", "D"],
            "uName": ["Alpha", "Beta", "Gamma", "Delta"],
            "Group_size": ["S", "S", "L", "L"],
            "Den_pop": [10.0, 20.0, 40.0, 80.0],
            "x1": [1.0, 2.0, 3.0, 4.0],
            "x2": [4.0, 3.0, 2.0, 1.0],
            "x3": [10.0, np.nan, 30.0, 40.0],
        }
    )
    imeta = pd.DataFrame(
        {
            "Level": [1, 1, 1, 2, 2, 3],
            "iCode": ["x1", "x2", "x3", "P1", "P2", "Index"],
            "Parent": ["P1", "P1", "P2", "Index", "Index", None],
            "Direction": [1, -1, 1, 1, 1, 1],
            "Weight": [1, 3, 1, 1, 1, 1],
            "Type": ["Indicator"] * 3 + ["Aggregate"] * 3,
            "Target": [5, 0.5, 50, None, None, None],
            "Denominator": [None, None, "Den_pop", None, None, None],
        }
    )
    return idata, imeta


def test_reads_structure() -> None:
    fw = read_framework(*tables())
    assert fw.indicators == ["x1", "x2", "x3"]
    assert fw.aggregates == ["P1", "P2", "Index"]
    assert fw.children("P1") == ["x1", "x2"] and fw.children("Index") == ["P1", "P2"]
    assert fw.groups == ["Group_size"] and fw.denominators == ["Den_pop"]
    assert fw.levels == {1: ["x1", "x2", "x3"], 2: ["P1", "P2"], 3: ["Index"]}
    assert fw.direction.to_dict() == {"x1": 1.0, "x2": -1.0, "x3": 1.0}
    assert fw.denominator["x3"] == "Den_pop" and pd.isna(fw.denominator["x1"])


def test_levels_are_inferred_when_absent() -> None:
    idata, imeta = tables()
    fw = read_framework(idata, imeta.drop(columns="Level"))
    assert fw.levels[3] == ["Index"]


def _error(idata: pd.DataFrame, imeta: pd.DataFrame) -> str:
    with pytest.raises(IndexMethodError) as info:
        read_framework(idata, imeta)
    assert isinstance(info.value, ValueError)
    return str(info.value)


def test_unknown_parent_names_the_code() -> None:
    idata, imeta = tables()
    imeta.loc[0, "Parent"] = "Nowhere"
    msg = _error(idata, imeta)
    assert "'x1'" in msg and "'Nowhere'" in msg and "what to do" in msg


def test_cycle_is_reported() -> None:
    idata, imeta = tables()
    imeta.loc[5, "Parent"] = "P1"  # Index → P1 → Index
    imeta.loc[3, "Parent"] = "Index"
    msg = _error(idata, imeta)
    assert "cycle" in msg and "P1" in msg and "Index" in msg


def test_non_numeric_weight() -> None:
    idata, imeta = tables()
    imeta["Weight"] = imeta["Weight"].astype(object)
    imeta.loc[1, "Weight"] = "heavy"
    msg = _error(idata, imeta)
    assert "'x2'" in msg and "'heavy'" in msg and "not a number" in msg


def test_missing_weight() -> None:
    idata, imeta = tables()
    imeta.loc[4, "Weight"] = None
    assert "'P2' has no Weight" in _error(idata, imeta)


def test_indicator_without_data_column() -> None:
    idata, imeta = tables()
    msg = _error(idata.drop(columns="x3"), imeta)
    assert "indicator 'x3' has no data column" in msg


def test_duplicate_codes() -> None:
    idata, imeta = tables()
    imeta.loc[2, "iCode"] = "x1"
    assert "iCode 'x1' appears 2 times" in _error(idata, imeta)


def test_bad_direction() -> None:
    idata, imeta = tables()
    imeta.loc[0, "Direction"] = 2
    assert "Direction" in _error(idata, imeta)


def test_non_numeric_data() -> None:
    idata, imeta = tables()
    idata["x1"] = idata["x1"].astype(object)
    idata.loc[2, "x1"] = "n/a"
    msg = _error(idata, imeta)
    assert "'x1'" in msg and "'n/a'" in msg and "'C'" in msg


def test_unknown_denominator() -> None:
    idata, imeta = tables()
    imeta.loc[0, "Denominator"] = "Den_area"
    assert "denominator 'Den_area'" in _error(idata, imeta)


def test_parent_level_must_be_higher() -> None:
    idata, imeta = tables()
    imeta.loc[3, "Level"] = 3  # P1 at level 3 under Index at level 3
    assert "higher Level" in _error(idata, imeta)


def test_childless_aggregate() -> None:
    idata, imeta = tables()
    extra = pd.DataFrame(
        [{"Level": 2, "iCode": "P3", "Parent": "Index", "Direction": 1, "Weight": 1, "Type": "Aggregate"}]
    )
    assert "'P3' has no children" in _error(idata, pd.concat([imeta, extra], ignore_index=True))


def test_duplicate_units() -> None:
    idata, imeta = tables()
    idata.loc[1, "uCode"] = "A"
    assert "'A' appears more than once" in _error(idata, imeta)


def test_from_coinr_v0() -> None:
    ind_data = pd.DataFrame(
        {
            "UnitCode": ["A", "B"],
            "UnitName": ["a", "b"],
            "Year": [2020, 2020],
            "Group_x": ["g", "h"],
            "i1": [1.0, 2.0],
            "i2": [3.0, 4.0],
        }
    )
    ind_meta = pd.DataFrame(
        {
            "IndName": ["one", "two"],
            "IndCode": ["i1", "i2"],
            "Direction": [1, -1],
            "IndWeight": [1, 2],
            "Denominator": [None, "Den_p"],
            "IndUnit": ["u", "u"],
            "Target": [1, 2],
            "Agg1": ["P", "P"],
            "Agg2": ["Top", "Top"],
        }
    )
    agg_meta = pd.DataFrame({"AgLevel": [2, 3], "Code": ["P", "Top"], "Name": ["p", "top"], "Weight": [1, 1]})
    dens = pd.DataFrame({"UnitCode": ["A", "B"], "Den_p": [5.0, 10.0]})
    idata, imeta = from_coinr_v0(ind_data, ind_meta, agg_meta, dens)
    assert {"uCode", "uName", "Time", "Den_p"} <= set(idata.columns)
    fw = read_framework(idata, imeta)
    assert fw.children("Top") == ["P"] and fw.children("P") == ["i1", "i2"]
    assert fw.weight["i2"] == 2 and fw.direction["i2"] == -1
    assert fw.groups == ["Group_x"] and fw.denominators == ["Den_p"]


def test_from_coinr_v0_rejects_aggregate_missing_from_aggmeta() -> None:
    ind_meta = pd.DataFrame({"IndCode": ["i1"], "Agg1": ["P"], "Agg2": ["Top"]})
    agg_meta = pd.DataFrame({"AgLevel": [2], "Code": ["P"], "Weight": [1]})
    with pytest.raises(IndexMethodError, match="Top"):
        from_coinr_v0(pd.DataFrame({"UnitCode": ["A"], "i1": [1.0]}), ind_meta, agg_meta)


def test_panel_cross_section() -> None:
    idata, imeta = tables()
    panel = pd.concat([idata.assign(Time=2020), idata.assign(Time=2021, x1=idata["x1"] + 1)], ignore_index=True)
    fw = read_framework(panel, imeta)
    assert fw.times == [2020, 2021]
    assert fw.cross_section()["x1"].tolist() == [2.0, 3.0, 4.0, 5.0]
    assert fw.cross_section(2020)["x1"].tolist() == [1.0, 2.0, 3.0, 4.0]
    with pytest.raises(IndexMethodError, match="Time=1999"):
        fw.cross_section(1999)
