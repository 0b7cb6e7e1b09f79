"""Each guard of issue 12 on real files, a real loopback HTTP server and real PostgreSQL: landing path safety,
credentials bound to the source's origin, secrets scrubbed before truncation, runaway pagination, the evaluator's
least privilege, honest encodings, encryption at rest, a full disk, and personal data in file names."""

from __future__ import annotations

import logging
import os
import subprocess
import threading
import tracemalloc
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from conftest import TEST_STORAGE_KEY, edited_project, fast_rest

from kotacerdas.config import RestSource
from kotacerdas.encryption import SealedDataError, generate_key, seal, unseal
from kotacerdas.errors import ConfigError, SourceError, StorageError
from kotacerdas.ingest import ingest_table
from kotacerdas.ingest.drops import scan_landing
from kotacerdas.ingest.files import read_file_drop
from kotacerdas.ingest.landing import payloads, read_raw, reseal_raw
from kotacerdas.ingest.rest import fetch_pages
from kotacerdas.logs import install_log_scrubbing
from kotacerdas.privacy import scrub_file_name, scrub_text
from kotacerdas.simulator import OpdSimulator, write_file_drops
from kotacerdas.warehouse.engine import create_warehouse_engine
from kotacerdas.warehouse.publish import publish_partition
from kotacerdas.warehouse.roles import grant_evaluator, server_hardening
from kotacerdas.warehouse.schema import FACT_TABLES

CITY, MONTH = "19.71", "2025-03"
NIK, PHONE, EMAIL = "1971015208900011", "081277889900", "sari.dewi77@example.co.id"


def _all_bytes(root: Path) -> bytes:
    return b"\n".join(p.read_bytes() for p in root.rglob("*") if p.is_file() and not p.is_symlink())


# --- files come only from the landing zone ----------------------------------------------------------------------


@pytest.fixture
def landing(opd_project, tmp_path):
    landing = tmp_path / "landing"
    paths = write_file_drops(opd_project, landing, [CITY], [MONTH], seed=42)
    return landing, [p for p in paths if "capaian_indikator" in p.name]


@pytest.mark.parametrize("kind", ["symlink", "hard link", "linked folder"])
def test_a_link_in_the_landing_folder_is_refused_and_nothing_of_it_is_read(opd_project, landing, tmp_path, kind):
    landing_dir, paths = landing
    victim = paths[0]
    outside = tmp_path / "outside" / "secret.csv"
    outside.parent.mkdir()
    # A file that would parse and be published if it were followed, holding what must not be read.
    outside.write_bytes(victim.read_bytes().replace(b"\n", f"\n;;;;;;{NIK} secret line\n".encode(), 1))
    victim.unlink()
    if kind == "symlink":
        victim.symlink_to(outside)
    elif kind == "hard link":
        os.link(outside, victim)
    else:  # the OPD's whole folder is a link to a folder elsewhere
        folder = victim.parent
        moved = tmp_path / "outside" / "opd_folder"
        folder.rename(moved)
        (moved / victim.name).write_bytes(outside.read_bytes())
        folder.symlink_to(moved, target_is_directory=True)
    opd = victim.parent.name
    result = ingest_table(
        opd_project, "indicator_submissions", CITY, MONTH, raw_dir=tmp_path / "raw", landing_dir=landing_dir, env={}
    )
    failure = next(f for f in result.failures if f.opd == opd)
    reason = {"symlink": "a symbolic link", "hard link": "a hard link", "linked folder": "a symbolic link (its folder"}
    assert f"refused: {reason[kind]}" in failure.message and "nothing of it was read" in failure.message
    assert not result.frame["opd_code"].eq(opd).any()
    # Nothing of the linked file reached the raw zone (checked decrypted: the zone itself is encrypted).
    stored = [read_raw(tmp_path / "raw", r)[0] for r in payloads(tmp_path / "raw")]
    assert stored and not any(b"secret line" in s for s in stored)
    # The other OPDs still deliver; the sensor's scan names the refused file and why.
    assert len(result.frame) > 0
    scan = {f.relpath: f.problem for f in scan_landing(opd_project, landing_dir)}
    refused = [p for p in scan.values() if p and p.startswith("refused:")]
    assert refused == ["refused: a hard link" if kind == "hard link" else "refused: a symbolic link"] or (
        kind == "hard link" and refused[0].startswith("refused: a hard link (2 names")
    )


