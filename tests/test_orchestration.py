"""Schedules and sensors with real files, a real run failure and a real local webhook receiver."""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from assets.resources import ProjectResource
from kotacerdas.simulator import write_file_drops
from pipelines.definitions import defs
from sensors.run_failure import failure_webhook


@pytest.fixture
def landing(tmp_path, monkeypatch):
    path = tmp_path / "landing"
    path.mkdir()
    monkeypatch.setenv("KOTACERDAS_LANDING_DIR", str(path))
    return path


def _evaluate(cursor=None, name="opd_file_drop"):
    sensor = defs.get_repository_def().get_sensor_def(name)
    context = dg.build_sensor_context(cursor=cursor, resources={"project": ProjectResource()})
    return sensor(context)


def _settled(cursor=None, name="opd_file_drop"):
    """Two ticks: new files are read only once they are unchanged at the next tick (`ready_when: stable`)."""
    waiting = _evaluate(cursor, name)
    assert waiting.run_requests == [] and "still changing" in waiting.skip_reason.skip_message
    return _evaluate(waiting.cursor, name)


def test_file_drop_sensor_runs_once_per_new_file_and_explains_what_it_cannot_place(landing, opd_project):
    write_file_drops(opd_project, landing, ["19.71"], ["2025-03"], seed=1)
    first = _settled()
    assert [r.partition_key for r in first.run_requests] == ["19.71|2025-03"]  # all OPD files: one run
    again = _evaluate(first.cursor)
    assert again.run_requests == [] and "no new files" in again.skip_reason.skip_message

    # an OPD re-uploads its file (new content): exactly one new run, with a new run key
    replaced = next(landing.rglob("*.csv"))
    replaced.write_text(replaced.read_text(encoding="utf-8-sig") + "\n", encoding="utf-8-sig")
    os.utime(replaced, (1_900_000_000, 1_900_000_000))
    third = _settled(again.cursor)
    assert len(third.run_requests) == 1 and third.run_requests[0].run_key != first.run_requests[0].run_key

    (landing / "catatan.txt").write_text("not data")
    (landing / "99.99" / "DLH").mkdir(parents=True)
    (landing / "99.99" / "DLH" / "capaian_indikator_2025-03.csv").write_text("x")
    fourth = _evaluate(third.cursor)
    assert fourth.run_requests == []
    message = fourth.skip_reason.skip_message
    assert "catatan.txt: matches no file source pattern" in message and "city 99.99 is not in cities.yaml" in message


def test_yearly_file_drop_sensor_runs_the_yearly_job_for_the_spbe_self_assessment(landing, opd_project):
    write_file_drops(opd_project, landing, ["19.71"], ["2025-03"], seed=1, years=["2025"])
    yearly = _settled(name="opd_file_drop_yearly")
    assert [r.partition_key for r in yearly.run_requests] == ["19.71|2025"]
    assert defs.get_repository_def().get_sensor_def("opd_file_drop_yearly").job_name == "smart_city_yearly"
    # the monthly sensor sees only the monthly files, the yearly one nothing new the second time
    assert [r.partition_key for r in _settled().run_requests] == ["19.71|2025-03"]
    assert _evaluate(yearly.cursor, name="opd_file_drop_yearly").run_requests == []
    # a self-assessment for a year before first_month is a skip reason, not a broken sensor; 2025's still runs
    write_file_drops(opd_project, landing, ["19.71"], [], seed=1, years=["2019"])
    assert [r.partition_key for r in _settled(name="opd_file_drop_yearly").run_requests] == ["19.71|2025"]
    skipped = _evaluate(yearly.cursor, name="opd_file_drop_yearly")
    assert (
        skipped.run_requests == []
        and "year 2019 is outside the pipeline's partitions" in skipped.skip_reason.skip_message
    )


def test_monthly_schedule_requests_the_closed_month_for_every_city():
    schedule = defs.get_repository_def().get_schedule_def("monthly_close")
    assert schedule.cron_schedule == "0 2 4 * *" and schedule.execution_timezone == "Asia/Jakarta"
    tick = dt.datetime(2025, 4, 4, 2, tzinfo=ZoneInfo("Asia/Jakarta"))
    repo = defs.get_repository_def()
    context = dg.build_schedule_context(scheduled_execution_time=tick, repository_def=repo)
    requests = list(schedule.evaluate_tick(context).run_requests)
    assert sorted(r.partition_key for r in requests) == ["19.03|2025-03", "19.71|2025-03"]
    january = dt.datetime(2026, 1, 4, 2, tzinfo=ZoneInfo("Asia/Jakarta"))
    context = dg.build_schedule_context(scheduled_execution_time=january, repository_def=repo)
    requests = schedule.evaluate_tick(context).run_requests
    assert {r.partition_key.split("|")[1] for r in requests} == {"2025-12"}


