"""Deterministic yearly assessments of a city: SPBE indicator levels and Kominfo smart-city evaluation scores.

The structure (SPBE indicators and aspects, Kominfo parts and pillars, their scales) is read from the regulators'
methodology files named in `config/pipeline.yaml`, so the rows are exactly what `kotacerdas.regulators` accepts.
Levels and scores are drawn around a city's own maturity, which improves slowly from year to year.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property

from kotacerdas.config import City, Opd, ProjectConfig
from kotacerdas.regulators import load_regulator_methodology
from kotacerdas.regulators.kominfo import KominfoMethodology
from kotacerdas.regulators.spbe import SpbeMethodology
from kotacerdas.simulator.generate import stable_rng

# Where regions typically stand (SPBE evaluations of kab/kota): policies and services ahead, IT audit and
# management behind. Offsets in levels, by aspect code of PermenPANRB 59/2020; other aspects get none.
SPBE_ASPECT_OFFSET = {
    "kebijakan_internal_tata_kelola": 0.3,
    "perencanaan_strategis": 0.1,
    "tik": 0.2,
    "penyelenggara": 0.0,
    "penerapan_manajemen": -0.5,
    "audit_tik": -0.9,
    "layanan_administrasi_pemerintahan": 0.2,
    "layanan_publik": 0.3,
}
# Kominfo parts: plans (baseline) are further along than their impact. Offsets in score points.
KOMINFO_PART_OFFSET = {"baseline": 0.35, "output": 0.1, "outcome": -0.1, "impact": -0.35, "quick_win": 0.2}
FIRST_YEAR = 2020  # the maturity drawn for a city is its level in this year
EVALUATOR = "Tim Evaluator Gerakan Menuju Smart City"


class Assessments:
    """The yearly assessment rows of any city and year (canonical column names), from one seed."""

    def __init__(self, project: ProjectConfig, seed: int):
        self.project, self.seed = project, seed

    @cached_property
    def spbe(self) -> SpbeMethodology:
        methodology = load_regulator_methodology(self.project.pipeline.spbe_methodology, self.project.dir)
        assert isinstance(methodology, SpbeMethodology)
        return methodology

    @cached_property
    def kominfo(self) -> KominfoMethodology:
        methodology = load_regulator_methodology(self.project.pipeline.kominfo_methodology, self.project.dir)
        assert isinstance(methodology, KominfoMethodology)
        return methodology

    def _maturity(self, kind: str, city: City, year: str, low: float, high: float, per_year: float) -> float:
        base = stable_rng(self.seed, kind, "maturity", city.code).uniform(low, high)
        return base + per_year * (int(year) - FIRST_YEAR)

    def spbe_levels(self, city: City, year: str) -> dict[int, tuple[int, int]]:
        """Indicator number -> (self-assessed level, level the external assessors verified).

        Regions rate themselves generously: the assessors lower about a third of the levels by one.
        """
        m = self.spbe
        low, high = int(m.scale.min), int(m.scale.max)
        centre = self._maturity("spbe", city, year, 1.8, 3.0, 0.15)
        rng = stable_rng(self.seed, "spbe", city.code, year)
        out = {}
        for number in range(1, m.structure.indicators + 1):
            _, aspect, _ = m.locate(number)
            raw = centre + SPBE_ASPECT_OFFSET.get(aspect, 0.0) + rng.gauss(0, 0.6)
            own = min(high, max(low, round(raw)))
            verified = own - 1 if own > low and rng.random() < 0.35 else own
            out[number] = (own, verified)
        return out

    def spbe_self_assessment(self, city: City, year: str) -> list[dict]:
        """The Diskominfo's export: every indicator with its domain and aspect names and evidence."""
        rows = []
        for number, (own, _) in self.spbe_levels(city, year).items():
            domain, aspect, _ = self.spbe.locate(number)
            rows.append(
                {
                    "city_code": city.code,
                    "period": year,
                    "indicator_number": number,
                    "domain": self.spbe.domains[domain].name,
                    "aspect": self.spbe.domains[domain].aspects[aspect].name,
                    "level": own,
                    "evidence_ref": f"SPBE/{year}/{city.code}/IND-{number:02d}.pdf",
                }
            )
        return rows

    def spbe_evaluation(self, city: City, year: str) -> list[dict]:
        """The external assessors' verified levels (what the SPBE portal's API returns)."""
        return [
            {
                "city_code": city.code,
                "period": year,
                "indicator_number": number,
                "level": verified,
                "assessor": "external",
                "evidence_ref": f"LHE-SPBE/{year}/{city.code.replace('.', '')}",
            }
            for number, (_, verified) in self.spbe_levels(city, year).items()
        ]

    def evaluation_scores(self, city: City, year: str) -> list[dict]:
        """Kominfo's evaluation of the city: every part, then every pillar, on the methodology's scale (2 dp)."""
        m = self.kominfo
        low, high = float(m.scale.min), float(m.scale.max)
        centre = self._maturity("kominfo", city, year, 2.2, 3.4, 0.12)
        rng = stable_rng(self.seed, "kominfo", city.code, year)

        def score(offset: float, spread: float) -> float:
            return round(min(high, max(low, centre + offset + rng.gauss(0, spread))), 2)

        rows = [
            {
                "city_code": city.code,
                "period": year,
                "part": part,
                "item": None,
                "score": score(KOMINFO_PART_OFFSET.get(part, 0.0), 0.25),
                "evaluator": EVALUATOR,
            }
            for part in m.parts
        ]
        rows += [
            {
                "city_code": city.code,
                "period": year,
                "part": "pillar",
                "item": pillar,
                "score": score(0.0, 0.4),
                "evaluator": EVALUATOR,
            }
            for pillar in m.pillars
        ]
        return rows


def yearly_generators(project: ProjectConfig, seed: int) -> dict[str, Callable[[City, Opd | None, str], list[dict]]]:
    """What the simulator's API serves for each yearly table: (city, reporting OPD, year) -> rows."""
    assessments = Assessments(project, seed)
    return {
        "spbe_assessments": lambda city, _opd, year: assessments.spbe_evaluation(city, year),
        "evaluation_scores": lambda city, _opd, year: assessments.evaluation_scores(city, year),
    }
