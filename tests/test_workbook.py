"""The Excel workbook's cells on small hand-made tables: what a missing value, a boolean and a formula-like text
become (kotacerdas.report.workbook)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from openpyxl import load_workbook

from kotacerdas.report.export_frames import ExportTables
from kotacerdas.report.labels import Labels
from kotacerdas.report.workbook import write_workbook

LABELS = Labels(
    lang="en",
    dimensions={"governance": "Smart Governance"},
    elements={},
    indicators={},
    predicates={},
    grades={},
    dimension_order=("governance",),
)


def _tables(indices: pd.DataFrame) -> ExportTables:
    scores = pd.DataFrame({"city_code": ["19.71"], "code": ["governance"], "score": [61.5]})
    values = pd.DataFrame({"city_code": ["19.71"], "dimension": ["governance"], "value": [np.nan]})
    return ExportTables(
        indicator_values=values,
        dimension_scores=scores,
        indices=indices,
        regulators=pd.DataFrame(columns=["city_code", "score"]),
        methodology=pd.DataFrame({"code": ["=SUM(A1)"], "weight": [1.0]}),
        lang="en",
    )


def test_missing_values_are_empty_booleans_are_booleans_and_formulas_are_text(tmp_path):
    indices = pd.DataFrame(
        {
            "city_code": ["19.71", "19.03"],
            "published_at": pd.to_datetime(["2025-02-10 08:00", None]).tz_localize("Asia/Jakarta"),
            "complete": np.array([True, False]),
            "score": [62.54, pd.NA],
            "=note": ["@cmd", "fine"],
        }
    )
    path = write_workbook(_tables(indices), LABELS, tmp_path / "book.xlsx")
    sheet = load_workbook(path)["Maturity index"]
    rows = [[c.value for c in r] for r in sheet.iter_rows()]
    assert rows[0] == ["city_code", "published_at", "complete", "score", "'=note"]
    assert rows[1][1].isoformat() == "2025-02-10T08:00:00" and rows[1][2] is True and rows[1][4] == "'@cmd"
    assert rows[2][1] is None and rows[2][2] is False and rows[2][3] is None  # NaT and NA: empty cells
    assert sheet["D2"].number_format == "0.00"
    methodology = load_workbook(path)["Methodology"]
    assert methodology["A4"].value == "'=SUM(A1)"
    assert methodology.column_dimensions["A"].width == 11  # the text as written, apostrophe included, + 2
    dimension = load_workbook(path)["Smart Governance"]
    assert dimension["A1"].value == "Smart Governance" and dimension["C4"].value == 61.5
    assert dimension["A5"].value == "Indicators" and dimension["C7"].value is None  # a NaN value: empty


def test_published_figures_are_numbers_with_their_places_and_every_header_is_frozen(tmp_path):
    # published_value is text in the warehouse (to keep "85.90" as published): Excel flagged it "number stored as
    # text" and could not sum or sort it; the methodology sheet's header scrolled away and its coverage read 0.5
    indices = pd.DataFrame({"city_code": ["19.71"], "score": [62.54]})
    tables = _tables(indices)
    tables = ExportTables(
        indicator_values=tables.indicator_values,
        dimension_scores=tables.dimension_scores,
        indices=indices,
        regulators=pd.DataFrame(
            {"city_code": ["19.71", "19.71"], "regulator": ["ikm", "spbe"], "published_value": ["85.90", "3"]}
        ),
        methodology=pd.DataFrame({"code": ["governance"], "weight": [1.0], "min_coverage": [0.5]}),
        lang="en",
    )
    book = load_workbook(write_workbook(tables, LABELS, tmp_path / "book.xlsx"))
    regulators = next(book[name] for name in book.sheetnames if "egulator" in name)
    assert [(c.value, c.number_format) for c in regulators["C"][1:]] == [(85.9, "0.00"), (3, "0")]
    methodology = book["Methodology"]
    assert methodology.freeze_panes == "A4" and methodology["C4"].number_format == "0%"
    assert all(book[name].freeze_panes for name in book.sheetnames)
