"""OPD timeliness (DHIS2-style): due dates from config, received times from the raw zone and the OPDs' uploads,
on time / late / missing / pending per OPD × dataset × month, and the reporting rates."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
import time_machine
from conftest import OPD_TEST_TOKEN, edited_project, simulator_env

from kotacerdas.config import TimelinessConfig
from kotacerdas.errors import ConfigError
from kotacerdas.ingest import ingest_table
from kotacerdas.ingest.entered import EntryTracker
from kotacerdas.ingest.landing import read_fetches
from kotacerdas.periods import now_local
from kotacerdas.quality.timeliness import (
    opd_timeliness,
    reporting_rates,
    statuses_now,
)
from kotacerdas.report.stewards import delivery_status
from kotacerdas.simulator import OpdSimulator, write_file_drops

CITY, MONTH = "19.71", "2025-03"


def test_due_dates_close_on_jakarta_time_with_per_dataset_and_per_opd_overrides():
    config = TimelinessConfig(
        due_days_after_period_end=10,
        datasets={"indicator_submissions": 5},
        opds={"DISPAR": {"indicator_submissions": 20}},
    )
    assert config.period_end("2025-03") == pd.Timestamp("2025-03-31 17:00")  # 1 April 00:00 WIB, in UTC
    assert config.due_at("DLH", "service_requests", "2025-03") == pd.Timestamp("2025-04-10 17:00")
    assert config.due_at("DLH", "indicator_submissions", "2025-03") == pd.Timestamp("2025-04-05 17:00")
    assert config.due_at("DISPAR", "indicator_submissions", "2025-12") == pd.Timestamp("2026-01-20 17:00")
    with pytest.raises(ValueError, match="unknown table"):
        TimelinessConfig(datasets={"surveys": 3})


def test_unknown_opd_in_the_config_is_an_error(opd_project, tmp_path):
    project = edited_project(tmp_path, opd_project)
    (project.dir / "timeliness.yaml").write_text("opds: {DINAS_X: {complaints: 3}}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="DINAS_X"):
        _ = project.timeliness


def _stamp(path, when: datetime) -> None:
    os.utime(path, (when.timestamp(), when.timestamp()))


@pytest.fixture
def file_drops(opd_project, tmp_path):
    landing, raw = tmp_path / "landing", tmp_path / "raw"
    write_file_drops(opd_project, landing, [CITY], [MONTH], seed=3)
    folder = landing / CITY
    _stamp(folder / "DLH" / f"capaian_indikator_{MONTH}.csv", datetime(2025, 4, 2, 8, tzinfo=UTC))  # on time
    _stamp(folder / "DISPAR" / f"capaian_indikator_{MONTH}.csv", datetime(2025, 4, 15, 8, tzinfo=UTC))  # late
    (folder / "DISKOMINFO" / f"capaian_indikator_{MONTH}.csv").unlink()  # never uploaded
    (folder / "DINSOS" / f"capaian_indikator_{MONTH}.csv").write_text("Kode Wilayah;Nilai\n19.71\n")  # unreadable
    return landing, raw


def _timeliness(project, landing, raw, now):
    ingest = ingest_table(project, "indicator_submissions", CITY, MONTH, raw_dir=raw, landing_dir=landing)
    frame = opd_timeliness(project, raw, [], [ingest], city=CITY, month=MONTH, now=now)
    return ingest, frame[frame["table_name"] == "indicator_submissions"].set_index("opd_code")


def test_file_drops_on_time_late_missing_and_unreadable(opd_project, file_drops):
    landing, raw = file_drops
    _, t = _timeliness(opd_project, landing, raw, now=datetime(2025, 5, 1, tzinfo=UTC))
    due = pd.Timestamp("2025-04-07 17:00")  # config/timeliness.yaml: indicator_submissions due 7 days after
    assert (t["due_at"] == due).all()
    assert t.loc["DLH", ["status", "on_time", "late", "missing"]].tolist() == ["on_time", True, False, False]
    assert t.loc["DLH", "received_at"] == pd.Timestamp("2025-04-02 08:00") and t.loc["DLH", "days_late"] == 0
    assert t.loc["DISPAR", "status"] == "late" and t.loc["DISPAR", "days_late"] == pytest.approx(7 + 15 / 24)
    assert t.loc["DISPAR", "days_after_period_end"] == pytest.approx(14 + 15 / 24)
    for opd in ("DISKOMINFO", "DINSOS"):  # nothing, or nothing usable, received by the due date
        assert t.loc[opd, ["status", "missing", "delivered"]].tolist() == ["missing", True, False]
        assert pd.isna(t.loc[opd, "received_at"]) and t.loc[opd, "failure_message"]
        source = t.loc[opd, "failure_message"].split(":")[0]
        assert t.loc[opd, "failure_message"].count(f"{source}:") == 1  # the source named once, not twice
    assert t["expected"].all() and t.loc["DLH", "rows_delivered"] > 0
    rates = reporting_rates(t.reset_index(), by=("city_code",)).iloc[0]
    n = len(t)
    assert rates["expected"] == n and rates["received"] == n - 2 and rates["missing"] == 2
    assert rates["reporting_rate"] == pytest.approx(100 * (n - 2) / n)
    assert rates["reporting_rate_on_time"] == pytest.approx(100 * rates["on_time"] / n)


def test_before_the_due_date_nothing_is_missing_yet(opd_project, file_drops):
    landing, raw = file_drops
    _, t = _timeliness(opd_project, landing, raw, now=datetime(2025, 4, 5, tzinfo=UTC))
    assert t.loc["DISKOMINFO", "status"] == "pending" and not t.loc["DISKOMINFO", "missing"]
    assert t.loc["DLH", "status"] == "on_time"


def test_a_late_re_upload_does_not_make_an_opd_late_and_a_later_fetch_does_not_either(opd_project, file_drops):
    landing, raw = file_drops
    first, _ = _timeliness(opd_project, landing, raw, now=datetime(2025, 5, 1, tzinfo=UTC))
    path = landing / CITY / "DLH" / f"capaian_indikator_{MONTH}.csv"
    path.write_bytes(path.read_bytes() + b"\r\n")  # a corrected file, uploaded in June
    _stamp(path, datetime(2025, 6, 20, tzinfo=UTC))
    _, t = _timeliness(opd_project, landing, raw, now=datetime(2025, 7, 1, tzinfo=UTC))
    # The first completed fetch (of the on-time upload) still counts; the new file's time is later anyway.
    first_fetch = pd.Timestamp(min(f.fetched_at for f in first.raw_files if "/DLH/" in f.relpath)).tz_convert(None)
    assert t.loc["DLH", "received_at"] <= first_fetch
    assert t.loc["DISKOMINFO", "status"] == "missing"


def _pulled_timeliness(project, sim, raw, table="complaints", now=None):
    ingest = ingest_table(project, table, CITY, MONTH, raw_dir=raw, landing_dir=raw.parent, env=simulator_env(sim))
    assert not ingest.failures
    frame = opd_timeliness(project, raw, [], [ingest], city=CITY, month=MONTH, now=now)
    return frame.set_index(["table_name", "opd_code"]).loc[table]


def _wib_to_utc(stamp: str) -> pd.Timestamp:
    return pd.Timestamp(stamp).tz_localize("Asia/Jakarta").tz_convert("UTC").tz_localize(None)


def test_rest_pulls_are_received_when_their_last_row_was_entered_not_when_fetched(opd_project, tmp_path):
    # The new-user trial: a backfill pulls 2025-03 in 2026, so every REST source of the demo showed "late (606 days)".
    # A source's `entered_field` says when each row was entered in the OPD's system: the month counts as received
    # when its last row was, and a record typed in after the due date makes its OPD late.
    raw = tmp_path / "raw"
    opds = [o.code for o in opd_project.cities.opds_for("complaints")]
    late_opd, corrected_opd = opds[0], opds[1]
    with OpdSimulator(opd_project, seed=42, token=OPD_TEST_TOKEN) as sim:
        sim.edit_rows("complaints", CITY, late_opd, MONTH, 1, {"tgl_input": "2025-04-20T09:00:00"})
        t = _pulled_timeliness(opd_project, sim, raw)
        assert set(t.index) == set(opds)
        for opd in opds:
            last_entry = _wib_to_utc(max(r["tgl_input"] for r in sim.rows("complaints", CITY, opd, MONTH)))
            due = opd_project.timeliness.due_at(opd, "complaints", MONTH)
            assert t.loc[opd, "received_at"] == last_entry, opd
            assert t.loc[opd, "status"] == ("on_time" if last_entry < due else "late"), opd
        assert t.loc[late_opd, "received_at"] == pd.Timestamp("2025-04-20 02:00")  # 09:00 WIB
        assert t.loc[late_opd, "days_late"] == pytest.approx(9 + 9 / 24)  # due 10 April 24:00 WIB
        assert (t["status"] == "on_time").sum() >= 2

        # A record typed in later still (a correction) does not make the month later: its first pull stands.
        sim.edit_rows("complaints", CITY, corrected_opd, MONTH, 1, {"tgl_input": "2025-05-02T10:00:00"})
        again = _pulled_timeliness(opd_project, sim, raw)
    assert again.loc[corrected_opd, "received_at"] == t.loc[corrected_opd, "received_at"]
    assert again["status"].tolist() == t["status"].tolist()
    (first, second) = read_fetches(raw, source="opd_api_complaints", city=CITY, period=MONTH, opd=corrected_opd)
    assert second["entered"][corrected_opd] == "2025-05-02T03:00:00Z" > first["entered"][corrected_opd]
    # Tables of the partition that were not ingested at all: expected, nothing received, long overdue.
    frame = opd_timeliness(opd_project, raw, [], [], city=CITY, month=MONTH)
    assert set(frame.loc[frame["table_name"] == "satisfaction_responses", "status"]) == {"missing"}


def _without_entered_field(data):
    for source in data["sources"]:
        source.pop("entered_field", None)


def test_a_pull_after_the_due_date_without_entry_times_is_received_with_its_date_unknown(opd_project, tmp_path):
    # Without `entered_field` the pull's own time is all that is known: a backfill a year later says nothing of when
    # the OPD entered the month, so the OPD is neither on time nor late (and not blamed 600 days late).
    project = edited_project(tmp_path, opd_project, edit_sources=_without_entered_field)
    with OpdSimulator(project, seed=42, token=OPD_TEST_TOKEN) as sim:
        t = _pulled_timeliness(project, sim, tmp_path / "raw")
    assert set(t["status"]) == {"received_undated"}
    assert not t["on_time"].any() and not t["late"].any() and not t["missing"].any()
    assert t["days_late"].isna().all() and t["received_at"].notna().all()
    assert t["days_after_period_end"].isna().all()  # the backfill's delay is no OPD's
    assert {delivery_status(row) for _, row in t.iterrows()} == {"received, date unknown"}
    rates = reporting_rates(t.reset_index(), by=("city_code",)).iloc[0]
    assert rates["received"] == rates["undated"] == len(t) and rates["on_time"] == rates["late"] == 0
    # received, and on time or not unknown: the on-time rate leaves undated pulls out (none is known here)
    assert rates["reporting_rate"] == 100 and pd.isna(rates["reporting_rate_on_time"])


def test_a_pull_before_the_due_date_is_on_time_even_without_entry_times(opd_project, tmp_path, frozen_clock):
    # the monthly schedule pulls the month just closed before its due date: that pull is evidence enough
    project = edited_project(tmp_path, opd_project, edit_sources=_without_entered_field)
    month = (pd.Timestamp(frozen_clock).tz_convert("Asia/Jakarta") - pd.DateOffset(months=1)).strftime("%Y-%m")
    raw = tmp_path / "raw"
    with OpdSimulator(project, seed=42, token=OPD_TEST_TOKEN) as sim:
        ingest = ingest_table(
            project, "complaints", CITY, month, raw_dir=raw, landing_dir=tmp_path, env=simulator_env(sim)
        )
    frame = opd_timeliness(project, raw, [], [ingest], city=CITY, month=month)
    t = frame[frame["table_name"] == "complaints"].set_index("opd_code")
    for opd, row in t.iterrows():
        fetched = pd.Timestamp(
            read_fetches(raw, source="opd_api_complaints", city=CITY, period=month, opd=opd)[0]["completed_at"]
        )
        due = project.timeliness.due_at(opd, "complaints", month)
        assert row["received_at"] == fetched.tz_convert(None)
        assert row["status"] == ("on_time" if row["received_at"] < due else "received_undated"), opd


def _tracker(unit_opd="DLH", previous=None):
    return EntryTracker(
        field="t",
        opd_fields=["opd", "kode"],
        unit_opd=unit_opd,
        known_opds={"DLH", "DINKES"},
        timezone="Asia/Jakarta",
        period_start=datetime(2025, 3, 1, tzinfo=ZoneInfo("Asia/Jakarta")),
        previous=previous,
    )


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        # naive times are the OPD's wall clock (WIB); an offset is taken as written; the latest wins
        ([{"t": "2025-04-01T08:00:00"}, {"t": "2025-04-01T02:30:00+00:00"}], {"DLH": "2025-04-01T02:30:00Z"}),
        ([{"t": "2025-04-01T10:00:00"}, {"t": "2025-04-01T02:30:00Z"}], {"DLH": "2025-04-01T03:00:00Z"}),
        ([{"t": "2025-03-05"}, "not a record"], {"DLH": "2025-03-04T17:00:00Z"}),  # a date: its midnight
        # a row without a usable entry leaves the month undated: blank, no time, a default, before the month could
        # begin, after the fetch, out of any range with its offset (these crashed or dated the month wrongly)
        *(
            ([{"t": "2025-04-01T08:00:00"}, {"t": bad}], {})
            for bad in (
                "",
                None,
                "kemarin",
                "0001-01-01T00:00:00",
                "1900-01-01T00:00:00",
                "2099-01-01T00:00:00",
                "9999-12-31T23:59:59-05:00",
                "0001-01-01T00:00:00+05:00",
            )
        ),
        ([{"u": "2025-04-01T08:00:00"}], {}),  # the field absent
    ],
)
def test_a_fetch_dates_an_opd_s_month_only_when_every_row_was_entered_at_a_plausible_time(rows, expected):
    tracker = _tracker()
    tracker.add(rows)
    assert tracker.entered() == expected


def test_entries_of_a_pull_of_all_opds_an_incremental_pull_and_what_is_said_of_rows_left_undated():
    tracker = _tracker(unit_opd=None)
    tracker.add([{"t": "2025-04-02T07:00:00", "opd": "DLH"}, {"t": "2025-04-03T07:00:00", "kode": "DINKES"}])
    tracker.add([{"t": "2025-04-04T07:00:00"}, {"t": "2025-04-04T07:00:00", "opd": "1971015208900011"}])  # unknown
    assert tracker.entered() == {"DINKES": "2025-04-03T00:00:00Z", "DLH": "2025-04-02T00:00:00Z"}
    assert tracker.notice("db", "19.71 * 2025-03") is None
    tracker.add([{"t": "kemarin", "opd": "DINKES"}])
    assert tracker.entered() == {"DLH": "2025-04-02T00:00:00Z"}
    assert "leave their OPD's month undated (DINKES: 1)" in tracker.notice("db", "19.71 * 2025-03")
    absent = _tracker()
    absent.add([{"u": "2025-04-01T08:00:00"}])
    assert "no row of 19.71 DLH 2025-03 has the entered_field 't'" in absent.notice("api", "19.71 DLH 2025-03")
    # an incremental pull sees only the changed rows: the earlier fetches' latest entry stays when later...
    later = _tracker(previous={"DLH": "2025-04-09T00:00:00Z"})
    later.add([{"t": "2025-04-02T07:00:00"}])
    assert later.entered() == {"DLH": "2025-04-09T00:00:00Z"}
    # ... and without earlier evidence (a raw zone from before entry times) the month stays undated
    unknown = _tracker(previous={})
    unknown.add([{"t": "2025-04-02T07:00:00"}])
    assert unknown.entered() == {}


def test_re_stamped_rows_never_make_a_month_earlier(opd_project, tmp_path):
    # the latest entry an earlier fetch saw stays: rows re-stamped or deleted since cannot move a late OPD on time
    raw = tmp_path / "raw"
    opd = opd_project.cities.opds_for("complaints")[0].code
    with OpdSimulator(opd_project, seed=42, token=OPD_TEST_TOKEN) as sim:
        sim.edit_rows("complaints", CITY, opd, MONTH, 1, {"tgl_input": "2025-04-20T09:00:00"})
        first = _pulled_timeliness(opd_project, sim, raw)
        sim.edit_rows("complaints", CITY, opd, MONTH, 1, {"tgl_input": "2025-03-05T09:00:00"})
        second = _pulled_timeliness(opd_project, sim, raw)
    assert first.loc[opd, "status"] == second.loc[opd, "status"] == "late"
    assert second.loc[opd, "received_at"] == first.loc[opd, "received_at"] == pd.Timestamp("2025-04-20 02:00")


def test_a_row_without_a_usable_entry_leaves_its_opd_undated_and_the_ingest_says_so(opd_project, tmp_path):
    # an OPD system's default for "not set" (0001-01-01) crashed the ingest of the whole table, and a date in 2099
    # made the OPD late by the backfill's delay: now neither dates the month, and the operator is told
    opds = [o.code for o in opd_project.cities.opds_for("complaints")]
    with OpdSimulator(opd_project, seed=42, token=OPD_TEST_TOKEN) as sim:
        sim.edit_rows("complaints", CITY, opds[0], MONTH, 1, {"tgl_input": "0001-01-01T00:00:00"})
        sim.edit_rows("complaints", CITY, opds[1], MONTH, 1, {"tgl_input": "2099-01-01T00:00:00"})
        ingest = ingest_table(
            opd_project, "complaints", CITY, MONTH, raw_dir=tmp_path, landing_dir=tmp_path, env=simulator_env(sim)
        )
    assert not ingest.failures and len(ingest.notices) == 2
    assert all("without a usable 'tgl_input'" in n and ": 1)" in n for n in ingest.notices)
    t = opd_timeliness(opd_project, tmp_path, [], [ingest], city=CITY, month=MONTH).set_index("opd_code")
    t = t[t["table_name"] == "complaints"]
    assert t.loc[opds[0], "status"] == t.loc[opds[1], "status"] == "received_undated"
    assert set(t.loc[opds[2:], "status"]) <= {"on_time", "late"}


def _incremental_complaints(with_entered_field):
    def edit(data):
        for source in data["sources"]:
            if source["name"] == "opd_api_complaints":
                source.update(incremental=True, watermark_field="diubah")
                if not with_entered_field:
                    source.pop("entered_field")

    return edit


def test_an_incremental_source_without_earlier_entry_times_is_pulled_whole_to_date_the_month(opd_project, tmp_path):
    # entered_field added to a source that already pulled incrementally: the changed rows alone would date the month
    # by their own entries, though the earlier rows may have been entered later, and every later pull would be
    # incremental too, so the month would stay undated for good: the next pull is full and dates it
    raw = tmp_path / "raw"
    before = edited_project(tmp_path / "before", opd_project, edit_sources=_incremental_complaints(False))
    after = edited_project(tmp_path / "after", opd_project, edit_sources=_incremental_complaints(True))
    opd = opd_project.cities.opds_for("complaints")[0].code
    with OpdSimulator(after, seed=42, token=OPD_TEST_TOKEN) as sim:
        assert set(_pulled_timeliness(before, sim, raw)["status"]) == {"received_undated"}
        sim.edit_rows("complaints", CITY, opd, MONTH, 2, {"status": "resolved"})
        t = _pulled_timeliness(after, sim, raw)
        third = _pulled_timeliness(after, sim, raw)
    assert set(t["status"]) <= {"on_time", "late"} and third["received_at"].tolist() == t["received_at"].tolist()
    fetches = read_fetches(raw, source="opd_api_complaints", city=CITY, period=MONTH, opd=opd)
    assert [f["mode"] for f in fetches] == ["full", "full", "incremental"]  # dated once, incremental again
    assert "entered" not in fetches[0] and set(fetches[1]["entered"]) == set(fetches[2]["entered"]) == {opd}


def test_simulated_file_drops_are_uploaded_around_their_due_date(opd_project, tmp_path):
    # the simulator stamps each indicator file with when its OPD uploaded it: written now, every file of a past month
    # was a year late, and the stewards' "who is late" showed nothing else on the demo
    months = [f"2025-{m:02d}" for m in range(1, 13)]
    written = write_file_drops(opd_project, tmp_path, ["19.71", "19.03"], months, seed=42)
    timeliness, days_late = opd_project.timeliness, []
    for path in written:
        if not path.name.startswith("capaian_indikator_"):
            continue
        opd, month = path.parent.name, path.stem.removeprefix("capaian_indikator_")
        uploaded = pd.Timestamp(datetime.fromtimestamp(path.stat().st_mtime, UTC)).tz_localize(None)
        assert uploaded > timeliness.period_end(month)
        days_late.append((uploaded - timeliness.due_at(opd, "indicator_submissions", month)) / pd.Timedelta(days=1))
    late = [d for d in days_late if d > 0]
    assert len(days_late) > 100 and 0 < len(late) < len(days_late) / 4 and max(late) < 16
    again = write_file_drops(opd_project, tmp_path / "again", ["19.71", "19.03"], months, seed=42)
    assert [p.stat().st_mtime for p in again] == [p.stat().st_mtime for p in written]  # deterministic by seed


def test_no_simulated_upload_is_later_than_now(opd_project, tmp_path, frozen_clock):
    # The month under way and the one just closed are written now but due later: an upload stamped in the future
    # would read as on time until then. Indicator files and masterplan reports alike are stamped no later than now.
    now = pd.Timestamp(frozen_clock).tz_convert("UTC")
    under_way = now.tz_convert("Asia/Jakarta").strftime("%Y-%m")
    months = [(now.tz_convert("Asia/Jakarta") - pd.DateOffset(months=1)).strftime("%Y-%m"), under_way]
    written = write_file_drops(opd_project, tmp_path, ["19.71"], months, seed=42)
    reports = [p for p in written if p.name.startswith("laporan_masterplan_")]
    files = [p for p in written if p.name.startswith("capaian_indikator_")]
    assert reports and files, "the simulator wrote no masterplan report or indicator file for these months"
    # the clock ticks on from the frozen moment while the files are written: a minute of slack
    latest = max(written, key=lambda p: p.stat().st_mtime)
    assert pd.Timestamp(latest.stat().st_mtime, unit="s", tz="UTC") <= now + pd.Timedelta(minutes=1), latest


def _fetch_uploads(raw, opd):
    """Each completed fetch of the OPD's indicator file, oldest first: {sha256: recorded upload time}."""
    fetches = read_fetches(raw, source="opd_file_drop_indicators", city=CITY, period=MONTH, opd=opd)
    return [{u["sha256"]: pd.Timestamp(u["uploaded_at"]) for u in f.get("uploads", [])} for f in fetches]


