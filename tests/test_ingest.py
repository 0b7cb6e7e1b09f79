"""Ingestion end to end: the OPD simulator over real HTTP, and file drops from a real landing folder."""

from __future__ import annotations

import hashlib
import json
import shutil
import socket
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
import yaml
from conftest import OPD_TEST_TOKEN, edited_project, fast_rest, simulator_env

from kotacerdas.config import ProjectConfig, RestSource
from kotacerdas.encryption import write_sealed
from kotacerdas.errors import ConfigError, SourceError
from kotacerdas.ingest import ingest_table
from kotacerdas.ingest.files import read_file_drop
from kotacerdas.ingest.landing import read_fetches, read_manifest, read_raw
from kotacerdas.ingest.rest import expand_env, fetch_pages
from kotacerdas.schemas import LINEAGE_COLUMNS, get_table
from kotacerdas.simulator import OpdSimulator, write_file_drops
from kotacerdas.stage.staging import stage_table

CITY, MONTH = "19.71", "2025-03"
REST_TABLES = ("service_requests", "complaints", "satisfaction_responses")


def _edited_project(tmp_path: Path, opd_project: ProjectConfig, edit_sources=None, edit_cities=None):
    """A copy of config/ in tmp_path with sources.yaml / cities.yaml changed by the given functions."""
    target = tmp_path / "config"
    shutil.copytree(opd_project.dir, target)
    for name, edit in (("sources.yaml", edit_sources), ("cities.yaml", edit_cities)):
        if edit is not None:
            data = yaml.safe_load((target / name).read_text(encoding="utf-8"))
            edit(data)
            text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
            (target / name).write_text(text, encoding="utf-8")
    return ProjectConfig(target)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the block ends: connections are refused


def _all_text(root: Path) -> str:
    return "\n".join(p.read_bytes().decode("utf-8", "replace") for p in root.rglob("*") if p.is_file())


@pytest.mark.parametrize("table", REST_TABLES)
def test_rest_table_end_to_end(opd_project, opd_simulator, opd_env, tmp_path, table):
    result = ingest_table(
        opd_project, table, CITY, MONTH, raw_dir=tmp_path / "raw", landing_dir=tmp_path / "landing", env=opd_env
    )
    assert result.failures == []
    source = opd_project.sources.for_table(table)[0]
    opds = opd_project.cities.opds_for(table)
    expected = sum(len(opd_simulator.rows(table, CITY, o.code, MONTH)) for o in opds)
    assert len(result.frame) == expected > 0
    assert list(result.frame.columns) == list(get_table(table).columns) + list(LINEAGE_COLUMNS)
    assert set(result.frame["opd_code"]) == {o.code for o in opds}
    # Every payload is stored unchanged with a correct checksum, a sidecar and a manifest line.
    for raw in result.raw_files:
        content = read_raw(tmp_path / "raw", raw.relpath)[0]  # decrypted: the bytes as delivered
        assert hashlib.sha256(content).hexdigest() == raw.sha256
        assert raw.relpath.startswith(f"{source.name}/{CITY}/{MONTH}/")
        meta = json.loads((tmp_path / "raw" / (raw.relpath + ".meta.json")).read_text())
        assert meta["sha256"] == raw.sha256 and meta["rows"] == len(json.loads(content)["data"])
        assert meta["origin"].startswith(opd_env["KOTACERDAS_OPD_API_URL"])
        assert meta["fetched_at"].endswith("Z")
    manifest = read_manifest(tmp_path / "raw", source=result.raw_files[0].source, city=CITY, period=MONTH)
    assert {m["sha256"] for m in manifest} == {r.sha256 for r in result.raw_files}
    # Lineage points at the exact row of the exact payload.
    first_col = next(iter(get_table(table).columns))
    source_field = next(k for k, v in source.columns.items() if v == first_col)
    for _, row in result.frame.sample(20, random_state=1).iterrows():
        payload = json.loads(read_raw(tmp_path / "raw", row["_raw_file"])[0])
        assert payload["data"][row["_raw_row"] - 1][source_field] == row[first_col]