def test_a_path_outside_the_landing_root_is_refused(opd_project, landing, tmp_path):
    from kotacerdas.ingest.landing_paths import landing_path_problem, read_landing_file

    landing_dir, paths = landing
    assert landing_path_problem(paths[0], landing_dir) is None
    assert landing_path_problem(landing_dir / ".." / "x.csv", landing_dir) == "refused: outside the landing folder"
    assert landing_path_problem(Path("/etc/passwd"), landing_dir) == "refused: outside the landing folder"
    with pytest.raises(SourceError, match="outside the landing folder; nothing of it was read"):
        read_landing_file(Path("/etc/passwd"), landing_dir, source="s")
    fifo = paths[0].with_name("capaian_indikator_2025-04.csv")
    os.mkfifo(fifo)
    assert landing_path_problem(fifo, landing_dir) == "refused: not a regular file"


# --- credentials go only to the source's own origin -------------------------------------------------------------


class _Recorder(BaseHTTPRequestHandler):
    """Answers one empty page, or redirects to `redirect_to`; records every request's headers."""

    def do_GET(self):  # noqa: N802
        self.server.seen.append({k.lower(): v for k, v in self.headers.items()})
        if self.server.redirect_to:
            self.send_response(302)
            self.send_header("Location", self.server.redirect_to + self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        status, body = self.server.answer
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def http_server():
    servers = []

    def start(host="127.0.0.1", redirect_to=None, answer=(200, b'{"data": [], "next_page": null}')):
        server = ThreadingHTTPServer((host, 0), _Recorder)
        server.seen, server.redirect_to, server.answer = [], redirect_to, answer
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server, f"http://{host}:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _rest(base_url: str, auth: str, **extra) -> RestSource:
    return RestSource(
        name="portal",
        type="rest",
        table="complaints",
        base_url=base_url,
        path="/api?kode_wilayah={city}&kode_opd={opd}&bulan={month}",
        token_env="PORTAL_TOKEN",
        auth=auth,
        retries=0,
        backoff_factor=0.0,
        timeout_seconds=(1.0, 2.0),
        columns={"id_laporan": "complaint_id"},
        **extra,
    )


TOKEN = "tkn-5d1c9a-never-shown"


@pytest.mark.parametrize("auth", ["bearer", "api_key"])
def test_a_redirect_to_another_origin_never_carries_the_credentials(http_server, auth):
    other, other_url = http_server()
    _, home_url = http_server(redirect_to=other_url)
    header = "authorization" if auth == "bearer" else "x-api-key"
    pages = list(fetch_pages(_rest(home_url, auth), city=CITY, opd="DINKES", period=MONTH, env={"PORTAL_TOKEN": TOKEN}))
    assert len(pages) == 1 and len(other.seen) == 1
    assert header not in other.seen[0] and not any(TOKEN in v for v in other.seen[0].values())

    # `refuse`: the redirect is not followed at all, and the error says why.
    other.seen.clear()
    with pytest.raises(SourceError, match="redirects to another origin .* refused"):
        list(
            fetch_pages(
                _rest(home_url, auth, cross_origin_redirects="refuse"),
                city=CITY,
                opd="DINKES",
                period=MONTH,
                env={"PORTAL_TOKEN": TOKEN},
            )
        )
    assert other.seen == []


@pytest.mark.parametrize("auth", ["bearer", "api_key"])
def test_a_redirect_within_the_origin_keeps_the_credentials(http_server, auth):
    # the same server answers after a redirect to its own origin: the credential must still arrive (else the
    # guard above would pass by never sending credentials at all)
    target, target_url = http_server()
    target.redirect_to = None
    home, home_url = http_server(redirect_to=target_url)
    home.redirect_to = None  # no redirect: the plain case
    list(fetch_pages(_rest(home_url, auth), city=CITY, opd="DINKES", period=MONTH, env={"PORTAL_TOKEN": TOKEN}))
    header = "authorization" if auth == "bearer" else "x-api-key"
    assert TOKEN in home.seen[0][header]


def test_a_token_echoed_across_the_cut_of_an_error_body_leaves_no_part_of_it(http_server):
    # The body is cut at 300 characters; the token starts 10 characters before the cut.
    body = ('{"error": "' + "x" * 279 + TOKEN + f' unknown for {NIK}"}}').encode()
    _, url = http_server(answer=(400, body))
    with pytest.raises(SourceError) as raised:
        list(fetch_pages(_rest(url, "bearer"), city=CITY, opd="DINKES", period=MONTH, env={"PORTAL_TOKEN": TOKEN}))
    message = str(raised.value)
    assert "HTTP 400" in message and TOKEN[:6] not in message and "***" in message
    assert NIK not in message


# --- pagination cannot run away --------------------------------------------------------------------------------


def test_an_api_that_ignores_offset_stops_within_a_few_pages(opd_project, tmp_path):
    def edit(data):
        fast_rest(data)
        for s in data["sources"]:
            if s["name"] == "opd_api_service_catalogue":
                s["page_size"] = 2  # every OPD has more services than that: paging is needed

    project = edited_project(tmp_path, opd_project, edit_sources=edit)
    with OpdSimulator(project, seed=42, token="t0k3n-abcdef") as sim:
        fault = sim.add_fault("opd_api_service_catalogue:ignore_offset")
        env = {"KOTACERDAS_OPD_API_URL": sim.url, "KOTACERDAS_OPD_API_TOKEN": "t0k3n-abcdef"}
        tracemalloc.start()
        try:
            result = ingest_table(
                project, "service_catalogue", CITY, MONTH, raw_dir=tmp_path / "raw", landing_dir=tmp_path, env=env
            )
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert result.failures
    assert all("pagination loop" in f.message and "read already" in f.message for f in result.failures)
    # page 1, then page 2 and its retries (retries=3) for each OPD: bounded, nowhere near 10,000 pages
    assert fault.applied <= len(project.cities.opds_for("service_catalogue")) * (1 + 4)
    assert peak < 50 * 2**20


@pytest.mark.parametrize(
    ("cap", "said"), [({"max_rows": 3}, "rows > max_rows 3"), ({"max_bytes": 1500}, "bytes > max_bytes 1500")]
)
def test_a_fetch_past_its_row_or_byte_cap_fails_naming_the_source(opd_project, opd_env, tmp_path, cap, said):
    def edit(data):
        for s in data["sources"]:
            if s["name"] == "opd_api_complaints":
                s.update(page_size=2, **cap)

    project = edited_project(tmp_path, opd_project, edit_sources=edit)
    result = ingest_table(
        project, "complaints", CITY, MONTH, raw_dir=tmp_path / "raw", landing_dir=tmp_path, env=opd_env
    )
    assert result.failures and all(
        f.message.startswith("opd_api_complaints: ") and said in f.message for f in result.failures
    )


# --- encryption at rest ---------------------------------------------------------------------------------------


def test_the_raw_zone_is_encrypted_replays_and_refuses_without_its_key(
    opd_project, opd_env, tmp_path, monkeypatch, opd_simulator
):
    raw = tmp_path / "raw"
    fetched = ingest_table(opd_project, "service_requests", CITY, MONTH, raw_dir=raw, landing_dir=tmp_path, env=opd_env)
    assert fetched.failures == []
    niks = {
        r["nik_pemohon"]
        for o in opd_project.cities.opds_for("service_requests")
        for r in opd_simulator.rows("service_requests", CITY, o.code, MONTH)
        if r.get("nik_pemohon")
    }
    on_disk = _all_bytes(raw)
    assert niks and not any(n.encode() in on_disk for n in niks)  # not a plain copy any more
    decrypted = b"".join(read_raw(raw, r.relpath)[0] for r in fetched.raw_files)
    assert any(n.encode() in decrypted for n in niks)  # ... but the delivered bytes, whole
    replayed = ingest_table(
        opd_project, "service_requests", CITY, MONTH, raw_dir=raw, landing_dir=tmp_path, env={}, replay=True
    )
    pd.testing.assert_frame_equal(replayed.frame, fetched.frame)

    # A moved or altered file does not open.
    first = fetched.raw_files[0].relpath
    with pytest.raises(SealedDataError, match="altered or moved"):
        unseal((raw / first).read_bytes(), "another/place.json")

    # No key: a clear error, never clear text, for fetching and for replay alike.
    monkeypatch.delenv("KOTACERDAS_STORAGE_KEY")
    for replay in (False, True):
        with pytest.raises(ConfigError, match="KOTACERDAS_STORAGE_KEY is not set"):
            ingest_table(
                opd_project, "service_requests", CITY, MONTH, raw_dir=raw, landing_dir=tmp_path, env=opd_env,
                replay=replay,
            )  # fmt: skip

    # Rotation: a new key, the old one listed as old, reseal, then the old key is no longer needed.
    new = generate_key()
    monkeypatch.setenv("KOTACERDAS_STORAGE_KEY", new)
    with pytest.raises(SealedDataError, match="neither KOTACERDAS_STORAGE_KEY nor one of"):
        read_raw(raw, first)
    monkeypatch.setenv("KOTACERDAS_STORAGE_OLD_KEYS", TEST_STORAGE_KEY)
    assert read_raw(raw, first)[0] == read_raw(raw, first)[0]
    counts = reseal_raw(raw)
    assert counts["resealed"] == len(fetched.raw_files) and counts["encrypted"] == 0
    monkeypatch.delenv("KOTACERDAS_STORAGE_OLD_KEYS")
    again = ingest_table(
        opd_project, "service_requests", CITY, MONTH, raw_dir=raw, landing_dir=tmp_path, env={}, replay=True
    )
    pd.testing.assert_frame_equal(again.frame, fetched.frame)


def test_a_malformed_storage_key_is_named(monkeypatch):
    monkeypatch.setenv("KOTACERDAS_STORAGE_KEY", "not-a-key")
    with pytest.raises(ConfigError, match="KOTACERDAS_STORAGE_KEY is not a storage key"):
        seal(b"x", "c")


# --- one scrubber for every message ----------------------------------------------------------------------------


def test_log_records_of_any_logger_are_scrubbed(caplog, monkeypatch):
    monkeypatch.setenv("KOTACERDAS_PII_KEY", "log-test-key")
    install_log_scrubbing()
    caplog.set_level(logging.INFO)
    logging.getLogger("kotacerdas.ingest.deep.child").warning("NIK %s, HP %s", NIK, PHONE)
    logging.getLogger("some.library").info("mail %s", EMAIL)
    try:
        raise ValueError(f"bad value {NIK}")
    except ValueError:
        logging.getLogger("kotacerdas").exception("failed")
    text = caplog.text
    assert NIK not in text and PHONE not in text and EMAIL not in text
    assert "[nik:" in text and "[phone:" in text and "[email:" in text


def test_errors_are_scrubbed_when_made(monkeypatch):
    monkeypatch.setenv("KOTACERDAS_PII_KEY", "error-test-key")
    error = SourceError(f"row of {EMAIL} with {NIK}", hint=f"call {PHONE}")
    assert EMAIL not in str(error) and NIK not in str(error) and PHONE not in str(error)
    assert scrub_text(f"{NIK}") == error.message.split("with ")[1]


# --- honest error messages -------------------------------------------------------------------------------------


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-32"])
def test_a_utf16_or_utf32_file_is_named_as_such(opd_project, landing, codec):
    landing_dir, paths = landing
    source = next(s for s in opd_project.sources.sources if s.name == "opd_file_drop_indicators")
    text = paths[0].read_bytes().decode("utf-8-sig")
    wide = paths[0].with_suffix(".csv")
    wide.write_bytes(text.encode(codec))
    # `encoding: auto` reads it right ...
    frame = read_file_drop(source, wide)
    expected = read_file_drop(source, paths[0])
    pd.testing.assert_frame_equal(frame, expected)
    # ... and a declared UTF-8 says what the file is instead of "line 5 has 1 field"
    strict = source.model_copy(update={"encoding": "utf-8-sig"})
    with pytest.raises(SourceError, match=rf"is {codec[:6].upper()}.* text .*declares encoding 'utf-8-sig'"):
        read_file_drop(strict, wide)


@pytest.fixture
def small_disk(tmp_path):
    """A 2 MiB tmpfs (root only); skipped with the reason where it cannot be mounted."""
    mount = tmp_path / "small_disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({done.stderr.decode().strip() or 'mount failed'})")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(folder: Path, leave: int = 48 * 1024) -> None:
    """Fill the disk, then free `leave` bytes of it."""
    filler = folder / "filler"
    # unbuffered: a buffered file can keep the last partial block and raise again when it is closed
    with open(filler, "wb", buffering=0) as fh:
        try:
            while True:
                fh.write(os.urandom(16 * 1024))
        except OSError:
            pass
    os.truncate(filler, max(0, filler.stat().st_size - leave))


