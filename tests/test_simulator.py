"""The OPD simulator: a real HTTP server with deterministic, realistic and slightly defective data."""

from __future__ import annotations

import csv
import re
from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
import requests
import yaml
from conftest import OPD_TEST_TOKEN

from kotacerdas.simulator import OpdSimulator, write_file_drops

AUTH = {"Authorization": f"Bearer {OPD_TEST_TOKEN}"}
REQUESTS_PATH = "/api/v1/layanan/permohonan"


def _iso(text):
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S") if text else None
    except ValueError:
        return None


def _get(sim, path, headers=AUTH, **params):
    return requests.get(sim.url + path, params=params, headers=headers, timeout=10)


def _all_pages(sim, path, city, opd, month, page_size):
    rows, page, pages = [], 1, 0
    while page is not None:
        body = _get(sim, path, kode_wilayah=city, kode_opd=opd, bulan=month, page=page, page_size=page_size).json()
        assert body["page"] == page and body["page_size"] == page_size
        rows.extend(body["data"])
        page, pages = body["next_page"], pages + 1
    return rows, body["total"], pages


def test_same_seed_gives_byte_identical_responses(opd_project, opd_simulator):
    params = {"kode_wilayah": "19.71", "kode_opd": "DISDUKCAPIL", "bulan": "2025-03", "page": 2, "page_size": 40}
    first = _get(opd_simulator, REQUESTS_PATH, **params).content
    with OpdSimulator(opd_project, seed=42) as twin, OpdSimulator(opd_project, seed=7) as other:
        assert _get(twin, REQUESTS_PATH, headers={}, **params).content == first
        assert _get(other, REQUESTS_PATH, headers={}, **params).content != first


def test_pagination_follows_next_page_to_the_total(opd_simulator):
    rows, total, pages = _all_pages(opd_simulator, REQUESTS_PATH, "19.71", "DISDUKCAPIL", "2025-03", 50)
    expected = opd_simulator.rows("service_requests", "19.71", "DISDUKCAPIL", "2025-03")
    assert rows == expected and total == len(expected)
    assert pages == -(-total // 50)
    beyond = _get(
        opd_simulator,
        REQUESTS_PATH,
        kode_wilayah="19.71",
        kode_opd="DISDUKCAPIL",
        bulan="2025-03",
        page=pages + 5,
        page_size=50,
    ).json()
    assert beyond["data"] == [] and beyond["next_page"] is None


def test_field_names_are_the_source_side_names(opd_project, opd_simulator):
    sources = yaml.safe_load((opd_project.dir / "sources.yaml").read_text())["sources"]
    for src in (s for s in sources if s["type"] == "rest"):
        path, query = src["path"].split("?")
        opd = opd_project.cities.opds_for(src["table"])[0].code
        values = {"{city}": "19.71", "{opd}": opd, "{month}": "2025-05", "{year}": "2024"}
        params = {name: values[value] for name, value in (p.split("=") for p in query.split("&"))}
        headers = {"X-API-Key": OPD_TEST_TOKEN} if src.get("auth") == "api_key" else AUTH
        row = _get(opd_simulator, path, headers=headers, **params).json()["data"][0]
        assert list(row) == [*src["columns"], *([src["entered_field"]] if src.get("entered_field") else [])]


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"kode_wilayah": "19.71", "kode_opd": "DINKES", "bulan": "2025-3"}, 400),
        ({"kode_wilayah": "19.71", "kode_opd": "DINKES"}, 400),
        ({"kode_wilayah": "19.71", "kode_opd": "DINKES", "bulan": "2025-03", "page": "0"}, 400),
        ({"kode_wilayah": "19.71", "kode_opd": "DINKES", "bulan": "2025-03", "page_size": "abc"}, 400),
        ({"kode_wilayah": "99.99", "kode_opd": "DINKES", "bulan": "2025-03"}, 404),
        ({"kode_wilayah": "19.71", "kode_opd": "DISPAR", "bulan": "2025-03"}, 404),  # DISPAR has no requests
    ],
)
def test_bad_parameters_get_json_errors(opd_simulator, params, status):
    resp = _get(opd_simulator, REQUESTS_PATH, **params)
    assert resp.status_code == status
    assert resp.json()["error"]


def test_token_is_required_when_configured(opd_simulator):
    params = {"kode_wilayah": "19.71", "kode_opd": "DINKES", "bulan": "2025-03"}
    assert _get(opd_simulator, REQUESTS_PATH, headers={}, **params).status_code == 401
    wrong = {"Authorization": "Bearer nope"}
    assert _get(opd_simulator, REQUESTS_PATH, headers=wrong, **params).status_code == 401
    assert _get(opd_simulator, "/api/v1/unknown", **params).status_code == 404


