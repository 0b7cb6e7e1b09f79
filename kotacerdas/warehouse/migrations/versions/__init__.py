"""Migration scripts, oldest first (0001 is the walking-skeleton baseline)."""
