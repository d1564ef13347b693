"""The NAS-Bench-201 cell space, shared by the tabular benchmark and the NB201 model builder.

A cell has 4 nodes and 6 edges ``j -> i`` (j < i), each carrying one of five operations. The
official arch string lists the edges node by node:
``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`` — i.e. edges (0→1), (0→2), (1→2), (0→3), (1→3), (2→3).
A config is ``{"ops": [6 op names in that order]}``.
"""

from __future__ import annotations

import re

from hwopt.errors import SpaceError
from hwopt.space import Categorical, Config, SearchSpace

NB201_OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
#: (source node, target node) of each position in ``config["ops"]``
NB201_EDGES = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
_ARCH = re.compile(r"^\|(\w+)~0\|\+\|(\w+)~0\|(\w+)~1\|\+\|(\w+)~0\|(\w+)~1\|(\w+)~2\|$")


def nb201_space() -> SearchSpace:
    return SearchSpace([Categorical("ops", list(NB201_OPS), length=6)], name="nb201")


def arch_to_config(arch: str) -> Config:
    """``|nor_conv_3x3~0|+|...|`` → ``{"ops": [...]}``; raises SpaceError on a malformed string."""
    m = _ARCH.match(str(arch).strip())
    if not m:
        raise SpaceError(f"not a NAS-Bench-201 arch string: {arch!r}")
    ops = list(m.groups())
    bad = [o for o in ops if o not in NB201_OPS]
    if bad:
        raise SpaceError(f"unknown NAS-Bench-201 op {bad[0]!r} in {arch!r}; valid: {', '.join(NB201_OPS)}")
    return {"ops": ops}


def config_to_arch(config: Config) -> str:
    o = config["ops"]
    return f"|{o[0]}~0|+|{o[1]}~0|{o[2]}~1|+|{o[3]}~0|{o[4]}~1|{o[5]}~2|"