def test_data_is_realistic(opd_project, opd_simulator):
    months = [f"2025-{m:02d}" for m in range(1, 7)]
    services = {s.code: s for o in opd_project.cities.opds for s in o.services}
    rows = [
        r
        for m in months
        for o in opd_project.cities.opds_for("service_requests")
        for r in opd_simulator.rows("service_requests", "19.71", o.code, m)
    ]
    per_opd_month = Counter((r["kode_opd"], r["id_permohonan"].split("-")[-2]) for r in rows)
    assert len(per_opd_month) == 6 * len(opd_project.cities.opds_for("service_requests"))
    assert min(per_opd_month.values()) >= 10 and max(per_opd_month.values()) <= 500
    # Offline-only services never arrive online.
    assert all(r["kanal"] != "online" for r in rows if not services[r["kode_layanan"]].online)
    # Personal data looks real: 16-digit NIK starting with the region code, Indonesian mobile numbers.
    assert all(re.fullmatch(r"1971\d{12}", r["nik_pemohon"]) for r in rows)
    assert all(re.fullmatch(r"08\d{8,11}", r["hp_pemohon"]) for r in rows if r["hp_pemohon"])
    # Few requests at the office on Sundays.
    offline = [_iso(r["tgl_pengajuan"]) for r in rows if r["kanal"] == "offline" and _iso(r["tgl_pengajuan"])]
    assert sum(ts.weekday() == 6 for ts in offline) / len(offline) < 0.02
    statuses = [r["status"] for r in rows]
    assert statuses.count("completed") / len(rows) > 0.75
    assert "rejected" in statuses and "in_process" in statuses
    # Some SLA breaches, but not most.
    done = [r for r in rows if r["status"] == "completed" and _iso(r["tgl_selesai"]) and _iso(r["tgl_pengajuan"])]
    late = sum(
        (_iso(r["tgl_selesai"]) - _iso(r["tgl_pengajuan"])).total_seconds() > r["standar_hari"] * 86400 for r in done
    )
    assert 0.03 < late / len(done) < 0.35
    # About 1 % deliberate defects: unknown channels, completed before submitted, unparseable dates, ...
    bad = [
        r
        for r in rows
        if r["kanal"] not in ("online", "offline")
        or _iso(r["tgl_pengajuan"]) is None
        or (r["tgl_selesai"] and r["tgl_selesai"] < r["tgl_pengajuan"])
        or r["tgl_pengajuan"][:7] not in months
    ]
    assert 0.002 < len(bad) / len(rows) < 0.03


def test_ikm_answers_are_mostly_three_or_four(opd_simulator):
    rows = opd_simulator.rows("satisfaction_responses", "19.71", "DISDUKCAPIL", "2025-02")
    answers = [r[f"u{i}"] for r in rows for i in range(1, 10)]
    assert sum(a in (3, 4) for a in answers) / len(answers) > 0.85
    assert set(answers) <= {0, 1, 2, 3, 4, 5}


def test_complaints_have_delays_and_some_unresolved(opd_simulator):
    rows = [
        r
        for m in ("2025-01", "2025-02", "2025-03")
        for r in opd_simulator.rows("complaints", "19.71", "DISDUKCAPIL", m)
    ]
    assert any(r["tgl_selesai"] is None for r in rows)
    assert sum(r["tgl_tanggapan_pertama"] is not None for r in rows) / len(rows) > 0.8
    assert sum(bool(r["email_pelapor"]) for r in rows) / len(rows) > 0.7


def test_fail_next_serves_the_injected_status(opd_project):
    with OpdSimulator(opd_project) as sim:
        sim.fail_next(1, status=429, retry_after=3)
        params = {"kode_wilayah": "19.71", "kode_opd": "DINKES", "bulan": "2025-03"}
        first = _get(sim, REQUESTS_PATH, headers={}, **params)
        assert first.status_code == 429 and first.headers["Retry-After"] == "3"
        assert _get(sim, REQUESTS_PATH, headers={}, **params).status_code == 200