def test_a_full_disk_under_duckdb_is_reported_as_no_space(small_disk):
    engine = create_warehouse_engine(f"duckdb:///{small_disk / 'warehouse.duckdb'}")
    _fill(small_disk)
    columns = FACT_TABLES["quarantine"]
    n = 20_000
    frame = pd.DataFrame(
        {c: [uuid.uuid4().hex for _ in range(n)] if d == "string" else [1] * n for c, d in columns.items()}
    )
    frame["city_code"], frame["period"] = CITY, MONTH
    for _ in range(2):  # the second try meets DuckDB's aborted transaction: still told as a full disk
        with pytest.raises(StorageError, match="no space left on device") as raised:
            publish_partition(engine, CITY, MONTH, {"quarantine": frame.astype(columns)}, run_id="r")
        assert "Current transaction is aborted" not in raised.value.message
    engine.dispose()


def test_a_full_disk_under_the_raw_zone_stops_the_step_with_its_cause(opd_project, opd_env, small_disk):
    _fill(small_disk)
    with pytest.raises(StorageError, match=r"cannot write the raw zone at .*: no space left on device"):
        ingest_table(
            opd_project,
            "service_requests",
            CITY,
            MONTH,
            raw_dir=small_disk / "raw",
            landing_dir=small_disk,
            env=opd_env,
        )


