"""Read Dagster events in words: what failed and the error the user's code raised (not Dagster's wrapper)."""

import dagster as dg


def step_error_message(event: dg.DagsterEvent) -> str:
    """The innermost cause of a step failure: e.g. the ConfigError, not 'Error occurred while executing op'."""
    error = event.step_failure_data.error if event.step_failure_data else None
    if error is None:
        return event.message or "unknown error"
    while error.cause is not None:
        error = error.cause
    return f"{error.cls_name}: {error.message.strip()}" if error.cls_name else error.message.strip()
