"""Predictors: regressors with ``fit``/``predict``/``predict_std``, chosen by cross-validation.

They work on plain arrays; :class:`SpaceFeatures` turns a space's encoding into features.
``PREDICTORS`` maps names to classes; a new predictor is one module plus one entry.
"""

from hwopt._registry import Registry
from hwopt.predictors._base import NotFittedError, Predictor, clone
from hwopt.predictors._features import SpaceFeatures
from hwopt.predictors._metrics import coverage, kendall_tau, rmse, undercovered
from hwopt.predictors._select import CVScore, cross_validate, select_predictor

PREDICTORS: Registry[type[Predictor]] = Registry("predictor")
PREDICTORS.register("ridge", "hwopt.predictors._models:RidgePredictor", "ridge regression, LOO-chosen alpha")
PREDICTORS.register("svr", "hwopt.predictors._models:SVRPredictor", "RBF support vector regression")
PREDICTORS.register("gbm", "hwopt.predictors._models:GBMPredictor", "gradient-boosted trees")
PREDICTORS.register("mlp", "hwopt.predictors._models:MLPPredictor", "multi-layer perceptron")
PREDICTORS.register("gp", "hwopt.predictors._models:GPPredictor", "Gaussian process (Matérn 5/2)")
PREDICTORS.register("gp-ard", "hwopt.predictors._models:GPARDPredictor", "Gaussian process, one length scale per feature")
PREDICTORS.register("additive-cost", "hwopt.predictors._cost:AdditiveCostPredictor",
                    "non-negative sum of per-operator-class costs (latency from graph counts)")
PREDICTORS.register("cost-gp", "hwopt.predictors._cost:CostMeanGPPredictor",
                    "GP with the additive cost model as its mean (features first, then cost counts)")
PREDICTORS.register("ensemble", "hwopt.predictors._models:EnsemblePredictor", "bootstrap ensemble (default of MLPs)")
PREDICTORS.register("dynast", "hwopt.predictors._dynast:DynastPredictor", "DyNAS-T's grid-searched Ridge/SVR")

__all__ = [
    "CVScore", "NotFittedError", "PREDICTORS", "Predictor", "SpaceFeatures", "clone", "coverage",
    "cross_validate", "get_predictor", "kendall_tau", "rmse", "select_predictor", "undercovered",
]


def get_predictor(name: str, **params) -> Predictor:
    """An unfitted predictor ``name`` with the given parameters."""
    return PREDICTORS.create(name, **params)
