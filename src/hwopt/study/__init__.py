"""Studies in Optuna storage, the ask → evaluate → tell loop, and executors."""

from hwopt.study._executors import BACKENDS, InlineExecutor, Outcome, ProcessExecutor, RayExecutor, get_executor
from hwopt.study._optimize import Progress, history, optimize
from hwopt.study._remeasure import Confirmed, confirmed, non_dominated, remeasure
from hwopt.study._study import Study, TrialRecord, storage_url

__all__ = [
    "BACKENDS", "Confirmed", "InlineExecutor", "RayExecutor", "Outcome", "ProcessExecutor", "Progress", "Study", "TrialRecord",
    "confirmed", "get_executor", "history", "non_dominated", "optimize", "remeasure", "storage_url",
]
