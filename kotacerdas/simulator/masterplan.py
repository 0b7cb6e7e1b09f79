"""A plausible Masterplan Smart City for a seed city, and its OPDs' monthly progress reports as file drops.

The masterplan (12 programmes over the six dimensions, quick wins in stages, APBD per year, output and outcome
indicators, RPJMD links) has the weaknesses published reviews found in real ones: a programme without an outcome
indicator, a target without a baseline, an RPJMD target no programme serves. The progress reports carry the
usual faults, deterministically by seed: a report missing, sent late (the file's time is after its due date), or
inconsistent (progress over 100 %, a negative amount), which the quality gate sets aside.
"""

from __future__ import annotations

import csv
import io
import os
import random
from pathlib import Path

import pandas as pd
import yaml

from kotacerdas.config import City, FileSource, ProjectConfig
from kotacerdas.errors import ConfigError
from kotacerdas.masterplan.reader import load_history
from kotacerdas.masterplan.schema import Indicator, Masterplan
from kotacerdas.periods import now_local, template_fields
from kotacerdas.simulator.generate import stable_rng

PROGRESS_TABLE = "masterplan_progress"
# dimension, code, name, OPD, start, end, quick-win stage and year, maturity indicators, output and outcome names
_PROGRAMMES = (
    ("governance", "GOV-01", "Satu Data dan portal data terbuka", "DISKOMINFO", "2025-01", "2026-12", None,
     ["GOV_OPEN_DATA_SHARE"], ("Dataset terbit di portal", "dataset"), ("Dataset terbit terhadap daftar data", "%")),
    ("governance", "GOV-02", "Layanan adminduk daring (IKD)", "DISDUKCAPIL", "2025-01", "2025-09", ("I", 2025),
     ["GOV_ONLINE_REQUEST_SHARE"], ("Layanan adminduk daring", "layanan"), ("Permohonan diajukan daring", "%")),
    ("branding", "BRD-01", "Promosi wisata digital", "DISPAR", "2025-03", "2026-12", None,
     ["BRD_TOURIST_VISITS"], ("Paket wisata dipromosikan daring", "paket"), None),
    ("branding", "BRD-02", "Penerangan jalan tematik", "DISHUB", "2025-04", "2025-12", None,
     ["BRD_STREETLIGHT_COVERAGE"], ("Titik PJU tematik terpasang", "titik"), ("Ruas jalan terang", "%")),
    ("economy", "ECO-01", "Pajak daerah elektronik", "BPKPAD", "2025-01", "2025-06", ("I", 2025),
     ["ECO_ETAX_SHARE"], ("Jenis pajak dibayar daring", "jenis"), ("Penerimaan pajak lewat kanal elektronik", "%")),
    ("economy", "ECO-02", "Perizinan berusaha terintegrasi OSS", "DPMPTSP", "2025-02", "2026-06", None,
     ["ECO_BUSINESS_LICENSE_SLA"], ("Izin terintegrasi OSS", "izin"), ("Izin selesai sesuai standar", "%")),
    ("living", "LIV-01", "Telemedisin puskesmas", "DINKES", "2025-01", "2026-12", ("II", 2026),
     ["LIV_HEALTH_SERVICE_SLA"], ("Puskesmas dengan telemedisin", "puskesmas"), ("Rujukan tepat waktu", "%")),
    ("living", "LIV-02", "Angkutan umum terjadwal", "DISHUB", "2025-05", "2026-12", None,
     ["LIV_TRANSPORT_PUNCTUALITY"], ("Halte dengan jadwal digital", "halte"), ("Ketepatan jadwal angkutan", "%")),
    ("society", "SOC-01", "Literasi digital warga", "DISKOMINFO", "2025-02", "2025-11", ("I", 2025),
     ["SOC_DIGITAL_LITERACY_PARTICIPANTS"], ("Peserta pelatihan literasi digital", "orang"), None),
    ("society", "SOC-02", "Sekolah daring", "DISDIK", "2025-01", "2026-12", ("II", 2026),
     ["SOC_SCHOOL_ONLINE_LEARNING_SHARE"], ("Sekolah dengan LMS", "sekolah"), ("Siswa belajar daring", "%")),
    ("environment", "ENV-01", "Bank sampah berbasis aplikasi", "DLH", "2025-01", "2025-12", ("I", 2025),
     ["ENV_WASTE_COLLECTED_SHARE"], ("Bank sampah terdaftar di aplikasi", "unit"), ("Sampah terangkut", "%")),
    ("environment", "ENV-02", "PJU LED hemat energi", "DLH", "2025-03", "2026-12", None,
     ["ENV_LED_STREETLIGHT_SHARE"], ("Lampu LED terpasang", "titik"), ("PJU LED terhadap seluruh PJU", "%")),
)  # fmt: skip
_RPJMD = (
    ("S1.1", "M1 Tata kelola pemerintahan yang bersih dan digital", "Meningkatnya kualitas pelayanan publik",
     ["IKU-01"], ("GOV-01", "GOV-02", "ECO-02")),
    ("S2.1", "M2 Ekonomi daerah yang tumbuh dan merata", "Meningkatnya pendapatan asli daerah", ["IKU-04"],
     ("ECO-01",)),
    ("S2.2", "M2 Ekonomi daerah yang tumbuh dan merata", "Meningkatnya kunjungan wisata", ["IKD-07"], ("BRD-01",)),
    ("S3.1", "M3 Masyarakat sehat, cerdas dan berdaya", "Meningkatnya derajat kesehatan", ["IKU-06"], ("LIV-01",)),
    ("S3.2", "M3 Masyarakat sehat, cerdas dan berdaya", "Meningkatnya mutu pendidikan", ["IKU-07"], ("SOC-02",)),
    ("S4.1", "M4 Lingkungan lestari", "Meningkatnya kualitas lingkungan hidup", ["IKU-09"], ("ENV-01", "ENV-02")),
    # served by no programme: what the review must report
    ("S4.2", "M4 Lingkungan lestari", "Berkurangnya risiko bencana banjir", ["IKU-10"], ()),
)  # fmt: skip


