"""Run-failure sensor: tell a webhook (chat, pager) which asset and partition failed, why, and where to look."""

import dagster as dg

from assets.failures import scrubbed_failures
from kotacerdas.config import settings
from kotacerdas.report.alerts import WEBHOOK_URL_ENV, post_webhook
from sensors.events import step_error_message


def failure_payload(context: dg.RunFailureSensorContext) -> dict:
    run = context.dagster_run
    steps = context.get_step_failure_events()
    failed = [{"asset": e.step_key, "error": step_error_message(e)} for e in steps]
    base = settings().dagster_ui_url.rstrip("/")
    partition = run.tags.get("dagster/partition")
    lines = [f"kotacerdas: run of {run.job_name} failed" + (f" for partition {partition}" if partition else "")]
    lines += [f"- {f['asset']}: {f['error']}" for f in failed] or [f"- {context.failure_event.message}"]
    return {
        "text": "\n".join(lines),
        "job": run.job_name,
        "run_id": run.run_id,
        "partition": partition,
        "failed": failed,
        "run_url": f"{base}/runs/{run.run_id}",
    }


@dg.run_failure_sensor(
    name="failure_webhook",
    default_status=dg.DefaultSensorStatus.STOPPED,
    description=f"Posts every failed run to the webhook in ${WEBHOOK_URL_ENV} (JSON with a `text` field).",
)
@scrubbed_failures
def failure_webhook(context: dg.RunFailureSensorContext):
    secret = settings().alert_webhook_url
    url = secret.get_secret_value() if secret else None
    if not url:
        context.log.warning(f"{WEBHOOK_URL_ENV} is not set: run {context.dagster_run.run_id} failed, no alert sent")
        return
    post_webhook(url, failure_payload(context))