def test_annual_schedule_requests_the_closed_year_for_every_city_in_the_yearly_job():
    schedule = defs.get_repository_def().get_schedule_def("annual_close")
    assert schedule.cron_schedule == "0 2 15 1 *" and schedule.job_name == "smart_city_yearly"
    tick = dt.datetime(2026, 1, 15, 2, tzinfo=ZoneInfo("Asia/Jakarta"))
    context = dg.build_schedule_context(scheduled_execution_time=tick, repository_def=defs.get_repository_def())
    requests = list(schedule.evaluate_tick(context).run_requests)
    assert sorted(r.partition_key for r in requests) == ["19.03|2025", "19.71|2025"]
    # the keys are partitions of the yearly job
    keys = defs.resolve_job_def("smart_city_yearly").partitions_def.get_partition_keys()
    assert all(r.partition_key in keys for r in requests)


class _Receiver(BaseHTTPRequestHandler):
    bodies: list[dict] = []
    fail_first = 0

    def do_POST(self):  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if type(self).fail_first > 0:
            type(self).fail_first -= 1
            self.send_response(503)
            self.end_headers()
            return
        type(self).bodies.append(json.loads(body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook(monkeypatch):
    _Receiver.bodies, _Receiver.fail_first = [], 1  # the first POST gets a 503: the alert must be retried
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("KOTACERDAS_ALERT_WEBHOOK_URL", f"http://127.0.0.1:{server.server_port}/hooks/secret-path")
    yield _Receiver
    server.shutdown()


def test_failure_webhook_names_asset_partition_error_and_link(webhook):
    partitions = dg.StaticPartitionsDefinition(["19.71"])

    @dg.asset(partitions_def=partitions, name="indicator_values")
    def broken():
        raise RuntimeError("catalog expression failed for GOV_SLA_COMPLIANCE")

    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize([broken], partition_key="19.71", instance=instance, raise_on_error=False)
    assert not result.success
    context = dg.build_run_status_sensor_context(
        sensor_name="failure_webhook",
        dagster_event=result.get_run_failure_event(),
        dagster_instance=instance,
        dagster_run=result.dagster_run,
    ).for_run_failure()
    failure_webhook(context)
    [body] = webhook.bodies
    assert body["partition"] == "19.71"
    assert body["failed"][0]["asset"] == "indicator_values"
    assert "GOV_SLA_COMPLIANCE" in body["failed"][0]["error"] and "GOV_SLA_COMPLIANCE" in body["text"]
    assert body["run_url"].endswith(f"/runs/{result.run_id}")


def test_source_poll_sensor_reruns_a_partition_once_when_its_api_reports_changes(
    tmp_path, opd_project, monkeypatch, frozen_clock
):
    from conftest import OPD_TEST_TOKEN, edited_project

    from assets.partitions import TIMEZONE
    from kotacerdas.simulator import OpdSimulator
    from sensors.source_poll import watched_months

    def with_watermark(data):
        for source in data["sources"]:
            if source["name"] == "opd_api_service_requests":
                source["watermark_field"] = "diperbarui_pada"
        data["sources"] = [s for s in data["sources"] if s["type"] != "file"]

    def two_opds(data):
        data["opds"] = [o for o in data["opds"] if o["code"] in ("DISDUKCAPIL", "DISKOMINFO")]
        data["cities"] = data["cities"][:1]

    project = edited_project(tmp_path, opd_project, edit_sources=with_watermark, edit_cities=two_opds)
    sensor = defs.get_repository_def().get_sensor_def("opd_api_changes")
    resources = {"project": ProjectResource(config_dir=str(project.dir))}
    with OpdSimulator(project, seed=3, token=OPD_TEST_TOKEN) as sim:
        monkeypatch.setenv("KOTACERDAS_OPD_API_URL", sim.url)
        monkeypatch.setenv("KOTACERDAS_OPD_API_TOKEN", OPD_TEST_TOKEN)
        baseline = sensor(dg.build_sensor_context(resources=resources))
        assert baseline.run_requests == [] and "no changes" in baseline.skip_reason.skip_message
        quiet = sensor(dg.build_sensor_context(cursor=baseline.cursor, resources=resources))
        assert quiet.run_requests == []

        month = watched_months(dt.datetime.now(ZoneInfo(TIMEZONE)))[-1]
        city = project.cities.cities[0].code
        time.sleep(1.1)  # watermarks have a resolution of one second: the edit must come after the last check
        sim.edit_rows("service_requests", city, "DISDUKCAPIL", month, 3, {"status": "completed"})
        changed = sensor(dg.build_sensor_context(cursor=quiet.cursor, resources=resources))
        assert [r.partition_key for r in changed.run_requests] == [f"{city}|{month}"]
        settled = sensor(dg.build_sensor_context(cursor=changed.cursor, resources=resources))
        assert settled.run_requests == []