def simulated_masterplan(city: City, seed: int = 42, *, version: str = "2025.1", revised: bool = False) -> dict:
    """The masterplan file content of `city`; `revised`: the mid-2025 revision (a programme refined and re-timed,
    a baseline filled in)."""
    rng = stable_rng(seed, "masterplan", city.code)
    scale = city.population / 240_000
    dims: dict[str, list[dict]] = {}
    for dim, code, name, opd, start, end, qw, maturity, output, outcome in _PROGRAMMES:
        years = range(int(start[:4]), int(end[:4]) + 1)
        budget = {y: round(rng.uniform(0.4, 3.0) * scale, 1) * 1e9 for y in years}
        indicators = [
            {
                "code": f"{code}-O1",
                "kind": "output",
                "name": output[0],
                "unit": output[1],
                "baseline": 0.0,
                "baseline_year": 2024,
                "targets": {y: float(round(rng.uniform(10, 60) * (i + 1))) for i, y in enumerate(years)},
            }
        ]
        if outcome:
            base = round(rng.uniform(20, 60), 1)
            indicators.append(
                {
                    "code": f"{code}-K1",
                    "kind": "outcome",
                    "name": outcome[0],
                    "unit": outcome[1],
                    "baseline": base,
                    "baseline_year": 2024,
                    "targets": {y: round(min(100.0, base + 10 * (i + 1)), 1) for i, y in enumerate(years)},
                }
            )
        prog = {
            "code": code,
            "name": name,
            "opd": opd,
            "start": start,
            "end": end,
            "budget": budget,
            "rpjmd": [t[0] for t in _RPJMD if code in t[4]],
            "maturity_indicators": maturity,
            "indicators": indicators,
            "activities": [
                {
                    "code": f"{code}-A1",
                    "name": f"Perencanaan dan pengadaan: {name.lower()}",
                    "start": start,
                    "end": start,
                },
                {
                    "code": f"{code}-A2",
                    "name": f"Pelaksanaan dan sosialisasi: {name.lower()}",
                    "start": start,
                    "end": end,
                },
            ],  # fmt: skip
        }
        if qw:
            prog["quick_win"] = {"stage": qw[0], "year": qw[1]}
        dims.setdefault(dim, []).append(prog)
    # The weaknesses of a real plan: an outcome target with no baseline yet, a programme with no budget for 2026.
    dims["living"][1]["indicators"][1]["baseline"] = None
    dims["branding"][0]["budget"] = {}
    if revised:  # refined: the OPD asked for more time, and the baseline was measured
        dims["living"][1]["indicators"][1]["baseline"] = 62.5
        dims["living"][1]["end"] = "2027-06"
    return {
        "city_code": city.code,
        "version": version,
        "effective_from": "2025-07" if revised else "2025-01",
        "title": f"Masterplan Smart City {city.name} 2025-2029",
        "supersedes": "2025.1" if revised else None,
        "rpjmd": [{"code": c, "misi": m, "sasaran": s, "iku": iku} for c, m, s, iku, _ in _RPJMD],
        "dimensions": [{"code": d, "programmes": progs} for d, progs in dims.items()],
    }


