"""SPBE from aspect- or domain-level scores (as evaluation letters report them), computed by hand."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest

from kotacerdas.regulators import RegulatorError, load_regulator_methodology
from kotacerdas.regulators.spbe import (
    spbe_from_table,
    spbe_index,
    spbe_index_from_aspects,
    spbe_index_from_domains,
)

SPBE_2018 = load_regulator_methodology("spbe-permenpanrb-5-2018")
SPBE = load_regulator_methodology("spbe-permenpanrb-59-2020")

# 5/2018 aspect weights 7, 10 | 8, 8, 12 | 35, 20
ASPECTS_2018 = {
    "kebijakan_internal_tata_kelola": 2.14,
    "kebijakan_internal_layanan": 1.9,
    "kelembagaan": 3.5,
    "strategi_perencanaan": 2.5,
    "tik": 2.33,
    "layanan_administrasi_pemerintahan": 2.86,
    "layanan_publik": 3.1,
}


def test_aspect_scores_5_2018_by_hand() -> None:
    r = spbe_index_from_aspects(ASPECTS_2018, SPBE_2018)
    # Σ aspect·w = 14.98 + 19 + 28 + 20 + 27.96 + 100.1 + 62 = 272.04 → index 2.7204
    assert r.index == pytest.approx(2.7204, abs=1e-12) and r.published == Decimal("2.72")
    assert r.predicate == "Baik"  # 2.6 ≤ 2.7204 < 3.5 (59/2020 bands, assumed for 5/2018)
    # domains: Kebijakan (14.98 + 19)/17, Tata Kelola (28 + 20 + 27.96)/28, Layanan (100.1 + 62)/55
    assert r.domains["kebijakan_internal"].index == pytest.approx(33.98 / 17)
    assert r.domains["tata_kelola"].index == pytest.approx(75.96 / 28)
    assert r.domains["layanan"].published == Decimal("2.95")  # 162.1 / 55 = 2.9472…
    # an aspect index that no four equal-weighted integer levels give (not a multiple of 0.25) is accepted here
    assert r.aspects["layanan_publik"].index == 3.1


def test_domain_scores_and_table_input() -> None:
    r = spbe_index_from_domains({"kebijakan_internal": 2, "tata_kelola": 3, "layanan": 2.5}, SPBE_2018)
    assert r.index == pytest.approx((2 * 17 + 3 * 28 + 2.5 * 55) / 100) and r.aspects == {}
    table = pd.DataFrame({"level": "aspect", "code": list(ASPECTS_2018), "score": list(ASPECTS_2018.values())})
    assert spbe_from_table(table, SPBE_2018).index == spbe_index_from_aspects(ASPECTS_2018, SPBE_2018).index
    rows = [{"level": "indicator", "code": n, "score": 3} for n in range(1, 48)]
    assert spbe_from_table(rows, SPBE).index == spbe_index(dict.fromkeys(range(1, 48), 3), SPBE).index == 3.0


def test_aspect_input_errors() -> None:
    with pytest.raises(RegulatorError, match="missing \\['tik'\\]"):
        spbe_index_from_aspects({k: v for k, v in ASPECTS_2018.items() if k != "tik"}, SPBE_2018)
    with pytest.raises(RegulatorError, match="outside the scale 0–5"):
        spbe_index_from_aspects({**ASPECTS_2018, "tik": 5.5}, SPBE_2018)
    with pytest.raises(RegulatorError, match="mixes"):
        spbe_from_table(
            [{"level": "aspect", "code": "tik", "score": 1}, {"level": "domain", "code": "x", "score": 1}], SPBE
        )


def test_5_2018_file_cites_a_source_for_counts_and_says_what_is_missing() -> None:
    text = " ".join(SPBE_2018.sources)
    assert "7 | 10 | 2 | 2 | 3 | 7 | 4" in text and "Sekilas PermenPANRB" in text
    assert any("worked example" in a for a in SPBE_2018.assumptions)
    assert any("not equal" in a for a in SPBE_2018.assumptions)
    counts = [len(a.indicators.numbers) for d in SPBE_2018.domains.values() for a in d.aspects.values()]
    assert counts == [7, 10, 2, 2, 3, 7, 4]
