"""Log records scrubbed of personal data and secrets before any handler sees them (`install_log_scrubbing`).

A `logging.Filter` on a logger sees only that logger's own records: not those of its children, nor those of the
per-step logger Dagster hands to an asset as `context.log`. So the filter is also applied by the log-record
factory, to every record as it is made, which covers all of them, Dagster's event log and compute logs included.
"""

from __future__ import annotations

import logging
import threading
import traceback

from kotacerdas.privacy import scrub_text

_SCRUBBED = "_kotacerdas_scrubbed"
_lock = threading.Lock()
_installed = False


class ScrubFilter(logging.Filter):
    """Rewrites a record's message (its arguments merged in), exception text and stack with `scrub_text`."""

    def filter(self, record: logging.LogRecord) -> bool:
        scrub_record(record)
        return True


def scrub_record(record: logging.LogRecord) -> logging.LogRecord:
    if getattr(record, _SCRUBBED, False):
        return record
    try:
        message = record.getMessage()
    except (TypeError, ValueError):  # arguments that do not fit the format: keep both, scrubbed
        message = f"{record.msg} {record.args!r}"
    record.msg, record.args = scrub_text(message), ()
    if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
        record.exc_text = scrub_text("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))
    if record.stack_info:
        record.stack_info = scrub_text(record.stack_info)
    setattr(record, _SCRUBBED, True)
    return record


def install_log_scrubbing(logger_names: tuple[str, ...] = ("kotacerdas", "dagster")) -> None:
    """Scrub every log record of this process (idempotent): the filter on the named loggers, and the record
    factory for everything else (child loggers, Dagster's `context.log`, third-party libraries)."""
    global _installed
    with _lock:
        scrub = ScrubFilter()
        for name in logger_names:
            logger = logging.getLogger(name)
            if not any(isinstance(f, ScrubFilter) for f in logger.filters):
                logger.addFilter(scrub)
        if _installed:
            return
        make_record = logging.getLogRecordFactory()

        def scrubbing_factory(*args, **kwargs) -> logging.LogRecord:
            return scrub_record(make_record(*args, **kwargs))

        logging.setLogRecordFactory(scrubbing_factory)
        _installed = True
