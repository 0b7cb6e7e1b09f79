"""The whole-pipeline leak test: personal data seeded into every kind of source and field, one month run end to end
on PostgreSQL with Dagster's storage in a temporary DAGSTER_HOME (steps in subprocesses, compute logs captured),
then everything persistent grepped for it in clear: every warehouse table and view, the whole DAGSTER_HOME tree
(SQLite run and event-log databases, compute logs, the IO manager's values), Data Docs, logs and the raw zone as
stored on disk.

Seeded: a file drop's free text (evidence column), a file drop's name, a file without a header (its first line is
data), REST rows (the simulator's NIK, phone and e-mail columns, and free text put into a category), a REST error
body that echoes personal data, and an SQL source (an OPD database with NIK and phone columns and free text in a
status). Files' names are grepped as well as their contents.
"""

from __future__ import annotations

import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
from conftest import edited_project, fast_rest

from kotacerdas.simulator import write_file_drops

CITY, MONTH = "19.71", "2025-03"
NIK = "3271046504930002"
PHONE, PHONE_DIGITS = "0813-5566-7788", "081355667788"
EMAIL = "budi.santoso77@contoh-mail.id"
SQL_NIK, SQL_PHONE, SQL_EMAIL = "1971024411850007", "085277001122", "rina.sql@contoh-mail.id"
# In a dropped file's name: `capaian_indikator_2025-03_<NIK>_<phone>_<e-mail>.csv`
NAME_NIK, NAME_PHONE, NAME_EMAIL = "3171012345678901", "081299887766", "budi@mail.id"


class _EchoingError(BaseHTTPRequestHandler):
    """An OPD portal that answers 500 with a body quoting a citizen's data."""

    def do_GET(self):  # noqa: N802
        body = f'{{"error": "record of {NIK} (HP {PHONE}, {EMAIL}) is locked"}}'.encode()
        self.send_response(500)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def echoing_portal():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EchoingError)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def opd_database(dagster_postgres_url):
    """An OPD's own database (another PostgreSQL database) with personal data in its columns and free text."""
    engine = sa.create_engine(dagster_postgres_url)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE permohonan (no text, wilayah text, opd text, layanan text, kanal text, status text, "
            "diajukan timestamp, selesai timestamp, standar_hari numeric, nik text, hp text)"
        )
        conn.exec_driver_sql(
            "INSERT INTO permohonan VALUES "
            f"('SQL-1', '{CITY}', 'DPMPTSP', 'NIB', 'online', 'completed', '2025-03-03 09:00', '2025-03-03 15:00', "
            f"1, '{SQL_NIK}', '{SQL_PHONE}'), "
            f"('SQL-2', '{CITY}', 'DPMPTSP', 'NIB', 'online', 'tanya {SQL_EMAIL}', '2025-03-04 09:00', NULL, 1, "
            f"'{SQL_NIK}', '{SQL_PHONE}')"
        )
    engine.dispose()
    return dagster_postgres_url