def write_masterplans(project: ProjectConfig, folder: str | Path, seed: int = 42) -> list[Path]:
    """The masterplan of every city (and the July 2025 revision of the first) as YAML under `folder/<city>/`."""
    written = []
    for n, city in enumerate(project.cities.cities):
        versions = [simulated_masterplan(city, seed)]
        if n == 0:
            versions.append(simulated_masterplan(city, seed, version="2025.2", revised=True))
        for content in versions:
            Masterplan.model_validate(content)  # the simulator writes only valid plans
            path = Path(folder) / city.code / f"{content['version']}.yaml"
            path.parent.mkdir(parents=True, exist_ok=True)
            header = f"# {content['title']}, version {content['version']} (docs/bappeda/masterplan.md)\n"
            path.write_text(header + yaml.safe_dump(content, sort_keys=False, allow_unicode=True), encoding="utf-8")
            written.append(path)
    return written


# --- monthly progress reports ---------------------------------------------------------------------------------

PROGRESS_HEADERS = {
    "city_code": "Kode Wilayah",
    "opd_code": "Kode OPD",
    "programme_code": "Kode Program",
    "period": "Bulan",
    "physical_progress": "Progres Fisik (%)",
    "budget_realised": "Realisasi Anggaran (Rp)",
    "indicator_code": "Kode Indikator",
    "indicator_value": "Capaian Indikator",
    "evidence_url": "Tautan Bukti",
}


def report_fault(seed: int, city: str, opd: str, month: str) -> str | None:
    """missing | late | inconsistent | None, deterministically per city × OPD × month."""
    u = stable_rng(seed, "masterplan-fault", city, opd, month).random()
    return "missing" if u < 0.06 else "late" if u < 0.14 else "inconsistent" if u < 0.19 else None


def _months_between(start: str, month: str) -> int:
    return (int(month[:4]) - int(start[:4])) * 12 + int(month[5:7]) - int(start[5:7])


def progress_rows(plan: Masterplan, opd: str, month: str, seed: int) -> list[dict]:
    """What `opd` reports for `month` on each of its programmes (cumulative progress and spending; 0 for one not
    started yet)."""
    rows = []
    for p in plan.programmes:
        if p.opd != opd:
            continue
        span = _months_between(p.start, p.end) + 1
        elapsed = max(0, min(span, _months_between(p.start, month) + 1))
        # quick wins are the acceleration programmes: mostly on pace; the others range from slow to ahead
        low, high = (0.85, 1.3) if p.quick_win else (0.6, 1.2)
        pace = stable_rng(seed, "pace", plan.city_code, p.code).uniform(low, high)
        noise = stable_rng(seed, "pace", plan.city_code, p.code, month).uniform(-3, 3)
        share = elapsed / span * pace
        progress = 100.0 if share >= 1 else round(max(0.0, min(99.9, 100 * share + noise)), 1)  # done is done
        progress = progress if elapsed else 0.0
        year = int(month[:4])
        budget = (p.budget.get(year) or 0.0) if elapsed else 0.0
        in_year = int(month[5:7]) / 12
        spent = round(budget * min(1.0, in_year * pace * stable_rng(seed, "spend", p.code, month).uniform(0.8, 1.0)))
        outputs: list[Indicator | None] = [i for i in p.indicators if i.kind == "output"] or [None]
        for ind in outputs:
            value = None
            if ind is not None:
                target = ind.targets.get(year, max(ind.targets.values(), default=0.0))
                value = round((ind.baseline or 0.0) + (target - (ind.baseline or 0.0)) * progress / 100, 1)
            doc = stable_rng(seed, "evidence", plan.city_code, p.code, month).randint(100, 999)
            rows.append(
                {
                    "city_code": plan.city_code,
                    "opd_code": opd,
                    "programme_code": p.code,
                    "period": month,
                    "physical_progress": progress,
                    "budget_realised": spent,
                    "indicator_code": ind.code if ind else None,
                    "indicator_value": value,
                    "evidence_url": f"https://simonev.example.go.id/{plan.city_code}/{p.code}/{month}/{doc}",
                }
            )
    return rows


