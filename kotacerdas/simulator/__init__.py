"""OPD simulator: a loopback HTTP server and file drops with deterministic synthetic OPD data."""

from kotacerdas.simulator.faults import FAULT_KINDS, Fault
from kotacerdas.simulator.filedrops import write_file_drops
from kotacerdas.simulator.regions import default_regions_csv, load_regions
from kotacerdas.simulator.server import OpdSimulator

__all__ = ["FAULT_KINDS", "Fault", "OpdSimulator", "default_regions_csv", "load_regions", "write_file_drops"]
