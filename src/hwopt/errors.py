"""The exception tree of hwopt.

Every error a user can cause derives from :class:`HwoptError`; the CLI prints it as one
``error: ...`` line and exits with status 2. Subclasses that describe bad values are also
``ValueError`` so callers that already catch built-ins keep working. This module imports no
other hwopt module.
"""

from __future__ import annotations


class HwoptError(Exception):
    """Root of all errors raised on purpose by hwopt."""


class ConfigError(HwoptError, ValueError):
    """A malformed option, file or value given by the user."""


class SpaceError(ConfigError):
    """A malformed search space, or a configuration that does not belong to it."""


class ObjectiveError(ConfigError):
    """A malformed objective / constraint spec, or one that names an unknown metric."""


class UnknownNameError(ConfigError, KeyError):
    """A name that is not in a registry (strategy, benchmark, space, hardware, ...)."""

    def __init__(self, kind: str, name: str, valid: list[str] | tuple[str, ...]):
        self.kind, self.name, self.valid = kind, name, sorted(valid)
        super().__init__(f"unknown {kind} {name!r}; valid: {', '.join(self.valid) or '(none)'}")

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return self.args[0]


class HardwareError(ConfigError):
    """Unknown hardware, or a hardware catalog entry that fails validation."""


class BenchmarkError(ConfigError):
    """A benchmark that cannot be loaded (missing data directory, bad table, ...)."""


class StudyError(HwoptError):
    """A study that cannot be opened, created or resumed."""


class EvaluationError(HwoptError):
    """An evaluation failed; the study records it as a failed trial and goes on."""


class DependencyError(HwoptError, ImportError):
    """An optional dependency (torch, onnxruntime, ray) is needed but not installed."""


class CheckpointError(ConfigError):
    """A checkpoint whose keys or shapes do not match the model it is loaded into."""


def require(module: str, extra: str = "torch"):
    """Import an optional dependency or raise a one-line DependencyError that says how to get it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise DependencyError(
            f"{module} is required for this feature; install it with: pip install 'hwopt[{extra}]'"
        ) from exc
