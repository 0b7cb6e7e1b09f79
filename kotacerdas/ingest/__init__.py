"""Connectors to OPD systems (REST APIs, file drops) and the raw landing zone they write to."""

from kotacerdas.ingest.landing import RawFile
from kotacerdas.ingest.table import IngestResult, SourceFailure, ingest_partitions, ingest_table

__all__ = ["IngestResult", "RawFile", "SourceFailure", "ingest_partitions", "ingest_table"]