def test_a_read_only_raw_zone_is_reported_as_permission_denied(opd_project, opd_env, tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,ro", "tmpfs", str(raw)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a read-only tmpfs here ({done.stderr.decode().strip()})")
    try:
        with pytest.raises(StorageError, match="permission denied|read-only file system"):
            ingest_table(opd_project, "service_requests", CITY, MONTH, raw_dir=raw, landing_dir=tmp_path, env=opd_env)
    finally:
        subprocess.run(["umount", "-l", str(raw)], check=False)


# --- the evaluator role is least-privilege (PostgreSQL) --------------------------------------------------------


@pytest.mark.postgres
def test_the_evaluator_can_neither_create_objects_nor_write_even_outside_read_only(postgres_url):
    engine = create_warehouse_engine(postgres_url)
    suffix = uuid.uuid4().hex[:8]
    name, group = f"kc_eval_{suffix}", f"kc_evaluators_{suffix}"
    try:
        grant_evaluator(engine, name, group=group)
        url = sa.make_url(postgres_url).set(username=name)
        reader = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        with reader.connect() as conn:
            assert conn.exec_driver_sql("SHOW default_transaction_read_only").scalar_one() == "on"
            conn.exec_driver_sql("SELECT count(*) FROM v_scorecard").scalar_one()
            # Leaving read-only is possible in PostgreSQL (a user may SET it), so it must gain nothing:
            conn.exec_driver_sql("SET default_transaction_read_only = off")
            assert conn.exec_driver_sql("SHOW default_transaction_read_only").scalar_one() == "off"
            assert conn.exec_driver_sql("SHOW transaction_read_only").scalar_one() == "off"
            schemas = conn.exec_driver_sql(
                "SELECT nspname FROM pg_namespace WHERE nspname !~ '^pg_(toast|temp)'"
            ).scalars()
            in_every_schema = [f'CREATE TABLE "{schema}".t (x int)' for schema in schemas]
            assert len(in_every_schema) >= 3  # public, pg_catalog, information_schema at least
            for sql in (
                "CREATE TEMP TABLE t (x int)",
                "CREATE TEMP SEQUENCE s",
                "CREATE TEMP VIEW tv AS SELECT 1",
                "SELECT 1 AS x INTO TEMP TABLE t2",
                "CREATE FUNCTION pg_temp.f() RETURNS int LANGUAGE sql AS 'SELECT 1'",
                "DO $$ BEGIN CREATE TEMP TABLE t3 (x int); END $$",
                *in_every_schema,
                "CREATE SCHEMA s",
                "CREATE VIEW public.v AS SELECT 1",
                "SELECT lo_create(0)",
                "SELECT lo_from_bytea(0, 'x')",
                "INSERT INTO index_scores (city_code, period) VALUES ('x', 'y')",
                "UPDATE index_scores SET period = period",
                "DELETE FROM index_scores",
                "TRUNCATE index_scores",
                "DELETE FROM v_region",  # an automatically updatable view
            ):
                with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
                    conn.exec_driver_sql(sql)
            # ... and an explicit read-write transaction is no way round either
            with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
                conn.exec_driver_sql(
                    "START TRANSACTION READ WRITE; INSERT INTO index_scores (city_code, period) VALUES ('x', 'y')"
                )
            conn.exec_driver_sql("ROLLBACK")
        reader.dispose()
        # What is left for the server's administrator: CONNECT on the other databases (e.g. `postgres`).
        assert 'REVOKE CONNECT ON DATABASE "postgres" FROM PUBLIC;' in server_hardening(engine)
    finally:
        engine.dispose()
        with sa.create_engine(
            sa.make_url(postgres_url).set(database="postgres"), isolation_level="AUTOCOMMIT"
        ).connect() as admin:
            admin.exec_driver_sql(f'DROP DATABASE IF EXISTS "{sa.make_url(postgres_url).database}" WITH (FORCE)')
            admin.exec_driver_sql(f'DROP ROLE IF EXISTS "{name}"')
            admin.exec_driver_sql(f'DROP ROLE IF EXISTS "{group}"')