def test_pages_are_followed_and_refetches_never_overwrite(opd_project, opd_simulator, opd_env, tmp_path):
    small_pages = _edited_project(
        tmp_path,
        opd_project,
        edit_sources=lambda d: next(s for s in d["sources"] if s["table"] == "service_requests").update(page_size=60),
    )
    raw_dir = tmp_path / "raw"
    first = ingest_table(
        small_pages, "service_requests", CITY, MONTH, raw_dir=raw_dir, landing_dir=tmp_path, env=opd_env
    )
    total = len(opd_simulator.rows("service_requests", CITY, "DISDUKCAPIL", MONTH))
    disduk = [r for r in first.raw_files if "/DISDUKCAPIL/" in r.relpath]
    assert len(disduk) == -(-total // 60) > 1
    assert (first.frame["opd_code"] == "DISDUKCAPIL").sum() == total
    second = ingest_table(
        small_pages, "service_requests", CITY, MONTH, raw_dir=raw_dir, landing_dir=tmp_path, env=opd_env
    )
    assert not {r.relpath for r in first.raw_files} & {r.relpath for r in second.raw_files}
    assert all((raw_dir / r.relpath).is_file() for r in first.raw_files + second.raw_files)
    manifest = read_manifest(raw_dir, source="opd_api_service_requests", city=CITY, period=MONTH)
    assert len(manifest) == len(first.raw_files) + len(second.raw_files)


def test_failing_source_is_reported_while_others_deliver(opd_project, opd_env, tmp_path):
    port = _closed_port()

    def add_broken_source(data):
        broken = dict(next(s for s in data["sources"] if s["name"] == "opd_api_complaints"))
        broken.update(
            name="lapor_mirror",
            base_url=f"http://127.0.0.1:{port}",
            retries=1,
            backoff_factor=0.01,
            timeout_seconds=[1.0, 2.0],
        )
        data["sources"].append(broken)

    project = _edited_project(tmp_path, opd_project, edit_sources=add_broken_source)
    result = ingest_table(
        project, "complaints", CITY, MONTH, raw_dir=tmp_path / "raw", landing_dir=tmp_path / "landing", env=opd_env
    )
    opds = {o.code for o in project.cities.opds_for("complaints")}
    assert {f.opd for f in result.failures} == opds
    for f in result.failures:
        assert (f.source, f.table, f.city, f.period) == ("lapor_mirror", "complaints", CITY, MONTH)
        assert f.url.startswith(f"http://127.0.0.1:{port}/api/v1/pengaduan?kode_wilayah=19.71&kode_opd={f.opd}")
        assert "lapor_mirror" in str(f) and f.url in str(f) and f.hint
        assert OPD_TEST_TOKEN not in str(f)
    # The working source still delivered every OPD.
    assert set(result.frame["opd_code"]) == opds and len(result.frame) > 50


def test_unknown_opd_404_fails_only_that_opd(opd_project, opd_env, tmp_path):
    project = _edited_project(
        tmp_path,
        opd_project,
        edit_cities=lambda d: d["opds"].append(
            {"code": "DISNAKER", "name": "Dinas Tenaga Kerja", "datasets": ["complaints"], "services": []}
        ),
    )
    # opd_simulator was built from the original config, so it does not know DISNAKER.
    result = ingest_table(
        project, "complaints", CITY, MONTH, raw_dir=tmp_path / "raw", landing_dir=tmp_path, env=opd_env
    )
    assert [(f.opd, f.source) for f in result.failures] == [("DISNAKER", "opd_api_complaints")]
    assert "HTTP 404" in result.failures[0].message and "kode_opd=DISNAKER" in result.failures[0].url
    assert "DISNAKER" not in set(result.frame["opd_code"]) and len(result.frame) > 50


def test_token_never_leaks_into_raw_zone_or_errors(opd_project, opd_env, tmp_path, caplog):
    caplog.set_level("DEBUG")
    ok = ingest_table(
        opd_project, "satisfaction_responses", CITY, MONTH, raw_dir=tmp_path / "raw", landing_dir=tmp_path, env=opd_env
    )
    assert ok.failures == [] and len(ok.frame) > 0
    wrong_token = "kc-wrong-token-e81b0c44"
    denied = ingest_table(
        opd_project,
        "satisfaction_responses",
        CITY,
        MONTH,
        raw_dir=tmp_path / "raw",
        landing_dir=tmp_path,
        env={**opd_env, "KOTACERDAS_OPD_API_TOKEN": wrong_token},
    )
    assert len(denied.failures) == len(opd_project.cities.opds_for("satisfaction_responses"))
    assert all("HTTP 401" in f.message and "KOTACERDAS_OPD_API_TOKEN" in f.hint for f in denied.failures)
    texts = _all_text(tmp_path / "raw") + "".join(str(f) for f in denied.failures) + caplog.text
    assert OPD_TEST_TOKEN not in texts and wrong_token not in texts
    # Without the env var there is simply no Authorization header (and the simulator says 401).
    no_token = {"KOTACERDAS_OPD_API_URL": opd_env["KOTACERDAS_OPD_API_URL"]}
    anonymous = ingest_table(
        opd_project, "satisfaction_responses", CITY, MONTH, raw_dir=tmp_path / "raw", landing_dir=tmp_path, env=no_token
    )
    assert anonymous.failures and all("HTTP 401" in f.message for f in anonymous.failures)


def test_unset_base_url_variable_is_a_clear_config_error(opd_project, tmp_path):
    source = opd_project.sources.for_table("complaints")[0]
    with pytest.raises(ConfigError, match="KOTACERDAS_OPD_API_URL is not set"):
        expand_env(source.base_url, {}, what="base_url")
    result = ingest_table(
        opd_project, "complaints", CITY, MONTH, raw_dir=tmp_path / "raw", landing_dir=tmp_path, env={}
    )
    assert result.failures and all("KOTACERDAS_OPD_API_URL is not set" in f.message for f in result.failures)
    assert len(result.frame) == 0


def test_retries_on_503_and_429_then_succeeds(opd_project, tmp_path):
    source = next(s for s in opd_project.sources.for_table("complaints") if isinstance(s, RestSource))
    with OpdSimulator(opd_project, seed=3) as sim:
        env = {"KOTACERDAS_OPD_API_URL": sim.url}
        sim.fail_next(1, status=503)
        sim.fail_next(1, status=429, retry_after=0)
        pages = list(fetch_pages(source, city=CITY, opd="DINKES", period=MONTH, env=env))
        assert sim.request_count == 3 and len(pages) == 1
        assert len(pages[0].rows) == len(sim.rows("complaints", CITY, "DINKES", MONTH))
        # More failures than retries: a SourceError naming the status and the URL.
        sim.fail_next(source.retries + 1, status=503, retry_after=0)
        fast = source.model_copy(update={"backoff_factor": 0.01})
        with pytest.raises(SourceError, match=r"kode_opd=DINKES.*HTTP 503 after 4 retries"):
            list(fetch_pages(fast, city=CITY, opd="DINKES", period=MONTH, env=env))


def test_pagination_loop_is_detected(opd_project, tmp_path):
    source = next(s for s in opd_project.sources.for_table("service_requests") if isinstance(s, RestSource))
    source = source.model_copy(update={"page_size": 100})
    with OpdSimulator(opd_project) as sim:
        sim.loop_pagination = True
        with pytest.raises(SourceError, match="pagination loop"):
            list(
                fetch_pages(source, city=CITY, opd="DISDUKCAPIL", period=MONTH, env={"KOTACERDAS_OPD_API_URL": sim.url})
            )


def test_row_identities_tell_keys_apart_by_value_and_type(opd_project):
    """The loop check compares rows by key: equal keys are one identity, 1 and "1" are two, and a row without its
    key is told apart by its whole content."""
    from kotacerdas.ingest.rest import record_keys

    source = next(s for s in opd_project.sources.for_table("service_requests") if isinstance(s, RestSource))
    field = {c: f for f, c in source.columns.items()}
    where = {field["city_code"]: "19.71", field["opd_code"]: "DISDUKCAPIL"}

    def row(request_id, **other):
        return where | {field["request_id"]: request_id} | other

    rows = [row("A-1", x=1), row("A-1", x=2), row(1), row("1"), row(None, x=3), row("")]
    keys = record_keys(source, rows)
    assert len(keys) == 5  # the two A-1 rows are one
    assert record_keys(source, [row("A-1", x=9)]) <= keys and not record_keys(source, [row("A-2")]) <= keys


def test_file_drop_ingest_with_bom_and_decimal_comma(opd_project, tmp_path):
    landing = tmp_path / "landing"
    paths = [p for p in write_file_drops(opd_project, landing, [CITY], [MONTH]) if "capaian_indikator" in p.name]
    result = ingest_table(
        opd_project, "indicator_submissions", CITY, MONTH, raw_dir=tmp_path / "raw", landing_dir=landing, env={}
    )
    assert result.failures == []
    assert len(result.raw_files) == len(paths)
    for raw in result.raw_files:  # stored byte for byte (BOM included)
        assert read_raw(tmp_path / "raw", raw.relpath)[0][:3] == b"\xef\xbb\xbf"
    frame = result.frame
    assert frame["city_code"].eq(CITY).all() and frame["period"].eq(MONTH).all()
    dlh = frame[frame["indicator_code"] == "ENV_GREEN_OPEN_SPACE_SHARE"].iloc[0]
    text = (landing / CITY / "DLH" / f"capaian_indikator_{MONTH}.csv").read_text(encoding="utf-8-sig")
    delivered = next(line for line in text.splitlines() if "ENV_GREEN_OPEN_SPACE_SHARE" in line).split(";")[4]
    assert "," in delivered and dlh["value"] == delivered.replace(",", ".")
    assert dlh["_raw_row"] == 2 and dlh["_raw_file"].endswith(
        f"DLH/{dlh['_raw_file'].split('/')[-2]}/capaian_indikator_{MONTH}.csv"
    )


def test_missing_file_and_bad_headers_are_failures(opd_project, tmp_path):
    landing = tmp_path / "landing"
    write_file_drops(opd_project, landing, [CITY], [MONTH])
    (landing / CITY / "DISPAR" / f"capaian_indikator_{MONTH}.csv").unlink()
    bad = landing / CITY / "DLH" / f"capaian_indikator_{MONTH}.csv"
    bad.write_bytes(bad.read_bytes().replace(b"Nilai", b"Angka"))
    result = ingest_table(
        opd_project, "indicator_submissions", CITY, MONTH, raw_dir=tmp_path / "raw", landing_dir=landing, env={}
    )
    by_opd = {f.opd: f for f in result.failures}
    assert set(by_opd) == {"DISPAR", "DLH"}
    assert "expected file 19.71/DISPAR/capaian_indikator_2025-03.* not found" in by_opd["DISPAR"].message
    assert str(landing) in by_opd["DISPAR"].message and "DISPAR" in by_opd["DISPAR"].hint
    assert str(bad) in by_opd["DLH"].message and "'Angka'" in by_opd["DLH"].message
    assert "Nilai" in by_opd["DLH"].message  # the expected headers are listed
    assert {"DISPAR", "DLH"}.isdisjoint(set(result.frame["opd_code"])) and len(result.frame) > 0
    # The malformed file is still kept in the raw zone as the record of what the OPD sent.
    assert any(
        r.relpath.endswith("DLH/" + r.relpath.split("/")[-2] + f"/capaian_indikator_{MONTH}.csv")
        for r in result.raw_files
    )


def test_read_file_drop_keeps_text_and_names_the_file(opd_project, tmp_path):
    source = opd_project.sources.for_table("indicator_submissions")[0]
    path = tmp_path / "x.csv"
    path.write_bytes(
        "\ufeffKode Wilayah;Kode OPD;Kode Indikator;Periode;Nilai;Satuan;Bukti Dukung\r\n"
        "19.71;DLH;ENV_X;2025-03;1.234,5;%;001/DLH\r\n19.71;DLH;ENV_Y;2025-03;n/a;%;\r\n".encode()
    )
    frame = read_file_drop(source, path)
    assert frame["value"].tolist() == ["1234.5", "n/a"]  # thousands dot + decimal comma normalised; junk kept
    assert frame["evidence_ref"].tolist()[1] is None or frame["evidence_ref"].isna().tolist()[1]
    path.write_text("Kode;Nilai\n1;2\n", encoding="utf-8")
    with pytest.raises(SourceError, match=r"x\.csv.*expected one header of each"):
        read_file_drop(source, path)


def test_bad_partition_arguments_are_config_errors(opd_project, tmp_path):
    with pytest.raises(ConfigError, match="99.99"):
        ingest_table(opd_project, "complaints", "99.99", MONTH, raw_dir=tmp_path, landing_dir=tmp_path, env={})
    with pytest.raises(ConfigError, match="YYYY-MM"):
        ingest_table(opd_project, "complaints", CITY, "2025-13", raw_dir=tmp_path, landing_dir=tmp_path, env={})


# --- pagination styles, API-key auth ----------------------------------------------------------------------


@pytest.mark.parametrize(("table", "style", "size"), [("service_requests", "cursor", 45), ("complaints", "offset", 7)])
def test_cursor_and_offset_pagination_with_api_key(opd_project, tmp_path, caplog, table, style, size):
    caplog.set_level("DEBUG")
    key = "kc-api-key-5d1e0a7b93"

    def edit(data):
        fast_rest(data)
        source = next(s for s in data["sources"] if s["table"] == table)
        source.update(
            pagination=style, page_size=size, auth="api_key", api_key_header="X-Api-Key", token_env="OPD_API_KEY"
        )

    project = edited_project(tmp_path, opd_project, edit_sources=edit)
    with OpdSimulator(project, token=key) as sim:
        env = {"KOTACERDAS_OPD_API_URL": sim.url, "OPD_API_KEY": key}
        result = ingest_table(project, table, CITY, MONTH, raw_dir=tmp_path / "raw", landing_dir=tmp_path, env=env)
        assert result.failures == []
        id_field, id_col = {
            "service_requests": ("id_permohonan", "request_id"),
            "complaints": ("id_laporan", "complaint_id"),
        }[table]
        for opd in project.cities.opds_for(table):
            rows = sim.rows(table, CITY, opd.code, MONTH)
            got = result.frame.loc[result.frame["opd_code"] == opd.code, id_col].tolist()
            assert got == [r[id_field] for r in rows]  # every row once, in order
            pages = [r for r in result.raw_files if f"/{opd.code}/" in r.relpath]
            assert len(pages) >= -(-len(rows) // size)
        assert any(f"{'cursor=o' if style == 'cursor' else 'offset='}" in r.origin for r in result.raw_files)
        wrong = ingest_table(
            project,
            table,
            CITY,
            MONTH,
            raw_dir=tmp_path / "raw",
            landing_dir=tmp_path,
            env={**env, "OPD_API_KEY": "kc-wrong-key-00"},
        )
        assert wrong.failures and all("HTTP 401" in f.message and "OPD_API_KEY" in f.hint for f in wrong.failures)
        if style == "cursor":  # a cursor that points back is a loop, not an endless download
            sim.loop_pagination = True
            looped = ingest_table(project, table, CITY, MONTH, raw_dir=tmp_path / "raw", landing_dir=tmp_path, env=env)
            assert looped.failures and all("pagination loop" in f.message for f in looped.failures)
    texts = _all_text(tmp_path / "raw") + caplog.text + "".join(str(f) for f in wrong.failures)
    assert key not in texts and "kc-wrong-key-00" not in texts


# --- incremental pulls, replay from raw, idempotent re-ingest ------------------------------------------


def _staged(result, table="service_requests", city=CITY):
    staged = stage_table(get_table(table), result.frame, city=city, month=MONTH, pii_key=b"k")
    return staged.frame.drop(columns=["_raw_file", "_raw_row"]).reset_index(drop=True), staged.rejected


def test_reingesting_a_partition_leaves_the_same_staged_rows(opd_project, opd_env, tmp_path):
    raw = tmp_path / "raw"
    first = ingest_table(opd_project, "service_requests", CITY, MONTH, raw_dir=raw, landing_dir=tmp_path, env=opd_env)
    second = ingest_table(opd_project, "service_requests", CITY, MONTH, raw_dir=raw, landing_dir=tmp_path, env=opd_env)
    (a, a_rej), (b, b_rej) = _staged(first), _staged(second)
    pd.testing.assert_frame_equal(a, b)
    assert len(a_rej) == len(b_rej)
    assert not set(first.frame["_raw_file"]) & set(second.frame["_raw_file"])  # a new fetch, same rows


def test_replay_rebuilds_the_partition_from_raw_without_calling_the_source(opd_project, opd_env, tmp_path):
    raw, landing = tmp_path / "raw", tmp_path / "landing"
    nothing = ingest_table(
        opd_project, "complaints", CITY, MONTH, raw_dir=raw, landing_dir=landing, env={}, replay=True
    )
    assert nothing.failures and all(
        "nothing to replay" in f.message and "without replay" in f.hint for f in nothing.failures
    )
    fetched = ingest_table(opd_project, "complaints", CITY, MONTH, raw_dir=raw, landing_dir=landing, env=opd_env)
    write_file_drops(opd_project, landing, [CITY], [MONTH])
    files = ingest_table(opd_project, "indicator_submissions", CITY, MONTH, raw_dir=raw, landing_dir=landing, env={})
    shutil.rmtree(landing)  # the landing folder is gone and no API URL is set: only raw is left
    for original, table in ((fetched, "complaints"), (files, "indicator_submissions")):
        replayed = ingest_table(opd_project, table, CITY, MONTH, raw_dir=raw, landing_dir=landing, env={}, replay=True)
        assert replayed.failures == []
        pd.testing.assert_frame_equal(replayed.frame, original.frame)  # lineage included
        assert {r.sha256 for r in replayed.raw_files} == {r.sha256 for r in original.raw_files}
    # A tampered payload is not replayed silently.
    relpath = fetched.raw_files[0].relpath
    altered = read_raw(raw, relpath)[0].replace(b"LPR-", b"XXX-", 1)
    write_sealed(raw / relpath, altered, relpath)  # re-encrypted, so only the sha256 can tell
    tampered = ingest_table(
        opd_project, "complaints", CITY, MONTH, raw_dir=raw, landing_dir=landing, env={}, replay=True
    )
    assert any("no longer matches its sha256" in f.message for f in tampered.failures)


def test_a_replay_names_the_landing_files_it_did_not_read(opd_project, tmp_path):
    raw, landing = tmp_path / "raw", tmp_path / "landing"
    paths = [p for p in write_file_drops(opd_project, landing, [CITY], [MONTH]) if "capaian_indikator" in p.name]
    kwargs = {"raw_dir": raw, "landing_dir": landing, "env": {}}
    fetched = ingest_table(opd_project, "indicator_submissions", CITY, MONTH, **kwargs)
    same = ingest_table(opd_project, "indicator_submissions", CITY, MONTH, replay=True, **kwargs)
    assert same.notices == []  # the landing folder holds what was fetched

    corrected = paths[0]
    corrected.write_bytes(corrected.read_bytes().replace(b"\n", b"\r\n", 1))  # the OPD uploads it again, changed
    replayed = ingest_table(opd_project, "indicator_submissions", CITY, MONTH, replay=True, **kwargs)

    pd.testing.assert_frame_equal(replayed.frame, fetched.frame)  # still the stored fetch, as asked
    assert len(replayed.notices) == 1 and corrected.name in replayed.notices[0]
    assert "without --replay" in replayed.notices[0]
    assert replayed.light().notices == replayed.notices  # the steps after staging read the light copy
    assert replayed.landing_files_not_replayed == replayed.light().landing_files_not_replayed == 1

    # A link in the landing folder (here to a FIFO, which would block a reader forever) is not followed: a fetch
    # refuses it and reports that; a replay leaves it alone.
    import os
    import threading

    os.mkfifo(tmp_path / "fifo")
    (corrected.parent / corrected.name.replace(".csv", ".xlsx")).symlink_to(tmp_path / "fifo")
    done: list = []
    replaying = threading.Thread(
        target=lambda: done.append(
            ingest_table(opd_project, "indicator_submissions", CITY, MONTH, replay=True, **kwargs)
        ),
        daemon=True,
    )
    replaying.start()
    replaying.join(timeout=60)
    assert done and len(done[0].notices) == 1, "the replay blocked on the link"


def test_incremental_pull_by_updated_since_watermark(opd_project, tmp_path):
    def edit(data):
        fast_rest(data)
        source = next(s for s in data["sources"] if s["table"] == "service_requests")
        source.update(incremental=True, watermark_field="diperbarui_pada", page_size=100)

    project = edited_project(tmp_path, opd_project, edit_sources=edit)
    raw = tmp_path / "raw"
    with OpdSimulator(project) as sim:
        env = {"KOTACERDAS_OPD_API_URL": sim.url}

        def ingest():
            return ingest_table(project, "service_requests", CITY, MONTH, raw_dir=raw, landing_dir=tmp_path, env=env)

        full = ingest()
        fetches = read_fetches(raw, source="opd_api_service_requests", city=CITY, period=MONTH, opd="DLH")
        assert [f["mode"] for f in fetches] == ["full"] and fetches[0]["watermark"]
        dlh_rows = sim.rows("service_requests", CITY, "DLH", MONTH)
        assert fetches[0]["watermark"] == max(r["diperbarui_pada"] for r in dlh_rows)
        # Nothing changed: the incremental pull gets no row, the partition is rebuilt whole from raw.
        again = ingest()
        assert again.failures == []
        pd.testing.assert_frame_equal(_staged(again)[0], _staged(full)[0])
        latest = read_fetches(raw, source="opd_api_service_requests", city=CITY, period=MONTH, opd="DLH")[-1]
        assert (latest["mode"], latest["rows"], latest["updated_since"]) == ("incremental", 0, fetches[0]["watermark"])
        # Three DLH requests get completed in the OPD system: only they are pulled, and they replace the old ones.
        changed = sim.edit_rows(
            "service_requests",
            CITY,
            "DLH",
            MONTH,
            3,
            {"status": "completed", "tgl_selesai": "2025-03-31T15:00:00"},
            at="2026-01-05T08:00:00",
        )
        requests_before = sim.request_count
        updated = ingest()
        assert updated.failures == []
        latest = read_fetches(raw, source="opd_api_service_requests", city=CITY, period=MONTH, opd="DLH")[-1]
        assert (latest["rows"], latest["watermark"]) == (3, "2026-01-05T08:00:00")
        assert sim.request_count - requests_before == len(project.cities.opds_for("service_requests"))
        frame = updated.frame
        assert len(frame) == len(full.frame)  # no duplicates
        ids = {r["id_permohonan"] for r in changed}
        mine = frame[frame["request_id"].isin(ids) & (frame["opd_code"] == "DLH")]
        assert len(mine) == 3 and set(mine["status"]) == {"completed"}
        assert set(mine["completed_at"]) == {"2025-03-31T15:00:00"}
        assert all(latest["fetch_id"] in f for f in mine["_raw_file"])  # lineage: the new payload
        staged, rejected = _staged(updated)
        _, rejected_full = _staged(full)
        assert len(rejected) == len(rejected_full)  # no new unique:key rejections
        # Replay gives the same merged partition without asking the API.
        replayed = ingest_table(
            project, "service_requests", CITY, MONTH, raw_dir=raw, landing_dir=tmp_path, env={}, replay=True
        )
        pd.testing.assert_frame_equal(replayed.frame, updated.frame)


# --- SQL source ------------------------------------------------------------------------------------------

SQL_QUERY = (
    "SELECT no_permohonan, wilayah, opd, layanan, kanal, status, diajukan, selesai, standar_hari "
    "FROM permohonan WHERE wilayah = :city AND diajukan >= :month_start "
    "AND diajukan < :month_end + 1 ORDER BY no_permohonan"
)


def _sql_project(tmp_path, opd_project, query=SQL_QUERY, **extra):
    def edit(data):
        data["sources"].append(
            {
                "name": "simpel_db",
                "type": "sql",
                "table": "service_requests",
                "url_env": "OPD_DB_URL",
                "query": query,
                "chunk_size": 1000,
                **extra,
                "columns": {
                    "no_permohonan": "request_id",
                    "wilayah": "city_code",
                    "opd": "opd_code",
                    "layanan": "service_code",
                    "kanal": "channel",
                    "status": "status",
                    "diajukan": "submitted_at",
                    "selesai": "completed_at",
                    "standar_hari": "sla_days",
                },
                "optional_columns": [],
            }
        )

    return edited_project(tmp_path, opd_project, edit_sources=edit)


def _sql_ingest(project, tmp_path, env, **kwargs):
    """One partition of the SQL source `simpel_db`, with the raw zone under tmp_path."""
    return ingest_table(
        project,
        "service_requests",
        CITY,
        MONTH,
        raw_dir=tmp_path / "raw",
        landing_dir=tmp_path,
        env=env,
        sources=["simpel_db"],
        **kwargs,
    )


@pytest.fixture
def opd_database(postgres_url):
    """A real PostgreSQL database playing an OPD's own system: 2 cities x 2 months of service requests."""
    engine = sa.create_engine(postgres_url)
    rows = []
    for city in ("19.71", "19.03"):
        for month_start in (datetime(2025, 2, 1), datetime(2025, 3, 1)):
            for i in range(1, 1301 if city == CITY else 40):
                submitted = month_start + timedelta(hours=7 * i % (24 * 27), minutes=i % 60)
                rows.append(
                    {
                        "no_permohonan": f"SQL-{city}-{month_start:%m}-{i:05d}",
                        "wilayah": city,
                        "opd": "DPMPTSP",
                        "layanan": "NIB",
                        "kanal": "online" if i % 3 else "offline",
                        "status": "completed" if i % 5 else "in_process",
                        "diajukan": submitted,
                        "selesai": submitted + timedelta(hours=20) if i % 5 else None,
                        "standar_hari": Decimal(1),
                    }
                )
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE permohonan (no_permohonan text primary key, wilayah text, opd text, "
            "layanan text, kanal text, status text, diajukan timestamp, selesai timestamp, "
            "standar_hari numeric)"
        )
        conn.execute(
            sa.text(
                "INSERT INTO permohonan VALUES (:no_permohonan, :wilayah, :opd, :layanan, :kanal, "
                ":status, :diajukan, :selesai, :standar_hari)"
            ),
            rows,
        )
    engine.dispose()
    return postgres_url


def test_sql_source_reads_the_partition_in_chunks(opd_project, opd_database, tmp_path, caplog):
    caplog.set_level("DEBUG")
    project = _sql_project(tmp_path, opd_project)
    secret = "s3cret-db-pass-91"  # trust auth ignores it, so we can prove it never leaks
    url = sa.make_url(opd_database).set(password=secret).render_as_string(hide_password=False)
    env = {"OPD_DB_URL": url}
    result = _sql_ingest(project, tmp_path, env)
    assert result.failures == []
    frame = result.frame
    assert len(frame) == 1300 and frame["request_id"].is_unique
    assert frame["request_id"].str.startswith(f"SQL-{CITY}-03-").all()
    assert [r.rows for r in result.raw_files] == [1000, 300]  # read in chunks of chunk_size
    assert all(r.origin.startswith("sql:postgresql+psycopg://postgres:***@") for r in result.raw_files)
    staged, rejected = _staged(result)
    assert rejected.empty and staged["submitted_at"].dt.month.eq(3).all() and staged["sla_days"].eq(1).all()
    assert staged["completed_at"].isna().sum() == len([i for i in range(1, 1301) if i % 5 == 0])
    # Replay reads the stored chunks only (no database URL in the environment).
    replayed = _sql_ingest(project, tmp_path, {}, replay=True)
    pd.testing.assert_frame_equal(replayed.frame, frame)
    # Failures: a broken query and a renamed column fail the source clearly, without the password.
    broken = _sql_project(tmp_path / "b", opd_project, query=SQL_QUERY.replace("FROM permohonan", "FROM nope"))
    failed = _sql_ingest(broken, tmp_path, env)
    [failure] = failed.failures
    assert 'relation "nope" does not exist' in failure.message and failure.hint
    assert failure.url.startswith("sql:postgresql+psycopg://postgres:***@") and failure.opd == "*"
    drift = _sql_project(tmp_path / "c", opd_project, query=SQL_QUERY.replace("kanal,", "kanal AS channel_x,"))
    [drifted] = _sql_ingest(drift, tmp_path, env).failures
    assert "returns no column for ['channel']" in drifted.message
    unset = _sql_ingest(project, tmp_path, {})
    assert "OPD_DB_URL is not set" in unset.failures[0].message
    texts = _all_text(tmp_path / "raw") + caplog.text + str(failure) + str(drifted)
    assert secret not in texts


@pytest.mark.parametrize(
    ("cap", "said"), [({"max_rows": 1200}, "1300 rows > max_rows 1200"), ({"max_bytes": 50_000}, "> max_bytes 50000")]
)
def test_a_sql_source_past_its_cap_stops_and_keeps_nothing_of_the_partition(
    opd_project, opd_database, tmp_path, cap, said
):
    project = _sql_project(tmp_path, opd_project, **cap)
    result = _sql_ingest(project, tmp_path, {"OPD_DB_URL": opd_database})
    [failure] = result.failures
    assert failure.message.startswith(f"simpel_db: {CITY} ") and said in failure.message
    assert "nothing of this partition was loaded" in failure.message and "simpel_db" in failure.hint
    assert result.frame.empty
    # what was read before the cap stays in the raw zone as evidence, but as no completed fetch: replay refuses it
    replayed = _sql_ingest(project, tmp_path, {}, replay=True)
    assert replayed.frame.empty and "holds no completed fetch" in replayed.failures[0].message


def test_a_sql_pull_is_received_when_each_opd_last_entered_its_rows(opd_project, opd_database, tmp_path):
    # one query for all OPDs, pulled long after the due date: each OPD's month counts as received when its last row
    # was entered (the database's naive times are WIB), not when the pipeline pulled it
    from kotacerdas.quality.timeliness import opd_timeliness

    project = _sql_project(tmp_path, opd_project, entered_field="diajukan")
    stray = "1971015208900011"  # a NIK typed into the OPD column: no OPD of the project, never in the fetch log
    with sa.create_engine(opd_database).begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO permohonan VALUES ('SQL-X', %(c)s, %(o)s, 'NIB', 'online', 'completed', "
            "'2025-03-30 10:00', NULL, 1)",
            {"c": CITY, "o": stray},
        )
        # a CHAR(n)-style padded code: the same OPD as staging reads it
        conn.exec_driver_sql(
            "INSERT INTO permohonan VALUES ('SQL-PAD', %(c)s, 'DPMPTSP   ', 'NIB', 'online', 'completed', "
            "'2025-03-02 10:00', NULL, 1)",
            {"c": CITY},
        )
    result = _sql_ingest(project, tmp_path, {"OPD_DB_URL": opd_database})
    assert result.failures == []
    last = max(datetime(2025, 3, 1) + timedelta(hours=7 * i % (24 * 27), minutes=i % 60) for i in range(1, 1301))
    entered = pd.Timestamp(last).tz_localize("Asia/Jakarta").tz_convert("UTC")
    [fetch] = read_fetches(tmp_path / "raw", source="simpel_db", city=CITY, period=MONTH)
    assert fetch["opd"] == "*" and fetch["entered"] == {"DPMPTSP": entered.strftime("%Y-%m-%dT%H:%M:%SZ")}
    assert fetch["opds"] == ["DPMPTSP"]  # the OPDs this fetch delivered: timeliness credits only these
    assert stray not in _all_text(tmp_path / "raw")
    frame = opd_timeliness(project, tmp_path / "raw", [], [result], city=CITY, month=MONTH)
    assert stray not in set(frame["opd_code"])  # the warehouse's timeliness names only the project's OPDs
    row = frame.set_index(["table_name", "opd_code"]).loc[("service_requests", "DPMPTSP")]
    assert row["received_at"] == entered.tz_localize(None) and row["status"] == "on_time" and row["delivered"]
    assert row["rows_delivered"] == 1301  # the padded code counted as DPMPTSP
    # A query of all OPDs that fails fails for each OPD of the table: their rows say why.
    broken = _sql_project(tmp_path / "b", opd_project, query=SQL_QUERY.replace("FROM permohonan", "FROM nope"))
    failed = _sql_ingest(broken, tmp_path / "b", {"OPD_DB_URL": opd_database})
    frame = opd_timeliness(broken, tmp_path / "b" / "raw", [], [failed], city=CITY, month=MONTH)
    requests = frame[frame["table_name"] == "service_requests"].set_index("opd_code")
    messages = requests["failure_message"].tolist()
    assert requests["expected"].all() and all('relation "nope"' in str(m) for m in messages), messages


def test_sql_query_parameters_are_checked(opd_project, tmp_path):
    from kotacerdas.config import SqlSource
    from kotacerdas.ingest.sql import query_params

    source = SqlSource.model_validate(
        {
            "name": "q",
            "type": "sql",
            "table": "complaints",
            "url_env": "X",
            "query": "SELECT * FROM t WHERE a = :city AND b = :kota",
        }
    )
    with pytest.raises(ConfigError, match=r"unknown parameter\(s\) \['kota'\]"):
        query_params(source, city=CITY, opd=None, period=MONTH)
    with pytest.raises(ConfigError, match="per_opd"):
        query_params(
            source.model_copy(update={"query": "SELECT 1 WHERE :opd = 'x'"}), city=CITY, opd=None, period=MONTH
        )


def test_the_partitions_of_a_run_are_fetched_at_once_and_come_back_in_order(
    opd_project, opd_simulator, opd_env, tmp_path, monkeypatch
):
    import threading

    from kotacerdas.ingest import ingest_partitions
    from kotacerdas.ingest import table as ingest_module

    partitions = [("19.71", "2025-03"), ("19.03", "2025-03"), ("19.71", "2025-04"), ("19.03", "2025-04")]
    folders = {"landing_dir": tmp_path / "landing", "env": opd_env}
    alone = {p: ingest_table(opd_project, "complaints", *p, raw_dir=tmp_path / "raw1", **folders) for p in partitions}

    # two fetches must be under way together to pass the barrier: one after the other, it breaks after 60 s
    together = threading.Barrier(2, timeout=60)
    real = ingest_module.ingest_table

    def meeting(*args, **kwargs):
        together.wait()
        return real(*args, **kwargs)

    monkeypatch.setattr(ingest_module, "ingest_table", meeting)
    fetched = ingest_partitions(opd_project, "complaints", partitions, raw_dir=tmp_path / "raw2", workers=2, **folders)
    got = list(fetched)

    assert [p for p, _ in got] == partitions
    for p, result in got:
        assert not result.failures and len(result.frame) > 0
        pd.testing.assert_frame_equal(
            result.frame.drop(columns=list(LINEAGE_COLUMNS)), alone[p].frame.drop(columns=list(LINEAGE_COLUMNS))
        )


def test_a_run_s_rest_fetches_reuse_their_connections_across_partitions(opd_project, tmp_path):
    from kotacerdas.ingest import ingest_partitions

    partitions = [("19.71", "2025-03"), ("19.03", "2025-03"), ("19.71", "2025-04"), ("19.03", "2025-04")]
    with OpdSimulator(opd_project, seed=42, token=OPD_TEST_TOKEN) as sim:
        env = simulator_env(sim)
        folders = {"landing_dir": tmp_path / "landing", "env": env}
        for p in partitions:  # one partition at a time, as `ingest_table` alone does: a connection per OPD
            ingest_table(opd_project, "complaints", *p, raw_dir=tmp_path / "raw1", **folders)
        alone = (sim.request_count, sim.connection_count)
        got = ingest_partitions(opd_project, "complaints", partitions, raw_dir=tmp_path / "raw2", workers=2, **folders)
        pooled = (sim.request_count - alone[0], sim.connection_count - alone[1])

    assert all(not result.failures and len(result.frame) > 0 for _, result in got)
    assert pooled[0] == alone[0] > 2 * len(partitions)  # the same pages asked for, both ways
    assert alone[1] > 2  # one connection per city × OPD on their own
    assert pooled[1] <= 2  # one per thread of the pool (workers=2), kept across every partition and OPD


def test_a_session_pool_lends_one_session_per_source_secret_and_thread_and_closes_them_all(opd_project):
    import threading

    from kotacerdas.ingest.rest import SessionPool

    rest = [s for s in opd_project.sources.sources if isinstance(s, RestSource)]
    first, second = rest[0], next(s for s in rest if s.name != rest[0].name)
    token = {first.token_env: "one"}
    with SessionPool() as pool:
        mine = pool.session(first, token)
        assert pool.session(first, token) is mine and pool.session(second, token) is not mine
        other = pool.session(first, {first.token_env: "two"})  # another secret: another session, never this one
        assert other is not mine and other.headers["Authorization"] == "Bearer two"
        assert mine.headers["Authorization"] == "Bearer one"
        assert pool.session(first.model_copy(update={"retries": 0}), token) is None  # no kept connection
        theirs: list = []
        thread = threading.Thread(target=lambda: theirs.append(pool.session(first, token)))
        thread.start()
        thread.join()
        assert theirs[0] is not mine
        opened = [mine, other, theirs[0], pool.session(second, token)]
        closed: list = []
        for session in opened:  # record each close, then close for real
            session.close = lambda s=session, real=session.close: (closed.append(s), real())  # noqa: B023
    assert sorted(map(id, closed)) == sorted(map(id, opened))
