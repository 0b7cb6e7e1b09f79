"""Synthetic OPD file drops: the `capaian_indikator_{month}.csv` files OPD staff export by hand, the monthly
masterplan progress reports `laporan_masterplan_{month}.csv` (kotacerdas.simulator.masterplan), and (for the years
asked) the Diskominfo's SPBE self-assessment `penilaian_mandiri_spbe_{year}.xlsx`.

Indicator files: one row per self-reported (`method.type: submitted`) catalog indicator the OPD produces, written
the way an Indonesian spreadsheet exports it: `;` separator, decimal comma, UTF-8 with BOM, CRLF line ends.
SPBE files: the evaluation portal's export, two title rows above the header, one row per indicator.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path

import yaml

from kotacerdas.config import City, FileSource, ProjectConfig
from kotacerdas.errors import ConfigError
from kotacerdas.periods import template_fields
from kotacerdas.simulator.assessments import Assessments
from kotacerdas.simulator.generate import months_since_2024, stable_rng
from kotacerdas.simulator.masterplan import PROGRESS_TABLE, stamp_upload, uploaded_at, write_progress_drops

ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII")


def submitted_indicators(project: ProjectConfig) -> list[dict]:
    """Catalog entries whose value OPDs report themselves (read straight from indicators.yaml)."""
    path = project.catalog_file
    try:
        catalog = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read the indicator catalog: {exc}", hint="fix or restore the file") from exc
    return [i for i in catalog.get("indicators", []) if (i.get("method") or {}).get("type") == "submitted"]


def file_source(project: ProjectConfig, table: str) -> FileSource:
    for source in project.sources.for_table(table):
        if isinstance(source, FileSource):
            return source
    raise ConfigError(
        f"no file source for {table} in sources.yaml", hint=f"add a `type: file` source with `table: {table}`"
    )


def indicator_file_source(project: ProjectConfig) -> FileSource:
    return file_source(project, "indicator_submissions")


def _value(seed: int, indicator: dict, city_code: str, month: str) -> float:
    """A plausible rate inside the goalposts: city-specific level, slow improvement, monthly noise."""
    worst, best = float(indicator["goalposts"]["worst"]), float(indicator["goalposts"]["best"])
    level = stable_rng(seed, "level", city_code, indicator["code"]).uniform(0.3, 0.8)
    noise = stable_rng(seed, "noise", city_code, indicator["code"], month).gauss(0, 0.03)
    position = min(1.0, max(0.0, level + 0.008 * months_since_2024(month) + noise))
    return worst + position * (best - worst)


def _number(value: float, decimals: int, decimal: str) -> str:
    return f"{value:.{decimals}f}".replace(".", decimal)


_MONTH_NAMES = (
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
)


def _messy_style(seed: int, city: str, opd: str, month: str) -> dict:
    """How one OPD's staff export one month: encoding, separator, period and code spelling, CSV or XLSX."""
    rng = stable_rng(seed, "messy", city, opd, month)
    return {
        "format": rng.choice(("csv", "csv", "csv", "xlsx")),
        "encoding": rng.choice(("utf-8-sig", "utf-8", "cp1252")),
        "separator": rng.choice((";", ",")),
        "period": rng.choice(("iso", "dmy", "serial", "name")),
        "code": rng.choice(("dotted", "digits", "float")),
        "header": rng.choice((0, 1)),
    }


def _messy_period(month: str, style: str) -> str | int | datetime:
    year, mon = int(month[:4]), int(month[5:7])
    if style == "dmy":
        return f"01/{mon:02d}/{year}"
    if style == "serial":  # Excel turned the typed month into a date and exported its serial number
        return (date(year, mon, 1) - date(1899, 12, 30)).days
    if style == "name":
        return f"{_MONTH_NAMES[mon - 1]} {year}"
    return month


