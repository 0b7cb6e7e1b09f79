"""The regulators' indices (Kominfo evaluation, SPBE, IKM) against examples computed by hand, exactly."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pandas as pd
import pytest
import yaml

from kotacerdas.config import ProjectConfig
from kotacerdas.errors import ConfigError, KotacerdasError
from kotacerdas.indicators.compute import ikm_unit_score as indicator_ikm_unit_score
from kotacerdas.regulators import (
    IkmMethodology,
    KominfoMethodology,
    RegulatorError,
    SpbeMethodology,
    ikm,
    ikm_grade,
    ikm_unit_score,
    kominfo_improvement,
    kominfo_index,
    load_regulator_methodology,
    spbe_index,
    spbe_predicate,
)
from kotacerdas.schemas import IKM_ELEMENTS

METHODS = ProjectConfig().dir / "methodologies"
KOMINFO = load_regulator_methodology("kominfo-evaluation-2024")
KOMINFO_ALT = load_regulator_methodology("kominfo-evaluation-2024-alternative")
SPBE = load_regulator_methodology("spbe-permenpanrb-59-2020")
SPBE_2018 = load_regulator_methodology("spbe-permenpanrb-5-2018")
SPBE_2026 = load_regulator_methodology("spbe-permenpanrb-8-2026")
IKM = load_regulator_methodology("ikm-permenpanrb-14-2017")


def _parts(baseline, output, outcome, impact, quick_win) -> dict:
    return {"baseline": baseline, "output": output, "outcome": outcome, "impact": impact, "quick_win": quick_win}


def _edited(tmp_path: Path, name: str, edit) -> Path:
    """A copy of a shipped methodology file with one change, to see how a bad file is reported."""
    data = yaml.safe_load((METHODS / f"{name}.yaml").read_text(encoding="utf-8"))
    edit(data)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


# --- the files themselves -------------------------------------------------------------------------------


def test_shipped_files_load_with_their_kind_and_say_what_they_are():
    assert isinstance(KOMINFO, KominfoMethodology) and isinstance(KOMINFO_ALT, KominfoMethodology)
    assert isinstance(SPBE, SpbeMethodology) and isinstance(SPBE_2018, SpbeMethodology)
    assert isinstance(SPBE_2026, SpbeMethodology) and isinstance(IKM, IkmMethodology)
    assert {m.kind for m in (KOMINFO, SPBE, IKM)} == {"kominfo-evaluation", "spbe", "ikm"}
    assert KOMINFO.status == "in_force" and KOMINFO_ALT.status == "alternative"
    assert SPBE_2018.status == "superseded" and SPBE_2026.status == "provisional"
    assert len({m.name for m in (KOMINFO, KOMINFO_ALT, SPBE, SPBE_2018, SPBE_2026, IKM)}) == 6


def test_kominfo_weights_as_published_and_the_alternative_source():
    assert {k: p.weight for k, p in KOMINFO.parts.items()} == _parts(10, 20, 30, 20, 20)
    assert {k: p.weight for k, p in KOMINFO_ALT.parts.items()} == _parts(10, 20, 30, 30, 10)
    assert (KOMINFO.scale.min, KOMINFO.scale.max) == (1, 5)
    assert KOMINFO.rounding.places == 2 and KOMINFO.level_names is None  # not public: not invented
    assert len(KOMINFO.pillars) == 6


def test_spbe_59_2020_structure_weights_and_ranges():
    aspects = {
        a: (x.weight, x.indicators.first, x.indicators.last)
        for d in SPBE.domains.values()
        for a, x in d.aspects.items()
    }
    assert aspects == {
        "kebijakan_internal_tata_kelola": (13, 1, 10),
        "perencanaan_strategis": (10, 11, 14),
        "tik": (10, 15, 18),
        "penyelenggara": (5, 19, 20),
        "penerapan_manajemen": (12, 21, 28),
        "audit_tik": (Decimal("4.5"), 29, 31),
        "layanan_administrasi_pemerintahan": (Decimal("27.5"), 32, 41),
        "layanan_publik": (18, 42, 47),
    }
    assert {d: x.weight for d, x in SPBE.domains.items()} == {
        "kebijakan_internal": 13,
        "tata_kelola": 25,
        "manajemen": Decimal("16.5"),
        "layanan": Decimal("45.5"),
    }
    assert (SPBE.scale.min, SPBE.scale.max) == (1, 5)
    # equal within an aspect: aspect weight / number of its indicators
    assert SPBE.indicator_weight(1) == Fraction(13, 10) and SPBE.indicator_weight(29) == Fraction(3, 2)
    assert SPBE.indicator_weight(32) == Fraction(11, 4) and SPBE.indicator_weight(47) == 3
    assert sum(SPBE.indicator_weight(n) for n in range(1, 48)) == 100
    assert [(b.name, b.min) for b in SPBE.predicates] == [
        ("Memuaskan", Decimal("4.2")),
        ("Sangat Baik", Decimal("3.5")),
        ("Baik", Decimal("2.6")),
        ("Cukup", Decimal("1.8")),
        ("Kurang", 1),
    ]
    assert [SPBE.level_name(20, lv) for lv in range(1, 6)] == [
        "Rintisan",
        "Terkelola",
        "Terdefinisi",
        "Terpadu dan Terukur",
        "Optimum",
    ]
    assert [SPBE.level_name(42, lv) for lv in range(1, 6)] == [
        "Informasi",
        "Interaksi",
        "Transaksi",
        "Kolaborasi",
        "Optimalisasi",
    ]


def test_spbe_5_2018_only_what_the_source_gives():
    # given: 3 domains, 7 aspects, 35 indicators, levels 0-5, aspect weights 7, 10 | 8, 8, 12 | 35, 20
    assert len(SPBE_2018.domains) == 3 and SPBE_2018.structure.indicators == 35
    assert (SPBE_2018.scale.min, SPBE_2018.scale.max) == (0, 5)
    weights = {d: [a.weight for a in x.aspects.values()] for d, x in SPBE_2018.domains.items()}
    assert list(weights.values()) == [[7, 10], [8, 8, 12], [35, 20]]
    assert [x.weight for x in SPBE_2018.domains.values()] == [17, 28, 55]
    assert SPBE_2018.assumptions  # the indicator ranges and predicates are labelled as assumed
    assert spbe_index(dict.fromkeys(range(1, 36), 0), SPBE_2018).index == 0.0  # level 0 exists in 5/2018
    assert spbe_index(dict.fromkeys(range(1, 36), 5), SPBE_2018).published == Decimal("5.00")


def test_spbe_8_2026_is_provisional_and_computes_no_index():
    assert SPBE_2026.structure.aspects == 7 and SPBE_2026.structure.indicators == 20
    assert SPBE_2026.known_weights == {"user_satisfaction": 25}
    edges = [("Memuaskan", "4.0"), ("Sangat Baik", "3.5"), ("Baik", "2.5"), ("Cukup", "1.5")]
    for name, edge in edges:
        assert spbe_predicate(Decimal(edge), SPBE_2026) == name
    assert spbe_predicate(Decimal("3.99"), SPBE_2026) == "Sangat Baik"
    assert spbe_predicate(Decimal("1.49"), SPBE_2026) == "Kurang"
    with pytest.raises(RegulatorError, match="provisional"):
        spbe_index(dict.fromkeys(range(1, 21), 3), SPBE_2026)


def test_ikm_file():
    assert list(IKM.elements) == list(IKM_ELEMENTS)
    assert (IKM.answers.min, IKM.answers.max, IKM.unit_factor) == (1, 4, 25)
    assert [(g.code, g.name, g.min) for g in IKM.grades] == [
        ("A", "Sangat Baik", Decimal("88.31")),
        ("B", "Baik", Decimal("76.61")),
        ("C", "Kurang Baik", Decimal("65.00")),
        ("D", "Tidak Baik", Decimal("25.00")),
    ]


# --- weight sets that don't sum fail on load, naming file, key and sum ----------------------------------


def test_kominfo_weights_not_summing_to_100(tmp_path):
    path = _edited(tmp_path, "kominfo-evaluation-2024", lambda d: d["parts"]["quick_win"].update(weight=10))
    with pytest.raises(ConfigError) as err:
        load_regulator_methodology(path)
    msg = str(err.value)
    assert str(path) in msg and "parts" in msg and "sum to 90" in msg and "must be 100" in msg


def test_spbe_aspects_not_summing_to_their_domain(tmp_path):
    def edit(d):
        d["domains"]["manajemen"]["aspects"]["audit_tik"]["weight"] = 4

    path = _edited(tmp_path, "spbe-permenpanrb-59-2020", edit)
    with pytest.raises(ConfigError) as err:
        load_regulator_methodology(path)
    msg = str(err.value)
    assert str(path) in msg and "domains.manajemen" in msg and "sum to 16" in msg and "must be 16.5" in msg


def test_spbe_domains_not_summing_to_100(tmp_path):
    def edit(d):
        d["domains"]["layanan"]["weight"] = 45
        d["domains"]["layanan"]["aspects"]["layanan_administrasi_pemerintahan"]["weight"] = 27

    path = _edited(tmp_path, "spbe-permenpanrb-59-2020", edit)
    with pytest.raises(ConfigError) as err:
        load_regulator_methodology(path)
    msg = str(err.value)
    assert str(path) in msg and "domains" in msg and "domain weights sum to 99.5, must be 100" in msg


def test_spbe_indicator_ranges_must_number_1_to_n_once(tmp_path):
    path = _edited(
        tmp_path,
        "spbe-permenpanrb-59-2020",
        lambda d: d["domains"]["tata_kelola"]["aspects"]["tik"]["indicators"].update(first=14),
    )
    with pytest.raises(ConfigError, match="1..47 in order, once each"):
        load_regulator_methodology(path)


def test_unknown_kind_and_missing_file(tmp_path):
    path = _edited(tmp_path, "ikm-permenpanrb-14-2017", lambda d: d.update(kind="ikm-2017"))
    with pytest.raises(ConfigError, match="kind: 'ikm-2017'"):
        load_regulator_methodology(path)
    with pytest.raises(ConfigError, match="not found"):
        load_regulator_methodology(tmp_path / "nothing.yaml")


# --- Kominfo ---------------------------------------------------------------------------------------------


def test_kominfo_weighted_sum_exact_and_published():
    r = kominfo_index(_parts(3, 4, 3, 2, 5), KOMINFO)
    # 0.1·3 + 0.2·4 + 0.3·3 + 0.2·2 + 0.2·5 = 0.3 + 0.8 + 0.9 + 0.4 + 1.0
    assert r.index == Decimal("3.4") and r.published == Decimal("3.40")
    assert r.contributions == _parts(Decimal("0.3"), Decimal("0.8"), Decimal("0.9"), Decimal("0.4"), 1)
    assert (r.methodology, r.methodology_version, r.year) == ("kominfo-smart-city-evaluation", "2024.1", 2024)
    # the alternative source's weights give another number, under another name
    alt = kominfo_index(_parts(3, 4, 3, 2, 5), KOMINFO_ALT)
    assert alt.index == Decimal("3.1") and alt.methodology != r.methodology  # 0.3+0.8+0.9+0.6+0.5


def test_kominfo_half_up_where_python_round_is_wrong():
    scores = _parts(3.25, 3, 3, 3, 3.5)  # 0.325 + 0.6 + 0.9 + 0.6 + 0.7 = 3.125
    as_float = 0.1 * 3.25 + 0.2 * 3 + 0.3 * 3 + 0.2 * 3 + 0.2 * 3.5
    assert round(as_float, 2) == 3.12  # what must not be published
    r = kominfo_index(scores, KOMINFO)
    assert r.index == Decimal("3.125") and r.published == Decimal("3.13")
    # 2.675 as a weighted sum: half up gives 2.68 (Python's round(2.675, 2) gives 2.67)
    r = kominfo_index(_parts(2.75, 2.5, 2.5, 3, 2.75), KOMINFO)
    assert r.index == Decimal("2.675") and r.published == Decimal("2.68") and round(2.675, 2) == 2.67


def test_kominfo_pillars_and_improvement():
    last = kominfo_index(_parts(3, 3, 3, 2, 4), KOMINFO, year=2023, pillars={"governance": 3.104, "living": 2.5})
    this = kominfo_index(_parts(3, 4, 3, 2, 5), KOMINFO, pillars={"governance": 3.456, "living": 2.995})
    assert last.index == Decimal("3.0") and this.year == 2024
    assert this.pillars_published == {"governance": Decimal("3.46"), "living": Decimal("3.00")}
    imp = kominfo_improvement(this, last)
    assert imp.index == Decimal("0.40") and imp.index_unrounded == Decimal("0.4")
    assert imp.pillars == {"governance": Decimal("0.36"), "living": Decimal("0.50")}  # 3.46 − 3.10, 3.00 − 2.50
    assert imp.pillars_unrounded == {"governance": Decimal("0.352"), "living": Decimal("0.495")}
    assert (imp.this_year, imp.last_year) == (2024, 2023)
    with pytest.raises(RegulatorError, match="later year"):
        kominfo_improvement(last, this)


def test_kominfo_bad_input():
    with pytest.raises(RegulatorError, match=r"no score for part \['impact'\]"):
        kominfo_index({k: v for k, v in _parts(3, 4, 3, 2, 5).items() if k != "impact"}, KOMINFO)
    with pytest.raises(RegulatorError, match="unknown part"):
        kominfo_index({**_parts(3, 4, 3, 2, 5), "bonus": 1}, KOMINFO)
    with pytest.raises(RegulatorError, match="outside the scale 1–5"):
        kominfo_index(_parts(3, 4, 3, 2, 6), KOMINFO)
    with pytest.raises(RegulatorError, match="not a number"):
        kominfo_index(_parts(3, 4, 3, 2, None), KOMINFO)
    with pytest.raises(RegulatorError):
        kominfo_index(_parts(3, 4, 3, 2, float("nan")), KOMINFO)
    with pytest.raises(RegulatorError, match="unknown pillar"):
        kominfo_index(_parts(3, 4, 3, 2, 5), KOMINFO, pillars={"smart": 3})


# --- SPBE ------------------------------------------------------------------------------------------------


def _levels(by_range: dict[tuple[int, int], list[int] | int], default: int | None = None) -> dict[int, int]:
    out = dict.fromkeys(range(1, 48), default) if default is not None else {}
    for (first, last), levels in by_range.items():
        for i, n in enumerate(range(first, last + 1)):
            out[n] = levels if isinstance(levels, int) else levels[i]
    return out


def test_spbe_all_threes():
    r = spbe_index(dict.fromkeys(range(1, 48), 3), SPBE)
    assert r.index == 3.0 and r.published == Decimal("3.00") and r.predicate == "Baik"
    assert all(a.index == 3.0 for a in r.aspects.values()) and all(d.index == 3.0 for d in r.domains.values())
    assert (r.methodology, r.methodology_version) == ("spbe-permenpanrb-59-2020", "59/2020")


def test_spbe_mixed_example_by_hand():
    levels = _levels(
        {
            (1, 10): [3, 3, 3, 3, 3, 4, 4, 4, 2, 2],  # sum 31 → 3.1; Σ level·w = 31 × 1.3 = 40.3
            (11, 14): [4, 4, 3, 3],  # 14/4 = 3.5; × 2.5 = 35
            (15, 18): [2, 3, 3, 2],  # 10/4 = 2.5; × 2.5 = 25
            (19, 20): [5, 4],  # 4.5; × 2.5 = 22.5
            (21, 28): [1, 2, 2, 1, 2, 2, 1, 1],  # 12/8 = 1.5; × 1.5 = 18
            (29, 31): [1, 1, 2],  # 4/3; × 1.5 = 6
            (32, 41): [4, 4, 4, 3, 3, 3, 3, 4, 4, 4],  # 3.6; × 2.75 = 99
            (42, 47): [3, 3, 4, 4, 3, 3],  # 20/6; × 3 = 60
        }
    )
    r = spbe_index(levels, SPBE)
    a = {k: x.index for k, x in r.aspects.items()}
    assert a == pytest.approx(
        {
            "kebijakan_internal_tata_kelola": 3.1,
            "perencanaan_strategis": 3.5,
            "tik": 2.5,
            "penyelenggara": 4.5,
            "penerapan_manajemen": 1.5,
            "audit_tik": 4 / 3,
            "layanan_administrasi_pemerintahan": 3.6,
            "layanan_publik": 20 / 6,
        },
        abs=1e-12,
    )
    assert r.aspects["audit_tik"].published == Decimal("1.33")
    assert r.aspects["layanan_publik"].published == Decimal("3.33")
    d = {k: x.index for k, x in r.domains.items()}
    assert d == pytest.approx(
        {"kebijakan_internal": 40.3 / 13, "tata_kelola": 82.5 / 25, "manajemen": 24 / 16.5, "layanan": 159 / 45.5},
        abs=1e-12,
    )
    assert r.domains["manajemen"].published == Decimal("1.45") and r.domains["layanan"].published == Decimal("3.49")
    # (40.3 + 82.5 + 24 + 159) / 100
    assert r.index == pytest.approx(3.058, abs=1e-12) and r.published == Decimal("3.06") and r.predicate == "Baik"


@pytest.mark.parametrize(
    ("levels", "edge", "at", "below"),
    [
        (_levels({(11, 18): 5}, default=4), "4.2", "Memuaskan", "Sangat Baik"),  # 400 + 8 × 2.5 = 420
        (_levels({(29, 47): 4}, default=3), "3.5", "Sangat Baik", "Baik"),  # 300 + 4.5 + 27.5 + 18 = 350
        (_levels({(11, 14): 2, (21, 28): 2, (42, 47): 2}, default=3), "2.6", "Baik", "Cukup"),  # 300 − 40
        (_levels({(11, 18): 1}, default=2), "1.8", "Cukup", "Kurang"),  # 200 − 20
    ],
)
def test_spbe_predicate_edges_exactly(levels, edge, at, below):
    r = spbe_index(levels, SPBE)
    assert r.published == Decimal(edge).quantize(Decimal("0.01")) and r.predicate == at
    assert spbe_predicate(Decimal(edge), SPBE) == at
    assert spbe_predicate(Fraction(Decimal(edge)) - Fraction(1, 10**9), SPBE) == below


def test_spbe_predicate_is_from_the_unrounded_index():
    assert spbe_predicate(Decimal("4.1995"), SPBE) == "Sangat Baik"  # published as 4.20
    assert spbe_predicate(5, SPBE) == "Memuaskan" and spbe_predicate(1, SPBE) == "Kurang"
    assert spbe_predicate(4.2, SPBE) == "Memuaskan" and spbe_predicate(2.6, SPBE) == "Baik"
    assert spbe_predicate(1.8, SPBE) == "Cukup" and spbe_predicate(3.5, SPBE) == "Sangat Baik"


def test_spbe_bad_levels():
    all3 = dict.fromkeys(range(1, 48), 3)
    with pytest.raises(RegulatorError, match=r"unknown indicator number\(s\) \[48\]"):
        spbe_index({**all3, 48: 3}, SPBE)
    with pytest.raises(RegulatorError, match=r"no level for indicator\(s\) 5, 30"):
        spbe_index({k: v for k, v in all3.items() if k not in (5, 30)}, SPBE)
    for bad in (6, 0, 2.5, True, None, "3", float("nan"), pd.NA):
        with pytest.raises(RegulatorError, match="indicator 7 has level"):
            spbe_index({**all3, 7: bad}, SPBE)
    with pytest.raises(RegulatorError, match="there is no indicator 99"):
        SPBE.level_name(99, 1)
    err = RegulatorError("x", hint="y")
    assert isinstance(err, KotacerdasError) and isinstance(err, ValueError)


# --- IKM -------------------------------------------------------------------------------------------------


def _answers(rows: list[list[int | None]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(IKM_ELEMENTS)).astype("Int64")


WORKED = _answers(
    [
        [4, 4, 3, 3, 4, 4, 4, 3, 3],
        [3, 3, 3, 2, 4, 3, 4, 3, 2],
        [4, 3, 2, 3, 4, 4, 4, 4, 3],
        [3, 4, 3, 4, 4, 3, 4, 2, 2],
    ]
)


def test_ikm_worked_example():
    r = ikm(WORKED, IKM)
    assert r.nrr == {"u1": 3.5, "u2": 3.5, "u3": 2.75, "u4": 3.0, "u5": 4.0, "u6": 3.5, "u7": 4.0, "u8": 3.0, "u9": 2.5}
    assert r.k == 9 and r.respondents == 4 and r.answers == dict.fromkeys(IKM_ELEMENTS, 4)
    assert r.ikm == pytest.approx(29.75 / 9, abs=1e-15)  # Σ NRR = 29.75
    assert r.ikm_unit == pytest.approx(29.75 / 9 * 25, abs=1e-12)  # 82.6388…
    assert r.published == Decimal("82.64") and (r.grade, r.grade_name) == ("B", "Baik")
    # the 0.11 convention: 29.75 × 0.11 × 25 = 81.8125, about a point lower, and labelled
    assert r.convention.weight == Decimal("0.11")
    assert r.convention.ikm_unit == pytest.approx(81.8125, abs=1e-12)
    assert r.convention.published == Decimal("81.81") and "0.11" in r.convention.label
    assert r.published - r.convention.published == Decimal("0.83")
    assert (r.methodology, r.methodology_version) == ("ikm-permenpanrb-14-2017", "14/2017")


def test_ikm_the_indicator_uses_the_same_implementation():
    assert indicator_ikm_unit_score is ikm_unit_score
    assert ikm_unit_score(WORKED) == ikm(WORKED, IKM).ikm_unit


def test_ikm_unanswered_answers_and_elements():
    answers = WORKED.copy()
    answers.loc[0, "u1"] = pd.NA  # u1: (3 + 4 + 3) / 3
    answers["u9"] = pd.NA  # nobody answered u9: k = 8
    r = ikm(answers, IKM)
    assert r.k == 8 and "u9" not in r.nrr and r.answers["u1"] == 3 and r.answers["u9"] == 0
    assert r.nrr["u1"] == pytest.approx(10 / 3)
    total = 10 / 3 + 3.5 + 2.75 + 3 + 4 + 3.5 + 4 + 3
    assert r.ikm == pytest.approx(total / 8)
    # 1/8 = 0.125 rounds half up to 0.13 (Python's round gives 0.12)
    assert r.convention.weight == Decimal("0.13") and r.convention.ikm == pytest.approx(total * 0.13)
    assert pd.isna(ikm_unit_score(_answers([[None] * 9])))
    with pytest.raises(RegulatorError, match="no element has an answer"):
        ikm(_answers([[None] * 9]), IKM)


def test_ikm_grade_edges_on_unrounded_values():
    for value, grade in [
        ("100", "A"),
        ("88.31", "A"),
        ("88.305", "B"),
        ("88.30", "B"),
        ("76.61", "B"),
        ("76.6099", "C"),
        ("76.60", "C"),
        ("65.00", "C"),
        ("64.999", "D"),
        ("25", "D"),
    ]:
        assert ikm_grade(Decimal(value), IKM).code == grade, value
        assert ikm_grade(float(value), IKM).code == grade, value  # a float is read as the decimal it shows
    # exactly 65.00 from the answers (117 / 45 × 25); a float mean of means gives 64.99999999999999, grade D
    answers = _answers(
        [
            [1, 3, 2, 4, 1, 2, 4, 1, 1],
            [4, 3, 1, 4, 4, 2, 2, 3, 3],
            [4, 3, 3, 4, 1, 3, 3, 1, 2],
            [3, 4, 3, 1, 4, 3, 1, 2, 1],
            [2, 2, 4, 3, 4, 2, 3, 3, 3],
        ]
    )
    assert answers.astype("float64").mean().mean() * 25 < 65
    r = ikm(answers, IKM)
    assert r.grade == "C" and r.published == Decimal("65.00")


def test_ikm_bad_answers():
    for bad in (0, 5):
        answers = WORKED.copy()
        answers.loc[2, "u4"] = bad
        with pytest.raises(RegulatorError, match=f"element u4: 1 answer.*{bad}"):
            ikm(answers, IKM)
    answers = WORKED.astype("float64")
    answers.loc[1, "u2"] = 2.5
    with pytest.raises(RegulatorError, match="u2"):
        ikm(answers, IKM)
    with pytest.raises(RegulatorError, match=r"no column\(s\) \['u9'\]"):
        ikm(WORKED.drop(columns=["u9"]), IKM)
