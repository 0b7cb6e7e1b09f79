"""OPD simulator: a loopback HTTP server and file drops with deterministic synthetic OPD data."""

from kotacerdas.simulator.filedrops import write_file_drops
from kotacerdas.simulator.server import OpdSimulator

__all__ = ["OpdSimulator", "write_file_drops"]
