"""Staging: typed canonical rows from what ingestion delivered, with every unparseable row set aside."""

from kotacerdas.stage.staging import StagingResult, stage_table

__all__ = ["StagingResult", "stage_table"]
