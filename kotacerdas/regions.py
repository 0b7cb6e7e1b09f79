"""Read the Kemendagri region list (kode_wilayah_prov_kabkota.csv, the project's copy in config/regions/)."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

from kotacerdas.errors import ConfigError

REGIONS_FILE = "kode_wilayah_prov_kabkota.csv"


def read_region_rows(path: str | Path, required: set[str]) -> list[dict[str, str]]:
    """The CSV's rows as dicts; a missing file or column is a ConfigError naming the file and what to do."""
    path = Path(path)
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.DictReader(fh))
    except OSError as exc:
        raise ConfigError(
            f"cannot read the region list {path}: {exc}",
            hint=f"copy {REGIONS_FILE} into config/regions/ (see its README.md)",
        ) from None
    if not rows or not required <= set(rows[0]):
        raise ConfigError(
            f"{path}: expected the columns {sorted(required)}",
            hint=f"use {REGIONS_FILE} from the region reference data (cahyadsn/wilayah)",
        )
    return rows


def city_rows(path: str | Path, required: Iterable[str] = frozenset()) -> list[dict[str, str]]:
    """Only the kabupaten/kota rows (level `kabupaten_kota`)."""
    rows = read_region_rows(path, {"kode_kemendagri", "level", *required})
    return [r for r in rows if r["level"].strip() == "kabupaten_kota"]