def test_file_drops_follow_the_template(opd_project, tmp_path):
    paths = write_file_drops(opd_project, tmp_path, ["19.71", "19.03"], ["2025-01", "2025-02"], seed=42)
    paths = [p for p in paths if "capaian_indikator" in p.name]  # the masterplan reports: tests/test_masterplan.py
    catalog = yaml.safe_load((opd_project.dir / "indicators.yaml").read_text())["indicators"]
    submitted = [i for i in catalog if i["method"]["type"] == "submitted"]
    producers = {i["producer"] for i in submitted}
    assert len(paths) == 2 * 2 * len(producers)
    sample = tmp_path / "19.71" / "DLH" / "capaian_indikator_2025-02.csv"
    raw = sample.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    rows = list(csv.DictReader(raw.decode("utf-8-sig").splitlines(), delimiter=";"))
    assert list(rows[0]) == ["Kode Wilayah", "Kode OPD", "Kode Indikator", "Periode", "Nilai", "Satuan", "Bukti Dukung"]
    assert {r["Kode Indikator"] for r in rows} == {i["code"] for i in submitted if i["producer"] == "DLH"}
    for r in rows:
        assert re.fullmatch(r"\d+,\d{2}", r["Nilai"]), r  # decimal comma
        ind = next(i for i in submitted if i["code"] == r["Kode Indikator"])
        lo, hi = sorted((ind["goalposts"]["worst"], ind["goalposts"]["best"]))
        assert lo <= float(r["Nilai"].replace(",", ".")) <= hi
        assert re.fullmatch(r"\d{3}/\d{2}/DLH/II/2025", r["Bukti Dukung"])
    # per-population indicators are written as raw counts: rate × population / N
    tourism = list(
        csv.DictReader(
            (tmp_path / "19.71" / "DISPAR" / "capaian_indikator_2025-01.csv")
            .read_text(encoding="utf-8-sig")
            .splitlines(),
            delimiter=";",
        )
    )[0]
    rate = int(tourism["Nilai"]) * 1000 / 242285
    assert 0 <= rate <= 200
    again = write_file_drops(opd_project, tmp_path / "again", ["19.71"], ["2025-02"], seed=42)
    again_dlh = next(p for p in again if p.parent.name == "DLH")
    assert again_dlh.read_bytes() == raw


def test_all_514_regions_can_be_served(opd_project):
    from kotacerdas.simulator import default_regions_csv, load_regions

    path = default_regions_csv(opd_project)
    assert path.is_file(), path
    cities = load_regions(path)
    assert len(cities) == 514 and len({c.code for c in cities}) == 514
    bogor = next(c for c in cities if c.code == "32.01")
    assert (bogor.kind, bogor.province_code) == ("kabupaten", "32") and bogor.population > 5_000_000
    assert next(c for c in cities if c.code == "91.71").kind == "kota"
    with OpdSimulator(opd_project, cities=cities) as sim:
        assert len(sim.cities) == 514 + sum(c.code not in {x.code for x in cities} for c in opd_project.cities.cities)
        for code in ("32.01", "91.71", "19.71"):
            body = _get(
                sim, REQUESTS_PATH, headers={}, kode_wilayah=code, kode_opd="DISDUKCAPIL", bulan="2025-03"
            ).json()
            assert body["total"] > 0 and body["data"][0]["kode_wilayah"] == code
        # A big kabupaten gets proportionally more requests than a small city.
        big = len(sim.rows("service_requests", "32.01", "DISDUKCAPIL", "2025-03"))
        assert big > 10 * len(sim.rows("service_requests", "19.71", "DISDUKCAPIL", "2025-03"))


@pytest.mark.parametrize(("table", "path"), [("service_requests", REQUESTS_PATH), ("complaints", "/api/v1/pengaduan")])
def test_nothing_is_reported_later_than_the_systems_clock(opd_project, table, path):
    """On the 1st, just after a month closed, the month's slow requests are still in process: a completion
    time after the clock would make every watermark look changed and every duration a guess."""
    from zoneinfo import ZoneInfo

    local = ZoneInfo("Asia/Jakarta")
    just_after = datetime(2026, 12, 1, 0, 30, tzinfo=local)
    route = next(s for s in opd_project.sources.sources if s.type == "rest" and s.table == table)
    fields = tuple(k for k, v in route.columns.items() if v.endswith("_at"))
    city, opd = "19.71", "DISDUKCAPIL" if table == "service_requests" else "DISHUB"

    def rows_at(moment):
        with OpdSimulator(opd_project, seed=11, token=OPD_TEST_TOKEN, clock=lambda: moment) as sim:
            body = _get(sim, path, kode_wilayah=city, kode_opd=opd, bulan="2026-11", page=1, page_size=5000).json()
            return body["data"]

    early = rows_at(just_after)
    late = rows_at(datetime(2027, 1, 15, tzinfo=local))
    now = just_after.replace(tzinfo=None)
    times = [t for r in early for f in (*fields, route.entered_field) if (t := _iso(r.get(f)))]
    assert times and max(times) <= now
    # The same records, with the events that had not happened yet: completed (or resolved) later on. Records
    # taken on paper and not typed in by the 1st are not in the system yet: they come later, entered after the clock.
    key = next(k for k, v in route.columns.items() if v.endswith("_id"))
    later = {r[key]: r for r in late}
    shown = {r[key] for r in early}
    assert shown <= set(later)
    assert all(_iso(r[route.entered_field]) > now for k, r in later.items() if k not in shown)
    status = next(k for k, v in route.columns.items() if v == "status")
    changed = [(a, later[a[key]]) for a in early if a != later[a[key]]]
    assert changed, "some requests of the month are still in process on the 1st"
    assert all(a[status] != b[status] for a, b in changed)