def test_dagster_values_are_encrypted_and_refused_without_the_key(tmp_path, monkeypatch):
    import dagster as dg

    from assets.io_manager import PartitionedPickleIOManager

    manager = PartitionedPickleIOManager(tmp_path / "values")
    key = dg.AssetKey("service_requests_raw")
    value = pd.DataFrame({"applicant_nik": [NIK], "note": [EMAIL]})
    manager.handle_output(dg.build_output_context(asset_key=key), {None: value})
    stored = _all_bytes(tmp_path / "values")
    assert stored and NIK.encode() not in stored and EMAIL.encode() not in stored
    loaded = manager.load_input(dg.build_input_context(asset_key=key))
    pd.testing.assert_frame_equal(loaded[None], value)
    monkeypatch.delenv("KOTACERDAS_STORAGE_KEY")
    with pytest.raises(ConfigError, match="KOTACERDAS_STORAGE_KEY is not set"):
        manager.load_input(dg.build_input_context(asset_key=key))
    with pytest.raises(ConfigError, match="KOTACERDAS_STORAGE_KEY is not set"):
        manager.handle_output(dg.build_output_context(asset_key=key), {None: value})


# --- personal data in file names ----------------------------------------------------------------------------------


def test_a_file_name_keeps_its_folders_parts_and_extension_with_short_pseudonyms(monkeypatch):
    monkeypatch.setenv("KOTACERDAS_PII_KEY", "file-name-key")
    name = f"19.71/DINKES/laporan_{NIK}_{EMAIL}_{PHONE}.csv"
    nik, email, phone = (scrub_text(v)[1:-1].split(":")[1][:12] for v in (NIK, EMAIL, PHONE))
    expected = f"19.71/DINKES/laporan_nik-{nik}_email-{email}_phone-{phone}.csv"
    assert scrub_file_name(name) == expected
    assert scrub_file_name(expected) == expected  # never scrubbed twice
    # in a message the name is recognised as one, instead of an e-mail swallowing it whole
    message = scrub_text(f"SourceError: /srv/landing/{name} line 5 has 1 field")
    assert message == f"SourceError: /srv/landing/{expected} line 5 has 1 field"
    assert scrub_text(message) == message
    assert scrub_file_name("capaian_indikator_2025-03.csv") == "capaian_indikator_2025-03.csv"
    # what cutting at the extension or at spaces would hide is still found
    assert scrub_file_name(f"19.71/{EMAIL}/laporan_{EMAIL}") == f"19.71/email-{email}/laporan_email-{email}"
    assert scrub_file_name("hp 0812 7788 9900.csv") == f"hp phone-{phone}.csv"
    assert scrub_file_name(f"nik {NIK[:4]} {NIK[4:8]} {NIK[8:12]} {NIK[12:]}.xlsx") == f"nik nik-{nik}.xlsx"


