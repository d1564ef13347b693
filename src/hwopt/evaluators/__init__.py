"""Objectives, constraints and Evaluators (metrics computed or measured for a config)."""

from hwopt.evaluators._accuracy import AccuracyData, recalibrate_bn, top1_accuracy
from hwopt.evaluators._base import Evaluator
from hwopt.evaluators._counting import count_macs, count_params
from hwopt.evaluators._latency import machine_state, measure_latency
from hwopt.evaluators._model import ModelEvaluator
from hwopt.evaluators._objective import (
    Constraint, Objective, parse_objectives, parse_spec, scalar, to_matrices,
)

__all__ = [
    "AccuracyData", "Constraint", "Evaluator", "ModelEvaluator", "Objective", "count_macs", "count_params",
    "machine_state", "measure_latency", "parse_objectives", "parse_spec", "recalibrate_bn", "scalar",
    "to_matrices", "top1_accuracy",
]
