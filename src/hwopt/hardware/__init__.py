"""Hardware targets (catalog with sourced values), cost models and their calibration."""

from hwopt.hardware._catalog import Catalog, get_hardware, load_catalog
from hwopt.hardware._target import DTYPES, KINDS, HardwareTarget

__all__ = ["Catalog", "DTYPES", "HardwareTarget", "KINDS", "get_hardware", "load_catalog"]
