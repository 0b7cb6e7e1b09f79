"""The city's Masterplan Smart City as data: its schema and versions, the Excel template, the plan's review and
the monthly status of its programmes from the OPDs' progress reports (pure library, no dagster)."""

from kotacerdas.masterplan.reader import MasterplanHistory, load_history, load_masterplan
from kotacerdas.masterplan.schema import Masterplan

__all__ = ["Masterplan", "MasterplanHistory", "load_history", "load_masterplan"]