@pytest.fixture
def leak_env(
    tmp_path,
    monkeypatch,
    opd_project,
    opd_simulator,
    opd_env,
    postgres_url,
    echoing_portal,
    opd_database,
    definitions_from_this_env,
):
    landing = tmp_path / "landing"
    paths = write_file_drops(opd_project, landing, [CITY], [MONTH], seed=42)
    files = sorted(p for p in paths if "capaian_indikator" in p.name)
    # Free text in a file drop: the evidence column quotes a citizen.
    first = files[0]
    lines = first.read_bytes().decode("utf-8-sig").splitlines()
    lines[1] = lines[1].rsplit(";", 1)[0] + f";aduan {NIK} via {PHONE} / {EMAIL}"
    first.write_text("\n".join(lines) + "\n", encoding="utf-8")
    # A file without its header: the first line, data, is what an error message would quote.
    files[1].write_text(f"{CITY};X;{NIK};{PHONE};{EMAIL}\n{CITY};X;1;2;3\n", encoding="utf-8")
    # Personal data in a file's name: it is stored (raw zone paths, raw_files, _raw_file, Data Docs, logs).
    named = files[2].with_name(f"capaian_indikator_{MONTH}_{NAME_NIK}_{NAME_PHONE}_{NAME_EMAIL}.csv")
    files[2].rename(named)

    def edit(data):
        fast_rest(data)
        drop = next(s for s in data["sources"] if s["name"] == "opd_file_drop_indicators")
        drop["pattern"] = drop["pattern"].replace("{month}.*", "{month}*.*")
        data["sources"].append(
            {
                "name": "portal_pengaduan",
                "type": "rest",
                "table": "complaints",
                "base_url": echoing_portal,
                "path": "/api/pengaduan?kode_wilayah={city}&kode_opd={opd}&bulan={month}",
                "retries": 0,
                "columns": {"id_laporan": "complaint_id"},
            }
        )
        data["sources"].append(
            {
                "name": "simpel_db",
                "type": "sql",
                "table": "service_requests",
                "url_env": "LEAK_OPD_DB_URL",
                "query": "SELECT * FROM permohonan WHERE wilayah = :city",
                "columns": {
                    "no": "request_id",
                    "wilayah": "city_code",
                    "opd": "opd_code",
                    "layanan": "service_code",
                    "kanal": "channel",
                    "status": "status",
                    "diajukan": "submitted_at",
                    "selesai": "completed_at",
                    "standar_hari": "sla_days",
                    "nik": "applicant_nik",
                    "hp": "applicant_phone",
                },
            }
        )

    project = edited_project(tmp_path, opd_project, edit_sources=edit)
    # Free text in REST rows: a complaint's category quotes the reporter.
    complaint_opd = opd_project.cities.opds_for("complaints")[0].code
    opd_simulator.edit_rows("complaints", CITY, complaint_opd, MONTH, 2, {"kategori": f"hubungi {PHONE} {EMAIL}"})
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {
        **opd_env,
        "DAGSTER_HOME": str(home),
        "KOTACERDAS_CONFIG_DIR": str(project.dir),
        "KOTACERDAS_WAREHOUSE_URL": postgres_url,
        "KOTACERDAS_LANDING_DIR": str(landing),
        "KOTACERDAS_RAW_DIR": str(tmp_path / "raw"),
        "KOTACERDAS_DATA_DOCS_DIR": str(tmp_path / "data_docs"),
        "KOTACERDAS_PII_KEY": "leak-test-pii-key",
        "LEAK_OPD_DB_URL": opd_database,
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return tmp_path, home


def _seeded(opd_simulator) -> set[str]:
    values = {NIK, PHONE, PHONE_DIGITS, EMAIL, SQL_NIK, SQL_PHONE, SQL_EMAIL, NAME_NIK, NAME_PHONE, NAME_EMAIL}
    for table, fields in (("service_requests", ("nik_pemohon", "hp_pemohon")), ("complaints", ("email_pelapor",))):
        for opd in opd_simulator.project.cities.opds_for(table):
            for row in opd_simulator.rows(table, CITY, opd.code, MONTH):
                values |= {str(row[f]) for f in fields if row.get(f)}
    return values


def _warehouse_text(url: str) -> str:
    """Every row of every table and view of the warehouse's schema, as text."""
    engine = sa.create_engine(url)
    parts = []
    with engine.connect() as conn:
        relations = conn.exec_driver_sql(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        ).scalars()
        for name in list(relations):
            for row in conn.exec_driver_sql(f'SELECT CAST(t AS text) FROM "{name}" t'):
                parts.append(f"{name}: {row[0]}")
    engine.dispose()
    return "\n".join(parts)


def _tree_bytes(root: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in root.rglob("*") if p.is_file() and not p.is_symlink()}


@pytest.mark.postgres
def test_personal_data_is_clear_nowhere_the_pipeline_stores_anything(leak_env, opd_simulator, postgres_url):
    from assets.partitions import partition_tags
    from kotacerdas.quality.completeness import ALLOW_INCOMPLETE_TAG
    from pipelines.definitions import monthly_job

    tmp_path, home = leak_env
    log_file = tmp_path / "logs" / "pipeline.log"
    log_file.parent.mkdir()
    handler = logging.FileHandler(log_file, encoding="utf-8")
    logging.getLogger().addHandler(handler)
    try:
        # The seeded sources fail on purpose, which makes the partition incomplete: published anyway, so that
        # every store (scores and staged rows too) is written and searched.
        tags = {**partition_tags(CITY, MONTH), ALLOW_INCOMPLETE_TAG: "true"}
        with dg.execute_job(dg.reconstructable(monthly_job), instance=dg.DagsterInstance.get(), tags=tags) as result:
            events = list(result.all_events)
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()
    published = [e for e in events if e.event_type_value == "ASSET_MATERIALIZATION"]
    assert published, "the run published nothing: the test would prove nothing"

    # The seeds went in: the failures they caused are recorded (scrubbed), and the rows were published.
    warehouse = _warehouse_text(postgres_url)
    assert "portal_pengaduan" in warehouse and "simpel_db" in warehouse
    assert "[nik:" in warehouse and "[email:" in warehouse and "[phone:" in warehouse
    # The named file was read and published under a name that is still recognisable.
    assert f"capaian_indikator_{MONTH}_nik-" in warehouse and "_email-" in warehouse

    seeded = _seeded(opd_simulator)
    assert len(seeded) > 50
    stores = {"warehouse": {"tables and views": warehouse.encode()}}
    stores["DAGSTER_HOME"] = _tree_bytes(home)
    stores["Data Docs"] = _tree_bytes(tmp_path / "data_docs")
    stores["logs"] = _tree_bytes(log_file.parent)
    stores["raw zone"] = _tree_bytes(tmp_path / "raw")
    assert any("compute_logs" in p or p.endswith((".out", ".err", ".complete")) for p in stores["DAGSTER_HOME"])
    assert any(p.endswith(".db") for p in stores["DAGSTER_HOME"]) and stores["raw zone"] and stores["Data Docs"]
    leaks = sorted(
        f"{store}: {path}: {value}"
        for store, files in stores.items()
        for path, content in files.items()
        for value in seeded
        if value.encode() in content or value in path
    )
    assert leaks == []
