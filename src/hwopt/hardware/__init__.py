"""Hardware targets (catalog with sourced values), cost models and their calibration."""

from hwopt.hardware._calibration import (
    Calibration,
    fit_calibration,
    list_calibrations,
    load_calibration,
    save_calibration,
)
from hwopt.hardware._catalog import Catalog, get_hardware, load_catalog
from hwopt.hardware._estimate import COST_METRICS, Estimate, cost_metric, estimate, estimate_graph
from hwopt.hardware._local import detect_local, resolve_hardware
from hwopt.hardware._target import DTYPES, KINDS, HardwareTarget

__all__ = [
    "COST_METRICS", "Calibration", "Catalog", "cost_metric", "DTYPES", "Estimate", "HardwareTarget", "KINDS", "detect_local", "estimate",
    "estimate_graph", "fit_calibration", "get_hardware", "list_calibrations", "load_calibration", "load_catalog",
    "resolve_hardware", "save_calibration",
]
