"""The Dagster code location of kotacerdas (definitions, resources, jobs, partitions) and the CLI."""