def test_a_re_run_never_makes_an_opd_later_and_the_upload_time_is_recorded_when_fetched(
    opd_project, file_drops, frozen_clock
):
    # The new-user trial: re-running a month marked on-time OPDs hundreds of days late, at the demo's first fetch,
    # because the upload time was the landing file's mtime, read only while it was unchanged and never stored.
    landing, raw = file_drops
    folder = landing / CITY
    first, before = _timeliness(opd_project, landing, raw, now=None)  # the project's (frozen) clock
    assert before.loc["DLH", "status"] == "on_time" and before.loc["DINSOS", "status"] == "missing"
    on_time = sorted(before.index[before["status"] == "on_time"])
    assert {"DINKES", "DISHUB", "DLH"} <= set(on_time)

    now = now_local()
    # DINKES: edited, then the original bytes copied back today (same bytes, new mtime)
    dinkes = folder / "DINKES" / f"capaian_indikator_{MONTH}.csv"
    original = dinkes.read_bytes()
    dinkes.write_bytes(original.replace(b";", b","))
    dinkes.write_bytes(original)
    _stamp(dinkes, now)
    # DLH: a genuinely new version (different bytes), uploaded in June
    dlh = folder / "DLH" / f"capaian_indikator_{MONTH}.csv"
    dlh.write_bytes(dlh.read_bytes() + b"\r\n")
    _stamp(dlh, datetime(2025, 6, 20, tzinfo=UTC))
    # DISHUB: its file replaced today by one that does not parse
    dishub = folder / "DISHUB" / f"capaian_indikator_{MONTH}.csv"
    dishub.write_bytes(b"Kode Wilayah;Nilai\n19.71\n")
    # DINSOS: its unreadable file finally replaced by one that parses, uploaded late (20 April)
    good = write_file_drops(opd_project, landing.parent / "again", [CITY], [MONTH], seed=3)
    dinsos = folder / "DINSOS" / f"capaian_indikator_{MONTH}.csv"
    dinsos.write_bytes(next(p for p in good if p.parent.name == "DINSOS" and MONTH in p.name).read_bytes())
    _stamp(dinsos, datetime(2025, 4, 20, tzinfo=UTC))

    _, after = _timeliness(opd_project, landing, raw, now=None)
    for opd in before.index:  # a re-run never makes an OPD later
        if pd.notna(before.loc[opd, "received_at"]):
            assert after.loc[opd, "received_at"] <= before.loc[opd, "received_at"], opd
    assert sorted(after.index[after["status"] == "on_time"]) == on_time
    for opd in ("DINKES", "DLH", "DISHUB"):
        assert after.loc[opd, "received_at"] == before.loc[opd, "received_at"], opd
        assert after.loc[opd, "days_late"] == 0, opd
    # the file that does not parse is not received: DISHUB keeps the upload time of its version that parsed
    assert after.loc["DISHUB", "failure_message"] and not after.loc["DISHUB", "delivered"]
    # the file that parses at last is received at its own upload time, not when it was fetched
    assert after.loc["DINSOS", "status"] == "late" and after.loc["DINSOS", "received_at"] == pd.Timestamp("2025-04-20")
    # DISKOMINFO never uploaded anything: still missing
    assert after.loc["DISKOMINFO", "status"] == "missing" and pd.isna(after.loc["DISKOMINFO", "received_at"])

    # The raw zone's fetch log records each file's upload time: the same bytes keep the first one recorded, a new
    # version gets its own, a file that does not parse gets none (its fetch did not complete).
    sha = {f.relpath.split("/")[3]: f.sha256 for f in first.raw_files}
    dinkes_fetches = _fetch_uploads(raw, "DINKES")
    assert len(dinkes_fetches) == 2 and dinkes_fetches[1] == dinkes_fetches[0]
    assert dinkes_fetches[0][sha["DINKES"]] == before.loc["DINKES", "received_at"].tz_localize("UTC")
    dlh_fetches = _fetch_uploads(raw, "DLH")
    assert len(dlh_fetches) == 2 and sha["DLH"] not in dlh_fetches[1]
    assert list(dlh_fetches[1].values()) == [pd.Timestamp("2025-06-20", tz="UTC")]
    assert len(_fetch_uploads(raw, "DISHUB")) == 1
    assert [list(f.values()) for f in _fetch_uploads(raw, "DINSOS")] == [[pd.Timestamp("2025-04-20", tz="UTC")]]