def _headers(source: FileSource, variant: int) -> list[str]:
    """One header per canonical column: the first name in `columns`, or the next alias for variant 1."""
    names: dict[str, list[str]] = {}
    for header, canon in source.columns.items():
        names.setdefault(canon, []).append(header)
    return [aliases[min(variant, len(aliases) - 1)] for aliases in names.values()]


def _target(landing: Path, source: FileSource, city: str, opd: str, period: str, ext: str) -> Path:
    name = source.pattern.format(city=city, opd=opd, **template_fields(period))
    if name.endswith(".*"):
        name = name[:-2] + "." + ext
    return landing / name


def write_file_drops(
    project: ProjectConfig,
    landing_dir: str | Path,
    cities: list[str | City],
    months: list[str],
    seed: int = 42,
    *,
    messy: bool = False,
    years: Sequence[str] = (),
    masterplan_faults: bool = False,
) -> list[Path]:
    """Write every OPD's indicator file for each city × month under `landing_dir`, its masterplan progress report
    (kotacerdas.simulator.masterplan; late, missing and inconsistent ones only with `masterplan_faults`), and the
    SPBE self-assessment for each city × year in `years` (none by default); returns the paths.

    `messy=True` writes each file the way a different OPD's staff would export it (deterministically by seed):
    CSV in UTF-8 with or without BOM or Windows-1252, `;` or `,`, thousands dot, the month as 2025-03,
    01/03/2025, an Excel serial or "Maret 2025", the region code as 19.71, 1971 or 1971.0, alias headers,
    or an XLSX workbook. Every such file parses to the same canonical values as the clean one.
    """
    source = indicator_file_source(project)
    canon_order = list(dict.fromkeys(source.columns.values()))
    indicators = submitted_indicators(project)
    landing = Path(landing_dir)
    written: list[Path] = []
    for city_ref in cities:
        city = city_ref if isinstance(city_ref, City) else project.cities.city(city_ref)
        for month in months:
            for opd in project.cities.opds_for(source.table):
                own = [i for i in indicators if i.get("producer") == opd.code]
                if not own:
                    continue
                style = _messy_style(seed, city.code, opd.code, month) if messy else None
                rows = []
                roman = ROMAN[int(month[5:7]) - 1]
                for n, ind in enumerate(own, start=1):
                    rate = _value(seed, ind, city.code, month)
                    per = (ind.get("method") or {}).get("per_population")
                    if per:  # the OPD reports the raw count; the catalog divides by population
                        count = round(rate * city.population / float(per))
                        value, unit = _number(count, 0, source.decimal), "jumlah"
                        if style and count >= 1000:  # thousands grouped as Indonesian Excel shows them
                            value = f"{count:,}".replace(",", "." if source.decimal == "," else ",")
                    else:
                        value, unit = _number(rate, 2, source.decimal), str(ind.get("unit", ""))
                    doc = stable_rng(seed, "doc", city.code, opd.code, month, ind["code"]).randint(1, 999)
                    canonical = {
                        "city_code": city.code,
                        "opd_code": opd.code,
                        "indicator_code": ind["code"],
                        "period": month,
                        "value": value,
                        "unit": unit,
                        "evidence_ref": f"{doc:03d}/{n:02d}/{opd.code}/{roman}/{month[:4]}",
                    }
                    if style:
                        canonical["period"] = _messy_period(month, style["period"])
                        digits = city.code.replace(".", "")
                        canonical["city_code"] = {"dotted": city.code, "digits": digits, "float": f"{digits}.0"}[
                            style["code"]
                        ]
                        canonical["evidence_ref"] += " – lampiran"  # an en dash: not in Latin-1, in Windows-1252
                    rows.append([canonical.get(c, "") for c in canon_order])
                headers = _headers(source, style["header"] if style else 0)
                if style and style["format"] == "xlsx":
                    path = _target(landing, source, city.code, opd.code, month, "xlsx")
                    _write_xlsx(path, headers, rows)
                else:
                    path = _target(landing, source, city.code, opd.code, month, "csv")
                    sep = style["separator"] if style else (";" if source.separator == "auto" else source.separator)
                    encoding = style["encoding"] if style else _encoding(source)
                    buf = io.StringIO()
                    writer = csv.writer(buf, delimiter=sep, lineterminator="\r\n")
                    writer.writerow(headers)
                    writer.writerows(rows)
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(buf.getvalue().encode(encoding))
                _stamp_upload(path, project, source.table, city.code, opd.code, month, seed)
                written.append(path)
    if any(isinstance(s, FileSource) for s in project.sources.for_table(PROGRESS_TABLE)):
        codes = [c.code if isinstance(c, City) else c for c in cities]
        written += write_progress_drops(project, landing, codes, months, seed, faults=masterplan_faults)
    if years:
        written += _write_spbe_drops(project, landing, cities, years, seed)
    return written


