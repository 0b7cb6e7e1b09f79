"""All 514 kabupaten/kota as simulator cities, from the Kemendagri code list (for national-scale runs)."""

from __future__ import annotations

import csv
from pathlib import Path

from kotacerdas.config import City, ProjectConfig
from kotacerdas.regions import REGIONS_FILE, city_rows

DEFAULT_POPULATION = 240_000
POPULATION_FILE = "wilayah_penduduk.csv"  # read when it sits beside the code list


def default_regions_csv(project: ProjectConfig) -> Path:
    """config/regions/kode_wilayah_prov_kabkota.csv, the project's copy of the Kemendagri code list."""
    return project.regions_file(REGIONS_FILE)


def load_regions(path: str | Path) -> list[City]:
    """Every `kabupaten_kota` row of kode_wilayah_prov_kabkota.csv as a City (population from
    wilayah_penduduk.csv beside it when present, else 240,000)."""
    path = Path(path)
    rows = city_rows(path, {"nama"})
    population: dict[str, int] = {}
    pop_file = path.with_name(POPULATION_FILE)
    if pop_file.is_file():
        with pop_file.open(encoding="utf-8-sig", newline="") as fh:
            for r in csv.DictReader(fh):
                if (r.get("total") or "").isdigit():
                    population[r["kode_kemendagri"]] = int(r["total"])
    cities = []
    for r in rows:
        code, name = r["kode_kemendagri"].strip(), r["nama"].strip()
        cities.append(
            City(
                code=code,
                name=name,
                kind="kota" if name.lower().startswith("kota") else "kabupaten",
                province_code=code[:2],
                population=population.get(code) or DEFAULT_POPULATION,
            )
        )
    return cities
