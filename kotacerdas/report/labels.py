"""What people read on scorecards and exports: Bahasa Indonesia first, English second.

Names of dimensions, elements, indicators, SPBE predicates and IKM grades come from `config/` (through
`ProjectConfig`); the few words of the page itself are here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kotacerdas.config import ProjectConfig
from kotacerdas.errors import KotacerdasError
from kotacerdas.masterplan.status import load_rules
from kotacerdas.maturity import MaturityMethodology
from kotacerdas.regulators import IkmMethodology, KominfoMethodology, SpbeMethodology, load_regulator_methodology

LANGUAGES = ("id", "en")  # the first is the default

# Words of the pages (not of the methodology): (Bahasa Indonesia, English).
_TEXT: dict[str, tuple[str, str]] = {
    "scorecard": ("Kartu Skor Kota Cerdas", "Smart-City Scorecard"),
    "national": ("Peringkat Nasional Kota Cerdas", "National Smart-City Ranking"),
    "index": ("Indeks kematangan", "Maturity index"),
    "level": ("Tingkat kematangan", "Maturity level"),
    "change_previous": ("Perubahan dari bulan lalu", "Change since last month"),
    "change_last_year": ("Perubahan dari bulan yang sama tahun lalu", "Change since the same month last year"),
    "not_comparable": ("tidak dibandingkan", "not compared"),
    "not_comparable_note": (
        "Tidak dibandingkan: periode pembanding tidak ada, tidak lengkap, atau dihitung dengan versi metodologi lain.",
        "Not compared: the baseline period is missing, incomplete, or scored by another methodology version.",
    ),
    "dimensions": ("Dimensi", "Dimensions"),
    "trend": ("Tren per dimensi", "Trend per dimension"),
    "elements": ("Elemen", "Elements"),
    "indicators": ("Indikator", "Indicators"),
    "value": ("Nilai", "Value"),
    "unit": ("Satuan", "Unit"),
    "target": ("Target", "Target"),
    "score": ("Skor", "Score"),
    "direction": ("Arah", "Direction"),
    "higher_better": ("makin tinggi makin baik", "higher is better"),
    "lower_better": ("makin rendah makin baik", "lower is better"),
    "coverage": ("Cakupan", "Coverage"),
    "weight": ("Bobot", "Weight"),
    "quality": ("Mutu data", "Data quality"),
    "opd_league": ("Peringkat OPD", "OPD league table"),
    "opd": ("OPD", "Agency (OPD)"),
    "rank": ("Peringkat", "Rank"),
    "indicator_score": ("Skor indikator", "Indicator score"),
    "sla": ("Selesai sesuai standar (%)", "Within service standard (%)"),
    "online": ("Daring (%)", "Online (%)"),
    "complaints_resolved": ("Pengaduan selesai (%)", "Complaints resolved (%)"),
    "opd_quality": ("Mutu dan ketepatan waktu data per OPD", "Data quality and timeliness per OPD"),
    "table": ("Tabel", "Table"),
    "delivered": ("Terkirim", "Delivered"),
    "rows": ("Baris", "Rows"),
    "rejected": ("Ditolak (%)", "Rejected (%)"),
    "timeliness": ("Ketepatan waktu", "Timeliness"),
    "days_late": ("Hari terlambat", "Days late"),
    # an OPD's delivery (kotacerdas.quality.timeliness.STATUSES)
    "status_on_time": ("tepat waktu", "on time"),
    "status_late": ("terlambat", "late"),
    "status_received_undated": ("diterima, tanggal tidak diketahui", "received, date unknown"),
    "status_missing": ("tidak ada", "missing"),
    "status_pending": ("belum jatuh tempo", "pending"),
    "status_not_expected": ("tidak diwajibkan", "not expected"),
    "regulators": ("Indeks regulator", "Regulators' indices"),
    "kominfo": ("Evaluasi Kominfo (1–5)", "Kominfo evaluation (1–5)"),
    "spbe": ("Indeks SPBE (1–5)", "SPBE index (1–5)"),
    "predicate": ("Predikat", "Predicate"),
    "ikm": ("Indeks Kepuasan Masyarakat (25–100)", "Community satisfaction index, IKM (25–100)"),
    "grade": ("Mutu pelayanan", "Grade"),
    "year": ("Tahun", "Year"),
    "none_published": ("belum ada yang terbit", "none published"),
    "uncertainty": ("Ketidakpastian indeks dan peringkat", "Uncertainty of index and rank"),
    "uncertainty_note": (
        "Simulasi Monte Carlo {runs} kali dengan bobot acak ±{noise} % atas semua kota pada periode ini "
        "(mesin indeks kotacerdas); rentang 5–95 %.",
        "Monte Carlo of {runs} runs with weights varied by ±{noise} % over every city of this period "
        "(kotacerdas index engine); 5–95 % range.",
    ),
    "score_band": ("Rentang skor", "Score range"),
    "rank_band": ("Rentang peringkat", "Rank range"),
    "of_cities": ("dari {n} kota", "of {n} cities"),
    "rank_provisional": (
        "sementara: {n} dari {total} kota sudah terbit untuk periode ini",
        "provisional: {n} of {total} cities published for this period so far",
    ),
    "methodology": ("Metodologi", "Methodology"),
    "lineage": ("Asal-usul skor", "Where each score came from"),
    "lineage_note": (
        "Setiap skor sampai ke baris data dan berkas mentah (sha256); sama dengan `kotacerdas explain`.",
        "Every score down to the rows counted and the raw files (sha256); the same as `kotacerdas explain`.",
    ),
    "rows_from": ("baris dari", "row(s) from"),
    "province": ("Provinsi", "Province"),
    "kind": ("Jenis", "Kind"),
    "population_band": ("Kelompok penduduk", "Population band"),
    "all": ("Semua", "All"),
    "city": ("Kabupaten/kota", "Regency/city"),
    "period": ("Periode", "Period"),
    "generated": ("Dibuat", "Generated"),
    "incomplete": ("tidak lengkap", "incomplete"),
    "kota": ("kota", "city (kota)"),
    "kabupaten": ("kabupaten", "regency (kabupaten)"),
    "cities_shown": ("kota ditampilkan", "cities shown"),
    "warehouse": ("Gudang data", "Warehouse"),
    "incomplete_data": ("data tidak lengkap", "incomplete data"),
    "incomplete_note": (
        "Periode ini diterbitkan dengan data yang tidak lengkap: cakupan data {coverage}. Tidak dibandingkan dan "
        "tidak diperingkat.",
        "This period was published with incomplete data: data coverage {coverage}. It is not compared or ranked.",
    ),
    "data_coverage": ("Cakupan data", "Data coverage"),
    "masterplan": ("Masterplan Smart City", "Smart City Masterplan"),
    "masterplan_none": (
        "Kota ini belum memiliki masterplan smart city yang berlaku pada periode ini (config/masterplan/).",
        "This city has no smart-city masterplan in force in this period (config/masterplan/).",
    ),
    "masterplan_version": ("Versi masterplan", "Masterplan version"),
    "programmes": ("Program", "Programmes"),
    "programmes_note": (
        "Program yang sudah dimulai, menurut status bulan ini (aturan: config/masterplan/status_rules.yaml). "
        "Tidak diketahui: laporan OPD bulan ini tidak ada, terlambat, ditolak, atau tidak konsisten.",
        "Started programmes by their status this month (rules: config/masterplan/status_rules.yaml). "
        "Unknown: the OPD's report of the month is missing, late, rejected or inconsistent.",
    ),
    "total": ("Jumlah", "Total"),
    "quick_wins": ("Quick win terlaksana dari yang jatuh tempo", "Quick wins delivered out of due"),
    "rpjmd_alignment": ("Program yang selaras dengan target RPJMD", "Programmes linked to an RPJMD target"),
    "rpjmd_unserved": ("Target RPJMD tanpa program", "RPJMD targets with no programme"),
    "readiness": ("Kesiapan evaluasi Kominfo", "Kominfo evaluation readiness"),
    "readiness_note": (
        "Skor mandiri dihitung kotacerdas dari data masterplan dengan berkas metodologi Kominfo; skor resmi "
        "tampil setelah evaluasi tahun ini terbit.",
        "Self-assessed scores are computed by kotacerdas from the masterplan data with the Kominfo methodology "
        "file; the official score shows once this year's evaluation is published.",
    ),
    "component": ("Komponen", "Component"),
    "evidence": ("Bukti", "Evidence"),
    "self_score": ("Skor mandiri", "Self-assessed"),
    "official_score": ("Skor resmi", "Official"),
    "difference": ("Selisih", "Difference"),
    "not_yet_official": ("belum terbit", "not yet published"),
    "kominfo_index": ("Indeks evaluasi", "Evaluation index"),
}


@dataclass(frozen=True)
class Labels:
    lang: str
    dimensions: dict[str, str]  # dimension code -> name
    elements: dict[str, str]  # element code -> name
    indicators: dict[str, str]  # indicator code -> name
    predicates: dict[str, str]  # SPBE predicate as printed (Indonesian) -> name
    grades: dict[str, str]  # IKM grade code (A–D) -> name
    dimension_order: tuple[str, ...]  # as in the methodology
    statuses: dict[str, str] = field(default_factory=dict)  # masterplan programme status -> name
    components: dict[str, str] = field(default_factory=dict)  # Kominfo evaluation part -> name (methodology file)

    def text(self, key: str, **fields) -> str:
        words = _TEXT[key][LANGUAGES.index(self.lang)]
        return words.format(**fields) if fields else words

    def name(self, level: str, code: str) -> str:
        """The name of a score's node; its code when config has none (e.g. an older methodology's node)."""
        table = {"dimension": self.dimensions, "element": self.elements, "indicator": self.indicators}.get(level, {})
        if level == "index":
            return self.text("index")
        return table.get(code, code)


def maturity_methodology(project: ProjectConfig) -> MaturityMethodology:
    """The maturity methodology in use (config/pipeline.yaml `methodology`)."""
    return project.methodology


def check_language(lang: str) -> str:
    if lang not in LANGUAGES:
        raise KotacerdasError(f"unknown language {lang!r}", hint=f"use one of: {', '.join(LANGUAGES)}")
    return lang


def load_labels(project: ProjectConfig, lang: str = "id") -> Labels:
    """Every label in `lang`; a name missing in config falls back to the other language, then to the code."""
    check_language(lang)
    pick = 0 if lang == "id" else 1

    def choose(name_id: str | None, name_en: str | None, fallback: str) -> str:
        options = (name_id, name_en) if pick == 0 else (name_en, name_id)
        return next((o for o in options if o), fallback)

    method = maturity_methodology(project)
    dimensions, elements = {}, {}
    for code, dim in method.dimensions.items():
        dimensions[code] = choose(dim.name_id, dim.name_en, dim.name)
        for element in dim.elements:
            label = dim.element_names.get(element)
            elements[element] = choose(label.name_id, label.name_en, element) if label else element
    indicators = {i.code: choose(i.name_id, i.name_en, i.code) for i in project.catalog.indicators}
    spbe = load_regulator_methodology(project.methodology_file(project.pipeline.spbe_methodology))
    ikm = load_regulator_methodology(project.methodology_file(project.pipeline.ikm_methodology))
    kominfo = load_regulator_methodology(project.methodology_file(project.pipeline.kominfo_methodology))
    if not isinstance(spbe, SpbeMethodology) or not isinstance(ikm, IkmMethodology):
        raise KotacerdasError(
            f"pipeline.yaml: spbe_methodology is a {spbe.kind} file and ikm_methodology a {ikm.kind} file",
            hint="point spbe_methodology at an SPBE methodology and ikm_methodology at an IKM one",
        )
    if not isinstance(kominfo, KominfoMethodology):
        raise KotacerdasError(
            f"pipeline.yaml: kominfo_methodology is a {kominfo.kind} file", hint="point it at a Kominfo methodology"
        )
    rules = load_rules(project.masterplan_rules_file)
    statuses = {s: choose(label.name_id, label.name_en, s) for s, label in rules.labels.items()}
    components = {k: part.name for k, part in kominfo.parts.items()}
    predicates = {b.name: choose(b.name, b.name_en, b.name) for b in spbe.predicates}
    grades = {b.code or b.name: choose(b.name, b.name_en, b.name) for b in ikm.grades}
    return Labels(
        lang, dimensions, elements, indicators, predicates, grades, tuple(method.dimensions), statuses, components
    )