def test_fetches_logged_before_upload_times_were_recorded_fall_back_to_the_unchanged_landing_file(
    opd_project, file_drops
):
    # A raw zone written before fetches recorded upload times (no `uploads` in fetches.jsonl), replayed: the mtime of a
    # landing file that still holds the bytes ingested counts, as before; once the file is replaced it is lost and the
    # completed fetch is all that is known (why upload times are now recorded).
    landing, raw = file_drops
    now = datetime(2025, 5, 1, tzinfo=UTC)
    _timeliness(opd_project, landing, raw, now=now)
    for log in raw.rglob("fetches.jsonl"):
        lines = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
        assert all("uploads" in entry for entry in lines)
        log.write_text("".join(json.dumps({k: v for k, v in e.items() if k != "uploads"}) + "\n" for e in lines))
    replayed = ingest_table(
        opd_project, "indicator_submissions", CITY, MONTH, raw_dir=raw, landing_dir=landing, replay=True
    )

    def timeliness():
        frame = opd_timeliness(opd_project, raw, [], [replayed], city=CITY, month=MONTH, now=now)
        return frame[frame["table_name"] == "indicator_submissions"].set_index("opd_code")

    t = timeliness()
    assert t.loc["DLH", ["status", "received_at"]].tolist() == ["on_time", pd.Timestamp("2025-04-02 08:00")]
    assert t.loc["DISPAR", "status"] == "late" and t.loc["DINSOS", "status"] == "missing"
    dlh = landing / CITY / "DLH" / f"capaian_indikator_{MONTH}.csv"
    dlh.write_bytes(dlh.read_bytes() + b"\r\n")
    (fetch,) = read_fetches(raw, source="opd_file_drop_indicators", city=CITY, period=MONTH, opd="DLH")
    assert timeliness().loc["DLH", "received_at"] == pd.Timestamp(fetch["completed_at"]).tz_convert(None)