def write_progress_drops(
    project: ProjectConfig,
    landing_dir: str | Path,
    cities: list[str],
    months: list[str],
    seed: int = 42,
    *,
    faults: bool = True,
) -> list[Path]:
    """Each OPD's monthly progress report (CSV, `;`, decimal comma) for every city × month, with the faults of
    `report_fault` (unless `faults` is off); the file's modification time is when the OPD sent it (before or after
    its due date)."""
    source = next((s for s in project.sources.for_table(PROGRESS_TABLE) if isinstance(s, FileSource)), None)
    if source is None:
        raise ConfigError(
            f"no file source for {PROGRESS_TABLE} in sources.yaml", hint="add a `type: file` source for it"
        )
    opd_codes = [o.code for o in project.cities.opds]
    timeliness = project.timeliness
    written = []
    for city in cities:
        history = load_history(project.masterplan_dir, city, opd_codes=opd_codes)
        for month in months:
            plan = history.in_force(month)
            if plan is None:
                continue
            closed = timeliness.period_end(month)  # UTC, naive
            for opd in project.cities.opds_for(PROGRESS_TABLE):
                rows = progress_rows(plan, opd.code, month, seed)
                fault = report_fault(seed, city, opd.code, month) if faults else None
                if fault == "missing":
                    continue
                if fault == "inconsistent" and rows:  # the cumulative progress typed over 100, the spending negative
                    rows[0]["physical_progress"] = 130.0
                    rows[-1]["budget_realised"] = -rows[-1]["budget_realised"] or -1.0
                rng = stable_rng(seed, "sent", city, opd.code, month)
                due = timeliness.due_at(opd.code, PROGRESS_TABLE, month)
                sent = uploaded_at(rng, closed, due, late=fault == "late", late_days=(2, 20), window=(0.1, 0.6))
                name = source.pattern.format(city=city, opd=opd.code, **template_fields(month))
                path = Path(landing_dir) / (name[:-2] + ".csv" if name.endswith(".*") else name)
                buf = io.StringIO()
                writer = csv.writer(buf, delimiter=";", lineterminator="\r\n")
                writer.writerow(PROGRESS_HEADERS.values())
                for r in rows:
                    writer.writerow(["" if r[c] is None else _num(r[c]) for c in PROGRESS_HEADERS])
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(buf.getvalue().encode("utf-8-sig"))
                stamp_upload(path, sent)
                written.append(path)
    return written


def uploaded_at(
    rng: random.Random,
    closed: pd.Timestamp,
    due: pd.Timestamp,
    *,
    late: bool,
    late_days: tuple[float, float],
    window: tuple[float, float],
) -> pd.Timestamp:
    """When an OPD sent a month's file (UTC, naive, as `closed` and `due`): late, some `late_days` after its due date;
    else at a share `window` of the time between the month's close and the due date."""
    if late:
        return due + pd.Timedelta(days=rng.uniform(*late_days))
    return closed + (due - closed) * rng.uniform(*window)


def stamp_upload(path: Path, sent: pd.Timestamp) -> None:
    """Give a dropped file the modification time of its upload (`sent`: UTC, naive), which timeliness reads as when
    it was received, never after now on the project's clock: a file of a month still under way is written now, and an
    upload time in the future would make it look on time until then."""
    stamp = min(sent.tz_localize("UTC").timestamp(), now_local().timestamp())
    os.utime(path, (stamp, stamp))


def _num(value: object) -> str:
    """Numbers as an Indonesian spreadsheet writes them (decimal comma); text as it is."""
    if isinstance(value, float):
        return f"{value:.1f}".replace(".", ",")
    return str(value)