@pytest.mark.parametrize(
    "stamp",
    ["2025-01-31T23:59:59", "2024-02-29T00:00:00", "2025-07-04T08:05:09"],
)
def test_stamps_read_as_strptime_reads_them(stamp):
    from kotacerdas.simulator.generate import TS_FORMAT, parse_stamp

    assert parse_stamp(stamp) == datetime.strptime(stamp, TS_FORMAT)


@pytest.mark.parametrize(
    "stamp",
    # the generators' deliberate defects, then forms fromisoformat alone would take
    ["2025-01-32T10:15:00", "31/01/2025 jam 10", "kemarin sore", "01/2025", "2025-02-29T10:00:00", None, 3]
    + ["2025-01-05", "2025-01-05T10:15", "2025-01-05T10:15:00+07:00", "2025-01-05 10:15:00", "٢٠٢٥-01-05T10:15:00"],
)
def test_unparseable_and_other_forms_are_no_stamp(stamp):
    from kotacerdas.simulator.generate import parse_stamp

    assert parse_stamp(stamp) is None


def test_a_day_is_drawn_as_from_the_weekday_weights():
    """The month's days and cumulative weights are kept between rows; the draws are those of the weights."""
    import random
    from datetime import date, timedelta

    from kotacerdas.simulator.generate import OFFLINE_WEEKDAY, _pick_day

    days = [date(2025, 2, 1) + timedelta(days=i) for i in range(28)]
    expected, ours = random.Random(7), random.Random(7)
    for _ in range(500):
        drawn = expected.choices(days, weights=[OFFLINE_WEEKDAY[d.weekday()] for d in days])[0]
        assert _pick_day(ours, "2025-02", OFFLINE_WEEKDAY) == drawn


def test_records_are_entered_when_opened_or_typed_in_later_mostly_before_the_due_date(opd_project, opd_simulator):
    # what a source's `entered_field` sends, and what timeliness judges a pulled month by: a record filed online is
    # entered when it is opened; paper ones are typed in after the month, in one batch, a tenth of them after the due
    # date; the system shows no record before its entry
    opened = {"service_requests": "tgl_pengajuan", "complaints": "tgl_diterima", "satisfaction_responses": "tgl_survei"}
    timeliness, latest_vs_due, typed_later = opd_project.timeliness, [], 0
    for table, opened_field in opened.items():
        entered_field = opd_simulator.route_of(table).source.entered_field
        assert entered_field == "tgl_input"
        for opd in opd_project.cities.opds_for(table):
            for month in (f"2025-{m:02d}" for m in range(1, 13)):
                rows = opd_simulator.rows(table, "19.71", opd.code, month)
                entries = [_iso(r[entered_field]) for r in rows]
                assert all(e is not None for e in entries)
                for row, entered in zip(rows, entries, strict=True):
                    if (when := _iso(row[opened_field])) is not None:
                        assert entered >= when, (table, opd.code, month, row)
                        typed_later += entered > when
                if rows:
                    latest = pd.Timestamp(max(entries)).tz_localize("Asia/Jakarta").tz_convert("UTC").tz_localize(None)
                    latest_vs_due.append(latest > timeliness.due_at(opd.code, table, month))
    assert typed_later > 0 and len(latest_vs_due) > 100
    assert 0 < sum(latest_vs_due) < len(latest_vs_due) / 4

    # before its batch is typed in, a paper record is not there; afterwards it is
    table, opd, month = "complaints", "DISHUB", "2025-03"
    rows = opd_simulator.rows(table, "19.71", opd, month)
    batch = max(rows, key=lambda r: r["tgl_input"])["tgl_input"]
    before = datetime.fromisoformat(batch).replace(tzinfo=ZoneInfo("Asia/Jakarta")) - timedelta(minutes=1)
    with OpdSimulator(opd_project, seed=42, token=OPD_TEST_TOKEN, clock=lambda: before) as sim:
        earlier = sim.rows(table, "19.71", opd, month)
    assert 0 < len(earlier) < len(rows) and all(r["tgl_input"] < batch for r in earlier)
