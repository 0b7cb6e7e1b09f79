"""Connectors to OPD systems (REST APIs, file drops) and the raw landing zone they write to."""

from kotacerdas.sources.ingest import IngestResult, SourceFailure, ingest_table
from kotacerdas.sources.landing import RawFile

__all__ = ["IngestResult", "RawFile", "SourceFailure", "ingest_table"]