def test_files_named_with_personal_data_are_stored_under_pseudonyms_even_without_a_key(
    opd_project, landing, tmp_path, monkeypatch
):
    monkeypatch.delenv("KOTACERDAS_PII_KEY", raising=False)  # personal data dropped: the names would collide
    landing_dir, paths = landing
    first = paths[0]
    other_nik = NIK[:-1] + "9"
    named = [first.with_name(f"capaian_indikator_{MONTH}_{n}.csv") for n in (NIK, other_nik)]
    named[0].write_bytes(first.read_bytes())
    first.rename(named[1])

    def edit(data):
        drop = next(s for s in data["sources"] if s["name"] == "opd_file_drop_indicators")
        drop["pattern"] = drop["pattern"].replace("{month}.*", "{month}*.*")

    project = edited_project(tmp_path, opd_project, edit_sources=edit)
    raw = tmp_path / "raw"
    result = ingest_table(
        project,
        "indicator_submissions",
        CITY,
        MONTH,
        raw_dir=raw,
        landing_dir=landing_dir,
        sources=["opd_file_drop_indicators"],
    )
    assert result.failures == []
    mine = sorted(f.relpath.rsplit("/", 1)[-1] for f in result.raw_files if "_nik" in f.relpath)
    assert mine == sorted([f"capaian_indikator_{MONTH}_nik.csv", f"capaian_indikator_{MONTH}_nik-2.csv"])
    stored = [*(str(p) for p in raw.rglob("*")), *(f.origin for f in result.raw_files)]
    stored += [str(v) for v in result.frame["_raw_file"]]
    assert [s for s in stored if NIK in s or other_nik in s] == []
    assert NIK.encode() not in _all_bytes(raw) and other_nik.encode() not in _all_bytes(raw)
    # the sensor names them the same way (cursor, run key, messages)
    dropped = [f for f in scan_landing(project, landing_dir, "monthly") if "_nik" in f.label]
    assert len(dropped) == 2 and not [f for f in dropped if NIK in f.fingerprint or other_nik in f.fingerprint]
