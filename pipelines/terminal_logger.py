"""The console logger of runs started from the command line (`kotacerdas run`, `demo`): one line per message.

Dagster's default console logger prints a failed step's whole message, stack traces included: a month with a
blocked partition printed a screen of Dagster's frames for what is a data problem, which the CLI then reports in
words itself (`pipelines.cli._print_outcomes`). Here each message is its first paragraph; the full failure, with
its (scrubbed) trace, stays in the run's event log for the Dagster UI.
"""

from __future__ import annotations

import logging
import sys

import dagster as dg
from dagster._core.log_manager import LOG_RECORD_METADATA_ATTR
from dagster._core.utils import coerce_valid_log_level


class _FirstParagraph(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        meta = getattr(record, LOG_RECORD_METADATA_ATTR, None) or {}
        message = str(meta.get("orig_message") or record.getMessage())
        first = message.strip().split("\n\n", 1)[0].replace("\n", " ")
        where = meta.get("step_key") or meta.get("job_name") or "run"
        return f"{record.levelname.lower()}: {where}: {first}"


@dg.logger(
    {"log_level": dg.Field(str, is_required=False, default_value="INFO", description="The logger's threshold.")},
    description="One line per message on stderr, no stack traces (the event log keeps them).",
)
def terminal_logger(init_context: dg.InitLoggerContext) -> logging.Logger:
    log = logging.Logger("kotacerdas.run", level=coerce_valid_log_level(init_context.logger_config["log_level"]))
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_FirstParagraph())
    log.addHandler(handler)
    return log
