"""Objectives, constraints and Evaluators (metrics computed or measured for a config)."""

from hwopt.evaluators._base import Evaluator
from hwopt.evaluators._objective import (
    Constraint, Objective, parse_objectives, parse_spec, scalar, to_matrices,
)

__all__ = ["Constraint", "Evaluator", "Objective", "parse_objectives", "parse_spec", "scalar", "to_matrices"]
