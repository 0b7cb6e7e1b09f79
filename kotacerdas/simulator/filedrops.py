"""Synthetic OPD file drops: the `capaian_indikator_{month}.csv` files OPD staff export by hand.

One row per self-reported (`method.type: submitted`) catalog indicator the OPD produces, written the way an
Indonesian spreadsheet exports it: `;` separator, decimal comma, UTF-8 with BOM, CRLF line ends.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import yaml

from kotacerdas.config import FileSource, ProjectConfig
from kotacerdas.errors import ConfigError
from kotacerdas.simulator.generate import months_since_2024, stable_rng

ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII")


def submitted_indicators(project: ProjectConfig) -> list[dict]:
    """Catalog entries whose value OPDs report themselves (read straight from indicators.yaml)."""
    path = project.dir / "indicators.yaml"
    try:
        catalog = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read the indicator catalog: {exc}",
                          hint="fix or restore the file") from exc
    return [i for i in catalog.get("indicators", []) if (i.get("method") or {}).get("type") == "submitted"]


def indicator_file_source(project: ProjectConfig) -> FileSource:
    for source in project.sources.for_table("indicator_submissions"):
        if isinstance(source, FileSource):
            return source
    raise ConfigError("no file source for indicator_submissions in sources.yaml",
                      hint="add a `type: file` source with `table: indicator_submissions`")


def _value(seed: int, indicator: dict, city_code: str, month: str) -> float:
    """A plausible rate inside the goalposts: city-specific level, slow improvement, monthly noise."""
    worst, best = float(indicator["goalposts"]["worst"]), float(indicator["goalposts"]["best"])
    level = stable_rng(seed, "level", city_code, indicator["code"]).uniform(0.3, 0.8)
    noise = stable_rng(seed, "noise", city_code, indicator["code"], month).gauss(0, 0.03)
    position = min(1.0, max(0.0, level + 0.008 * months_since_2024(month) + noise))
    return worst + position * (best - worst)


def _number(value: float, decimals: int, decimal: str) -> str:
    return f"{value:.{decimals}f}".replace(".", decimal)


def write_file_drops(project: ProjectConfig, landing_dir: str | Path, cities: list[str], months: list[str],
                     seed: int = 42) -> list[Path]:
    """Write every OPD's indicator file for each city × month under `landing_dir`; returns the paths."""
    source = indicator_file_source(project)
    headers = list(source.columns)
    indicators = submitted_indicators(project)
    landing = Path(landing_dir)
    written: list[Path] = []
    for city_code in cities:
        city = project.cities.city(city_code)
        for month in months:
            for opd in project.cities.opds_for(source.table):
                own = [i for i in indicators if i.get("producer") == opd.code]
                if not own:
                    continue
                rows = []
                roman = ROMAN[int(month[5:7]) - 1]
                for n, ind in enumerate(own, start=1):
                    rate = _value(seed, ind, city.code, month)
                    per = (ind.get("method") or {}).get("per_population")
                    if per:  # the OPD reports the raw count; the catalog divides by population
                        count = round(rate * city.population / float(per))
                        value, unit = _number(count, 0, source.decimal), "jumlah"
                    else:
                        value, unit = _number(rate, 2, source.decimal), str(ind.get("unit", ""))
                    doc = stable_rng(seed, "doc", city.code, opd.code, month, ind["code"]).randint(1, 999)
                    canonical = {
                        "city_code": city.code, "opd_code": opd.code, "indicator_code": ind["code"],
                        "period": month, "value": value, "unit": unit,
                        "evidence_ref": f"{doc:03d}/{n:02d}/{opd.code}/{roman}/{month[:4]}",
                    }
                    rows.append([canonical.get(source.columns[h], "") for h in headers])
                path = landing / source.pattern.format(city=city.code, opd=opd.code, month=month)
                path.parent.mkdir(parents=True, exist_ok=True)
                buf = io.StringIO()
                writer = csv.writer(buf, delimiter=source.separator, lineterminator="\r\n")
                writer.writerow(headers)
                writer.writerows(rows)
                path.write_bytes(buf.getvalue().encode(source.encoding))
                written.append(path)
    return written
