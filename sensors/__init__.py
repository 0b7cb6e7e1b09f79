"""Dagster sensors (file drops, new data at a source, run failures); see issue 7."""
