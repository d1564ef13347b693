"""hwopt: hardware-aware multi-objective optimisation of deep-learning models.

Heavy subpackages (torch-based super-networks, ONNX Runtime) load lazily.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("hwopt")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = ["__version__"]