def test_a_dataset_not_due_yet_is_not_expected_yet_and_one_left_pending_past_its_due_date_is_missing():
    # a steward's rates in the first days of a month counted the reports not yet due against the OPD, and a month
    # not run again after its due date kept them `pending` for ever
    due = {"soon": pd.Timestamp("2026-12-10 17:00"), "past": pd.Timestamp("2026-11-10 17:00")}
    rows = [
        ("DLH", "on_time", due["past"], pd.Timestamp("2026-11-05")),
        ("DLH", "pending", due["soon"], None),
        ("DINKES", "received_undated", due["past"], pd.Timestamp("2026-12-01")),
        ("DINKES", "pending", due["past"], None),  # its month was last run before 10 November
    ]
    frame = pd.DataFrame(
        [{"opd_code": o, "status": s, "due_at": d, "received_at": r, "expected": True} for o, s, d, r in rows]
    )
    now = datetime(2026, 12, 8, tzinfo=UTC)
    assert statuses_now(frame, now).tolist() == ["on_time", "pending", "received_undated", "missing"]
    rates = reporting_rates(frame, now=now).set_index("opd_code")
    assert rates.loc["DLH", ["expected", "received", "on_time", "pending"]].tolist() == [1, 1, 1, 1]
    assert rates.loc["DLH", "reporting_rate"] == rates.loc["DLH", "reporting_rate_on_time"] == 100
    assert rates.loc["DINKES", ["expected", "received", "undated", "missing", "pending"]].tolist() == [2, 1, 1, 1, 0]
    assert rates.loc["DINKES", "reporting_rate"] == 50 and rates.loc["DINKES", "reporting_rate_on_time"] == 0
    with time_machine.travel(now, tick=False):  # the steward view reads the clock
        assert delivery_status(frame.iloc[3]) == "missing (due date passed, month not run since)"
        assert delivery_status(frame.iloc[1]) == "pending"
