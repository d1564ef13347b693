"""Search spaces: parameters, conditional activity, canonical hashing and integer encoding."""

from hwopt.space._io import load_space, save_space, space_from_dict
from hwopt.space._params import Categorical, Float, Integer, Parameter
from hwopt.space._space import Config, SearchSpace

__all__ = [
    "Categorical", "Config", "Float", "Integer", "Parameter", "SearchSpace",
    "load_space", "save_space", "space_from_dict",
]
