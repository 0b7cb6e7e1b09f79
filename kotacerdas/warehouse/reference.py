"""Load the dimensions from `config/`: regions (config/regions/), OPDs and services, the indicator catalog (one
version at a time, older versions kept for older facts) and the methodology in use (likewise).

Each load unit is fingerprinted (sha256 of its rows) in `reference_loads`; an unchanged unit is skipped, so the
pipeline can call `load_reference_data` before every publish at the cost of one small query.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from kotacerdas.config import CitiesConfig, ProjectConfig
from kotacerdas.errors import ConfigError
from kotacerdas.indicators.catalog import IndicatorCatalog
from kotacerdas.warehouse.engine import warehouse_identity
from kotacerdas.warehouse.publish import bulk_insert
from kotacerdas.warehouse.schema import DIMENSIONS, reference_loads

PROVINCES_AND_CITIES = "kode_wilayah_prov_kabkota.csv"
POPULATION = "wilayah_penduduk.csv"
AREA = "wilayah_luas.csv"
SUB_DISTRICT_FILES = "kode_wilayah_kota_*.csv"  # full hierarchies of single cities (kecamatan, kelurahan)
# Peer groups by population (kabupaten/kota): lower bound -> label.
POPULATION_BANDS = (
    (1_000_000, ">=1M"),
    (500_000, "500k-1M"),
    (250_000, "250k-500k"),
    (100_000, "100k-250k"),
    (0, "<100k"),
)
_CODE = re.compile(r"^\d{2}(\.\d{2}(\.\d{2}(\.\d{4})?)?)?$")
_PG_LOCK_KEY = 7_415_230_002  # pg_advisory_xact_lock key: "kotacerdas reference data"


def population_band(population: float | None) -> str | None:
    if population is None or pd.isna(population):
        return None
    return next(label for bound, label in POPULATION_BANDS if population >= bound)


def _read(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise ConfigError(
            f"region reference file not found: {path}",
            hint="copy it from the cahyadsn/wilayah extract (see config/regions/README.md)",
        )
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _repair_codes(frame: pd.DataFrame, column: str, names: dict[str, str], path: Path) -> pd.Series:
    """Codes written as floats in the source (`11.1` for 11.10, `31.0` for 31) are repaired by the region name;
    a code that cannot be repaired unambiguously is an error, not a silent drop."""
    by_name: dict[str, list[str]] = {}
    for code, name in names.items():
        by_name.setdefault(name, []).append(code)
    out = []
    for code, name in zip(frame[column], frame["nama"], strict=True):
        if code in names:
            out.append(code)
            continue
        candidates = [c for c in by_name.get(name, []) if c.startswith(code.split(".")[0])]
        if len(candidates) != 1:
            raise ConfigError(
                f"{path}: region code {code!r} ({name}) matches no known region",
                hint=f"fix the code or the name so that it matches {PROVINCES_AND_CITIES}",
            )
        out.append(candidates[0])
    return pd.Series(out, index=frame.index)


def region_frame(regions_dir: Path) -> pd.DataFrame:
    base = _read(regions_dir / PROVINCES_AND_CITIES)
    names = dict(zip(base["kode_kemendagri"], base["nama"], strict=True))
    pop = _read(regions_dir / POPULATION)
    pop = pop[pop["kode_kemendagri"].isin(names)].set_index("kode_kemendagri")
    area_path = regions_dir / AREA
    area = _read(area_path)
    area["code"] = _repair_codes(area, "kode_kemendagri_as_written", names, area_path)
    area = area.set_index("code")
    rows = []
    for r in base.itertuples(index=False):
        code = r.kode_kemendagri
        population = int(pop.at[code, "total"]) if code in pop.index else None
        kind = None
        if r.level == "kabupaten_kota":
            kind = "kota" if r.nama.startswith("Kota ") else "kabupaten"
        rows.append(
            {
                "region_code": code,
                "bps_code": r.kode_bps_style,
                "name": r.nama,
                "level": r.level,
                "kind": kind,
                "parent_code": code.rsplit(".", 1)[0] if "." in code else None,
                "province_code": code[:2],
                "population": population,
                "population_male": int(pop.at[code, "pria"]) if code in pop.index else None,
                "population_female": int(pop.at[code, "wanita"]) if code in pop.index else None,
                "area_km2": float(area.at[code, "luas_km2"]) if code in area.index else None,
                "population_band": population_band(population) if r.level == "kabupaten_kota" else None,
            }
        )
    known = set(names)
    for path in sorted(regions_dir.glob(SUB_DISTRICT_FILES)):
        sub = _read(path)
        for r in sub.itertuples(index=False):
            code = r.kode_kemendagri
            if code in known:
                continue
            if not _CODE.match(code):
                raise ConfigError(
                    f"{path}: {code!r} is not a Kemendagri region code",
                    hint="codes look like 19.71.01 (kecamatan) or 19.71.01.1004 (kelurahan)",
                )
            known.add(code)
            rows.append(
                {
                    "region_code": code,
                    "bps_code": None,
                    "name": r.nama,
                    "level": r.level,
                    "kind": None,
                    "parent_code": code.rsplit(".", 1)[0],
                    "province_code": code[:2],
                    "population": None,
                    "population_male": None,
                    "population_female": None,
                    "area_km2": None,
                    "population_band": None,
                }
            )
    return pd.DataFrame(rows)


def opd_frames(cities: CitiesConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    opds = pd.DataFrame(
        [
            {
                "opd_code": o.code,
                "name": o.name,
                "datasets": ",".join(o.datasets),
                "services": len(o.services),
                "online_services": sum(s.online for s in o.services),
            }
            for o in cities.opds
        ]
    )
    services = pd.DataFrame(
        [
            {
                "service_code": s.code,
                "opd_code": o.code,
                "name": s.name,
                "sla_days": s.sla_days,
                "online": s.online,
            }
            for o in cities.opds
            for s in o.services
        ],
        columns=["service_code", "opd_code", "name", "sla_days", "online"],
    )
    return opds, services


def indicator_frame(catalog: IndicatorCatalog) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "indicator_code": i.code,
                "catalog_version": catalog.version,
                "name_id": i.name_id,
                "name_en": i.name_en,
                "dimension": i.dimension,
                "element": i.element,
                "unit": i.unit,
                "direction": i.direction,
                "producer_opd": i.producer,
                "method_type": i.method.type,
                "source_table": i.method.table,
                "method": json.dumps(i.method.model_dump(), ensure_ascii=False, sort_keys=True),
                "goalpost_worst": i.goalposts.worst,
                "goalpost_best": i.goalposts.best,
                "weight": i.weight,
            }
            for i in catalog.indicators
        ]
    )


def methodology_frames(methodology) -> dict[str, pd.DataFrame]:
    """dim_methodology, dim_methodology_node and dim_maturity_level rows of one methodology version."""
    from kotacerdas.maturity import INDEX_CODE

    definition = json.dumps(methodology.model_dump(mode="json"), ensure_ascii=False, sort_keys=True)
    key = {"methodology": methodology.name, "version": methodology.version}
    nodes = [
        {**key, "code": INDEX_CODE, "level": "index", "parent_code": None, "name": methodology.name, "weight": 1.0}
    ]
    for code, dim in methodology.dimensions.items():
        nodes.append(
            {
                **key,
                "code": code,
                "level": "dimension",
                "parent_code": INDEX_CODE,
                "name": dim.name,
                "weight": dim.weight,
            }
        )
        nodes += [
            {**key, "code": e, "level": "element", "parent_code": code, "name": e, "weight": w}
            for e, w in dim.elements.items()
        ]
    bands = methodology.maturity_levels
    levels = [
        {**key, "level": b.level, "min_score": b.min, "max_score": bands[n + 1].min if n + 1 < len(bands) else None}
        for n, b in enumerate(bands)
    ]
    return {
        "dim_methodology": pd.DataFrame(
            [
                {
                    **key,
                    "description": methodology.description,
                    "normalisation": methodology.normalisation,
                    "aggregation": methodology.aggregation,
                    "min_coverage": methodology.min_coverage,
                    "definition": definition,
                    "sha256": hashlib.sha256(definition.encode()).hexdigest(),
                }
            ]
        ),
        "dim_methodology_node": pd.DataFrame(nodes),
        "dim_maturity_level": pd.DataFrame(levels),
    }


def _fingerprint(frames: dict[str, pd.DataFrame]) -> str:
    h = hashlib.sha256()
    for name in sorted(frames):
        h.update(name.encode())
        h.update(frames[name].to_csv(index=False).encode())
    return h.hexdigest()


def _dim_frame(name: str, frame: pd.DataFrame, loaded_at: dt.datetime) -> pd.DataFrame:
    table = DIMENSIONS[name]
    frame = frame.copy()
    if "loaded_at" in table.c:
        frame["loaded_at"] = pd.Timestamp(loaded_at)
    cols = [c.name for c in table.c]
    missing = sorted(set(cols) - set(frame.columns))
    if missing:
        raise ValueError(f"{name}: missing column(s) {missing}")
    return frame[cols].astype({c.name: _PANDAS_TYPES[type(c.type)] for c in table.c})


_PANDAS_TYPES = {
    sa.Text: "string",
    sa.Double: "float64",
    sa.BigInteger: "Int64",
    sa.Boolean: "boolean",
    sa.DateTime: "datetime64[us]",
}


def _load_unit(
    conn: sa.Connection,
    unit: str,
    frames: dict[str, pd.DataFrame],
    where: Callable[[sa.Table], sa.ColumnElement[bool]] | None,
) -> int:
    """Replace `frames` (rows matching `where`, or all) unless the fingerprint of `unit` is unchanged."""
    sha = _fingerprint(frames)
    stored = conn.execute(sa.select(reference_loads.c.sha256).where(reference_loads.c.name == unit)).scalar()
    if stored == sha:
        return 0
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    for name, frame in frames.items():
        table = DIMENSIONS[name]
        conn.execute(sa.delete(table).where(where(table)) if where is not None else sa.delete(table))
        rows = _dim_frame(name, frame, now)
        if not rows.empty:
            bulk_insert(conn, table, rows)
    conn.execute(sa.delete(reference_loads).where(reference_loads.c.name == unit))
    conn.execute(
        reference_loads.insert().values(name=unit, sha256=sha, rows=sum(len(f) for f in frames.values()), loaded_at=now)
    )
    return sum(len(f) for f in frames.values())


_LOADED: dict[str, str] = {}  # warehouse URL -> digest of the config files this process last loaded into it


def _source_digest(project: ProjectConfig) -> str:
    h = hashlib.sha256()
    files = [*project.files, *sorted(project.regions_file("").glob("*.csv"))]
    for path in files:
        h.update(str(path).encode())
        h.update(path.read_bytes() if path.is_file() else b"-")
    return h.hexdigest()


def load_reference_data(engine: sa.Engine, project: ProjectConfig) -> dict[str, int]:
    """Load every dimension from `project`'s config in one transaction; rows written per unit (0 = unchanged)."""
    url, digest = warehouse_identity(engine.url), _source_digest(project)
    if _LOADED.get(url) == digest:  # this process loaded these very files already: nothing can differ
        return {}
    catalog, methodology = project.catalog, project.methodology
    opds, services = opd_frames(project.cities)
    units: list[tuple[str, dict[str, pd.DataFrame], Callable | None]] = [
        ("regions", {"dim_region": region_frame(project.regions_file(""))}, None),
        ("opds", {"dim_opd": opds, "dim_service": services}, None),
        (
            f"indicators:{catalog.version}",
            {"dim_indicator": indicator_frame(catalog)},
            lambda t: t.c.catalog_version == catalog.version,
        ),
        (
            f"methodology:{methodology.name}:{methodology.version}",
            methodology_frames(methodology),
            lambda t: (t.c.methodology == methodology.name) & (t.c.version == methodology.version),
        ),
    ]
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_LOCK_KEY})")
        loaded = {unit: _load_unit(conn, unit, frames, where) for unit, frames, where in units}
    _LOADED[url] = digest
    return loaded
