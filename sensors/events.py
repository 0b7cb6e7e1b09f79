"""Read Dagster events in words: what failed and the error the user's code raised (not Dagster's wrapper)."""

import re

import dagster as dg

from assets.partitioned import PARTITIONS_FAILED


def step_error_message(event: dg.DagsterEvent) -> str:
    """The innermost cause of a step failure: e.g. the ConfigError, not 'Error occurred while executing op'."""
    error = event.step_failure_data.error if event.step_failure_data else None
    if error is None:
        return event.message or "unknown error"
    while error.cause is not None:
        error = error.cause
    message = error.message.strip()
    if not error.cls_name:
        return message
    # Dagster's own errors carry their qualified class name in the message already: said once
    message = re.sub(rf"^(?:[\w.]+\.)?{re.escape(error.cls_name)}:\s*", "", message)
    return f"{error.cls_name}: {message}"


def failed_partitions(event: dg.DagsterEvent) -> list[str] | None:
    """The partition keys a step failure names as the failed ones (None: it does not say, so all of its range)."""
    data = event.step_failure_data
    failure = data.user_failure_data if data is not None else None
    value = failure.metadata.get(PARTITIONS_FAILED) if failure is not None and failure.metadata else None
    return list(value.data) if isinstance(value, dg.JsonMetadataValue) else None