LATE_SHARE = 0.1  # of the simulated indicator files uploaded after their due date


def _stamp_upload(path: Path, project: ProjectConfig, table: str, city: str, opd: str, month: str, seed: int) -> None:
    """The file's modification time is when the OPD uploaded it (what timeliness reads): most within their due days,
    a deterministic tenth a few days late (never after now: `stamp_upload`). Written now, every file of a past month
    was late."""
    timeliness = project.timeliness
    closed, due = timeliness.period_end(month), timeliness.due_at(opd, table, month)
    rng = stable_rng(seed, "uploaded", city, opd, month)
    sent = uploaded_at(rng, closed, due, late=rng.random() < LATE_SHARE, late_days=(1, 15), window=(0.1, 0.9))
    stamp_upload(path, sent)


SPBE_HEADERS = ("No", "Domain", "Aspek", "Indikator", "Kode Wilayah", "Tahun", "Tingkat Kematangan", "Bukti Dukung")


def _write_spbe_drops(
    project: ProjectConfig, landing: Path, cities: list[str | City], years: Sequence[str], seed: int
) -> list[Path]:
    """The SPBE self-assessment of each city × year as the Diskominfo downloads it from the evaluation portal."""
    source = file_source(project, "spbe_assessments")
    assessments = Assessments(project, seed)
    written = []
    for city_ref in cities:
        city = city_ref if isinstance(city_ref, City) else project.cities.city(city_ref)
        for year in years:
            for opd in project.cities.opds_for(source.table):  # the one OPD that reports it (cities.yaml)
                rows = [
                    [
                        r["indicator_number"],
                        r["domain"],
                        r["aspect"],
                        f"Indikator {r['indicator_number']}",
                        r["city_code"],
                        int(year),
                        r["level"],
                        r["evidence_ref"],
                    ]
                    for r in assessments.spbe_self_assessment(city, year)
                ]
                titles = [[f"PENILAIAN MANDIRI SPBE TAHUN {year}"], [city.name]]
                path = _target(landing, source, city.code, opd.code, year, "xlsx")
                _write_xlsx(path, list(SPBE_HEADERS), rows, titles=titles, sheet="Penilaian Mandiri")
                written.append(path)
    return written


def _encoding(source: FileSource) -> str:
    return "utf-8-sig" if source.encoding == "auto" else source.encoding


def _write_xlsx(
    path: Path, headers: list[str], rows: list[list], *, titles: Sequence[list] = (), sheet: str = "Capaian"
) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    ws = book.active
    ws.title = sheet
    for title in titles:
        ws.append(title)
    ws.append(headers)
    for row in rows:
        ws.append([_typed_cell(c) for c in row])
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)


def _typed_cell(value: object) -> object:
    """What Excel stores when staff type the value: numbers become numbers, codes and text stay text."""
    if not isinstance(value, str):
        return value
    if value.isdigit() and len(value) <= 6:
        return int(value)
    if re.fullmatch(r"\d{1,3}(\.\d{3})+|\d+,\d+", value):  # typed with the Indonesian locale
        return float(value.replace(".", "").replace(",", "."))
    return value
